"""BPF ring buffers: records a program submits with ``bpf_ringbuf_*``, read in order.

One :class:`RingBuffer` polls one or more ``RINGBUF`` maps through libbpf's
epoll loop.  Each record goes to that ring's callback, or, for a ring without
one, to a queue that :meth:`RingBuffer.events` and
:meth:`RingBuffer.events_async` drain.  The kernel never drops a record that
was submitted: a full ring makes the program's ``bpf_ringbuf_reserve`` fail,
so losses are the program's to count.
"""

from __future__ import annotations

import collections
import errno
from collections.abc import Callable
from typing import Any

from pybpf._codecs.codec import Codec
from pybpf._core.enums import MapType
from pybpf._core.errors import BPFValueError, NotSupportedError, call_ptr, check
from pybpf._core.ffi import HAS_RING_API, ffi, lib, libbpf_version
from pybpf._core.public import public
from pybpf._events.arrays import BatchForm, RecordArrays
from pybpf._events.reader import Batch, EventReader, event_codec, require_map_type
from pybpf._maps.base import MapBase

__all__ = ["RingBuffer"]

_COLLECT = lib.pybpf_ring_collect_fn


# Bytes of records collected per libbpf call before Python decodes them.
_BATCH_BYTES = 4 << 20


class _Ring:
    """One ring: its C batch (filled by pybpf_ring_collect), codec and callback."""

    def __init__(self, ring_map: MapBase, callback: Callable[[Any], Any] | None, codec: Codec | None, form: str | None):
        self.map = ring_map
        self.callback = callback
        self.codec = codec
        self.batch = Batch(limit=_BATCH_BYTES)
        self.where = f"ring buffer '{ring_map.name}'"
        self.form = RecordArrays(form, codec, self.where) if form is not None else None

    def take(self) -> list[Any]:
        """Decode the collected records (one array of them, with ``batch=``)
        and empty the batch."""
        if self.form is not None:
            records = self.batch.take_arrays(self.form, self.where).records
            return [] if records is None else [records]
        return self.batch.take(self.codec, self.where)[0]


