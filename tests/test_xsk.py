"""XSKMAP from both sides: Python stores an AF_XDP socket (libxdp's xsk API),
the shipped XDP program checks the queue's slot with bpf_map_lookup_elem and
redirects to it, and the frame arrives on the socket."""

from __future__ import annotations

import socket
import time
import uuid

import pytest

import pybpf
from pybpf.netns import VethPair

pytestmark = pytest.mark.kernel

REDIRECTED, NO_SOCKET = 0, 1


def _send(pair: VethPair, payload: bytes, port: int = 9999) -> None:
    with pair.inside(pair.ns_a), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(payload, (pair.addr_b, port))


def _frame_with(xsk: pybpf.XskSocket, payload: bytes) -> bytes:
    """The first received frame that carries ``payload`` (IPv6 chatter may come first)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for frame in xsk.recv_many(timeout=max(0.0, deadline - time.monotonic())):
            if frame.endswith(payload):
                return frame
    raise AssertionError(f"no frame with {payload!r} arrived on the AF_XDP socket")


@pytest.mark.parametrize("mode", ["native", "generic"])
def test_frame_redirected_to_af_xdp_socket(veth: VethPair, mode: str) -> None:
    with pybpf.load(pybpf.shipped("xsk_redirect")) as obj:
        xsks, stats = obj.maps["xsks"], obj.maps["xsk_stats"]
        assert isinstance(xsks, pybpf.FdArray)
        with veth.inside(veth.ns_b):
            xsk = pybpf.XskSocket(veth.if_b, 0)
            link = obj.programs["xsk_redirect"].attach_xdp(veth.if_b, mode=mode)
        with xsk, link:
            xsks[0] = xsk
            with pytest.raises(TypeError):  # the kernel has no user-space lookup of an XSKMAP
                xsks[0]
            payload = f"af_xdp {uuid.uuid4().hex}".encode()
            _send(veth, payload)
            frame = _frame_with(xsk, payload)
            # Ethernet to if_b's MAC, IPv4, UDP to port 9999, then the payload.
            assert frame[:6] == bytes.fromhex(veth.mac_b.replace(":", ""))
            assert frame[12:14] == b"\x08\x00" and frame[23] == socket.IPPROTO_UDP
            assert int.from_bytes(frame[36:38], "big") == 9999
            assert len(frame) == 14 + 20 + 8 + len(payload)
            assert sum(stats[REDIRECTED]) >= 1

            del xsks[0]  # the slot is empty: the program passes frames to the stack
            passed = sum(stats[NO_SOCKET])
            _send(veth, b"to the stack")
            assert _wait_for_more(stats, NO_SOCKET, passed) > passed
            assert all(not f.endswith(b"to the stack") for f in xsk.recv_many(timeout=0.2))


def _wait_for_more(stats: pybpf.Map, slot: int, before: int) -> int:
    deadline = time.monotonic() + 5
    while sum(stats[slot]) == before and time.monotonic() < deadline:
        time.sleep(0.01)
    return int(sum(stats[slot]))


def test_closed_socket_leaves_the_map(veth: VethPair) -> None:
    with pybpf.load(pybpf.shipped("xsk_redirect")) as obj:
        xsks, stats = obj.maps["xsks"], obj.maps["xsk_stats"]
        with veth.inside(veth.ns_b):
            xsk = pybpf.XskSocket(veth.if_b, 0)
            link = obj.programs["xsk_redirect"].attach_xdp(veth.if_b)
        with link:
            with xsk:
                xsks[0] = xsk
            assert xsk.closed
            with pytest.raises(ValueError, match="closed"):
                xsk.fileno()
            # The kernel took the socket out of the map when it closed: the
            # program's lookup finds nothing.
            passed = sum(stats[NO_SOCKET])
            _send(veth, b"after close")
            assert _wait_for_more(stats, NO_SOCKET, passed) > passed
        # No user-space lookup for an XSKMAP: the class has no reading at all.
        assert isinstance(xsks, pybpf.FdArray) and not isinstance(xsks, pybpf.Map)
        for call in (len, list, lambda m: 0 in m, lambda m: m[0]):
            with pytest.raises(TypeError):
                call(xsks)
        assert not hasattr(xsks, "get") and not hasattr(xsks, "pop_all")
        del xsks[3]  # XSKMAP: emptying an empty slot is not an error
        xsks.clear()


def test_xsk_errors() -> None:
    with pytest.raises(FileNotFoundError, match="no network interface"):
        pybpf.XskSocket(f"pbmissing{uuid.uuid4().hex[:4]}")
    with pytest.raises(ValueError, match="power of two"):
        pybpf.XskSocket("lo", frames=1000)
    with pytest.raises(ValueError, match="bind mode"):
        pybpf.XskSocket("lo", bind="fast")
