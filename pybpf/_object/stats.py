"""Run-time statistics of BPF programs (``pybpf.enable_stats()``)."""

from __future__ import annotations

import os
from functools import partial

from pybpf._core.errors import check
from pybpf._core.ffi import lib
from pybpf._core.handle import OwnedHandle
from pybpf._core.public import public

__all__ = ["StatsSession", "enable_stats"]


@public
class StatsSession(OwnedHandle):
    """While open, the kernel counts every program's runs and run time
    (``Program.info().run_count`` / ``run_time_ns``).  Counting costs a
    little on every run of every program, so close it when done; the kernel
    counts while any session (or the ``kernel.bpf_stats_enabled`` sysctl) is on."""

    _kind = "stats session"

    def __init__(self) -> None:
        fd = check(lib.bpf_enable_stats(lib.BPF_STATS_RUN_TIME), "enable BPF run-time statistics")
        self._init_handle("of enable_stats()", fd)
        # A forked child's copy of the fd does not keep the parent's session on.
        self._own(partial(os.close, fd), forget=partial(os.close, fd))

    def close(self) -> None:
        """Stop this session's counting. Idempotent."""
        super().close()

    def __enter__(self) -> StatsSession:
        return self


@public
def enable_stats() -> StatsSession:
    """Start counting program runs and run time (``BPF_ENABLE_STATS``);
    use as a context manager or ``close()`` the session."""
    return StatsSession()
