"""What the two event readers (``RingBuffer``, ``PerfBuffer``) share: decoding
records by event type, the queue that ``events()`` drains, re-raising callback
exceptions in the poller, waiting (blocking or on asyncio) that ``close()``
from another thread can end, and the libbpf handle's lifetime."""

from __future__ import annotations

import array
import collections
import contextlib
import errno
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from functools import partial
from typing import Any, NamedTuple

from pybpf._codecs.codec import Codec, codec_for_ctype
from pybpf._core.enums import MapType
from pybpf._core.errors import BPFValueError, check
from pybpf._core.ffi import ffi, lib
from pybpf._core.handle import BlockingHandle, close_fds
from pybpf._events.arrays import RecordArrays, Taken
from pybpf._maps.base import MapBase

__all__ = ["Batch", "EventReader", "LostReport", "decode_record", "event_codec", "require_map_type"]

_NO_LIMIT = int(ffi.cast("size_t", -1))


def event_codec(source: MapBase, event_type: Any) -> Codec | None:
    """The codec of ``event_type``: a ctypes type, a BTF type name of the map's
    object (``"struct event"``), a one-integer struct format, or None (bytes)."""
    if event_type is None:
        return None
    if isinstance(event_type, str) and not _is_format(event_type):
        btf = source._btf
        if btf is None:
            raise BPFValueError(errno.EINVAL, f"map '{source.name}' has no BTF to find {event_type!r} in")
        event_type = btf.ctype(btf.find(event_type))
    return codec_for_ctype(event_type, "event")


def _is_format(text: str) -> bool:
    return len(text.lstrip("@=<>!")) == 1 and text[-1] in "bBhHiIlLqQ"


def decode_record(codec: Codec | None, raw: Any, size: int) -> Any:
    """One record as ``bytes``, or through ``codec`` as real tools send them:
    a shorter record (only the filled part of a struct) decodes with the
    missing tail zeroed, a longer one from its head.  A decoded struct of a
    record whose size differs from its type's carries ``_record_size`` (the
    bytes sent) and ``_record_tail`` (those past the type)."""
    if codec is None:
        return raw[:]
    if size == codec.size:
        return codec.decode(raw)
    if size < codec.size:
        event, tail = codec.decode(bytes(raw[:size]) + bytes(codec.size - size)), b""
    else:
        event, tail = codec.decode(raw), bytes(raw[codec.size : size])
    with contextlib.suppress(AttributeError):  # ints, bytes and lists carry no attributes
        event._record_size = size
        event._record_tail = tail
    return event


class LostReport(NamedTuple):
    """A perf buffer's report that the kernel dropped ``lost`` records of ``cpu``."""

    cpu: int
    lost: int


