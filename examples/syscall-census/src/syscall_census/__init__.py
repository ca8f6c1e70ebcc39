"""syscall-census: count the system calls of one command, by number.

A user project of pybpf: its BPF C (bpf/census.bpf.c) is compiled when the
package is built, by pybpf's setuptools hook, and shipped in the wheel."""

from __future__ import annotations

import subprocess
import sys
from importlib.resources import as_file, files

import pybpf

__all__ = ["census"]

# The child waits for a byte on stdin before it becomes the command, so the
# program is attached, and aimed at its pid, before the command's first call.
_LAUNCHER = "import os, sys; sys.stdin.buffer.read(1); os.execvp(sys.argv[1], sys.argv[1:])"


def census(command: list[str]) -> tuple[int, dict[int, int]]:
    """Run ``command``; its exit status and its system calls by number."""
    child = subprocess.Popen([sys.executable, "-c", _LAUNCHER, *command], stdin=subprocess.PIPE)
    try:
        with as_file(files(__package__) / "bpf" / "census.bpf.o") as path:
            obj = pybpf.BPFObject.open(path)
        with obj:
            obj.rodata["target_tgid"] = child.pid
            obj.load()
            with obj.programs["count_syscall"].attach():
                assert child.stdin is not None
                child.stdin.write(b"x")
                child.stdin.close()
                status = child.wait()
            return status, dict(obj.maps["calls"].items())
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
