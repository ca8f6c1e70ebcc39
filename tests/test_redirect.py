"""PROG_ARRAY (tail calls), DEVMAP/DEVMAP_HASH and CPUMAP (XDP redirect
targets): Python fills the map, a program uses it, the effect is measured."""

from __future__ import annotations

import errno
import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyroute2 import NetNS

import pybpf
from pybpf.netns import VethPair
from pybpf.tools.traffic import send_udp
from pybpf.tools.xdp_counter import XDPCounter

pytestmark = pytest.mark.kernel

XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX = 0, 1, 2, 3
REDIRECTED, NO_TARGET = 0, 1
N_UDP = 25


def _run(obj: pybpf.BPFObject, slot: int) -> int:
    return obj.programs["dispatch"].test_run(bytes([slot]) + bytes(63)).retval


def test_prog_array_tail_calls(test_objects: dict[str, Path]) -> None:
    with pybpf.load(test_objects["tail_calls"]) as obj:
        table = obj.maps["jump_table"]
        to_pass, to_drop = obj.programs["to_pass"], obj.programs["to_drop"]
        assert isinstance(table, pybpf.ProgArray)
        assert _run(obj, 0) == XDP_TX  # empty slot: the tail call falls through
        table[0] = to_pass
        table[1] = to_drop.fd
        assert (_run(obj, 0), _run(obj, 1), _run(obj, 2)) == (XDP_PASS, XDP_DROP, XDP_TX)
        assert table[0] == to_pass.id and table[1] == to_drop.id
        assert list(table) == [0, 1] and len(table) == 2 and 2 not in table
        with pytest.raises(ValueError) as exc:
            table[2] = obj.programs["not_xdp"]  # another program type
        assert exc.value.errno == errno.EINVAL
        with pytest.raises(pybpf.BPFError) as exc2:
            table[8] = to_pass
        assert exc2.value.errno == errno.E2BIG
        del table[0]
        assert _run(obj, 0) == XDP_TX
        with pytest.raises(KeyError):
            del table[0]
        assert table.pop_all() == {1: to_drop.id}
        assert _run(obj, 1) == XDP_TX and len(table) == 0


@pytest.fixture
def redirect() -> Iterator[pybpf.BPFObject]:
    with pybpf.load(pybpf.shipped("xdp_redirect")) as obj:
        yield obj


@pytest.fixture
def out_pair(veth: VethPair) -> Iterator[tuple[str, str]]:
    """A second veth pair inside ns_b: frames redirected out of the first
    interface arrive on the second."""
    tag = uuid.uuid4().hex[:6]
    out, back = f"po{tag}o", f"po{tag}b"
    with NetNS(veth.ns_b) as ipr:
        ipr.link("add", ifname=out, kind="veth", peer={"ifname": back})
        for name in (out, back):
            ipr.link("set", index=ipr.link_lookup(ifname=name)[0], state="up")
    try:
        yield out, back
    finally:
        with NetNS(veth.ns_b) as ipr:
            ipr.link("del", index=ipr.link_lookup(ifname=out)[0])


def _wait(cond: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.01)


