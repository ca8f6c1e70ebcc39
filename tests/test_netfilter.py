"""Netfilter programs (bpf_progs/netfilter_hook.bpf.c, 6.4+): at LOCAL_OUT of
a throwaway namespace, packets counted and dropped by their SO_MARK."""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator

import pytest

import pybpf
from pybpf.netns import VethPair

pytestmark = pytest.mark.kernel

COUNTED, DROPPED = 0x1001, 0x1002
IP_UDP = 20 + 8  # what netfilter sees of a datagram at LOCAL_OUT besides the payload


@pytest.fixture
def netfilter_hook() -> Iterator[pybpf.BPFObject]:
    with pybpf.load(pybpf.shipped("netfilter_hook")) as obj:
        obj.maps["marks"][COUNTED] = {}
        obj.maps["marks"][DROPPED] = {"drop": 1}
        yield obj


def _send(veth: VethPair, mark: int, count: int) -> list[int]:
    """Send from ns_b with ``mark``; the errno of each send (0 when sent)."""
    results = []
    with veth.inside(veth.ns_b), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, mark)
        for _ in range(count):
            try:
                sock.sendto(b"x" * 10, (veth.addr_a, 9))
                results.append(0)
            except OSError as e:
                results.append(e.errno or -1)
    return results


@pytest.mark.requires_feature("netfilter programs", min="6.4")
def test_local_out_counts_and_drops_by_mark(netfilter_hook: pybpf.BPFObject, veth: VethPair) -> None:
    prog = netfilter_hook.programs["filter_by_mark"]
    with veth.inside(veth.ns_b):
        link = prog.attach_netfilter(socket.AF_INET, pybpf.NfHook.LOCAL_OUT, -100)
    with link:
        assert _send(veth, COUNTED, 5) == [0] * 5
        assert _send(veth, DROPPED, 2) == [errno.EPERM] * 2
    assert _send(veth, DROPPED, 1) == [0]  # detached
    marks = netfilter_hook.maps["marks"]
    assert (marks[COUNTED].packets, marks[COUNTED].bytes) == (5, 5 * (IP_UDP + 10))
    assert marks[DROPPED].packets == 2


@pytest.mark.requires_feature("netfilter programs", min="6.4")
def test_only_the_namespace_it_was_attached_in(netfilter_hook: pybpf.BPFObject, veth: VethPair) -> None:
    with veth.inside(veth.ns_a):
        link = netfilter_hook.programs["filter_by_mark"].attach_netfilter(socket.AF_INET, pybpf.NfHook.LOCAL_OUT, 0)
    with link:
        assert _send(veth, DROPPED, 2) == [0, 0]  # sent from ns_b: not this hook
    assert netfilter_hook.maps["marks"][DROPPED].packets == 0


@pytest.mark.requires_feature("netfilter programs", min="6.4")
def test_attach_netfilter_errors(netfilter_hook: pybpf.BPFObject) -> None:
    prog = netfilter_hook.programs["filter_by_mark"]
    with pytest.raises(ValueError, match="use socket.AF_INET"):
        prog.attach_netfilter(socket.AF_UNIX, pybpf.NfHook.LOCAL_OUT, 0)
    with pytest.raises(ValueError):
        prog.attach_netfilter(socket.AF_INET, 9, 0)


def test_netfilter_links_need_libbpf_1_2() -> None:
    """Both sides of the build gate: before libbpf 1.2 the call says so; after,
    the kernel judges (an XDP program is no netfilter program)."""
    with pybpf.load(pybpf.shipped("xdp_counter")) as obj:
        prog = obj.programs["xdp_count"]
        if not pybpf._core.ffi.HAS_NETFILTER:
            with pytest.raises(pybpf.NotSupportedError, match="libbpf >= 1.2"):
                prog.attach_netfilter(socket.AF_INET, pybpf.NfHook.LOCAL_OUT, 0)
        else:
            with pytest.raises(pybpf.BPFError, match="attach program 'xdp_count' to netfilter ipv4 local_out"):
                prog.attach_netfilter(socket.AF_INET, pybpf.NfHook.LOCAL_OUT, 0)
