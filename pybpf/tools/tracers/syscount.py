"""syscount: syscalls counted in the kernel, per syscall name (default) or
per process, over the run or per interval.

    pybpf syscount -d 5                # the top syscalls over 5 s
    pybpf syscount --by-process -i 1   # the busiest processes, each second
    pybpf syscount --pid 1234 --json -d 5

Names come from the architecture's syscall table (``syscall_names``).  The
counts live in a kernel hash map of 16,384 keys; should it fill, the calls
that found no room are reported as dropped, never left out unsaid.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any, Literal

import pybpf
from pybpf.tools.command import stops_between_steps
from pybpf.tools.options import (
    Column,
    Printer,
    add_filters,
    add_output,
    add_timing,
    run_until_stopped,
    set_filters,
    subcommand,
    tracefs,
)
from pybpf.tools.syscall_names import syscall_name

__all__ = ["SyscallCounter", "main", "register", "run"]

Per = Literal["syscall", "process", "both"]


class SyscallCounter:
    """The shipped syscall counter, loaded and attached (tracefs must be
    mounted: ``pybpf.mount_tracefs()``), counting for one process (``pid``),
    one command name (``comm``) or all, keyed ``per`` syscall, process or both.

    Keys are ``(pid, nr)``: pid 0 when not counted per process, nr 0 when
    not per syscall.  ``close()`` detaches it.
    """

    def __init__(self, pid: int = 0, *, comm: str | None = None, per: Per = "both") -> None:
        obj = pybpf.BPFObject.open(pybpf.shipped("syscount"))
        try:
            set_filters(obj, pid=pid, comm=comm)
            obj.rodata["key_pid"] = per != "syscall"
            obj.rodata["key_nr"] = per != "process"
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

    def take(self) -> dict[tuple[int, int], int]:
        """{(pid, syscall nr): count} since the last ``take()``, read and
        cleared in one pass: no call counted in between is lost."""
        return {(key.pid, key.nr): count for key, count in self.counts.pop_all().items()}

    def comm(self, pid: int) -> str:
        """The command name of ``pid``: its current one, else (it exited)
        the one the kernel side recorded, else ``?``."""
        try:
            with open(f"/proc/{pid}/comm", encoding="utf-8") as f:
                return f.read().strip()
        except OSError:
            pass
        recorded = self.obj.maps["comms"].get(pid)
        return _decode_comm(recorded) if recorded else "?"

    def forget_exited(self) -> dict[int, str]:
        """Drop the recorded names of processes that have exited, and return
        them ({pid: name}) for a caller that still reports those pids."""
        comms = self.obj.maps["comms"]
        forgotten = {}
        for pid in list(comms.keys()):
            if not os.path.exists(f"/proc/{pid}"):
                recorded = comms.pop(pid, None)
                if recorded is not None:
                    forgotten[pid] = _decode_comm(recorded)
        return forgotten

    def dropped(self) -> int:
        """Syscalls not counted because the map was full."""
        return int(sum(self.obj.maps["dropped"][0]))

    def close(self) -> None:
        """Detach and unload."""
        self.obj.close()

    def __enter__(self) -> SyscallCounter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _decode_comm(recorded: bytes) -> str:
    return recorded.split(b"\0", 1)[0].decode(errors="replace")


def _name(counter: SyscallCounter, pid: int, exited: dict[int, str]) -> str:
    name = counter.comm(pid)
    return exited.get(pid, name) if name == "?" else name


def _rows(
    counter: SyscallCounter,
    counts: dict[tuple[int, int], int],
    by_process: bool,
    top: int,
    exited: dict[int, str],
) -> list[dict[str, Any]]:
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])[:top]
    if by_process:
        return [{"pid": pid, "comm": _name(counter, pid, exited), "count": n} for (pid, _), n in ranked]
    return [{"syscall": syscall_name(nr), "nr": nr, "count": n} for (_, nr), n in ranked]


def run(args: argparse.Namespace) -> int:
    """Count until the duration ends or a signal stops it; report each
    interval (with ``--interval``) and the totals."""
    columns: tuple[Column, ...]
    if args.by_process:
        columns = (Column("pid", "PID", 7), Column("comm", "COMM", -16), Column("count", "COUNT", 10))
    else:
        columns = (Column("syscall", "SYSCALL", -24), Column("count", "COUNT", 10))
    totals: dict[tuple[int, int], int] = {}
    exited: dict[int, str] = {}  # names the counter forgot while totals still count their pids
    started = time.monotonic()

    def report(counter: SyscallCounter, counts: dict[tuple[int, int], int], kind: str) -> None:
        rows = _rows(counter, counts, args.by_process, args.top, exited)
        elapsed = round(time.monotonic() - started, 3)
        if args.json:
            Printer(columns, as_json=True).row({"kind": kind, "elapsed_s": elapsed, "rows": rows})
            return
        print(f"[{time.strftime('%H:%M:%S')}] {kind} ({elapsed:.1f} s)")
        printer = Printer(columns, as_json=False)
        for row in rows:
            printer.row(row)
        print(flush=True)

    per: Per = "process" if args.by_process else "syscall"
    # From before the attach, a stop waits for the loop: the totals are always printed.
    with tracefs(), stops_between_steps(), SyscallCounter(args.pid, comm=args.comm, per=per) as counter:

        def interval() -> None:
            counts = counter.take()
            for key, n in counts.items():
                totals[key] = totals.get(key, 0) + n
            report(counter, counts, "interval")
            counted = {pid for pid, _ in totals}
            exited.update((pid, name) for pid, name in counter.forget_exited().items() if pid in counted)

        run_until_stopped(time.sleep, duration=args.duration, interval=args.interval, report=interval)
        for key, n in counter.take().items():
            totals[key] = totals.get(key, 0) + n
        report(counter, totals, "total")
        dropped = counter.dropped()
    if dropped:
        Printer((), as_json=False).total(f"syscount: {dropped} syscalls dropped (the count map was full)")
    return 0


def register(commands: Any) -> None:
    """Add ``syscount`` to the ``pybpf`` command."""
    parser = subcommand(commands, "syscount", help="count syscalls per name or per process", doc=__doc__)
    add_filters(parser, what="count syscalls of")
    parser.add_argument("-P", "--by-process", action="store_true", help="count per process, not per syscall")
    parser.add_argument("-T", "--top", type=int, default=20, help="rows per report (default 20)")
    add_output(parser, per="report")
    add_timing(parser, interval=None)
    parser.add_argument("-i", "--interval", type=float, help="also report every this many seconds")
    parser.set_defaults(run=run)


def main(argv: list[str] | None = None) -> int:
    """``pybpf-syscount``: the older name of ``pybpf syscount``."""
    import sys

    from pybpf.tools.cli import main as pybpf_main

    return pybpf_main(["syscount", *(sys.argv[1:] if argv is None else argv)])