class Batch:
    """Records collected in C (``struct pybpf_batch``, csrc/helpers.c) while
    libbpf polls or consumes, decoded here in one go afterwards.

    ``limit`` bytes end a ring buffer's consume early (0: no limit);
    ``with_cpus`` keeps each record's CPU, for perf buffers.
    """

    def __init__(self, *, limit: int = 0, with_cpus: bool = False) -> None:
        self.c = ffi.new("struct pybpf_batch *")
        self.c.limit = limit or _NO_LIMIT
        self.c.with_cpus = with_cpus
        self.error: BaseException | None = None
        """The first record that could not be decoded (or kept) since the last take."""
        self.lost_at: list[int] = []
        """Where the last :meth:`take` put the lost reports among the records."""
        self._finalizer = weakref.finalize(self, lib.pybpf_batch_free, self.c)

    def _count(self, where: str) -> int:
        """How many records were collected; a record C could not keep becomes
        :attr:`error`."""
        b = self.c
        if b.err:
            self.error = self.error or MemoryError(f"{where}: out of memory; records were dropped")
            b.err = 0
        return int(b.count)

    def _cpu_runs(self, n: int) -> list[tuple[int, int]]:
        """``(cpu, records)`` of each run of records of one CPU, in order."""
        b = self.c
        runs = ffi.unpack(b.cpu_runs, b.cpu_runs_len)
        ends = [int(run.start) for run in runs[1:]] + [n]
        return [(int(run.cpu), end - int(run.start)) for run, end in zip(runs, ends)]

    def cpu_list(self, n: int) -> list[int]:
        """The CPU of each of the ``n`` records collected (``with_cpus``)."""
        cpus: list[int] = []
        for cpu, length in self._cpu_runs(n):
            cpus += [cpu] * length
        return cpus

    def _cpu_bytes(self, n: int) -> bytes:
        """The CPU of each of the ``n`` records collected, as C ``int``s."""
        return b"".join(array.array("i", [cpu]).tobytes() * length for cpu, length in self._cpu_runs(n))

    def _sizes(self, n: int) -> list[int]:
        """Each record's size (C stores them only once they differ)."""
        b = self.c
        return [int(b.record_size)] * n if b.uniform else ffi.unpack(b.sizes, n)

    def _lost_reports(self) -> list[tuple[int, int, int]]:
        """A perf buffer's reports of lost records since the last take:
        ``(records before it, cpu, count)`` each."""
        b = self.c
        return [(int(r.before), int(r.cpu), int(r.count)) for r in ffi.unpack(b.lost, b.lost_len)] if b.lost_len else []

    def take(self, codec: Codec | None, where: str) -> tuple[list[Any], list[int]]:
        """The collected records, decoded, and their CPUs (empty without
        ``with_cpus``); the batch is emptied.

        A perf buffer's lost report is a :class:`LostReport` among the
        records, where it came.  A record that does not decode is left out
        and kept in :attr:`error`, so the others are still delivered.
        """
        b = self.c
        n = self._count(where)
        try:
            lost = self._lost_reports()
            self.lost_at = [before + i for i, (before, _, _) in enumerate(lost)]
            if not n:
                return ([LostReport(cpu, count) for _, cpu, count in lost], [cpu for _, cpu, _ in lost])
            raw = ffi.buffer(b.data, b.len)
            size = b.record_size
            stride = (size + 7) & ~7
            skipped = 0
            if codec is not None and b.uniform and size >= codec.size:
                events = codec.decode_many(raw, n, stride)  # one pass, no per-record call
                if size > codec.size:  # perf's padding, or more than the type: kept, as decode_record keeps it
                    _keep_tails(events, raw, size, stride, codec.size)
            elif codec is None and b.uniform:
                data = raw[:]  # slicing bytes is cheaper than slicing the C buffer
                events = [data[offset : offset + size] for offset in range(0, n * stride, stride)]
            else:
                events, skipped = self._decode_each(raw, n, codec, where)
            cpus = self.cpu_list(n) if b.with_cpus else []
            if lost:
                events, cpus = _with_lost(events, cpus, lost)
            if skipped:
                keep = [i for i, e in enumerate(events) if e is not _SKIPPED]
                events = [events[i] for i in keep]
                cpus = [cpus[i] for i in keep] if cpus else cpus
                self.lost_at = [i for i, e in enumerate(events) if type(e) is LostReport]
            return events, cpus
        finally:
            b.len = b.count = b.lost_len = 0

    def take_arrays(self, form: RecordArrays, where: str) -> Taken:
        """The collected records as one array (and their CPUs as another), for
        ``batch=`` readers; the batch is emptied.  Lost reports come apart;
        records of another size than the type's are kept in :attr:`error`."""
        b = self.c
        n = self._count(where)
        try:
            lost = [(cpu, count) for _, cpu, count in self._lost_reports()]
            if not n:
                return Taken(None, None, lost)
            if b.uniform and form.fits(b.record_size):  # the common case: one copy of the batch
                cpus = form.cpus(self._cpu_bytes(n)) if b.with_cpus else None
                return Taken(form.records(ffi.buffer(b.data, b.len)[:], n, (b.record_size + 7) & ~7), cpus, lost)
            raw = ffi.buffer(b.data, b.len)[:]
            sizes = self._sizes(n)
            all_cpus = self.cpu_list(n) if b.with_cpus else [-1] * n
            kept: list[bytes] = []
            kept_cpus: list[int] = []
            misfit: list[bytes] = []
            offset = 0
            for i, size in enumerate(sizes):
                record = raw[offset : offset + size]
                offset += (size + 7) & ~7
                if form.fits(size):
                    kept.append(record)
                    kept_cpus.append(all_cpus[i])
                else:
                    misfit.append(record)
            if misfit:
                self.error = form.misfits(misfit, where, self.error)
            if not kept:
                return Taken(None, None, lost)
            # Records of one array share a stride: the widest one's, the others padded to it.
            stride = (max(len(record) for record in kept) + 7) & ~7
            cpus = form.cpus(array.array("i", kept_cpus).tobytes()) if b.with_cpus else None
            return Taken(form.records(b"".join(r.ljust(stride, b"\0") for r in kept), len(kept), stride), cpus, lost)
        finally:
            b.len = b.count = b.lost_len = 0

    def _decode_each(self, raw: Any, n: int, codec: Codec | None, where: str) -> tuple[list[Any], int]:
        """Records one by one (mixed sizes, undecodable ones); returns them and
        how many were undecodable (``_SKIPPED`` in the list)."""
        sizes = self._sizes(n)
        events: list[Any] = []
        offset = skipped = 0
        for i in range(n):
            size = sizes[i]
            try:
                events.append(decode_record(codec, raw[offset : offset + size], size))
            except BPFValueError as exc:
                self.error = self.error or exc
                events.append(_SKIPPED)
                skipped += 1
            offset += (size + 7) & ~7
        return events, skipped

    def pop_error(self) -> BaseException | None:
        """:attr:`error`, which is then cleared."""
        error, self.error = self.error, None
        return error

    def free(self) -> None:
        """Free the C buffers (idempotent)."""
        self._finalizer()


