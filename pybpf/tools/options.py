"""What the ``pybpf`` tracers share: their options, the filters they set in
the kernel, the loop that runs them, and their two outputs (a table for a
person, one JSON object per line for a program).

The ``--pid`` and ``--comm`` filters go to the program's ``.rodata``
(``bpf_progs/tool_filter.h``) before load: what they leave out is never
sent to user space.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional, TextIO

import pybpf
from pybpf.tools.command import stops_between_steps

__all__ = [
    "Column",
    "Printer",
    "Shown",
    "add_filters",
    "add_output",
    "add_timing",
    "loaded_tool",
    "run_until_stopped",
    "set_filters",
    "subcommand",
    "trace_events",
    "tracefs",
]

COMM_BYTES = 15  # TASK_COMM_LEN less its NUL: the kernel keeps no more of a name
TRACEFS = "/sys/kernel/tracing"


def _comm(text: str) -> str:
    if not text:
        raise argparse.ArgumentTypeError("an empty name matches nothing")
    return text


def subcommand(commands: Any, name: str, *, help: str, doc: str | None) -> argparse.ArgumentParser:
    """Add the subcommand ``name`` to the ``pybpf`` command: ``help`` in the
    list of commands, the module's docstring ``doc`` (with its examples laid
    out as written) in its own ``--help``."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=help, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    return parser


def add_filters(parser: argparse.ArgumentParser, *, what: str = "trace") -> None:
    """``--pid`` and ``--comm``, applied in the kernel."""
    parser.add_argument("-p", "--pid", type=int, default=0, help=f"{what} only this process (filtered in BPF)")
    parser.add_argument(
        "-c",
        "--comm",
        type=_comm,
        help=f"{what} only tasks with this command name (exact; the kernel keeps its first 15 bytes; filtered in BPF)",
    )


def add_output(parser: argparse.ArgumentParser, *, per: str = "event") -> None:
    """``--json``: one JSON object per ``per`` instead of the table."""
    parser.add_argument("--json", action="store_true", help=f"print one JSON object per {per} instead of a table")


def add_timing(parser: argparse.ArgumentParser, *, interval: float | None = None) -> None:
    """``--duration`` and, for tools that report periodically, ``--interval``."""
    parser.add_argument("-d", "--duration", type=float, help="stop after this many seconds (default: Ctrl-C)")
    if interval is not None:
        parser.add_argument(
            "-i", "--interval", type=float, default=interval, help=f"seconds between reports (default {interval:g})"
        )


@contextlib.contextmanager
def tracefs() -> Iterator[None]:
    """Mount tracefs for the block if it is not mounted (libbpf attaches
    tracepoints by name through it); unmount it after if this mounted it."""
    mounted = pybpf.mount_tracefs(TRACEFS)
    try:
        yield
    finally:
        if mounted:
            pybpf.unmount(TRACEFS)


def set_filters(obj: pybpf.BPFObject, *, pid: int = 0, comm: str | None = None) -> None:
    """Before load, set ``bpf_progs/tool_filter.h``'s ``target_pid`` and
    ``target_comm`` (the kernel keeps a comm's first 15 bytes)."""
    if pid:
        obj.rodata["target_pid"] = pid
    if comm:
        obj.rodata["target_comm"] = comm.encode()[:COMM_BYTES]


@contextlib.contextmanager
def loaded_tool(
    name: str,
    args: argparse.Namespace,
    *,
    rodata: Mapping[str, Any] | None = None,
    optional_tracepoints: Sequence[tuple[str, str, str]] = (),
    prepare: Callable[[pybpf.BPFObject], object] | None = None,
    attach: bool = True,
) -> Iterator[pybpf.BPFObject]:
    """The shipped program ``name``, its filters and ``rodata`` set, loaded,
    and (``attach``) every program attached by its section; closed (so
    detached) at the end of the block.

    ``optional_tracepoints`` are ``(program, category, name)`` the kernel may
    lack (``sys_enter_open`` on arm64): their programs are left out where it
    does.  ``prepare(obj)`` makes the tool's own settings before load.
    """
    with tracefs(), pybpf.BPFObject.open(pybpf.shipped(name)) as obj:
        set_filters(obj, pid=getattr(args, "pid", 0), comm=getattr(args, "comm", None))
        for key, value in (rodata or {}).items():
            obj.rodata[key] = value
        for program, category, tracepoint in optional_tracepoints:
            if not pybpf.features.tracepoint_exists(category, tracepoint):
                obj.programs[program].autoload = False
        if prepare is not None:
            prepare(obj)
        obj.load()
        if attach:
            obj.attach()
        yield obj


