"""Leaks and soak: repeated load/attach/close and map create/use/close cycles
leave no fd, no kernel program, map or link, and no memory growth behind;
XDP counts exactly what sustained veth traffic sends.

``make test`` runs reduced counts; ``make soak`` (``PYBPF_SOAK=1``) the full
ones: 2,000 load/attach/close cycles, 10,000 map cycles and a minute of
traffic.
"""

from __future__ import annotations

import gc
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from pyroute2 import NetNS

import pybpf
from pybpf import MapType
from pybpf.netns import VethPair
from pybpf.tools.traffic import send_udp
from pybpf.tools.xdp_counter import XDPCounter

from emulation import EMULATED

pytestmark = pytest.mark.kernel

SOAK = os.environ.get("PYBPF_SOAK") == "1"
LOAD_CYCLES = 2000 if SOAK else 20 if EMULATED else 100
MAP_CYCLES = 10_000 if SOAK else 200 if EMULATED else 1000
TRAFFIC_SECONDS = 60.0 if SOAK else 2.0
WARMUP = 5 if EMULATED else 20


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _rss() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _gone(get_fd_by_id: Callable[[int], int], ids: list[int]) -> bool:
    """Whether the kernel has freed every object in ``ids`` (it frees them
    after an RCU grace period: wait a little)."""
    deadline = time.monotonic() + 10
    while True:
        alive = []
        for object_id in ids:
            fd = get_fd_by_id(object_id)
            if fd >= 0:
                os.close(fd)
                alive.append(object_id)
        if not alive:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def _cycles(count: int, cycle: Callable[[], dict[str, list[int]]]) -> dict[str, Any]:
    """Run ``cycle`` ``count`` times after a warm-up; fds and RSS growth, and
    the kernel ids the last cycle made."""
    for _ in range(WARMUP):
        cycle()
    gc.collect()
    fds, rss = _fds(), _rss()
    ids: dict[str, list[int]] = {}
    for _ in range(count):
        ids = cycle()
    gc.collect()
    return {"fds": _fds() - fds, "rss": _rss() - rss, "ids": ids}


def _report(what: str, cycles: int, result: dict[str, Any]) -> None:
    """The figures, for ``make soak`` (which shows them with -s)."""
    print(f"\n{what}: {cycles} cycles, fds {result['fds']:+d}, RSS {result['rss'] / 1024:+.0f} KiB")


def test_load_attach_close_cycles_leave_nothing(veth: VethPair) -> None:
    from pybpf._core.ffi import lib

    def cycle() -> dict[str, list[int]]:
        with pybpf.load(pybpf.shipped("xdp_counter")) as obj:
            with veth.inside(veth.ns_a):
                link = obj.programs["xdp_count"].attach_xdp(veth.if_a)
            ids = {
                "prog": [obj.programs["xdp_count"].info().id],
                "map": [m.id for m in obj.maps.values()],
                "link": [link.info().id],
            }
        return ids

    result = _cycles(LOAD_CYCLES, cycle)
    _report("load/attach/close", LOAD_CYCLES, result)
    assert result["fds"] == 0
    # Python's allocator keeps some pages: well under a kilobyte a cycle is no leak.
    assert result["rss"] < 1024 * LOAD_CYCLES + (4 << 20), result["rss"]
    assert _gone(lib.bpf_prog_get_fd_by_id, result["ids"]["prog"])
    assert _gone(lib.bpf_map_get_fd_by_id, result["ids"]["map"])
    assert _gone(lib.bpf_link_get_fd_by_id, result["ids"]["link"])
    assert not veth.xdp_attached(veth.ns_a, veth.if_a)


def test_map_cycles_leave_nothing() -> None:
    from pybpf._core.ffi import lib

    name = f"leak_{uuid.uuid4().hex[:8]}"

    def cycle() -> dict[str, list[int]]:
        with pybpf.Map.create(
            MapType.HASH, key_size=4, value_size=8, max_entries=64, name=name, key_type="I", value_type="Q"
        ) as m:
            m.update_from({k: k * 3 for k in range(16)})
            assert m[7] == 21 and len(dict(m.items())) == 16
            del m[7]
            return {"map": [m.id]}

    result = _cycles(MAP_CYCLES, cycle)
    _report("map create/use/close", MAP_CYCLES, result)
    assert result["fds"] == 0
    assert result["rss"] < 256 * MAP_CYCLES + (4 << 20), result["rss"]
    assert _gone(lib.bpf_map_get_fd_by_id, result["ids"]["map"])


def _veth_drops(veth: VethPair) -> int:
    """What the pair itself dropped: frames the sending side could not hand
    over (the receiving queue full, as under a loaded emulated guest)."""
    total = 0
    for ns, ifname, counter in ((veth.ns_b, veth.if_b, "tx_dropped"), (veth.ns_a, veth.if_a, "rx_dropped")):
        with NetNS(ns) as ipr:
            (index,) = ipr.link_lookup(ifname=ifname)
            (link,) = ipr.get_links(index)
            total += int(link.get_attr("IFLA_STATS64")[counter])
    return total


def test_xdp_counts_exactly_what_sustained_traffic_sends(veth: VethPair) -> None:
    """Every frame that reaches the XDP hook is counted: what was sent, less
    what the veth pair dropped before it (none on an idle machine)."""
    sent = 0
    drops_before = _veth_drops(veth)
    with XDPCounter() as counter:
        with veth.inside(veth.ns_a):
            link = counter.attach(veth.if_a)
        with link, veth.inside(veth.ns_b):
            deadline = time.monotonic() + TRAFFIC_SECONDS
            while time.monotonic() < deadline:
                sent += send_udp(veth.addr_a, 500)
        counted = counter.protocols()["ipv4/udp"]["packets"]
    dropped = _veth_drops(veth) - drops_before
    print(f"\nXDP under {TRAFFIC_SECONDS:.0f} s of traffic: sent {sent}, dropped by veth {dropped}, counted {counted}")
    assert sent > dropped >= 0 and counted == sent - dropped
