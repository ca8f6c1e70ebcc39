"""opensnoop: each open (open, openat, openat2) as it returns: the process,
its flags, the fd or error, and the path as the caller gave it.

    pybpf opensnoop                    # until Ctrl-C
    pybpf opensnoop --json --pid 1234 -d 5
    pybpf opensnoop --failed           # only the opens that failed
"""

from __future__ import annotations

import argparse
import errno
import os
from typing import Any

from pybpf.tools.options import Column, Shown, add_filters, add_output, add_timing, subcommand, trace_events

__all__ = ["flag_names", "register", "run"]

COLUMNS = (
    Column("pid", "PID", 7),
    Column("comm", "COMM", -16),
    Column("fd", "FD", 4),
    Column("err", "ERR", 3),
    Column("flags_text", "FLAGS", -24),
    Column("path", "PATH", -1),
)

_ACCESS = {os.O_RDONLY: "O_RDONLY", os.O_WRONLY: "O_WRONLY", os.O_RDWR: "O_RDWR"}
_FLAGS = [
    (value, name)
    for name in ("O_CREAT", "O_EXCL", "O_NOCTTY", "O_TRUNC", "O_APPEND", "O_NONBLOCK", "O_DSYNC", "O_DIRECT")
    + ("O_LARGEFILE", "O_DIRECTORY", "O_NOFOLLOW", "O_NOATIME", "O_CLOEXEC", "O_PATH", "O_TMPFILE")
    if (value := getattr(os, name, 0))
]


def flag_names(flags: int) -> list[str]:
    """The ``O_*`` names of open flags: the access mode, then each flag set
    (O_TMPFILE before the O_DIRECTORY it contains; leftover bits in hex)."""
    names = [_ACCESS.get(flags & os.O_ACCMODE, f"O_ACCMODE({flags & os.O_ACCMODE})")]
    rest = flags & ~os.O_ACCMODE
    for value, name in sorted(_FLAGS, key=lambda item: -bin(item[0]).count("1")):
        if rest & value == value:
            names.append(name)
            rest &= ~value
    if rest:
        names.append(hex(rest))
    return names


def run(args: argparse.Namespace) -> int:
    """Trace opens until the duration ends or a signal stops it."""

    def show(event: Any) -> Shown:
        if args.failed and event.ret >= 0:
            return None
        fd, err = (event.ret, 0) if event.ret >= 0 else (-1, -event.ret)
        record = {
            "pid": event.pid,
            "tid": event.tid,
            "uid": event.uid,
            "comm": event.comm.decode(errors="replace"),
            "fd": fd,
            "err": err,
            "errno": errno.errorcode.get(err, str(err)) if err else None,
            "flags": event.flags,
            "path": event._raw("path")[: max(event.path_size - 1, 0)].decode(errors="replace"),
        }
        return record, {"flags_text": "|".join(flag_names(event.flags))}

    optional = [("open_enter", "syscalls", "sys_enter_open"), ("open_exit", "syscalls", "sys_exit_open")]
    optional += [("openat2_enter", "syscalls", "sys_enter_openat2"), ("openat2_exit", "syscalls", "sys_exit_openat2")]
    return trace_events(
        "opensnoop",
        args,
        columns=COLUMNS,
        event_type="struct open_event",
        show=show,
        noun="opens",
        optional_tracepoints=optional,
    )


def register(commands: Any) -> None:
    """Add ``opensnoop`` to the ``pybpf`` command."""
    parser = subcommand(commands, "opensnoop", help="trace each open with its path and result", doc=__doc__)
    add_filters(parser, what="trace opens by")
    parser.add_argument("-x", "--failed", action="store_true", help="only the opens that failed")
    add_output(parser)
    add_timing(parser)
    parser.set_defaults(run=run)
