"""Maps without keys: QUEUE and STACK (push/pop/peek) and BLOOM_FILTER (add/contains)."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from typing import Any, NoReturn

from pybpf._errors import BPFIndexError, NotSupportedError
from pybpf._ffi import ffi, lib
from pybpf._map import Map, _scratch
from pybpf._types import MapType, UpdateFlags

__all__ = ["BloomFilter", "QueueMap"]


class _Keyless(Map):
    """A map the kernel gives no keys: the mapping protocol does not apply."""

    _verbs = ""

    def _no_keys(self) -> NoReturn:
        raise NotSupportedError(
            errno.EOPNOTSUPP, f"map '{self._name}' is a {self._type.name}: it has no keys; use {self._verbs}"
        )

    def __getitem__(self, key: Any) -> Any:
        self._no_keys()

    def __setitem__(self, key: Any, value: Any) -> None:
        self._no_keys()

    def __delitem__(self, key: Any) -> None:
        self._no_keys()

    def set(self, key: Any, value: Any, *, flags: UpdateFlags | int = UpdateFlags.ANY) -> None:
        """Not for keyless maps (see the class)."""
        self._no_keys()

    def __iter__(self) -> Iterator[Any]:
        self._no_keys()

    def __len__(self) -> int:
        self._no_keys()

    def clear(self) -> None:
        """Not for keyless maps (see the class)."""
        self._no_keys()

    def _value_op(self, call: Any, value: Any, *flags: int) -> int:
        """``call(fd, NULL, value[, flags])``: keyless maps take a NULL key."""
        self._require_live()
        return int(call(self._fd, ffi.NULL, self._vcodec.encode(value), *flags))


class QueueMap(_Keyless, map_types=(MapType.QUEUE, MapType.STACK)):
    """``QUEUE`` (first in, first out) and ``STACK`` (last in, first out).

    ``push(v)`` adds a value; when the map is full it raises E2BIG
    (``ValueError``) unless ``flags=EXIST``, which makes room by dropping the
    oldest value.  ``pop()`` takes the next value (``IndexError`` when empty),
    ``peek()`` reads it without taking it, ``drain()`` pops everything.
    BPF programs use ``bpf_map_push_elem``/``pop``/``peek`` on the same map.
    """

    _verbs = "push(), pop(), peek()"

    def push(self, value: Any, *, flags: UpdateFlags | int = UpdateFlags.ANY) -> None:
        """Add ``value`` (``flags=EXIST``: drop the oldest value when full)."""
        ret = self._value_op(lib.bpf_map_update_elem, value, int(flags))
        if ret:
            self._fail(ret, "push onto", flags=int(flags))

    def pop(self, *no_key: Any) -> Any:
        """Take the next value; ``IndexError`` if the map is empty.  (Takes no key.)"""
        if no_key:
            self._no_keys()
        return self._take(lib.bpf_map_lookup_and_delete_elem, "pop")

    def peek(self) -> Any:
        """The next value, left in place; ``IndexError`` if the map is empty."""
        return self._take(lib.bpf_map_lookup_elem, "peek")

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
        buf = _scratch(self._vtotal)
        ret = call(self._fd, ffi.NULL, buf)
        if ret == -errno.ENOENT:
            raise BPFIndexError(errno.ENOENT, f"{action} from map '{self._name}': the {self._type.name} is empty")
        if ret:
            self._fail(ret, action)
        return self._vcodec.decode(ffi.buffer(buf, self._vtotal))


class BloomFilter(_Keyless, map_types=(MapType.BLOOM_FILTER,)):
    """``BLOOM_FILTER``: ``add(v)``, then ``v in bloom`` is False only for a value
    never added (True can be a false positive).  Values cannot be removed;
    ``max_entries`` sizes the bit array and ``Map.create(map_extra=k)`` sets
    the number of hash functions."""

    _verbs = "add() and `value in filter`"

    def add(self, value: Any) -> None:
        """Add ``value`` to the filter."""
        ret = self._value_op(lib.bpf_map_update_elem, value, 0)
        if ret:
            self._fail(ret, "add to")

    def __contains__(self, value: object) -> bool:
        ret = self._value_op(lib.bpf_map_lookup_elem, value)
        if ret == -errno.ENOENT:
            return False
        if ret:
            self._fail(ret, "look up in")
        return True
