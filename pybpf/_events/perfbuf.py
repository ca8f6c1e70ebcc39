"""Perf buffers: records programs send with ``bpf_perf_event_output`` into a
``PERF_EVENT_ARRAY``, one kernel buffer per CPU, with lost-record reports."""

from __future__ import annotations

import collections
import errno
import itertools
from collections.abc import Callable
from typing import Any

from pybpf._core.enums import MapType
from pybpf._core.errors import BPFValueError, call_ptr
from pybpf._core.ffi import ffi, lib
from pybpf._core.public import public
from pybpf._events.arrays import BatchForm, RecordArrays, Taken
from pybpf._events.reader import Batch, EventReader, LostReport, event_codec, require_map_type
from pybpf._maps.base import MapBase

__all__ = ["PerfBuffer"]

_COLLECT = lib.pybpf_perf_collect_fn
_LOST = lib.pybpf_perf_lost_fn


@public
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

    ``batch="numpy"`` or ``batch="memoryview"`` (with an ``event_type``)
    calls ``callback(cpus, records)`` once per read instead: the records as
    one array, as for ``RingBuffer``, and the CPU of each as an ``int32``
    array (numpy) or memoryview.  Lost reports still go to ``lost``.  An
    array is handed over once: if the callback raises, it is not delivered
    again.

    An exception raised by a callback is re-raised by :meth:`poll`; records
    that arrived in the same poll after it are delivered first by the next
    :meth:`poll`/:meth:`consume`, so none is lost.  Records are read from
    the kernel in C and decoded per poll.  The perf buffer borrows
    the map: keep it (or its object) open.  ``close()`` frees it; use ``with``.
    """

    _kind = "perf buffer"

    def __init__(
        self,
        perf_map: MapBase,
        callback: Callable[[int, Any], Any] | None = None,
        *,
        pages: int = 8,
        event_type: Any = None,
        lost: Callable[[int, int], Any] | None = None,
        batch: BatchForm | None = None,
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
        self._backlog: collections.deque[tuple[list[int], list[Any]]] = collections.deque()
        self.lost = 0
        """Records the kernel dropped because a CPU's buffer was full (reported so far)."""
        self.lost_by_cpu: dict[int, int] = {}
        """``lost`` per CPU."""
        self._batch = Batch(with_cpus=True)
        self._form = RecordArrays(batch, self._codec, self._source, padding=7) if batch is not None else None
        ptr = call_ptr(
            lambda: lib.perf_buffer__new(perf_map.fd, pages, _COLLECT, _LOST, self._batch.c, ffi.NULL),
            f"open perf buffer on map '{self._name}' ({pages} pages per CPU)",
        )
        self._take_ptr(ptr, lib.perf_buffer__free)

    # -- reading ------------------------------------------------------------------------

    def poll(self, timeout: float | None = None) -> int:
        """Wait up to ``timeout`` seconds (``None``: until something arrives) for
        records, deliver every available one, and return how many were read."""
        return self._count(self._waiting(timeout, lib.perf_buffer__consume), "poll")

    def consume(self) -> int:
        """Deliver the records already waiting in every CPU's buffer, without blocking."""
        return self._count(lib.perf_buffer__consume, "consume")

    def _count(self, call: Callable[[Any], int], what: str) -> int:
        def body(ptr: Any) -> tuple[int, int]:
            delivered = 0
            while self._backlog:  # what came after an exception last time, first
                cpus, items = self._backlog.popleft()
                delivered += self._deliver(cpus, items, [i for i, item in enumerate(items) if type(item) is LostReport])
            # Records in hand: do not block for more.  libbpf reads each CPU's
            # buffer once per call, so one batch holds at most their sizes.
            ret = (lib.perf_buffer__consume if delivered else call)(ptr)
            if self._form is not None:
                return ret, delivered + self._deliver_arrays(self._batch.take_arrays(self._form, self._source))
            items, cpus = self._batch.take(self._codec, self._source)
            lost_at = self._batch.lost_at
            for at in lost_at:
                report = items[at]
                self.lost += report.lost
                self.lost_by_cpu[report.cpu] = self.lost_by_cpu.get(report.cpu, 0) + report.lost
            delivered += self._deliver(cpus, items, lost_at)
            self._error = self._error or self._batch.pop_error()
            return ret, delivered

        return self._run(body, what)

    def _deliver_arrays(self, taken: Taken) -> int:
        """Count and report the lost records, then hand the records' array to
        the callback (or the queue as ``(cpus, records)``)."""
        for cpu, count in taken.lost:
            self.lost += count
            self.lost_by_cpu[cpu] = self.lost_by_cpu.get(cpu, 0) + count
            if self._on_lost is not None:
                self._on_lost(cpu, count)
        self._error = self._error or self._batch.pop_error()
        if taken.records is None:
            return 0
        if self._callback is None:
            self._queue.append((taken.cpus, taken.records))
        else:
            self._callback(taken.cpus, taken.records)
        return len(taken.records)

    def _deliver(self, cpus: list[int], items: list[Any], lost_at: list[int]) -> int:
        """Hand records to the callback (or the queue as ``(cpu, event)``) and
        the lost reports at ``lost_at`` in ``items`` to ``lost``; on an
        exception keep the rest for the next call, then raise.  Returns the
        records delivered."""
        callback, pairs = self._callback, zip(cpus, items)
        if not lost_at and callback is None:
            self._queue.extend(pairs)
            return len(items)
        try:
            if not lost_at:
                for cpu, event in pairs:  # the common case: one call per record, nothing else
                    callback(cpu, event)  # type: ignore[misc]
                return len(items)
            # The records between two reports go as in the common case.
            start = 0
            for at in [*lost_at, len(items)]:
                if callback is None:
                    self._queue.extend(itertools.islice(pairs, at - start))
                else:
                    for cpu, event in itertools.islice(pairs, at - start):
                        callback(cpu, event)
                if at < len(items):
                    report = next(pairs)[1]
                    if self._on_lost is not None:
                        self._on_lost(*report)
                start = at + 1
            return len(items) - len(lost_at)
        except BaseException:
            rest = list(pairs)  # what follows the item that raised
            self._backlog.appendleft(([cpu for cpu, _ in rest], [item for _, item in rest]))
            raise

    def _epoll_fd(self) -> int:
        return int(lib.perf_buffer__epoll_fd(self._ptr))

    @property
    def buffers(self) -> int:
        """How many per-CPU buffers are open (the map's entries up to the possible CPUs)."""
        with self._use():
            return int(lib.perf_buffer__buffer_cnt(self._ptr))

    def _after_release(self) -> None:
        self._batch.free()
        self._backlog.clear()

    def __enter__(self) -> PerfBuffer:
        return self

    def __repr__(self) -> str:
        return f"<pybpf.PerfBuffer '{self._name}' lost={self.lost}{' closed' if self.closed else ''}>"
