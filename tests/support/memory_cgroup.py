"""A throwaway memory cgroup for code that loads untrusted objects.

The kernel allocates whatever a map declares, and charges it to the memory
cgroup of the process that creates the map.  A process that moves itself into
this cgroup first can then at worst be OOM-killed alone, not take unrelated
processes with it.  Works with the memory controller on cgroup v1 (the hybrid
layout of this machine) and on cgroup v2 (the VM kernels)."""

from __future__ import annotations

import os
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _mounts() -> dict[str, str]:
    """Where the memory controller's hierarchy is mounted: "v1" and/or "v2"."""
    mounts = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            fstype, options = fields[fields.index("-") + 1], fields[fields.index("-") + 3]
            if fstype == "cgroup" and "memory" in options.split(","):
                mounts["v1"] = fields[4]
            elif fstype == "cgroup2":
                mounts.setdefault("v2", fields[4])
    return mounts


@contextmanager
def _own_memory_cgroup() -> Iterator[Path]:
    """The directory of this process's memory cgroup: v1 if the memory
    controller is mounted there, else the v2 hierarchy, mounted for the
    block if nothing mounts it (a minimal VM guest)."""
    mounts = _mounts()
    with open("/proc/self/cgroup") as f:
        entries = [line.rstrip("\n").split(":", 2) for line in f]
    if "v1" in mounts:
        yield Path(mounts["v1"] + next(p for _, controllers, p in entries if "memory" in controllers.split(",")))
        return
    path = next(p for hid, _, p in entries if hid == "0")
    if "v2" in mounts:
        yield Path(mounts["v2"] + path)
        return
    point = tempfile.mkdtemp(prefix="pybpf-cgroup2-")
    subprocess.run(["mount", "-t", "cgroup2", "cgroup2", point], check=True)
    try:
        yield Path(point + path)
    finally:
        subprocess.run(["umount", point], check=True)
        os.rmdir(point)


@contextmanager
def memory_limited(limit: int) -> Iterator[Path]:
    """A new memory cgroup under this process's own, limited to ``limit``
    bytes (swap included on v2); yields the file a process writes its pid
    to in order to join it.  Removed on exit: every process in it must have
    exited by then."""
    with _own_memory_cgroup() as parent:
        cgroup = parent / f"pybpf-limit-{uuid.uuid4().hex[:8]}"
        v2 = (parent / "cgroup.controllers").exists()
        if v2:
            if "memory" not in (parent / "cgroup.controllers").read_text().split():
                raise OSError(f"the memory controller is not available in {parent}")
            (parent / "cgroup.subtree_control").write_text("+memory")
        cgroup.mkdir()
        try:
            if v2:
                (cgroup / "memory.max").write_text(str(limit))
                if (cgroup / "memory.swap.max").exists():
                    (cgroup / "memory.swap.max").write_text("0")
            else:
                (cgroup / "memory.limit_in_bytes").write_text(str(limit))
            yield cgroup / "cgroup.procs"
        finally:
            os.rmdir(cgroup)
