"""tc hooks (bpf_progs/tc_hooks.bpf.c): the classifier on a veth pair's
ingress and egress (TCX links on 6.6+, cls_bpf filters before), the action
through act_bpf, and the classifier's test_run."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

import pybpf
from pybpf.netns import VethPair
from pybpf.tools.traffic import send_udp

import packets

pytestmark = pytest.mark.kernel

COUNTED, DROPPED = 47011, 47012
N, M = 9, 4
PAYLOAD = b"pybpf-tc"
UDP_FRAME = 14 + 20 + 8 + len(PAYLOAD)  # what the program sees of each datagram (skb->len)


@pytest.fixture
def tc_hooks() -> Iterator[pybpf.BPFObject]:
    with pybpf.load(pybpf.shipped("tc_hooks")) as obj:
        ports = obj.maps["udp_ports"]
        ports[COUNTED] = {}
        ports[DROPPED] = {"drop": 1}
        yield obj


def _tc(veth: VethPair, what: str, *extra: str) -> list[dict[str, object]]:
    """What `tc -j WHAT show` (an independent reader) says about ns_a's
    interface; nothing when it has no clsact qdisc to show filters of."""
    proc = subprocess.run(
        ["ip", "netns", "exec", veth.ns_a, "tc", "-j", what, "show", "dev", veth.if_a, *extra],
        capture_output=True,
        text=True,
    )
    return json.loads(proc.stdout) if proc.returncode == 0 and proc.stdout.strip() else []


def _tc_filters(veth: VethPair, direction: str) -> list[dict[str, object]]:
    return _tc(veth, "filter", direction)


def _has_clsact(veth: VethPair) -> bool:
    return any(q.get("kind") == "clsact" for q in _tc(veth, "qdisc"))


def _send(veth: VethPair) -> None:
    with veth.inside(veth.ns_b):
        send_udp(veth.addr_a, N, port=COUNTED, payload=PAYLOAD)
        send_udp(veth.addr_a, M, port=DROPPED, payload=PAYLOAD)


@pytest.mark.parametrize("mode", ["auto", "cls_bpf"])
@pytest.mark.parametrize("direction", ["ingress", "egress"])
def test_classifier_counts_and_drops_by_port(
    tc_hooks: pybpf.BPFObject, veth: VethPair, direction: pybpf.TcDirection, mode: pybpf.TcMode
) -> None:
    """On if_a's ingress it sees what ns_b sends; on if_b's egress the same
    packets on their way out; through TCX where the kernel has it, or a
    cls_bpf filter that carries this process's mark."""
    prog = tc_hooks.programs["classify_udp"]
    ns, ifname = (veth.ns_a, veth.if_a) if direction == "ingress" else (veth.ns_b, veth.if_b)
    with veth.inside(ns):
        link = prog.attach_tc(ifname, direction, mode=mode)
    with link:
        if mode == "cls_bpf" and direction == "ingress":  # _tc_filters reads if_a
            (name,) = [f["options"]["bpf_name"] for f in _tc_filters(veth, direction) if "options" in f]
            assert pybpf.Mark.parse(name) == pybpf.Mark.own("classify_udp")
        _send(veth)
    ports = tc_hooks.maps["udp_ports"]
    assert (ports[COUNTED].packets, ports[COUNTED].bytes) == (N, N * UDP_FRAME)
    assert ports[DROPPED].packets == M
    _send(veth)  # detached: nothing more is counted
    assert (ports[COUNTED].packets, ports[DROPPED].packets) == (N, M)


def test_tcx_or_cls_bpf_as_the_kernel_has_it(tc_hooks: pybpf.BPFObject, veth: VethPair) -> None:
    """A TCX link on 6.6+ (tc's filter list stays empty); a cls_bpf filter
    that tc shows, and that closing removes, before."""
    prog = tc_hooks.programs["classify_udp"]
    with veth.inside(veth.ns_a):
        link = prog.attach_tc(veth.if_a, "ingress")
    with link:
        filters = _tc_filters(veth, "ingress")
        if pybpf.features.kernel_version() >= (6, 6):
            assert link.fd >= 0 and not filters
        else:
            assert any(f.get("kind") == "bpf" for f in filters), filters
    assert not _tc_filters(veth, "ingress")
    assert not _has_clsact(veth)  # the qdisc pybpf added went with its last filter


@pytest.mark.requires_feature("module:cls_matchall", min="4.8")  # the filter that carries the action
@pytest.mark.requires_feature("module:act_bpf", min="4.1")
def test_action_counts_and_drops_by_port(tc_hooks: pybpf.BPFObject, veth: VethPair) -> None:
    prog = tc_hooks.programs["act_on_udp"]
    with veth.inside(veth.ns_a):
        link = prog.attach_tc_action(veth.if_a, "ingress")
    with link:
        assert any(f.get("kind") == "matchall" for f in _tc_filters(veth, "ingress"))
        _send(veth)
    ports = tc_hooks.maps["udp_ports"]
    assert (ports[COUNTED].packets, ports[DROPPED].packets) == (N, M)
    assert not _tc_filters(veth, "ingress") and not _has_clsact(veth)


@pytest.mark.parametrize("program", ["classify_udp", "act_on_udp"])
def test_classifier_and_action_test_run(tc_hooks: pybpf.BPFObject, program: str) -> None:
    prog = tc_hooks.programs[program]
    assert prog.test_run(packets.udp4(dport=DROPPED), repeat=2).retval == 2  # TC_ACT_SHOT
    assert prog.test_run(packets.udp4(dport=1)).retval == 0xFFFFFFFF  # TC_ACT_UNSPEC, as the u32 it is
    assert tc_hooks.maps["udp_ports"][DROPPED].packets == 2


def test_attach_tc_errors(tc_hooks: pybpf.BPFObject) -> None:
    prog = tc_hooks.programs["classify_udp"]
    with pytest.raises(ValueError, match="use 'ingress' or 'egress'"):
        prog.attach_tc("lo", "sideways")
    with pytest.raises(FileNotFoundError, match="no network interface named 'pybpf-none0'"):
        prog.attach_tc("pybpf-none0")
    with pytest.raises(ValueError, match="use 'auto', 'tcx' or 'cls_bpf'"):
        prog.attach_tc("lo", mode="tc")  # type: ignore[arg-type]
