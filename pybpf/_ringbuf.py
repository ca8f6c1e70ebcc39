"""BPF ring buffers: records a program submits with ``bpf_ringbuf_*``, read in order.

One :class:`RingBuffer` polls one or more ``RINGBUF`` maps through libbpf's
epoll loop.  Each record goes to that ring's callback, or, for a ring without
one, to a queue that :meth:`RingBuffer.events` and
:meth:`RingBuffer.events_async` drain.  The kernel never drops a record that
was submitted: a full ring makes the program's ``bpf_ringbuf_reserve`` fail,
so losses are the program's to count.
"""

from __future__ import annotations

import asyncio
import collections
import errno
import warnings
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from pybpf._codecs import Codec, codec_for_ctype
from pybpf._errors import BPFValueError, NotSupportedError, check, check_ptr, closed_error
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
            raw = ffi.buffer(data, size)
            codec = self.codec
            if codec is None:
                event: Any = raw[:]
            elif size < codec.size:
                raise BPFValueError(
                    errno.EINVAL,
                    f"ring buffer '{self.map.name}': a {size}-byte record is shorter than its event type "
                    f"({codec.size} bytes)",
                )
            else:
                event = codec.decode(raw)
            if self.callback is None:
                self.owner._queue.append(event)
            else:
                self.callback(event)
            return 0
        except BaseException as exc:  # noqa: BLE001 - re-raised by the poller, C must not see it
            self.owner._error = exc
            return -errno.ECANCELED


def _resolve(ring_map: Map, event_type: Any) -> Codec | None:
    if event_type is None:
        return None
    if isinstance(event_type, str) and not _is_format(event_type):
        btf = ring_map._btf
        if btf is None:
            raise BPFValueError(errno.EINVAL, f"map '{ring_map.name}' has no BTF to find {event_type!r} in")
        event_type = btf.ctype(btf.find(event_type))
    return codec_for_ctype(event_type, "event")


def _is_format(text: str) -> bool:
    return len(text.lstrip("@=<>!")) == 1 and text[-1] in "bBhHiIlLqQ"


def _free(ptr: Any, name: str) -> None:
    lib.ring_buffer__free(ptr)  # first: the warning may be turned into an exception
    warnings.warn(f"pybpf: ring buffer on '{name}' was not closed", ResourceWarning, stacklevel=2)


class RingBuffer:
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

    def __init__(self, ring_map: Map, callback: Callable[[Any], Any] | None = None, *, event_type: Any = None) -> None:
        self._ptr: Any = None
        self._name = getattr(ring_map, "name", "?")
        self._rings: list[_Ring] = []
        self._queue: collections.deque[Any] = collections.deque()
        self._error: BaseException | None = None
        self._polling = False
        self._finalizer: weakref.finalize[Any, Any] | None = None
        ring = self._ring(ring_map, callback, event_type)
        self._ptr = check_ptr(
            lib.ring_buffer__new(ring_map.fd, lib.pybpf_on_ring_sample, ring.handle, ffi.NULL),
            f"open ring buffer on map '{ring_map.name}'",
        )
        self._rings.append(ring)
        self._finalizer = weakref.finalize(self, _free, self._ptr, ring_map.name)

    def _ring(self, ring_map: Map, callback: Callable[[Any], Any] | None, event_type: Any) -> _Ring:
        if not isinstance(ring_map, Map):
            raise TypeError(f"RingBuffer takes a pybpf.Map, not {type(ring_map).__name__}")
        if ring_map.type != MapType.RINGBUF:
            raise BPFValueError(errno.EINVAL, f"map '{ring_map.name}' is a {ring_map.type.name}, not a RINGBUF")
        return _Ring(self, ring_map, callback, _resolve(ring_map, event_type))

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

    def _run(self, call: Callable[[Any], int], what: str) -> int:
        ptr = self._live()
        if self._polling:
            raise RuntimeError(f"ring buffer on '{self._name}': {what} while already polling (callback or thread)")
        self._polling = True
        try:
            ret = call(ptr)
        finally:
            self._polling = False
        if self._error is not None:
            exc, self._error = self._error, None
            raise exc
        if ret == -errno.EINTR:
            return 0  # a signal: Python runs its handler when this returns
        return check(ret, f"{what} ring buffer on '{self._name}'")

    def events(self, timeout: float | None = None) -> Iterator[Any]:
        """Yield the records of the callback-less rings as they arrive.

        Stops once ``timeout`` seconds pass with nothing new (``None``: never).
        Rings with callbacks keep getting theirs while this iterates.
        """
        queue = self._queue
        while True:
            while queue:
                yield queue.popleft()
            if self.poll(timeout) == 0 and not queue:
                return

    async def poll_async(self, timeout: float | None = None) -> int:
        """Like :meth:`poll`, but waits on the asyncio loop instead of blocking it."""
        read = self.consume()
        if read:
            return read
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        fd = self.fileno()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(fd, wake)
        try:
            await asyncio.wait_for(ready, timeout)
        except TimeoutError:
            return 0
        finally:
            loop.remove_reader(fd)
        return self.consume()

    async def events_async(self, timeout: float | None = None) -> AsyncIterator[Any]:
        """:meth:`events` for asyncio: ``async for event in rb.events_async(): ...``."""
        queue = self._queue
        while True:
            while queue:
                yield queue.popleft()
            if await self.poll_async(timeout) == 0 and not queue:
                return

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

    def _live(self) -> Any:
        if self._ptr is None:
            raise closed_error("ring buffer on", self._name)
        return self._ptr

    def close(self) -> None:
        """Free the ring buffer (its mappings and epoll fd); idempotent."""
        if self._ptr is None:
            return
        if self._polling:
            raise RuntimeError(f"ring buffer on '{self._name}': close() called from inside a callback")
        if self._finalizer is not None:
            self._finalizer.detach()
        lib.ring_buffer__free(self._ptr)
        self._ptr = None
        self._rings.clear()

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._ptr is None

    def __enter__(self) -> RingBuffer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        names = ", ".join(r.map.name for r in self._rings) or self._name
        return f"<pybpf.RingBuffer [{names}]{' closed' if self.closed else ''}>"
