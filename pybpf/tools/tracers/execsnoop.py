"""execsnoop: each exec (execve, execveat) as it returns: the process, its
parent, user, return code, command and full argument list.

    pybpf execsnoop                    # until Ctrl-C
    pybpf execsnoop --json -d 10 --comm bash

The arguments are read when the call starts (up to 32 of up to 255 bytes
each; ``args_truncated`` says when more were left out) and sent with the
call's return code; the command is the new program's after a success.
"""

from __future__ import annotations

import argparse
from typing import Any

from pybpf.tools.options import Column, Shown, add_filters, add_output, add_timing, subcommand, trace_events

__all__ = ["argv_of", "register", "run", "show"]

COLUMNS = (
    Column("comm", "PCOMM", -16),
    Column("pid", "PID", 7),
    Column("ppid", "PPID", 7),
    Column("uid", "UID", 6),
    Column("ret", "RET", 4),
    Column("args", "ARGS", -1),
)


def argv_of(event: Any) -> list[str]:
    """The argument list of an ``exec_event`` record, as sent (NUL-separated)."""
    packed = event._raw("args")[: event.args_size]
    return [arg.decode(errors="replace") for arg in packed.split(b"\0")[: event.args_count]]


def show(event: Any) -> Shown:
    """An ``exec_event`` as a JSON record and its table row."""
    argv = argv_of(event)
    record = {
        "pid": event.pid,
        "ppid": event.ppid,
        "uid": event.uid,
        "ret": event.retval,
        "comm": event.comm.decode(errors="replace"),
        "argv": argv,
        "args_truncated": bool(event.args_truncated),
    }
    return record, {"args": " ".join(argv) + (" ..." if event.args_truncated else "")}


def run(args: argparse.Namespace) -> int:
    """Trace execs until the duration ends or a signal stops it."""
    return trace_events("execsnoop", args, columns=COLUMNS, event_type="struct exec_event", show=show, noun="execs")


def register(commands: Any) -> None:
    """Add ``execsnoop`` to the ``pybpf`` command."""
    parser = subcommand(commands, "execsnoop", help="trace each exec with its arguments", doc=__doc__)
    add_filters(parser, what="trace execs by")
    add_output(parser)
    add_timing(parser)
    parser.set_defaults(run=run)
