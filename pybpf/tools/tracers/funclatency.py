"""funclatency: one function's latency, from entry to return, as a log2
histogram, for the whole run or per interval.

    pybpf funclatency /usr/bin/python3:PyObject_GC_Collect   # a user function
    pybpf funclatency libc.so.6:malloc --pid 1234 -i 1
    pybpf funclatency vfs_read -m                             # a kernel function

``BINARY:SYMBOL`` probes a function of an executable or library (a bare
library name is found where the dynamic linker finds it) with a uprobe
and a uretprobe.  A bare ``SYMBOL`` is a kernel function: traced with
fentry/fexit where the kernel has BPF trampolines, else with kprobes.
Nested and recursive calls count only their innermost return.
"""

from __future__ import annotations

import argparse
import errno
from typing import Any

import pybpf
from pybpf.tools.options import add_filters, add_output, add_timing, loaded_tool, subcommand
from pybpf.tools.tracers.latency import UNITS, add_units, report_histogram, unit_of

__all__ = ["kernel_probe", "register", "run"]

_PAIRS = {
    "uprobe": ("user_entry", "user_return"),
    "fentry": ("fentry_entry", "fexit_return"),
    "kprobe": ("kprobe_entry", "kprobe_return"),
}


def kernel_probe(function: str) -> str:
    """How a kernel function can be traced here: "fentry", else "kprobe";
    ``NotSupportedError`` naming why neither can."""
    fentry = pybpf.features.fentry_can_attach(function)
    if fentry:
        return "fentry"
    kprobe = pybpf.features.kprobe_exists(function)
    if kprobe:
        return "kprobe"
    raise pybpf.NotSupportedError(
        errno.EOPNOTSUPP,
        f"cannot trace kernel function {function!r}: fentry: {fentry.reason}; kprobes: {kprobe.reason}",
    )


def run(args: argparse.Namespace) -> int:
    """Trace the target until stopped, then print its histogram."""
    binary, _, symbol = args.target.rpartition(":")
    if not symbol:
        raise SystemExit(f"pybpf funclatency: {args.target!r} names no function")
    kind = "uprobe" if binary else "kprobe" if args.kprobes else kernel_probe(symbol)
    entry, ret = _PAIRS[kind]

    def prepare(obj: pybpf.BPFObject) -> None:
        for program in obj.programs.values():
            program.autoload = program.name in (entry, ret)
        if kind == "fentry":
            obj.programs[entry].set_attach_target(symbol)
            obj.programs[ret].set_attach_target(symbol)

    unit = unit_of(args)
    rodata = {"hist_unit_ns": UNITS[unit]}
    with loaded_tool("funclatency", args, rodata=rodata, prepare=prepare, attach=False) as obj:
        first, second = obj.programs[entry], obj.programs[ret]

        def attach() -> None:  # the object holds the links: closing it detaches
            if kind == "uprobe":
                pid = args.pid or None  # the probes go on that process's mapping only
                first.attach_uprobe(binary, symbol, pid=pid)
                second.attach_uprobe(binary, symbol, pid=pid, retprobe=True)
            elif kind == "fentry":
                first.attach_trace()
                second.attach_trace()
            else:
                first.attach_kprobe(symbol)
                second.attach_kprobe(symbol, retprobe=True)

        title = f"{args.target} ({kind})"
        report_histogram(obj.maps["hist"].items, args, unit, title, start=attach, target=args.target, probe=kind)
    return 0


def register(commands: Any) -> None:
    """Add ``funclatency`` to the ``pybpf`` command."""
    parser = subcommand(commands, "funclatency", help="a function's latency as a log2 histogram", doc=__doc__)
    parser.add_argument("target", help="BINARY:SYMBOL (a user function) or SYMBOL (a kernel function)")
    parser.add_argument("--kprobes", action="store_true", help="trace a kernel function with kprobes, not fentry")
    add_filters(parser, what="time only calls by")
    add_units(parser)
    add_output(parser, per="histogram")
    add_timing(parser)
    parser.add_argument("-i", "--interval", type=float, help="also print a histogram every this many seconds")
    parser.set_defaults(run=run)
