"""STACK_TRACE, CGROUP_ARRAY and the local storages, seen from a tp_btf program
that watches a child process's syscalls (tests/bpf/task_probe.bpf.c)."""

from __future__ import annotations

import bisect
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import pybpf
from pybpf.testing import Cgroup

pytestmark = pytest.mark.kernel


class Child:
    """A Python child that makes syscalls each time it is poked."""

    def __init__(self) -> None:
        code = "import os, sys\nfor line in sys.stdin:\n    os.getppid()\n    print('ok', flush=True)\n"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def poke(self) -> None:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline() == "ok\n"

    def close(self) -> None:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.close()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()


@pytest.fixture
def probe(test_objects: dict[str, Path]) -> Iterator[tuple[pybpf.BPFObject, Child]]:
    child = Child()
    try:
        with pybpf.BPFObject.open(test_objects["task_probe"]) as obj:
            # No program uses it: on kernels without CGRP_STORAGE (< 6.2) the rest still loads.
            obj.maps["cgroup_notes"].autocreate = pybpf.features.map_type(pybpf.MapType.CGRP_STORAGE)
            obj.load()
            obj.bss["target_tgid"] = child.proc.pid
            with obj.programs["on_sys_enter"].attach():
                yield obj, child
    finally:
        child.close()


def _executable_ranges(pid: int) -> list[tuple[int, int]]:
    ranges = []
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        addrs, perms = line.split()[:2]
        if "x" in perms:
            lo, hi = (int(a, 16) for a in addrs.split("-"))
            ranges.append((lo, hi))
    return ranges


def _kernel_symbols(ips: tuple[int, ...]) -> list[str]:
    """The text symbol each address falls in (/proc/kallsyms; BPF programs are there too)."""
    symbols = []
    for line in Path("/proc/kallsyms").read_text().splitlines():
        addr, kind, name = line.split()[:3]
        if kind in "tTwW":
            symbols.append((int(addr, 16), name))
    symbols.sort()
    starts = [addr for addr, _ in symbols]
    return [symbols[bisect.bisect_right(starts, ip) - 1][1] for ip in ips]


def test_stack_traces_are_real_frames(probe: tuple[pybpf.BPFObject, Child]) -> None:
    obj, child = probe
    child.poke()
    seen = obj.bss["seen"]
    stacks = obj.maps["stacks"]
    assert isinstance(stacks, pybpf.StackTraceMap)
    assert seen.kstack >= 0 and seen.ustack >= 0
    kernel, user = stacks[seen.kstack], stacks[seen.ustack]
    assert kernel and user and all(isinstance(ip, int) and ip for ip in kernel + user)
    assert all(ip >= 0xFFFF800000000000 for ip in kernel)
    names = _kernel_symbols(kernel)
    # Innermost: the program itself (JIT image), then the tracepoint, then the syscall entry.
    assert names[0].startswith("bpf_prog_") and names[0].endswith("_on_sys_enter")
    assert "do_syscall_64" in names
    # The innermost user frame is the syscall instruction in the child's code.
    assert any(lo <= user[0] < hi for lo, hi in _executable_ranges(child.proc.pid))
    assert {seen.kstack, seen.ustack} <= set(stacks)
    with pytest.raises(pybpf.NotSupportedError, match="bpf_get_stackid"):
        stacks[seen.kstack] = kernel
    del stacks[seen.kstack]
    assert seen.kstack not in stacks


def test_cgroup_array_tells_the_program_where_the_task_runs(
    probe: tuple[pybpf.BPFObject, Child], cgroup: Cgroup
) -> None:
    obj, child = probe
    fd = os.open(cgroup, os.O_RDONLY | os.O_DIRECTORY)
    try:
        obj.maps["cgroups"][0] = fd
    finally:
        os.close(fd)  # the map holds the cgroup
    child.poke()
    assert obj.bss["seen"].under_cgroup == 0
    cgroup.add(child.proc.pid)
    child.poke()
    assert obj.bss["seen"].under_cgroup == 1
    with pytest.raises(TypeError):  # no user-space lookup: a write-only FdArray
        obj.maps["cgroups"][0]
    (cgroup.path.parent / "cgroup.procs").write_text(str(child.proc.pid))


def test_task_storage_shared_with_the_program(probe: tuple[pybpf.BPFObject, Child]) -> None:
    obj, child = probe
    notes = obj.maps["task_notes"]
    assert isinstance(notes, pybpf.LocalStorage)
    pidfd = os.pidfd_open(child.proc.pid)
    try:
        with pytest.raises(KeyError):
            notes[pidfd]
        notes[pidfd] = (0, 0xFEED)
        child.poke()
        note = notes[pidfd]
        assert note.tag == 0xFEED and note.syscalls > 0
        assert obj.bss["seen"].tag_seen == 0xFEED
        before = note.syscalls
        child.poke()
        assert notes[pidfd].syscalls > before
        with pytest.raises(FileExistsError):
            notes.set(pidfd, (0, 1), flags=pybpf.NOEXIST)
        del notes[pidfd]
        with pytest.raises(KeyError):
            notes[pidfd]
        for call in (len, list, lambda m: m.items(), lambda m: m.clear()):
            with pytest.raises(pybpf.NotSupportedError, match="cannot list"):
                list(call(notes))  # type: ignore[call-overload]
    finally:
        os.close(pidfd)


@pytest.mark.requires_feature("cgroup storage", min="6.2")
def test_cgroup_storage_by_fd(probe: tuple[pybpf.BPFObject, Child], cgroup: Cgroup) -> None:
    obj, _ = probe
    fd = os.open(cgroup, os.O_RDONLY | os.O_DIRECTORY)
    try:
        obj.maps["cgroup_notes"][fd] = 77
        assert obj.maps["cgroup_notes"][fd] == 77
    finally:
        os.close(fd)


def test_created_without_cgroup_storage(test_objects: dict[str, Path]) -> None:
    with pybpf.BPFObject.open(test_objects["task_probe"]) as obj:
        notes = obj.maps["cgroup_notes"]
        assert notes.autocreate is True
        notes.autocreate = False
        obj.load()
        assert "cgroup_notes" not in obj.maps and "task_notes" in obj.maps
        with pytest.raises(KeyError, match="no map 'cgroup_notes'"):
            obj.maps["cgroup_notes"]
        with pytest.raises(ValueError, match="before load"):
            obj.maps["task_notes"].autocreate = False


def test_socket_and_inode_storage_by_fd(probe: tuple[pybpf.BPFObject, Child]) -> None:
    obj, _ = probe
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        obj.maps["sk_notes"][sock] = (3, 4)
        assert (obj.maps["sk_notes"][sock].syscalls, obj.maps["sk_notes"][sock.fileno()].tag) == (3, 4)
    with tempfile.TemporaryFile() as f:
        inodes = obj.maps["inode_notes"]
        inodes[f] = 9
        assert inodes[f.fileno()] == 9
        del inodes[f]
        with pytest.raises(KeyError):
            inodes[f]
    with pytest.raises(ValueError, match="open files"):
        obj.maps["inode_notes"]["/etc/passwd"] = 1
