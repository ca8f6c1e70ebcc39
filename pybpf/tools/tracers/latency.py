"""runqlat and biolatency: latency as log2 histograms, drawn the way BCC
draws them, for the whole run or per interval.

    pybpf runqlat -d 5                 # run-queue latency over 5 s
    pybpf runqlat --pid 1234 -i 1 -m   # one process, each second, in ms
    pybpf biolatency -i 5 --json       # block I/O latency, one JSON object per interval

runqlat measures from a task's wakeup (or preemption) to its running;
biolatency from a request's issue to the device to its completion.  The
histograms live in the kernel and are never reset: each interval prints
what was counted since the last, so no count is lost between a read and
a reset.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Mapping
from typing import Any

from pybpf.tools import histogram
from pybpf.tools.options import add_filters, add_output, add_timing, loaded_tool, run_until_stopped, subcommand

__all__ = ["add_units", "register", "report_histogram", "run_biolatency", "run_runqlat", "unit_of"]

UNITS = {"nsecs": 1, "usecs": 1000, "msecs": 1_000_000}


def add_units(parser: argparse.ArgumentParser) -> None:
    """``-m``/``--milliseconds`` and ``--nanoseconds`` (default: microseconds)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-m", "--milliseconds", action="store_true", help="histogram in milliseconds")
    group.add_argument("--nanoseconds", action="store_true", help="histogram in nanoseconds")


def unit_of(args: argparse.Namespace) -> str:
    """The histogram's unit the options ask for."""
    return "msecs" if args.milliseconds else "nsecs" if args.nanoseconds else "usecs"


def report_histogram(
    read: Callable[[], Mapping[int, int]],
    args: argparse.Namespace,
    unit: str,
    title: str,
    *,
    start: Callable[[], object],
    **extra: Any,
) -> None:
    """Run ``start()`` (the attach), then until stopped, printing the
    histogram ``read()`` returns each interval (with ``--interval``) and
    over the whole run; a stop during ``start()`` still prints the total."""
    started = time.monotonic()
    before: Mapping[int, int] = {}

    def show(slots: Mapping[int, int], kind: str) -> None:
        elapsed = round(time.monotonic() - started, 3)
        if args.json:
            import json

            record = histogram.as_json(slots, unit, kind=kind, elapsed_s=elapsed, **extra)
            print(json.dumps(record), flush=True)
        else:
            stamp = time.strftime("%H:%M:%S") if kind == "interval" else f"total over {elapsed:.1f} s"
            print(f"[{stamp}] {title}\n{histogram.render(slots, unit)}\n", flush=True)

    def interval() -> None:
        nonlocal before
        now = dict(read())
        show(histogram.delta(now, before), "interval")
        before = now

    def begin() -> None:
        start()
        if not args.json:
            print(f"Tracing {title}... Ctrl-C to end.", flush=True)

    run_until_stopped(time.sleep, duration=args.duration, interval=args.interval, report=interval, start=begin)
    show(dict(read()), "total")


def _histogram_tool(name: str, args: argparse.Namespace, title: str) -> int:
    unit = unit_of(args)
    with loaded_tool(name, args, rodata={"hist_unit_ns": UNITS[unit]}, attach=False) as obj:
        hist = obj.maps["hist"]
        report_histogram(hist.items, args, unit, title, start=obj.attach)
    return 0


def run_runqlat(args: argparse.Namespace) -> int:
    """``pybpf runqlat``."""
    return _histogram_tool("runqlat", args, "run-queue latency")


def run_biolatency(args: argparse.Namespace) -> int:
    """``pybpf biolatency``."""
    return _histogram_tool("biolatency", args, "block I/O latency")


def register(commands: Any) -> None:
    """Add ``runqlat`` and ``biolatency`` to the ``pybpf`` command."""
    runqlat = subcommand(commands, "runqlat", help="run-queue latency as a log2 histogram", doc=__doc__)
    add_filters(runqlat, what="measure only tasks of")
    biolatency = subcommand(commands, "biolatency", help="block I/O latency as a log2 histogram", doc=__doc__)
    for parser, run in ((runqlat, run_runqlat), (biolatency, run_biolatency)):
        add_units(parser)
        add_output(parser, per="histogram")
        add_timing(parser)
        parser.add_argument("-i", "--interval", type=float, help="also print a histogram every this many seconds")
        parser.set_defaults(run=run)
