"""Lightweight tunnel programs (bpf_progs/lwt_hooks.bpf.c) on routes of a
veth pair's namespaces: lwt_out and lwt_xmit on a route ns_b sends through,
lwt_in on a route ns_a forwards by, and lwt_seg6local as the End.BPF
action of a segment ns_b sends an SRv6 packet to."""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections.abc import Iterator

import pytest
from pyroute2 import NetNS

import pybpf
from pybpf.netns import VethPair
from pybpf.tools.traffic import send_udp

import packets

pytestmark = pytest.mark.kernel

HOOK_IN, HOOK_OUT, HOOK_XMIT, HOOK_SEG6LOCAL = range(4)
IP_UDP = 20 + 8
PAYLOAD = b"pybpf"  # send_udp's


@pytest.fixture
def lwt() -> Iterator[pybpf.BPFObject]:
    with pybpf.load(pybpf.shipped("lwt_hooks")) as obj:
        yield obj


def _write_sysctl(veth: VethPair, ns: str, path: str, value: str) -> None:
    """/proc/sys/net is the opening thread's namespace's."""
    with veth.inside(ns), open(f"/proc/sys/{path}", "w", encoding="ascii") as f:
        f.write(value)


@pytest.mark.parametrize(("program", "hook"), [("count_out", HOOK_OUT), ("count_xmit", HOOK_XMIT)])
def test_out_and_xmit_count_what_takes_the_route(lwt: pybpf.BPFObject, veth: VethPair, program: str, hook: int) -> None:
    prog = lwt.programs[program]
    with veth.inside(veth.ns_b):
        link = prog.attach_route("10.202.0.0/24", veth.if_b, gateway=veth.addr_a)
    with link:
        with veth.inside(veth.ns_b):
            send_udp("10.202.0.9", 5, port=4000)
            send_udp(veth.addr_a, 2, port=4000)  # another route: not counted
    with veth.inside(veth.ns_b):
        with pytest.raises(OSError):  # the route went with the link
            send_udp("10.202.0.9", 1, port=4000)
    counts = lwt.maps["hooks"][hook]
    assert (counts.packets, counts.bytes) == (5, 5 * (IP_UDP + len(PAYLOAD)))


def test_in_counts_what_the_namespace_forwards(lwt: pybpf.BPFObject, veth: VethPair) -> None:
    _write_sysctl(veth, veth.ns_a, "net/ipv4/ip_forward", "1")
    lwt.maps["hooks"][HOOK_IN] = {"drop": 1}  # nowhere to forward to: stop here
    with NetNS(veth.ns_b) as ipr:
        ipr.route("add", dst="10.203.0.0/24", gateway=veth.addr_a)
    try:
        with veth.inside(veth.ns_a):
            link = lwt.programs["count_in"].attach_route("10.203.0.0/24", veth.if_a)
        with link, veth.inside(veth.ns_b):
            send_udp("10.203.0.7", 4, port=4000)
    finally:
        with NetNS(veth.ns_b) as ipr:
            ipr.route("del", dst="10.203.0.0/24", gateway=veth.addr_a)
        _write_sysctl(veth, veth.ns_a, "net/ipv4/ip_forward", "0")
    counts = lwt.maps["hooks"][HOOK_IN]
    assert (counts.packets, counts.bytes) == (4, 4 * (IP_UDP + len(PAYLOAD)))


def test_seg6local_end_bpf_sees_the_srv6_packet(lwt: pybpf.BPFObject, veth: VethPair) -> None:
    sid, a6, b6 = "fc00::100", veth.addr6_a, veth.addr6_b
    for key in ("all", veth.if_a):
        _write_sysctl(veth, veth.ns_a, f"net/ipv6/conf/{key}/seg6_enabled", "1")
    with NetNS(veth.ns_b) as ipr:
        ipr.route("add", dst="fc00::/16", gateway=a6, family=socket.AF_INET6)
    lwt.maps["hooks"][HOOK_SEG6LOCAL] = {"drop": 1}
    with veth.inside(veth.ns_a):
        link = lwt.programs["count_seg6local"].attach_seg6local(sid, veth.if_a)
    with link:
        with veth.inside(veth.ns_b), socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            # An SRH whose next segment is the SID; the kernel puts the
            # destination given to sendto in segments[0].
            segments = [ipaddress.IPv6Address("::"), ipaddress.IPv6Address(sid)]
            srh = struct.pack("!BBBBBBH", 0, 2 * len(segments), 4, 1, len(segments) - 1, 0, 0)
            srh += b"".join(s.packed for s in segments)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RTHDR, srh)
            for _ in range(3):
                sock.sendto(b"srv6", (b6, 4000))
    counts = lwt.maps["hooks"][HOOK_SEG6LOCAL]
    assert counts.packets == 3


def test_lwt_test_run(lwt: pybpf.BPFObject) -> None:
    """LWT programs run on the packet from its IP header."""
    frame = packets.udp4(payload=b"abc")
    lwt.maps["hooks"][HOOK_XMIT] = {"drop": 1}
    assert lwt.programs["count_xmit"].test_run(frame).retval == 2  # BPF_DROP
    assert lwt.programs["count_out"].test_run(frame, repeat=3).retval == 0  # BPF_OK
    assert lwt.programs["count_in"].test_run(frame).retval == 0
    assert lwt.maps["hooks"][HOOK_OUT].bytes == 3 * (len(frame) - 14)
    assert lwt.maps["hooks"][HOOK_IN].packets == 1


def test_attach_route_errors(lwt: pybpf.BPFObject) -> None:
    with pytest.raises(ValueError, match="not an lwt_in/lwt_out/lwt_xmit program"):
        lwt.programs["count_seg6local"].attach_route("10.0.0.0/8", "lo")
    with pytest.raises(ValueError, match="not lwt_seg6local"):
        lwt.programs["count_out"].attach_seg6local("fc00::1", "lo")
    with pytest.raises(ValueError, match="segment '10.0.0.1'"):
        lwt.programs["count_seg6local"].attach_seg6local("10.0.0.1", "lo")
    with pytest.raises(ValueError, match="route destination 'nowhere'"):
        lwt.programs["count_out"].attach_route("nowhere", "lo")
