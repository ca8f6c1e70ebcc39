"""How the ``pybpf`` commands run: signals end them as Ctrl-C does, through
their ``with`` blocks, so that what they attached is detached and what they
mounted unmounted; a pybpf error is one line on stderr and status 1.

Python's default SIGTERM and SIGHUP end the process at once, running no
cleanup: links go with the process, but a cls_bpf filter, a route, a mount
or a demo's network namespaces stay."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

__all__ = ["exit_on_signals", "run_command"]

_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


@contextmanager
def exit_on_signals() -> Iterator[None]:
    """For the block, SIGINT raises ``KeyboardInterrupt`` and SIGTERM and
    SIGHUP raise ``SystemExit`` with status 128 + the signal's number (the
    shell's convention).  After the first, the three are ignored, so that
    the cleanup the exception runs cannot itself be cut short."""

    def handler(signum: int, frame: FrameType | None) -> None:
        for sig in _SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)

    previous: dict[int, Any] = {sig: signal.signal(sig, handler) for sig in _SIGNALS}
    try:
        yield
    finally:
        for sig, action in previous.items():
            signal.signal(sig, action)


def run_command(prog: str, body: Callable[[], int | None]) -> int:
    """Run a command's ``body`` under :func:`exit_on_signals`; its status
    (None: 0), or 1 after printing ``prog: <error>`` for a pybpf error."""
    from pybpf._core.errors import BPFError

    try:
        with exit_on_signals():
            return body() or 0
    except BPFError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
