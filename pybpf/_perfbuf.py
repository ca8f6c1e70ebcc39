"""Perf buffers: records programs send with ``bpf_perf_event_output`` into a
``PERF_EVENT_ARRAY``, one kernel buffer per CPU, with lost-record reports."""

from __future__ import annotations

import collections
import errno
from collections.abc import Callable
from typing import Any

from pybpf._errors import BPFValueError, check_ptr
from pybpf._events import EventReader, decode_record, event_codec, require_map_type
from pybpf._ffi import ffi, lib
from pybpf._map import Map
from pybpf._types import MapType

__all__ = ["PerfBuffer"]


class PerfBuffer(EventReader):
    """Read records from a ``PERF_EVENT_ARRAY`` map (``bpf_perf_event_output``).

    The kernel keeps one buffer of ``pages`` pages (a power of two) per CPU;
    ``callback(cpu, event)`` receives each record with the CPU it was sent on
    (records of one CPU arrive in order; across CPUs they interleave).
    Without a callback, :meth:`events` yields ``(cpu, event)`` pairs.
    ``event_type`` decodes as for ``RingBuffer``; without one an event is the
    raw ``bytes``, which perf pads so that a record is a multiple of 8 bytes
    with its 4-byte size (up to 7 bytes longer than what the program sent).

    Unlike a ring buffer, a full perf buffer drops new records: the kernel
    counts them and reports the count once the buffer has room again.
    :attr:`lost` is the total and :attr:`lost_by_cpu` the split; ``lost``
    (the argument) is called as ``lost(cpu, count)`` for each report.

    An exception raised by a callback is re-raised by :meth:`poll`; records
    that arrived in the same poll after it are delivered first by the next
    :meth:`poll`/:meth:`consume`, so none is lost.  The perf buffer borrows
    the map: keep it (or its object) open.  ``close()`` frees it; use ``with``.
    """

    _kind = "perf buffer"

    def __init__(
        self,
        perf_map: Map,
        callback: Callable[[int, Any], Any] | None = None,
        *,
        pages: int = 8,
        event_type: Any = None,
        lost: Callable[[int, int], Any] | None = None,
    ) -> None:
        super().__init__(getattr(perf_map, "name", "?"))
        require_map_type(perf_map, MapType.PERF_EVENT_ARRAY, "PerfBuffer")
        if pages <= 0 or pages & (pages - 1):
            raise BPFValueError(errno.EINVAL, f"pages must be a power of two, got {pages}")
        self._map = perf_map
        self._callback = callback
        self._on_lost = lost
        self._codec = event_codec(perf_map, event_type)
        self._source = f"perf buffer '{self._name}'"
        self._backlog: collections.deque[tuple[int, Any]] = collections.deque()
        self._read = 0
        self.lost = 0
        """Records the kernel dropped because a CPU's buffer was full (reported so far)."""
        self.lost_by_cpu: dict[int, int] = {}
        """``lost`` per CPU."""
        self._handle = ffi.new_handle(self)  # kept here: libbpf holds only the pointer
        ptr = check_ptr(
            lib.perf_buffer__new(
                perf_map.fd, pages, lib.pybpf_on_perf_sample, lib.pybpf_on_perf_lost, self._handle, ffi.NULL
            ),
            f"open perf buffer on map '{self._name}' ({pages} pages per CPU)",
        )
        self._own(ptr, lib.perf_buffer__free)

    # -- callbacks from C: never raise ------------------------------------------------

    def _sample(self, cpu: int, data: Any, size: int) -> None:
        try:
            event = decode_record(self._codec, ffi.buffer(data, size), size, self._source)
        except BaseException as exc:  # noqa: BLE001 - re-raised by the poller
            self._error = self._error or exc
            return
        self._read += 1
        if self._error is not None:  # a callback raised earlier in this poll
            self._backlog.append((cpu, event))
            return
        try:
            self._deliver(cpu, event)
        except BaseException as exc:  # noqa: BLE001
            self._error = exc

    def _lost(self, cpu: int, count: int) -> None:
        self.lost += count
        self.lost_by_cpu[cpu] = self.lost_by_cpu.get(cpu, 0) + count
        if self._on_lost is not None:
            try:
                self._on_lost(cpu, count)
            except BaseException as exc:  # noqa: BLE001
                self._error = self._error or exc

    def _deliver(self, cpu: int, event: Any) -> None:
        if self._callback is None:
            self._queue.append((cpu, event))
        else:
            self._callback(cpu, event)

    # -- reading ------------------------------------------------------------------------

    def poll(self, timeout: float | None = None) -> int:
        """Wait up to ``timeout`` seconds (``None``: until something arrives) for
        records, deliver every available one, and return how many were read."""
        ms = -1 if timeout is None else max(0, int(timeout * 1000))
        return self._count(lambda ptr: lib.perf_buffer__poll(ptr, ms), "poll")

    def consume(self) -> int:
        """Deliver the records already waiting in every CPU's buffer, without blocking."""
        return self._count(lib.perf_buffer__consume, "consume")

    def _count(self, call: Callable[[Any], int], what: str) -> int:
        def body(ptr: Any) -> tuple[int, int]:
            delivered = 0
            while self._backlog:  # what came after an exception last time, first
                self._deliver(*self._backlog.popleft())
                delivered += 1
            self._read = 0
            # Records in hand: do not block for more.
            ret = (lib.perf_buffer__consume if delivered else call)(ptr)
            return ret, delivered + self._read

        return self._run(body, what)

    def fileno(self) -> int:
        """The epoll file descriptor: readable when a CPU's buffer has records."""
        return int(lib.perf_buffer__epoll_fd(self._live()))

    @property
    def buffers(self) -> int:
        """How many per-CPU buffers are open (the map's entries up to the possible CPUs)."""
        return int(lib.perf_buffer__buffer_cnt(self._live()))

    def __enter__(self) -> PerfBuffer:
        return self

    def __repr__(self) -> str:
        return f"<pybpf.PerfBuffer '{self._name}' lost={self.lost}{' closed' if self.closed else ''}>"
