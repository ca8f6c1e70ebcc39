"""SOCKMAP and SOCKHASH from both sides: Python stores sockets, the shipped
sk_lookup program (bpf_progs/sk_steer.bpf.c) looks them up with
bpf_map_lookup_elem and steers connections to a port nobody listens on to
them with bpf_sk_assign; the tests see the traffic arrive."""

from __future__ import annotations

import errno
import os
import socket
import uuid
from collections.abc import Iterator

import pytest
from pyroute2 import NetNS
from pyroute2 import netns as pyroute2_netns

import pybpf
from pybpf.netns import inside

pytestmark = pytest.mark.kernel

STEER_SOCKMAP, STEER_SOCKHASH = 0, 1
ASSIGNED, NO_SOCKET, REFUSED = 0, 1, 2
STEERED_PORT = 7777


@pytest.fixture
def netns() -> Iterator[str]:
    """A fresh network namespace with loopback up (removed afterwards)."""
    name = f"pybpf-sk-{uuid.uuid4().hex[:8]}"
    pyroute2_netns.create(name)
    try:
        with NetNS(name) as ipr:
            (lo,) = ipr.link_lookup(ifname="lo")
            ipr.link("set", index=lo, state="up")
        yield name
    finally:
        pyroute2_netns.remove(name)


@pytest.fixture
def steer() -> Iterator[pybpf.BPFObject]:
    with pybpf.load(pybpf.shipped("sk_steer")) as obj:
        yield obj


def _connect(ns: str, port: int) -> socket.socket:
    with inside(ns):
        return socket.create_connection(("127.0.0.1", port), timeout=5)


def test_tcp_connection_steered_to_sockmap_listener(steer: pybpf.BPFObject, netns: str) -> None:
    sockmap, ports, stats = steer.maps["sockmap"], steer.maps["ports"], steer.maps["stats"]
    with inside(netns):
        listener = socket.create_server(("127.0.0.1", 0))
    with listener:
        listener.settimeout(5)
        sockmap[3] = listener
        assert sockmap[3] == pybpf.socket_cookie(listener) == pybpf.socket_cookie(listener.fileno())
        assert list(sockmap) == [3] and len(sockmap) == 1  # empty slots are not keys
        ports[STEERED_PORT] = (STEER_SOCKMAP, 3)
        with pytest.raises(ConnectionRefusedError):
            _connect(netns, STEERED_PORT).close()  # not attached yet: nobody listens there

        with steer.programs["steer"].attach_netns(netns):
            with _connect(netns, STEERED_PORT) as client:
                conn, _ = listener.accept()
                with conn:
                    client.sendall(b"steered")
                    assert conn.recv(16) == b"steered"
                    assert conn.getsockname() == ("127.0.0.1", STEERED_PORT)
        assert stats[ASSIGNED] == 1 and stats[NO_SOCKET] == 0 and stats[REFUSED] == 0

        with pytest.raises(ConnectionRefusedError):
            _connect(netns, STEERED_PORT).close()  # link closed: detached
    # The map holds no reference: closing the socket removes it.
    assert 3 not in sockmap and len(sockmap) == 0


def test_udp_datagram_steered_to_sockhash_socket(steer: pybpf.BPFObject, netns: str) -> None:
    sockhash, ports, stats = steer.maps["sockhash"], steer.maps["ports"], steer.maps["stats"]
    with inside(netns):
        server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with server, client:
        server.bind(("127.0.0.1", 0))
        server.settimeout(5)
        sockhash[0xABCDEF] = server
        assert dict(sockhash.items()) == {0xABCDEF: pybpf.socket_cookie(server)}
        ports[STEERED_PORT + 1] = (STEER_SOCKHASH, 0xABCDEF)
        with steer.programs["steer"].attach_netns(netns):
            client.sendto(b"datagram", ("127.0.0.1", STEERED_PORT + 1))
            data, _ = server.recvfrom(64)
        assert data == b"datagram"
        assert stats[ASSIGNED] == 1
        del sockhash[0xABCDEF]
        with pytest.raises(KeyError):
            sockhash[0xABCDEF]


def test_listed_port_with_empty_slot_is_counted_and_refused(steer: pybpf.BPFObject, netns: str) -> None:
    steer.maps["ports"][STEERED_PORT] = (STEER_SOCKMAP, 5)
    with steer.programs["steer"].attach_netns(netns), pytest.raises(ConnectionRefusedError):
        _connect(netns, STEERED_PORT).close()
    assert steer.maps["stats"][NO_SOCKET] == 1 and steer.maps["stats"][ASSIGNED] == 0


def test_sk_lookup_test_run(steer: pybpf.BPFObject) -> None:
    """test_run hands sk_lookup a lookup context: a listed port with an empty slot is counted."""
    lookup = steer.btf_type("struct bpf_sk_lookup")
    steer.maps["ports"][STEERED_PORT] = (STEER_SOCKMAP, 5)
    ctx = lookup(
        family=socket.AF_INET,
        protocol=socket.IPPROTO_TCP,
        remote_ip4=socket.htonl(0x7F000001),
        remote_port=socket.htons(40000),
        local_ip4=socket.htonl(0x7F000001),
        local_port=STEERED_PORT,
    )
    assert steer.programs["steer"].test_run(ctx=ctx, repeat=2).retval == 1  # SK_PASS
    assert steer.maps["stats"][NO_SOCKET] == 2


def test_attach_netns_errors(steer: pybpf.BPFObject) -> None:
    with pytest.raises(FileNotFoundError, match="no network namespace"):
        steer.programs["steer"].attach_netns(f"pybpf-missing-{uuid.uuid4().hex[:8]}")


@pytest.mark.parametrize("map_type", [pybpf.MapType.SOCKMAP, pybpf.MapType.SOCKHASH])
def test_socket_rules(map_type: pybpf.MapType) -> None:
    with pybpf.Map.create(map_type, key_size=4, value_size=8, max_entries=4, key_type="I") as m:
        assert isinstance(m, pybpf.SockMap)
        unconnected = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        with unconnected, pytest.raises(pybpf.NotSupportedError, match="listen or are established") as exc:
            m[0] = unconnected
        assert exc.value.errno == errno.EOPNOTSUPP
        r, w = os.pipe()
        try:
            with pytest.raises(pybpf.BPFError) as exc2:
                m[0] = r
            assert exc2.value.errno == errno.ENOTSOCK
        finally:
            os.close(r)
            os.close(w)
        with pytest.raises(ValueError, match="sockets"):
            m[0] = "not a socket"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            # Not bound yet.  Kernels with the stable fix "bpf, sockmap: Reject
            # unhashed UDP sockets on sockmap update" (2026) refuse it (the host's
            # 6.18 does); older ones store it (Debian's 6.12.95 does).
            try:
                m[1] = udp
            except pybpf.NotSupportedError as refused:
                assert refused.errno == errno.EOPNOTSUPP
            else:
                assert m.pop_all() == {1: pybpf.socket_cookie(udp)}
            udp.bind(("127.0.0.1", 0))
            m[1] = udp
            with pytest.raises(FileExistsError):
                m.set(1, udp, flags=pybpf.NOEXIST)
            m.set(1, udp, flags=pybpf.EXIST)
            assert m.pop_all() == {1: pybpf.socket_cookie(udp)}
        assert len(m) == 0


def test_four_byte_values_cannot_be_read() -> None:
    with pybpf.Map.create(pybpf.MapType.SOCKMAP, key_size=4, value_size=4, max_entries=2) as m:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            m[0] = udp
            with pytest.raises(pybpf.NotSupportedError, match="values are 8 bytes"):
                m[0]
