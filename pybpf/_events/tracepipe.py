"""``trace_pipe()``: the lines BPF programs print with ``bpf_printk``.

The kernel writes them to the tracing ring buffer, read through tracefs's
``trace_pipe``.  That pipe is the whole machine's: reading a line takes it
from every other reader, as ``cat trace_pipe`` does.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator
from functools import partial
from typing import NamedTuple

from pybpf._core.handle import BlockingHandle, close_fds
from pybpf._core.mounts import tracefs_root
from pybpf._core.public import public

__all__ = ["PrintkLine", "TracePipe", "trace_pipe"]

# "  python3-1234  [001] d..31  5678.123456: bpf_trace_printk: hello"; with
# the record-tgid option a "(  1234)" column follows the pid.
# Compiled on first use, by re's cache: a tracepipe is rarely read.
_LINE = (
    r"^\s*(?P<task>.*?)-(?P<pid>\d+)\s+(?:\(\s*[-\d]+\)\s+)?\[(?P<cpu>\d+)\]\s+(?P<flags>\S+)\s+"
    r"(?P<ts>\d+\.\d+):\s+(?P<event>[\w.]+):\s?(?P<message>.*)$"
)
_PRINTK_EVENTS = frozenset({"bpf_trace_printk"})


@public
class PrintkLine(NamedTuple):
    """One ``bpf_printk`` line, as the tracing buffer records it."""

    task: str
    """The command name of the task the program ran in."""
    pid: int
    """Its thread id."""
    cpu: int
    flags: str
    """The kernel's irq/preempt flags column (``d..31``)."""
    timestamp: float
    """Seconds since boot."""
    message: str
    """What the program printed."""


def parse_line(line: str) -> PrintkLine | None:
    """A ``bpf_printk`` line of ``trace_pipe``, or None for another tracer's line."""
    match = re.match(_LINE, line)
    if match is None or match["event"] not in _PRINTK_EVENTS:
        return None
    return PrintkLine(
        match["task"], int(match["pid"]), int(match["cpu"]), match["flags"], float(match["ts"]), match["message"]
    )


@public
def trace_pipe(*, timeout: float | None = None) -> TracePipe:
    """Start reading the lines BPF programs print with ``bpf_printk``; iterate
    the result for them (see :class:`TracePipe`)."""
    return TracePipe(timeout=timeout)


@public
class TracePipe(BlockingHandle):
    """The ``bpf_printk`` lines, read from tracefs's ``trace_pipe``.

    From creation until ``close()``, tracefs is mounted (privately, if it is
    not mounted already) and tracing is on (``tracing_on``), so nothing a
    program prints meanwhile is lost; ``close()`` puts both back as they
    were (a forked child's close only closes its copies of the fds).
    Iterating yields :class:`PrintkLine` objects as they come; ``timeout``
    ends an iteration after that many seconds without a line (None: never;
    stop with ``break``, or ``close()`` from another thread).  Lines of other
    tracers are skipped.  Use ``with``.
    """

    _kind = "trace_pipe"

    def __init__(self, *, timeout: float | None = None) -> None:
        self._timeout = timeout
        stack = contextlib.ExitStack()
        try:
            root = stack.enter_context(tracefs_root())
            self._init_handle(f"at {root}")
            switch = os.path.join(root, "tracing_on")
            with open(switch, encoding="ascii") as f:
                was_on = f.read().strip() == "1"
            if not was_on:
                _write(switch, "1")
                stack.callback(_write, switch, "0")
            fd = os.open(os.path.join(root, "trace_pipe"), os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            stack.callback(os.close, fd)
            wake = self._init_wake()
            stack.callback(close_fds, *wake)
        except BaseException:
            stack.close()
            raise
        self._fd = fd
        self._own(stack.close, forget=partial(close_fds, fd, *wake))

    def close(self) -> None:
        """Stop reading; tracefs and ``tracing_on`` are as they were before.
        Idempotent; wakes an iteration waiting on another thread."""
        super().close()

    def __enter__(self) -> TracePipe:
        return self

    def __iter__(self) -> Iterator[PrintkLine]:
        self._require_open()
        return self._lines()

    def _lines(self) -> Iterator[PrintkLine]:
        pending = b""
        timeout = self._timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not self._wait_readable(self._fd, wait):
                return  # quiet for `timeout` seconds, or closed
            try:
                with self._use():
                    chunk = os.read(self._fd, 1 << 16)
            except BlockingIOError:
                continue
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for raw in complete:
                line = parse_line(raw.decode("utf-8", "replace"))
                if line is not None:
                    yield line
            if timeout is not None and complete:
                deadline = time.monotonic() + timeout  # quiet time restarts with each line


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="ascii") as f:
        f.write(text)
