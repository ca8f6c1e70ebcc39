"""exitsnoop: each process exit: the process, its parent, its age, and the
exit code or the signal that ended it.

    pybpf exitsnoop                    # until Ctrl-C
    pybpf exitsnoop --json --threads   # every thread's exit too
    pybpf exitsnoop --failed           # only non-zero codes and signals
"""

from __future__ import annotations

import argparse
import signal
from typing import Any

import pybpf
from pybpf.tools.options import Column, Shown, add_filters, add_output, add_timing, subcommand, trace_events

__all__ = ["exit_status", "register", "run"]

COLUMNS = (
    Column("comm", "PCOMM", -16),
    Column("pid", "PID", 7),
    Column("ppid", "PPID", 7),
    Column("tid", "TID", 7),
    Column("age_text", "AGE(s)", 9),
    Column("exit", "EXIT", -1),
)


def exit_status(wait_status: int) -> dict[str, Any]:
    """A wait status as the kernel keeps it in ``task->exit_code``:
    ``{"code": n}`` for an exit, ``{"signal": "SIGKILL", "core": bool}`` for a signal."""
    sig = wait_status & 0x7F
    if not sig:
        return {"code": (wait_status >> 8) & 0xFF}
    try:
        name = signal.Signals(sig).name
    except ValueError:
        name = f"signal {sig}"
    return {"signal": name, "core": bool(wait_status & 0x80)}


def _exit_text(status: dict[str, Any]) -> str:
    if "code" in status:
        return f"{status['code']}"
    return f"{status['signal']}{' (core dumped)' if status['core'] else ''}"


def run(args: argparse.Namespace) -> int:
    """Trace exits until the duration ends or a signal stops it."""

    def show(event: Any) -> Shown:
        status = exit_status(event.exit_code)
        if args.failed and status.get("code") == 0:
            return None
        record = {
            "pid": event.pid,
            "ppid": event.ppid,
            "tid": event.tid,
            "comm": event.comm.decode(errors="replace"),
            "age_s": event.age_ns / 1e9,
            **status,
        }
        return record, {"age_text": f"{event.age_ns / 1e9:.2f}", "exit": _exit_text(status)}

    def lost(obj: pybpf.BPFObject) -> str:
        count = sum(obj.maps["lost"][0])
        return f", {count} lost (the ring buffer was full)" if count else ""

    return trace_events(
        "exitsnoop",
        args,
        columns=COLUMNS,
        event_type="struct exit_event",
        show=show,
        noun="exits",
        note=lost,
        rodata={"trace_threads": args.threads},
    )


def register(commands: Any) -> None:
    """Add ``exitsnoop`` to the ``pybpf`` command."""
    parser = subcommand(commands, "exitsnoop", help="trace each process exit with its code or signal", doc=__doc__)
    add_filters(parser, what="trace exits of")
    parser.add_argument("-t", "--threads", action="store_true", help="every thread's exit, not only each process's")
    parser.add_argument("-x", "--failed", action="store_true", help="only exits with a non-zero code or a signal")
    add_output(parser)
    add_timing(parser)
    parser.set_defaults(run=run)