@pytest.mark.parametrize("map_name, prog_name", [("ports", "to_port"), ("port_hash", "to_port_hash")])
def test_devmap_sends_frames_out_of_the_stored_interface(
    redirect: pybpf.BPFObject, veth: VethPair, out_pair: tuple[str, str], map_name: str, prog_name: str
) -> None:
    out, back = out_pair
    ports, outcomes = redirect.maps[map_name], redirect.maps["outcomes"]
    assert isinstance(ports, pybpf.DevMap)
    with XDPCounter() as counter:
        with veth.inside(veth.ns_b):
            ports[0] = out  # resolved in ns_b
            out_index = socket.if_nametoindex(out)
            counter_link = counter.attach(back, mode="native")  # veth needs XDP on the receiving peer
            link = redirect.programs[prog_name].attach_xdp(veth.if_b, mode="native")
        assert ports[0] == pybpf.DevMapValue(out_index, 0)
        assert list(ports) == [0]
        with counter_link, link:
            with veth.inside(veth.ns_a):
                send_udp(veth.addr_b, N_UDP)
            _wait(lambda: counter.protocols()["ipv4/udp"]["packets"] >= N_UDP)
            time.sleep(0.1)
            assert counter.protocols()["ipv4/udp"]["packets"] == N_UDP
            assert sum(outcomes[REDIRECTED]) >= N_UDP and sum(outcomes[NO_TARGET]) == 0

            del ports[0]  # empty: frames pass to ns_b's stack, none leave through `out`
            with veth.inside(veth.ns_a):
                send_udp(veth.addr_b, 3)
            _wait(lambda: sum(outcomes[NO_TARGET]) >= 3)
            assert sum(outcomes[NO_TARGET]) >= 3
            assert counter.protocols()["ipv4/udp"]["packets"] == N_UDP


def test_cpumap_runs_frames_on_the_chosen_cpu(redirect: pybpf.BPFObject, veth: VethPair) -> None:
    cpus, seen, outcomes = redirect.maps["cpus"], redirect.maps["seen_on_cpu"], redirect.maps["outcomes"]
    on_cpu = redirect.programs["on_cpu"]
    assert isinstance(cpus, pybpf.CpuMap)
    # The last CPU this process may run on: another CPU when there are two,
    # else its own (the VM runner's guests have one), which still makes the
    # kernel queue the frames to that CPU's cpumap thread and its program.
    target = max(os.sched_getaffinity(0))
    redirect.bss["target_cpu"] = target
    cpus[target] = (192, on_cpu)
    assert cpus[target] == pybpf.CpuMapValue(192, on_cpu.id)
    assert list(cpus) == [target] and target + 1 not in cpus
    cpus[target] = cpus[target]  # a value read back writes again (its program opened by id)
    assert cpus[target] == pybpf.CpuMapValue(192, on_cpu.id)
    with veth.inside(veth.ns_b):
        link = redirect.programs["to_cpu"].attach_xdp(veth.if_b, mode="native")
    with link:
        with veth.inside(veth.ns_a):
            send_udp(veth.addr_b, N_UDP)
        _wait(lambda: seen.get(target, 0) >= N_UDP)
        time.sleep(0.1)
    assert dict(seen.items()) == {target: N_UDP}
    assert sum(outcomes[REDIRECTED]) >= N_UDP

    with pytest.raises(pybpf.BPFError) as exc:
        cpus[target] = 1 << 20  # the kernel caps a CPU's queue at 16384
    assert exc.value.errno == errno.EOVERFLOW
    with pytest.raises(pybpf.BPFError):
        cpus[63] = 64  # not a possible CPU
    with pytest.raises(ValueError, match="queue size"):
        cpus[0] = "big"


def test_redirect_map_values() -> None:
    with pybpf.Map.create(pybpf.MapType.DEVMAP, key_size=4, value_size=4, max_entries=4) as m:
        m[2] = 1  # lo's ifindex in every namespace
        assert m[2] == pybpf.DevMapValue(1) and list(m) == [2]
        with pytest.raises(ValueError, match="hold no program"):
            m[1] = (1, 5)
        with pytest.raises(FileNotFoundError, match="no network interface"):
            m[1] = f"pbmissing{uuid.uuid4().hex[:4]}"
        with pytest.raises(pybpf.BPFError) as exc:
            m[1] = 0x7FFFFFF0  # no such ifindex
        assert exc.value.errno == errno.EINVAL
    with pybpf.Map.create(pybpf.MapType.DEVMAP_HASH, key_size=4, value_size=8, max_entries=4) as h:
        h[77] = "lo"
        assert dict(h.items()) == {77: pybpf.DevMapValue(1, 0)}
