"""The shipped syscall counter: exact counts of a child's getppid() calls."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

import pybpf
from pybpf.tools.tracers.syscount import SyscallCounter

pytestmark = pytest.mark.kernel

GETPPID = {"x86_64": 110, "aarch64": 173, "riscv64": 173, "s390x": 64, "ppc64le": 64}
K = 1234

CHILD = f"""
import os, sys
sys.stdin.read(1)          # wait until the counter is attached
for _ in range({K}):
    os.getppid()
"""


def _run_child(counter_for_pid: bool) -> tuple[int, dict[tuple[int, int], int]]:
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE)
    try:
        with SyscallCounter(child.pid if counter_for_pid else 0) as counter:
            assert child.stdin is not None
            child.stdin.write(b"go")
            child.stdin.close()
            assert child.wait(timeout=60) == 0
            return child.pid, counter.snapshot()
    finally:
        child.kill()
        child.wait()


@pytest.fixture(autouse=True)
def _tracefs(tracefs: str) -> None:
    """Tracepoints are attached by name through tracefs."""


@pytest.mark.skipif(platform.machine() not in GETPPID, reason="getppid number unknown on this architecture")
def test_counts_all_processes_at_least_k() -> None:
    pid, counts = _run_child(counter_for_pid=False)
    assert counts[(pid, GETPPID[platform.machine()])] >= K
    assert any(p != pid for p, _ in counts)  # other processes were counted too


@pytest.mark.skipif(platform.machine() not in GETPPID, reason="getppid number unknown on this architecture")
def test_target_pid_counts_exactly_k() -> None:
    pid, counts = _run_child(counter_for_pid=True)
    assert counts[(pid, GETPPID[platform.machine()])] == K
    assert {p for p, _ in counts} == {pid}  # filtered in the kernel through .rodata


def test_raw_tracepoint_attach() -> None:
    with pybpf.load(pybpf.shipped("syscount")) as obj:
        # the tracepoint program cannot attach as a raw tracepoint: a clear error
        with pytest.raises(pybpf.BPFError, match="raw tracepoint sys_enter"):
            obj.programs["count_syscalls"].attach_raw_tracepoint("sys_enter")


def test_explicit_tracepoint_attach_and_detach() -> None:
    with pybpf.load(pybpf.shipped("syscount")) as obj:
        link = obj.programs["count_syscalls"].attach_tracepoint("raw_syscalls", "sys_enter")
        with link:
            subprocess.run(["true"], check=True)
            assert len(obj.maps["counts"]) > 0
        assert link.closed
        obj.maps["counts"].clear()
        subprocess.run(["true"], check=True)
        assert len(obj.maps["counts"]) == 0  # detached: nothing counted any more
