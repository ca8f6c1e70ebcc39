"""BPF ring buffers: records a program submits with ``bpf_ringbuf_*``, read in order.

One :class:`RingBuffer` polls one or more ``RINGBUF`` maps through libbpf's
epoll loop.  Each record goes to that ring's callback, or, for a ring without
one, to a queue that :meth:`RingBuffer.events` and
:meth:`RingBuffer.events_async` drain.  The kernel never drops a record that
was submitted: a full ring makes the program's ``bpf_ringbuf_reserve`` fail,
so losses are the program's to count.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

from pybpf._codecs import Codec
from pybpf._errors import BPFValueError, NotSupportedError, check, check_ptr
from pybpf._events import EventReader, decode_record, event_codec, require_map_type
from pybpf._ffi import HAS_RING_API, ffi, lib, libbpf_version
from pybpf._map import Map
from pybpf._types import MapType

__all__ = ["RingBuffer"]


class _Ring:
    """One ring: decodes its records and delivers them (the C callback's target)."""

    def __init__(self, owner: RingBuffer, ring_map: Map, callback: Callable[[Any], Any] | None, codec: Codec | None):
        self.owner = owner
        self.map = ring_map
        self.callback = callback
        self.codec = codec
        self.handle = ffi.new_handle(self)  # kept here: libbpf holds only the pointer

    def __call__(self, data: Any, size: int) -> int:
        try:
            event = decode_record(self.codec, ffi.buffer(data, size), size, f"ring buffer '{self.map.name}'")
            if self.callback is None:
                self.owner._queue.append(event)
            else:
                self.callback(event)
            return 0
        except BaseException as exc:  # noqa: BLE001 - re-raised by the poller, C must not see it
            self.owner._error = exc
            return -errno.ECANCELED


class RingBuffer(EventReader):
    """Read records from one or more ``RINGBUF`` maps.

    ``callback(event)`` receives each record of ``ring_map`` in submission
    order; without a callback the records queue up for :meth:`events`.  An
    ``event_type`` decodes records: a ctypes type, a BTF type name from the
    map's object (``"struct event"``) or a one-integer struct format;
    otherwise each event is ``bytes``.  clang puts a type into BTF only if
    something global names it, so a program that uses ``struct event`` only
    through a local pointer should also declare
    ``struct event *unused_event __attribute__((unused));``.  A record longer than the type is
    decoded from its head.  An exception raised by a callback stops the poll
    and is re-raised by :meth:`poll` (the record that raised counts as read).

    The ring buffer borrows the maps: keep them (or their object) open while
    polling.  ``close()`` frees it; use ``with``.
    """

    _kind = "ring buffer"

    def __init__(self, ring_map: Map, callback: Callable[[Any], Any] | None = None, *, event_type: Any = None) -> None:
        super().__init__(getattr(ring_map, "name", "?"))
        self._rings: list[_Ring] = []
        ring = self._ring(ring_map, callback, event_type)
        ptr = check_ptr(
            lib.ring_buffer__new(ring_map.fd, lib.pybpf_on_ring_sample, ring.handle, ffi.NULL),
            f"open ring buffer on map '{ring_map.name}'",
        )
        self._own(ptr, lib.ring_buffer__free)
        self._rings.append(ring)

    def _ring(self, ring_map: Map, callback: Callable[[Any], Any] | None, event_type: Any) -> _Ring:
        require_map_type(ring_map, MapType.RINGBUF, "RingBuffer")
        return _Ring(self, ring_map, callback, event_codec(ring_map, event_type))

    def add(self, ring_map: Map, callback: Callable[[Any], Any] | None = None, *, event_type: Any = None) -> None:
        """Poll another ``RINGBUF`` map with this one (same rules as the constructor)."""
        ptr = self._live()
        ring = self._ring(ring_map, callback, event_type)
        check(
            lib.ring_buffer__add(ptr, ring_map.fd, lib.pybpf_on_ring_sample, ring.handle),
            f"add map '{ring_map.name}' to ring buffer",
        )
        self._rings.append(ring)

    # -- reading ----------------------------------------------------------------

    def poll(self, timeout: float | None = None) -> int:
        """Wait up to ``timeout`` seconds (``None``: until something arrives) for
        records, deliver every available one, and return how many were read."""
        ms = -1 if timeout is None else max(0, int(timeout * 1000))
        return self._run(lambda ptr: lib.ring_buffer__poll(ptr, ms), "poll")

    def consume(self, ring_map: Map | None = None) -> int:
        """Deliver the records already waiting, without blocking; return the count.

        With ``ring_map``, only that ring (needs libbpf >= 1.3).
        """
        if ring_map is None:
            return self._run(lib.ring_buffer__consume, "consume")
        ring = self._ring_ptr(ring_map)
        return self._run(lambda _: lib.ring__consume(ring), f"consume ring '{ring_map.name}'")

    def fileno(self) -> int:
        """The epoll file descriptor: readable when a ring has records (for
        ``select``/``selectors``/event loops); then call :meth:`consume`."""
        return int(lib.ring_buffer__epoll_fd(self._live()))

    # -- per ring (libbpf >= 1.3) -------------------------------------------------

    def pending(self, ring_map: Map | None = None) -> int:
        """Bytes submitted but not yet read, in ``ring_map`` or in all rings
        (record headers included).  Needs libbpf >= 1.3."""
        maps = [r.map for r in self._rings] if ring_map is None else [ring_map]
        return sum(int(lib.ring__avail_data_size(self._ring_ptr(m))) for m in maps)

    def _ring_ptr(self, ring_map: Map) -> Any:
        ptr = self._live()
        if not HAS_RING_API:
            major, minor = libbpf_version()
            raise NotSupportedError(
                errno.EOPNOTSUPP, f"per-ring access needs libbpf >= 1.3; pybpf was built with {major}.{minor}"
            )
        for index, ring in enumerate(self._rings):
            if ring.map is ring_map:
                return check_ptr(lib.ring_buffer__ring(ptr, index), f"ring {index} of ring buffer '{self._name}'")
        raise BPFValueError(errno.EINVAL, f"map '{ring_map.name}' is not polled by this ring buffer")

    # -- lifetime -------------------------------------------------------------------

    def close(self) -> None:
        """Free the ring buffer (its mappings and epoll fd); idempotent."""
        super().close()
        self._rings.clear()

    def __enter__(self) -> RingBuffer:
        return self

    def __repr__(self) -> str:
        names = ", ".join(r.map.name for r in self._rings) or self._name
        return f"<pybpf.RingBuffer [{names}]{' closed' if self.closed else ''}>"