def run_until_stopped(
    step: Callable[[float], object],
    *,
    duration: float | None,
    interval: float | None = None,
    report: Callable[[], object] | None = None,
    start: Callable[[], object] | None = None,
) -> None:
    """Call ``step(timeout)`` (a poll that waits up to ``timeout`` seconds)
    until ``duration`` has passed or Ctrl-C, SIGTERM or SIGHUP arrives
    (``pybpf.tools.command`` turns them into ``KeyboardInterrupt``), and
    ``report()`` every ``interval`` seconds on the way.

    ``start()`` (the attach) runs first, under the same watch: a tool
    makes everything it reads with before attaching, so that a stop
    arriving from the moment it is attached still ends in its final
    drain and report, never in a silent exit.  A stop is taken between
    steps (within a quarter of a second), never inside one: a record
    the reader took from its buffer is always printed."""
    with contextlib.suppress(KeyboardInterrupt), stops_between_steps() as stopped:
        if start is not None:
            start()
        now = time.monotonic()
        deadline = None if duration is None else now + duration
        next_report = None if interval is None else now + interval
        while (deadline is None or now < deadline) and not stopped():
            wake = min(t for t in (deadline, next_report, now + 0.25) if t is not None)
            step(max(0.0, wake - now))
            now = time.monotonic()
            if next_report is not None and report is not None and now >= next_report:
                report()
                next_report += interval or 0.0


@dataclass(frozen=True)
class Column:
    """A table column: the record's ``key``, its header and width (negative: left-aligned)."""

    key: str
    header: str
    width: int


class Printer:
    """Prints records as table rows under one header, or as JSON lines."""

    def __init__(self, columns: Sequence[Column], *, as_json: bool, out: TextIO | None = None) -> None:
        self.columns = columns
        self.as_json = as_json
        self.out = out if out is not None else sys.stdout
        self._header_done = False

    def _cell(self, column: Column, value: Any) -> str:
        text = str(value)
        if column is self.columns[-1] and column.width < 0:
            return text  # the last column is not padded
        return f"{text:<{-column.width}}" if column.width < 0 else f"{text:>{column.width}}"

    def header(self) -> None:
        """The table's header, once (nothing for JSON)."""
        if not self.as_json and not self._header_done:
            self._header_done = True
            self.out.write(" ".join(self._cell(c, c.header) for c in self.columns) + "\n")
            self.out.flush()

    def row(self, record: Mapping[str, Any], *, text: Mapping[str, Any] | None = None) -> None:
        """One record: a JSON object of ``record``, or a table row of
        ``text`` (what a person reads) over ``record``."""
        if self.as_json:
            self.out.write(json.dumps(record) + "\n")
        else:
            self.header()
            shown = {**record, **(text or {})}
            self.out.write(" ".join(self._cell(c, shown.get(c.key, "")) for c in self.columns) + "\n")
        self.out.flush()

    def total(self, text: str) -> None:
        """A closing line: on stderr, so that stdout stays records only."""
        print(text, file=sys.stderr, flush=True)


Shown = Optional[tuple[Mapping[str, Any], Mapping[str, Any]]]


def trace_events(
    name: str,
    args: argparse.Namespace,
    *,
    columns: Sequence[Column],
    event_type: str,
    show: Callable[[Any], Shown],
    noun: str,
    note: Callable[[pybpf.BPFObject], str] | None = None,
    **loading: Any,
) -> int:
    """Run an event tracer: the shipped program ``name`` loaded and
    attached (``loading`` as :func:`loaded_tool` takes it), its ring buffer
    ``events`` decoded as ``event_type``, each event turned by ``show`` into
    ``(record, text)`` (or None: left out) and printed, until the duration
    ends or a signal stops it; then ``name: N noun`` and ``note(obj)`` on stderr.
    The reader and the header come before the attach: once its links exist,
    the tool is reading."""
    printer = Printer(columns, as_json=args.json)
    seen = 0

    def deliver(event: Any) -> None:
        nonlocal seen
        shown = show(event)
        if shown is not None:
            seen += 1
            printer.row(shown[0], text=shown[1])

    with loaded_tool(name, args, attach=False, **loading) as obj:
        with pybpf.RingBuffer(obj.maps["events"], deliver, event_type=event_type) as ring:
            printer.header()
            run_until_stopped(ring.poll, duration=args.duration, start=obj.attach)
            ring.consume()
        extra = note(obj) if note is not None else ""
    printer.total(f"{name}: {seen} {noun}{extra}")
    return 0
