"""Socket hooks (bpf_progs/socket_hooks.bpf.c): a socket filter on a UDP
socket, a reuseport selector steering datagrams across a group, and sockmap
verdicts on a TCP connection's received data and on its sends."""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator

import pytest

import pybpf

import packets

pytestmark = pytest.mark.kernel


@pytest.fixture
def hooks() -> Iterator[pybpf.BPFObject]:
    with pybpf.load(pybpf.shipped("socket_hooks")) as obj:
        yield obj


def _drain(sock: socket.socket) -> list[bytes]:
    """What the socket holds right now (the sends were to loopback: already queued)."""
    got = []
    sock.setblocking(False)
    try:
        while True:
            got.append(sock.recv(2048))
    except BlockingIOError:
        return got
    finally:
        sock.setblocking(True)


def test_socket_filter_keeps_and_drops_by_length(hooks: pybpf.BPFObject) -> None:
    lengths = hooks.maps["lengths"]
    lengths[8 + 10] = {}  # skb->len: the UDP header and the payload
    lengths[8 + 20] = {"drop": 1}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        rx.bind(("127.0.0.1", 0))
        with hooks.programs["filter_by_length"].attach_socket(rx):
            for size in (10, 20, 10, 30, 20, 10):
                tx.sendto(bytes([size]) * size, rx.getsockname())
            assert [len(d) for d in _drain(rx)] == [10, 10, 30, 10]
        tx.sendto(b"y" * 20, rx.getsockname())  # detached: nothing dropped any more
        assert [len(d) for d in _drain(rx)] == [20]
    assert (lengths[18].seen, lengths[18].bytes, lengths[28].seen) == (3, 3 * 18, 2)


def test_socket_filter_test_run(hooks: pybpf.BPFObject) -> None:
    """BPF_PROG_TEST_RUN hands a socket filter the frame from its IP header."""
    frame = packets.udp4(payload=b"z" * 10)
    hooks.maps["lengths"][len(frame) - 14] = {"drop": 1}
    prog = hooks.programs["filter_by_length"]
    assert prog.test_run(frame, repeat=2).retval == 0
    assert prog.test_run(packets.udp4(payload=b"z")).retval == len(packets.udp4(payload=b"z")) - 14
    assert hooks.maps["lengths"][len(frame) - 14].seen == 2


def test_socket_filter_on_a_closed_socket_is_an_error(hooks: pybpf.BPFObject) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.close()
    with pytest.raises(ValueError, match="the socket is closed"):
        hooks.programs["filter_by_length"].attach_socket(sock)


def test_reuseport_selector_steers_by_first_byte(hooks: pybpf.BPFObject) -> None:
    group = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(4)]
    try:
        for sock in group:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(("127.0.0.1", group[0].getsockname()[1] if sock is not group[0] else 0))
        for index, sock in enumerate(group):
            hooks.maps["group"][index] = sock.fileno()
        choices = hooks.maps["choices"]
        choices[ord("a")] = {"socket": 2}
        choices[ord("b")] = {"socket": 3}
        with hooks.programs["select_by_first_byte"].attach_reuseport(group[0]):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
                for first in b"abababa":
                    tx.sendto(bytes([first]) + b"-steered", group[0].getsockname())
            received = [len(_drain(sock)) for sock in group]
        assert received == [0, 0, 4, 3]
        assert (choices[ord("a")].seen, choices[ord("b")].seen) == (4, 3)
    finally:
        for sock in group:
            sock.close()


@pytest.fixture
def tcp_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """(client, server side) of a loopback TCP connection."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    with client, server:
        for sock in (client, server):
            sock.settimeout(10)
        yield client, server


def test_stream_verdict_sees_received_bytes(
    hooks: pybpf.BPFObject, tcp_pair: tuple[socket.socket, socket.socket]
) -> None:
    client, server = tcp_pair
    port = server.getsockname()[1]
    hooks.maps["by_port"][port] = {}
    with hooks.programs["stream_verdict"].attach_sockmap(hooks.maps["socks"]):
        hooks.maps["socks"][0] = server  # programs apply to sockets added after they attach
        payload = b"0123456789" * 7
        client.sendall(payload)
        got = b""
        while len(got) < len(payload):
            got += server.recv(4096)
        assert got == payload
        del hooks.maps["socks"][0]
    seen = hooks.maps["by_port"][port]
    assert seen.bytes == len(payload) and 1 <= seen.seen <= len(payload)


def test_msg_verdict_counts_and_refuses_sends(
    hooks: pybpf.BPFObject, tcp_pair: tuple[socket.socket, socket.socket]
) -> None:
    client, server = tcp_pair
    port = client.getsockname()[1]
    by_port = hooks.maps["by_port"]
    by_port[port] = {}
    with hooks.programs["msg_verdict"].attach_sockmap(hooks.maps["socks"], kind="msg_verdict"):
        hooks.maps["socks"][1] = client
        for _ in range(5):
            client.send(b"hello")
        assert server.recv(4096, socket.MSG_WAITALL) == b"hello" * 5
        by_port[port] = {"drop": 1, "seen": by_port[port].seen, "bytes": by_port[port].bytes}
        with pytest.raises(PermissionError) as refused:
            client.send(b"refused")
        assert refused.value.errno == errno.EACCES
        del hooks.maps["socks"][1]
    assert (by_port[port].seen, by_port[port].bytes) == (6, 5 * 5 + 7)


def test_attach_sockmap_errors(hooks: pybpf.BPFObject) -> None:
    with pytest.raises(ValueError, match="is not a sockmap"):
        hooks.programs["msg_verdict"].attach_sockmap(hooks.maps["by_port"])
    with pytest.raises(ValueError, match="unknown sockmap hook 'sideways'"):
        hooks.programs["msg_verdict"].attach_sockmap(hooks.maps["socks"], kind="sideways")
    with pytest.raises(ValueError, match="CGROUP_DEVICE is not a sockmap hook"):
        hooks.programs["msg_verdict"].attach_sockmap(hooks.maps["socks"], kind=pybpf.AttachType.CGROUP_DEVICE)