@public
class RingBuffer(EventReader):
    """Read records from one or more ``RINGBUF`` maps.

    ``callback(event)`` receives each record of ``ring_map`` in submission
    order; without a callback the records queue up for :meth:`events`.  An
    ``event_type`` decodes records: a ctypes type, a BTF type name from the
    map's object (``"struct event"``), a type from any other BTF
    (``pybpf.BTF.from_file(path).type("struct event")``) or a one-integer
    struct format; otherwise each event is ``bytes``.  clang puts a type into
    BTF only if something global names it, so a program that uses ``struct
    event`` only through a local pointer should also declare ``struct event
    *unused_event __attribute__((unused));``.  A record shorter than the type
    decodes with the missing tail zeroed, a longer one from its head; the
    decoded struct's ``_record_size`` and ``_record_tail`` keep what was sent.

    ``batch="numpy"`` or ``batch="memoryview"`` (with an ``event_type``)
    hands the callback every record of one read as a single array instead:
    a numpy array of the type (structured for structs, ``char[N]`` fields as
    strings), or a memoryview (typed for integers; for structs one row of
    bytes per record, which ``ctype.from_buffer_copy(view, i *
    view.shape[1])`` decodes), valid after the callback returns.  Records of another size than the type's
    cannot be in it: :meth:`poll` raises ``ValueError`` with them as bytes
    in its ``records``, after delivering the others.  An array is handed
    over once: if the callback raises, it is not delivered again.

    An exception raised by a callback stops the
    delivery and is re-raised by :meth:`poll`; the records after it are
    delivered first by the next :meth:`poll`/:meth:`consume`, so none is
    lost.  Records are read from the kernel in C, in batches of up to 4 MiB,
    and decoded per batch.

    The ring buffer borrows the maps: keep them (or their object) open while
    polling.  ``close()`` frees it; use ``with``.
    """

    _kind = "ring buffer"

    def __init__(
        self,
        ring_map: MapBase,
        callback: Callable[[Any], Any] | None = None,
        *,
        event_type: Any = None,
        batch: BatchForm | None = None,
    ) -> None:
        super().__init__(getattr(ring_map, "name", "?"))
        self._rings: list[_Ring] = []
        ring = self._ring(ring_map, callback, event_type, batch)
        self._backlog: collections.deque[tuple[_Ring, list[Any]]] = collections.deque()
        ptr = call_ptr(
            lambda: lib.ring_buffer__new(ring_map.fd, _COLLECT, ring.batch.c, ffi.NULL),
            f"open ring buffer on map '{ring_map.name}'",
        )
        self._take_ptr(ptr, lib.ring_buffer__free)
        self._rings.append(ring)

    def _ring(
        self, ring_map: MapBase, callback: Callable[[Any], Any] | None, event_type: Any, batch: str | None
    ) -> _Ring:
        require_map_type(ring_map, MapType.RINGBUF, "RingBuffer")
        return _Ring(ring_map, callback, event_codec(ring_map, event_type), batch)

    def add(
        self,
        ring_map: MapBase,
        callback: Callable[[Any], Any] | None = None,
        *,
        event_type: Any = None,
        batch: BatchForm | None = None,
    ) -> None:
        """Poll another ``RINGBUF`` map with this one (same rules as the constructor)."""
        ring = self._ring(ring_map, callback, event_type, batch)
        with self._use():
            check(
                lib.ring_buffer__add(self._ptr, ring_map.fd, _COLLECT, ring.batch.c),
                f"add map '{ring_map.name}' to ring buffer",
            )
        self._rings.append(ring)

    # -- reading ----------------------------------------------------------------

    def poll(self, timeout: float | None = None) -> int:
        """Wait up to ``timeout`` seconds (``None``: until something arrives) for
        records, deliver every available one, and return how many were read."""
        return self._cycle(self._waiting(timeout, lib.ring_buffer__consume), lib.ring_buffer__consume, "poll")

    def consume(self, ring_map: MapBase | None = None) -> int:
        """Deliver the records already waiting, without blocking; return the count.

        With ``ring_map``, only that ring (needs libbpf >= 1.3).
        """
        if ring_map is None:
            return self._cycle(lib.ring_buffer__consume, lib.ring_buffer__consume, "consume")
        ring = self._ring_ptr(ring_map)

        def one(_: Any) -> int:
            return int(lib.ring__consume(ring))

        return self._cycle(one, one, f"consume ring '{ring_map.name}'")

    def _cycle(self, first: Callable[[Any], int], more: Callable[[Any], int], what: str) -> int:
        """Deliver the backlog, then run ``first`` (poll or consume) and
        ``more`` (a non-blocking consume) while batches fill up, delivering
        each batch.  Returns the records delivered."""

        def body(ptr: Any) -> tuple[int, int]:
            delivered = 0
            while self._backlog:
                delivered += self._deliver(*self._backlog.popleft())
            call = more if delivered else first  # records in hand: do not block for more
            while True:
                ret = call(ptr)
                for ring in self._rings:
                    delivered += self._deliver(ring, ring.take())
                    self._error = self._error or ring.batch.pop_error()
                if ret != lib.PYBPF_RING_BATCH_FULL:
                    return ret, delivered
                call = more

        return self._run(body, what)

    def _deliver(self, ring: _Ring, events: list[Any]) -> int:
        """Hand events to the ring's callback or the queue; on an exception keep
        the rest for the next call, then raise."""
        records = len(events) if ring.form is None else sum(len(array) for array in events)
        if ring.callback is None:
            self._queue.extend(events)
            return records
        callback, rest = ring.callback, iter(events)
        try:
            for event in rest:
                callback(event)
        except BaseException:
            self._backlog.appendleft((ring, list(rest)))  # what follows the event that raised
            raise
        return records

    def _epoll_fd(self) -> int:
        return int(lib.ring_buffer__epoll_fd(self._ptr))

    # -- per ring (libbpf >= 1.3) -------------------------------------------------

    def pending(self, ring_map: MapBase | None = None) -> int:
        """Bytes submitted but not yet read, in ``ring_map`` or in all rings
        (record headers included).  Needs libbpf >= 1.3."""
        maps = [r.map for r in self._rings] if ring_map is None else [ring_map]
        with self._use():
            return sum(int(lib.ring__avail_data_size(self._ring_ptr(m))) for m in maps)

    def _ring_ptr(self, ring_map: MapBase) -> Any:
        ptr = self._live()
        if not HAS_RING_API:
            major, minor = libbpf_version()
            raise NotSupportedError(
                errno.EOPNOTSUPP, f"per-ring access needs libbpf >= 1.3; pybpf was built with {major}.{minor}"
            )
        index = next((i for i, ring in enumerate(self._rings) if ring.map is ring_map), -1)
        if index >= 0:
            return call_ptr(lambda: lib.ring_buffer__ring(ptr, index), f"ring {index} of ring buffer '{self._name}'")
        raise BPFValueError(errno.EINVAL, f"map '{ring_map.name}' is not polled by this ring buffer")

    # -- lifetime -------------------------------------------------------------------

    def _after_release(self) -> None:
        for ring in self._rings:
            ring.batch.free()
        self._rings.clear()
        self._backlog.clear()

    def __enter__(self) -> RingBuffer:
        return self

    def __repr__(self) -> str:
        names = ", ".join(r.map.name for r in self._rings) or self._name
        return f"<pybpf.RingBuffer [{names}]{' closed' if self.closed else ''}>"
