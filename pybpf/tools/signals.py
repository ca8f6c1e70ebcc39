"""Signals that end a tool as Ctrl-C does: through its ``with`` blocks, so
that what it attached is detached and what it mounted unmounted.

Python's default SIGTERM and SIGHUP end the process at once, running no
cleanup: links go with the process, but a cls_bpf filter, a route, a mount
or a demo's network namespaces stay."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

__all__ = ["exit_on_signals"]

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
