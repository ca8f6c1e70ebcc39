"""How the ``pybpf`` commands run: SIGTERM and SIGHUP end them as Ctrl-C
does, through their ``with`` blocks, so that what they attached is detached
and what they mounted unmounted, and a tracer prints its totals; the status
is then 0.  A pybpf error is one line on stderr and status 1.

Python's default SIGTERM and SIGHUP end the process at once, running no
cleanup: links go with the process, but a cls_bpf filter, a route, a mount
or a demo's network namespaces stay."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

__all__ = ["exit_on_signals", "run_command", "stops_between_steps"]

_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class _Stop:
    """The state the signal handler shares with :func:`stops_between_steps`."""

    deferred = False  # inside stops_between_steps: record a stop, do not raise it
    requested = False


@contextmanager
def exit_on_signals() -> Iterator[None]:
    """For the block, SIGINT, SIGTERM and SIGHUP raise ``KeyboardInterrupt``:
    a request to stop, which a tool answers by detaching and reporting what
    it saw (inside :func:`stops_between_steps`, the request is recorded
    instead).  After the first, the three are ignored, so that the cleanup
    and the report cannot themselves be cut short."""

    def handler(signum: int, frame: FrameType | None) -> None:
        for sig in _SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        _Stop.requested = True
        if not _Stop.deferred:
            raise KeyboardInterrupt

    _Stop.requested = False  # a stop belongs to one block: main() may run again in this process
    previous: dict[int, Any] = {sig: signal.signal(sig, handler) for sig in _SIGNALS}
    try:
        yield
    finally:
        for sig, action in previous.items():
            signal.signal(sig, action)


@contextmanager
def stops_between_steps() -> Iterator[Callable[[], bool]]:
    """For the block, a stop request is recorded, not raised: the block
    calls the function it is given between its steps (``True``: stop), so
    that no step, an attach or the printing of a record the reader already
    took from its buffer, is cut in half.  Outside :func:`exit_on_signals`
    (a tool's function called from Python), a stop stays Python's own
    ``KeyboardInterrupt``.  Blocks nest."""
    outer, _Stop.deferred = _Stop.deferred, True
    try:
        yield lambda: _Stop.requested
    finally:
        _Stop.deferred = outer


def run_command(prog: str, body: Callable[[], int | None], *, verbose: bool = False) -> int:
    """Run a command's ``body`` under :func:`exit_on_signals`; its status
    (None: 0; 0 too when stopped by a signal before it finished), or 1 after
    printing ``prog: <error>`` for a pybpf error: its first line, which names
    what failed and why (a missing capability, a kernel feature), or with
    ``verbose`` all of it (libbpf's own lines, a verifier log's end)."""
    from pybpf import BPFError, VerifierError

    try:
        with exit_on_signals():
            return body() or 0
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:  # the reader went away (| head): nothing more to say, to anyone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except BPFError as exc:
        text = str(exc)
        if not verbose:
            text = text.splitlines()[0]
            if isinstance(exc, VerifierError) and exc.reason:
                text += f": the verifier refused it: {exc.reason}"
        print(f"{prog}: {text}", file=sys.stderr)
        return 1
