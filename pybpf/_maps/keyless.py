"""Maps without keys to walk: ``KeylessMap`` offers only what the kernel
gives user space for them.  QUEUE and STACK push, pop and peek; BLOOM_FILTER
adds and tests; RINGBUF and USER_RINGBUF are read through ``RingBuffer``
(their handle: fd, pinning, info).  The write-only fd arrays are in
:mod:`pybpf._maps.fdmaps`.

None of these is a ``MutableMapping``: they have no ``m[key]``, ``len()`` or
iteration to offer.
"""

from __future__ import annotations

import errno
from typing import Any

from pybpf._core.enums import MapType, UpdateFlags
from pybpf._core.errors import BPFIndexError
from pybpf._core.ffi import ffi, lib
from pybpf._core.public import public
from pybpf._maps.base import MapBase, scratch

__all__ = ["BloomFilter", "KeylessMap", "QueueMap"]


@public
class KeylessMap(MapBase, map_types=(MapType.RINGBUF, MapType.USER_RINGBUF)):
    """A map without keys: the handle (``fd``, ``pin``, ``info()``, ``close()``)
    and what its type adds.  ``RINGBUF``/``USER_RINGBUF`` maps are of this
    class itself; read a ring buffer with ``pybpf.RingBuffer``."""

    def _value_op(self, call: Any, value: Any, *flags: int) -> int:
        """``call(guard, NULL, value[, flags])``: keyless maps take a NULL key."""
        self._require_live()
        return int(call(self._guard, ffi.NULL, self._vcodec.encode(value), *flags))


@public
class QueueMap(KeylessMap, map_types=(MapType.QUEUE, MapType.STACK)):
    """``QUEUE`` (first in, first out) and ``STACK`` (last in, first out).

    ``push(v)`` adds a value; when the map is full it raises E2BIG
    (``ValueError``) unless ``flags=EXIST``, which makes room by dropping the
    oldest value.  ``pop()`` takes the next value (``IndexError`` when empty),
    ``peek()`` reads it without taking it, ``drain()`` pops everything.
    BPF programs use ``bpf_map_push_elem``/``pop``/``peek`` on the same map.
    """

    def push(self, value: Any, *, flags: UpdateFlags | int = UpdateFlags.ANY) -> None:
        """Add ``value`` (``flags=EXIST``: drop the oldest value when full)."""
        ret = self._value_op(lib.pybpf_map_update, value, int(flags))
        if ret:
            self._fail(ret, "push onto", flags=int(flags))

    def pop(self) -> Any:
        """Take the next value; ``IndexError`` if the map is empty."""
        return self._take(lib.pybpf_map_lookup_and_delete, "pop")

    def peek(self) -> Any:
        """The next value, left in place; ``IndexError`` if the map is empty."""
        return self._take(lib.pybpf_map_lookup, "peek")

    def drain(self) -> list[Any]:
        """Pop every value (at most ``max_entries``: others may push meanwhile)."""
        out = []
        for _ in range(self._max_entries):
            try:
                out.append(self.pop())
            except BPFIndexError:
                break
        return out

    def _take(self, call: Any, action: str) -> Any:
        self._require_live()
        buf = scratch(self._vtotal)
        ret = call(self._guard, ffi.NULL, buf)
        if ret == -errno.ENOENT:
            raise BPFIndexError(errno.ENOENT, f"{action} from map '{self._name}': the {self._type.name} is empty")
        if ret:
            self._fail(ret, action)
        return self._vcodec.decode(ffi.buffer(buf, self._vtotal))


@public
class BloomFilter(KeylessMap, map_types=(MapType.BLOOM_FILTER,)):
    """``BLOOM_FILTER``: ``add(v)``, then ``v in bloom`` is False only for a value
    never added (True can be a false positive).  Values cannot be removed;
    ``max_entries`` sizes the bit array and ``Map.create(map_extra=k)`` sets
    the number of hash functions."""

    def add(self, value: Any) -> None:
        """Add ``value`` to the filter."""
        ret = self._value_op(lib.pybpf_map_update, value, 0)
        if ret:
            self._fail(ret, "add to")

    def __contains__(self, value: object) -> bool:
        ret = self._value_op(lib.pybpf_map_lookup, value)
        if ret == -errno.ENOENT:
            return False
        if ret:
            self._fail(ret, "look up in")
        return True
