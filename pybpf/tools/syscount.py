"""Syscall counter: counts syscalls per (process, syscall number) from the
``raw_syscalls:sys_enter`` tracepoint.

    pybpf-syscount --duration 5            # every process
    pybpf-syscount --pid 1234 --duration 5 # one process (filtered in the kernel)

Mounts tracefs for the run if it is not mounted, and unmounts it after.
SIGINT ends the count early and prints it; SIGTERM and SIGHUP detach,
unmount and exit.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pybpf
from pybpf._core.mounts import TRACEFS_PATH
from pybpf.tools.command import run_command

__all__ = ["SyscallCounter", "main", "tracefs"]


@contextlib.contextmanager
def tracefs() -> Iterator[None]:
    """Mount tracefs for the block if it is not mounted; unmount it after if we did."""
    mounted = pybpf.mount_tracefs()
    try:
        yield
    finally:
        if mounted:
            subprocess.run(["umount", TRACEFS_PATH], check=False)


class SyscallCounter:
    """The shipped syscall counter, loaded (optionally for one process) and attached."""

    def __init__(self, pid: int = 0) -> None:
        obj = pybpf.BPFObject.open(pybpf.shipped("syscount"))
        try:
            obj.rodata["target_pid"] = pid
            obj.load()
            self.link = obj.programs["count_syscalls"].attach()
        except BaseException:
            obj.close()
            raise
        self.obj = obj
        self.counts = obj.maps["counts"]

    def snapshot(self) -> dict[tuple[int, int], int]:
        """{(pid, syscall nr): count} so far."""
        return {(key.pid, key.nr): count for key, count in self.counts.items()}

    def close(self) -> None:
        """Detach and unload."""
        self.obj.close()

    def __enter__(self) -> SyscallCounter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8") as f:
            return f.read().strip()
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``pybpf-syscount``."""
    parser = argparse.ArgumentParser(prog="pybpf-syscount", description=__doc__.splitlines()[0])
    parser.add_argument("--pid", type=int, default=0, help="count only this process")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds to count")
    parser.add_argument("--top", type=int, default=20, help="rows to show")
    args = parser.parse_args(argv)

    def body() -> int:
        with tracefs(), SyscallCounter(args.pid) as counter:
            with contextlib.suppress(KeyboardInterrupt):
                time.sleep(args.duration)
            rows = sorted(counter.snapshot().items(), key=lambda kv: -kv[1])[: args.top]
        print(f"{'pid':>8} {'comm':<16} {'syscall':>8} {'count':>10}")
        for (pid, nr), count in rows:
            print(f"{pid:>8} {_comm(pid):<16} {nr:>8} {count:>10}")
        return 0

    return run_command("pybpf-syscount", body)


if __name__ == "__main__":
    sys.exit(main())
