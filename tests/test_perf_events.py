"""Perf event programs (bpf_progs/perf_samples.bpf.c): page faults sampled
at every fault in a child that touches a known number of fresh pages."""

from __future__ import annotations

import subprocess
import sys

import pytest

import pybpf

pytestmark = pytest.mark.kernel

PAGES = 64  # 256 KiB: below a huge page, so one fault per page
CHILD = f"""
import ctypes, mmap, sys
m = mmap.mmap(-1, {PAGES} * 4096)
print(ctypes.addressof(ctypes.c_char.from_buffer(m)), flush=True)
sys.stdin.readline()
for i in range({PAGES}):
    m[i * 4096] = 1
print("done", flush=True)
"""


def test_page_faults_of_a_process_sampled_at_every_fault() -> None:
    with (
        pybpf.load(pybpf.shipped("perf_samples")) as obj,
        subprocess.Popen(
            [sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        ) as child,
    ):
        try:
            assert child.stdin is not None and child.stdout is not None
            start = int(child.stdout.readline())
            obj.maps["watched"][child.pid] = {"start": start, "end": start + PAGES * 4096}
            prog = obj.programs["count_faults"]
            with prog.attach_perf_event(pybpf.PerfEventType.SOFTWARE, pybpf.SoftwareEvent.PAGE_FAULTS, pid=child.pid):
                child.stdin.write("go\n")
                child.stdin.flush()
                assert child.stdout.readline() == "done\n"
            seen = obj.maps["watched"][child.pid]
        finally:
            child.kill()
    assert seen.faults == PAGES  # exactly one sample per fresh page
    assert seen.samples >= PAGES


def test_every_cpu_at_a_frequency() -> None:
    """Without a pid: one event per online CPU, all in one link."""
    with pybpf.load(pybpf.shipped("perf_samples")) as obj:
        prog = obj.programs["count_faults"]
        link = prog.attach_perf_event(pybpf.PerfEventType.SOFTWARE, pybpf.SoftwareEvent.CPU_CLOCK, sample_freq=1000)
        with link:
            assert "every CPU" in repr(link) and "attached" in repr(link)
        assert link.closed
        with pytest.raises(ValueError, match="not both"):
            prog.attach_perf_event(pybpf.PerfEventType.SOFTWARE, 0, sample_period=1, sample_freq=1)
        with pytest.raises(pybpf.BPFError, match="open the event"):
            prog.attach_perf_event(pybpf.PerfEventType.SOFTWARE, 999, pid=0)