_SKIPPED = object()  # stands for an undecodable record until it is filtered out


def _with_lost(events: list[Any], cpus: list[int], lost: list[tuple[int, int, int]]) -> tuple[list[Any], list[int]]:
    """``events`` and ``cpus`` with each lost report put where it came: after
    the records collected before it."""
    merged: list[Any] = []
    merged_cpus: list[int] = []
    start = 0
    for before, cpu, count in lost:
        merged += events[start:before]
        merged_cpus += cpus[start:before]
        merged.append(LostReport(cpu, count))
        merged_cpus.append(cpu)
        start = before
    return merged + events[start:], merged_cpus + cpus[start:]


def _keep_tails(events: list[Any], raw: Any, size: int, stride: int, head: int) -> None:
    """Give each decoded struct of a uniform batch its ``_record_size`` and
    ``_record_tail``, through its ``__dict__`` (a Record's ``__setattr__``
    checks fields; these are not fields).  Ints and lists carry none."""
    if not events or not hasattr(events[0], "__dict__"):
        return
    data = raw[:]
    for i, event in enumerate(events):
        offset = i * stride
        event.__dict__.update(_record_size=size, _record_tail=data[offset + head : offset + size])


def require_map_type(source: Any, map_type: MapType, reader: str) -> MapBase:
    """``source``, if it is a map of ``map_type``."""
    if not isinstance(source, MapBase):
        raise TypeError(f"{reader} takes a map of pybpf (a pybpf.MapBase), not {type(source).__name__}")
    if source.type != map_type:
        raise BPFValueError(errno.EINVAL, f"map '{source.name}' is a {source.type.name}, not a {map_type.name}")
    return source


def _free(free: Callable[[Any], None], ptr: Any, *fds: int) -> None:
    free(ptr)
    close_fds(*fds)


