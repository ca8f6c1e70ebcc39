"""STRUCT_OPS (bpf_progs/tcp_cc.bpf.c): a TCP congestion control registered
with the kernel, chosen by sockets with TCP_CONGESTION, whose callbacks count
themselves; closing the link unregisters it."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import pytest

import pybpf

pytestmark = pytest.mark.kernel

INIT, SSTHRESH, CONG_AVOID, UNDO_CWND, RELEASE = range(5)
AVAILABLE = Path("/proc/sys/net/ipv4/tcp_available_congestion_control")
CONNECTIONS = 3


def _transfer(server: socket.socket, name: bytes, size: int) -> bytes:
    """One connection using congestion control ``name`` that sends ``size`` bytes; the name it reports."""
    with socket.socket() as client:
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, name)
        client.connect(server.getsockname())
        peer, _ = server.accept()
        with peer:
            client.sendall(b"x" * size)
            got = 0
            while got < size:
                got += len(peer.recv(1 << 16))
            return client.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16).rstrip(b"\0")


def _name_of_our_own(obj: pybpf.BPFObject) -> bytes:
    """Rename the congestion control before load (the kernel's names are
    global); with a libbpf too old to let us, keep the object's own."""
    cc = obj.maps["pybpf_cc"]
    try:
        ops = cc.struct_ops
    except pybpf.NotSupportedError:
        assert pybpf.libbpf_version() < (1, 4)
        return b"pybpf_cc"
    assert ops.name == b"pybpf_cc"
    ops.name = f"pybpf_{uuid.uuid4().hex[:8]}".encode()
    cc.struct_ops = ops
    assert cc.struct_ops.name == ops.name
    return bytes(ops.name)


def test_congestion_control_serves_the_connections_that_choose_it() -> None:
    with pybpf.BPFObject.open(pybpf.shipped("tcp_cc")) as obj:
        name = _name_of_our_own(obj)
        obj.load()
        with pytest.raises(ValueError, match="before load"):
            obj.maps["pybpf_cc"].struct_ops = bytes(192)
        with obj.maps["pybpf_cc"].attach_struct_ops():
            assert name.decode() in AVAILABLE.read_text().split()
            with socket.socket() as server:
                server.bind(("127.0.0.1", 0))
                server.listen(CONNECTIONS)
                names = [_transfer(server, name, 1 << 18) for _ in range(CONNECTIONS)]
        assert name.decode() not in AVAILABLE.read_text().split()  # unregistered
        calls = obj.maps["calls"]
        assert names == [name] * CONNECTIONS
        assert (calls[INIT], calls[RELEASE]) == (CONNECTIONS, CONNECTIONS)
        assert calls[CONG_AVOID] > 0  # acks grew the window through tcp_reno_cong_avoid
        with socket.socket() as late, pytest.raises(FileNotFoundError):
            late.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, name)


def test_attach_struct_ops_errors() -> None:
    with pybpf.BPFObject.open(pybpf.shipped("tcp_cc")) as obj:
        assert isinstance(obj.maps["pybpf_cc"], pybpf.StructOpsMap)
        with pytest.raises(AttributeError):  # only a STRUCT_OPS map has a struct to register
            obj.maps["calls"].struct_ops
        with pytest.raises(ValueError, match="not loaded yet"):
            obj.maps["pybpf_cc"].attach_struct_ops()
        obj.load()
        with pytest.raises(AttributeError):
            obj.maps["calls"].attach_struct_ops()
