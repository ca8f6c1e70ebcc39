"""Run-time statistics of BPF programs (``pybpf.enable_stats()``)."""

from __future__ import annotations

import os
import warnings
import weakref
from typing import Any

from pybpf._errors import check
from pybpf._ffi import lib

__all__ = ["StatsSession", "enable_stats"]


def _close_leaked(fd: int) -> None:
    os.close(fd)
    warnings.warn("pybpf: enable_stats() session was not closed; stopped it", ResourceWarning, stacklevel=2)


class StatsSession:
    """While open, the kernel counts every program's runs and run time
    (``Program.info().run_count`` / ``run_time_ns``).  Counting costs a
    little on every run of every program, so close it when done; the kernel
    counts while any session (or the ``kernel.bpf_stats_enabled`` sysctl) is on."""

    def __init__(self) -> None:
        self._fd = check(lib.bpf_enable_stats(lib.BPF_STATS_RUN_TIME), "enable BPF run-time statistics")
        self._finalizer = weakref.finalize(self, _close_leaked, self._fd)

    @property
    def closed(self) -> bool:
        """Whether the session was closed."""
        return not self._finalizer.alive

    def close(self) -> None:
        """Stop this session's counting. Idempotent."""
        if self._finalizer.detach() is not None:
            os.close(self._fd)

    def __enter__(self) -> StatsSession:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def enable_stats() -> StatsSession:
    """Start counting program runs and run time (``BPF_ENABLE_STATS``);
    use as a context manager or ``close()`` the session."""
    return StatsSession()