class EventReader(BlockingHandle):
    """Base of the readers: subclasses call :meth:`_take_ptr` with libbpf's
    object and implement :meth:`poll`, :meth:`consume` and :meth:`fileno`.

    ``close()`` from another thread wakes a blocked :meth:`poll`, which
    returns; later calls fail with "closed".  Two threads may not poll one
    reader at once.
    """

    _kind = "event reader"

    def __init__(self, name: str) -> None:
        self._init_handle(f"on '{name}'")
        self._ptr: Any = None
        self._name = name
        self._queue: collections.deque[Any] = collections.deque()
        self._error: BaseException | None = None
        self._poll_lock = threading.Lock()

    def _take_ptr(self, ptr: Any, free: Callable[[Any], None]) -> None:
        """Take the libbpf object; freed by close() or, with a warning, the finalizer."""
        self._ptr = ptr
        wake = self._init_wake()
        self._guard.fd = int(self._epoll_fd())
        # A forked child only closes its copies of the wake-up pipe: the
        # mappings and epoll fd go with it when it exits.
        self._own(partial(_free, free, ptr, *wake), forget=partial(close_fds, *wake))

    def _epoll_fd(self) -> int:
        raise NotImplementedError

    def poll(self, timeout: float | None = None) -> int:
        """Wait up to ``timeout`` seconds (``None``: until something arrives) for
        records, deliver every available one, and return how many were read."""
        raise NotImplementedError

    def consume(self) -> int:
        """Deliver the records already waiting, without blocking; return the count."""
        raise NotImplementedError

    def fileno(self) -> int:
        """The epoll file descriptor: readable when records wait (for
        ``select``/``selectors``/event loops); then call :meth:`consume`."""
        self._require_open()
        return int(self._guard.fd)

    def _waiting(self, timeout: float | None, consume: Callable[[Any], int]) -> Callable[[Any], int]:
        """A blocking poll: wait up to ``timeout`` for records (or for
        ``close()``), then ``consume``."""

        def call(ptr: Any) -> int:
            return consume(ptr) if self._wait_readable(self._guard.fd, timeout) else 0

        return call

    def _run(self, body: Callable[[Any], tuple[int, int]], what: str) -> int:
        """Run ``body(ptr)`` (a libbpf poll/consume and the deliveries around
        it, returning libbpf's result and the records delivered) as a call in
        flight, one thread at a time; re-raise what a callback raised.
        Returns the records delivered."""
        with self._use():
            if not self._poll_lock.acquire(blocking=False):
                who = "inside a callback" if self._poller == threading.get_ident() else "another thread is polling"
                raise RuntimeError(f"{self._kind} {self._label}: {what} while already polling ({who})")
            self._poller = threading.get_ident()
            try:
                ret, delivered = body(self._ptr)
            finally:
                self._poller = None
                self._poll_lock.release()
        if self._error is not None:
            exc, self._error = self._error, None
            raise exc
        if ret != -errno.EINTR:  # EINTR: a signal; Python runs its handler when this returns
            check(ret, f"{what} {self._kind} {self._label}")
        return delivered

    def events(self, timeout: float | None = None) -> Iterator[Any]:
        """Yield the records that have no callback as they arrive.

        Stops once ``timeout`` seconds pass with nothing new (``None``: never).
        Sources with callbacks keep getting theirs while this iterates.
        """
        queue = self._queue
        while True:
            while queue:
                yield queue.popleft()
            if self.poll(timeout) == 0 and not queue:
                return

    async def poll_async(self, timeout: float | None = None) -> int:
        """Like :meth:`poll`, but waits on the asyncio loop instead of blocking it."""
        import asyncio  # here: a third of pybpf's import time, for the async users alone

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
        except asyncio.TimeoutError:  # TimeoutError from 3.11; its own class before
            return 0
        finally:
            loop.remove_reader(fd)
        return self.consume()

    async def events_async(self, timeout: float | None = None) -> AsyncIterator[Any]:
        """:meth:`events` for asyncio: ``async for event in reader.events_async(): ...``."""
        queue = self._queue
        while True:
            while queue:
                yield queue.popleft()
            if await self.poll_async(timeout) == 0 and not queue:
                return

    def _live(self) -> Any:
        self._require_open()
        return self._ptr

    def close(self) -> None:
        """Free the reader (its buffers' mappings and epoll fd); idempotent.
        A poll blocked in another thread is woken and returns first; records
        read from the kernel but not yet delivered are dropped."""
        super().close()

    def __enter__(self) -> Any:
        return self
