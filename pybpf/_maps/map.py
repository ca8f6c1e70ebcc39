"""``Map``: a keyed BPF map as a Python ``MutableMapping``, with the kernel's semantics.

Per map type (the kernel's rules, not dict's, where they differ):

* HASH, LRU_HASH: a missing key raises ``KeyError``; ``len()`` counts entries;
  LRU maps evict the least recently used entry when full instead of failing.
* ARRAY: every index ``0..max_entries-1`` always exists, ``len()`` is
  ``max_entries``; ``del`` raises ``BPFValueError`` (the kernel's EINVAL) and
  ``clear()`` zeroes every element instead.
* PERCPU_*: a value is a list with one item per *possible* CPU; writing takes
  such a list or one value that is written to every CPU.

Single lookups and updates are one ``bpf()`` syscall; maps whose key and value
are plain integers take a fast path that builds no buffers in Python.  Whole-map
operations live in :mod:`pybpf._maps.bulk`, reads into arrays and writes
from them in :mod:`pybpf._maps.arrays`; what every map has (keyed or not)
in :mod:`pybpf._maps.base`.
"""

from __future__ import annotations

import errno
import struct
from collections.abc import ItemsView, Iterator, KeysView, MutableMapping, ValuesView

from pybpf._core.enums import UpdateFlags
from pybpf._core.errors import BPFKeyError
from pybpf._core.ffi import ffi, lib
from pybpf._core.public import public
from pybpf._maps.arrays import ArrayOps
from pybpf._maps.base import _GENERIC, scratch

TYPE_CHECKING = False  # typing's own, without importing typing: start-up time (issue 17)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Map"]

_unpack = ffi.unpack


class _Items(ItemsView):  # type: ignore[type-arg]
    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        return self._mapping._iter_items()  # type: ignore[attr-defined, no-any-return]


class _Values(ValuesView):  # type: ignore[type-arg]
    def __iter__(self) -> Iterator[Any]:
        return (v for _, v in self._mapping._iter_items())  # type: ignore[attr-defined]


@public
class Map(ArrayOps, MutableMapping["Any", "Any"]):  # strings: typing is not imported at run time
    """A keyed BPF map: a ``MutableMapping`` with the kernel's semantics (see
    the module docstring).

    Maps of a ``BPFObject`` are views owned by the object (closing the object
    closes them).  ``Map.create``, ``Map.from_pinned`` and ``Map.from_id``
    return maps that own their file descriptor: close them, or use ``with``.
    They give the class registered for the map's type (``LPMTrie``,
    ``MapOfMaps``, ...; for the keyless types a ``KeylessMap`` such as
    ``QueueMap``, which is not a ``Map``).
    """

    # -- single elements ------------------------------------------------------

    def __getitem__(self, key: Any) -> Any:
        words = self._words
        if words is not None:  # an MMAPABLE integer array: a memory read
            try:
                if key >= 0:  # a negative index would read from the end
                    return words[key]
            except (TypeError, IndexError, ValueError):  # not an int, past the end, closed: the syscall says
                pass
        if self._fast and type(key) is int:
            try:
                value = self._lookup_int(self._guard, key)
            except OverflowError:
                return self._lookup(key)
            if value == self._sentinel:
                ret = lib.pybpf_last_error()
                if ret:
                    if ret == -errno.ERANGE:
                        return self._lookup(key)  # out of the key's range: let the codec say so
                    self._fail(ret, "look up", key)
            return value
        if type(key) is tuple and self._key_pack is not None:
            try:
                raw = self._key_pack(*key)
            except struct.error:
                return self._lookup(key)  # too few fields, or one that does not fit: the codec says which
            value = self._lookup_key(self._guard, raw)
            if value == self._sentinel:
                ret = lib.pybpf_last_error()
                if ret:
                    self._fail(ret, "look up", key)
            return value
        if self._percpu_int is not None and type(key) is int:
            try:
                slots = self._percpu_int(self._guard, key, self._ncpus)
            except OverflowError:
                return self._lookup(key)
            if slots:
                return _unpack(slots, self._ncpus)
            ret = lib.pybpf_last_error()
            if ret == -errno.ERANGE:
                return self._lookup(key)  # out of the key's range: let the codec say so
            self._fail(ret, "look up", key)
        return self._lookup(key)

    def _lookup(self, key: Any) -> Any:
        if self._fd < 0:
            self._require_live()
        raw = self._kcodec.encode(key)
        buf = scratch(self._vtotal)
        ret = lib.pybpf_map_lookup(self._guard, raw, buf)
        if ret:
            self._fail(ret, "look up", key)
        return self._vcodec.decode(ffi.buffer(buf, self._vtotal))

    def set(self, key: Any, value: Any, *, flags: UpdateFlags | int = UpdateFlags.ANY) -> None:
        """Write ``key`` -> ``value`` with the kernel's update flags.

        ``NOEXIST`` on an existing key raises ``FileExistsError``; ``EXIST`` on a
        missing key raises ``KeyError``; ``F_LOCK`` needs a ``bpf_spin_lock`` in
        the value (else ``ValueError``).  A full hash map raises E2BIG.
        """
        if type(key) is int and type(value) is int:
            try:
                ret = self._update_int(self._guard, key, value, int(flags))
            except OverflowError:
                ret = -errno.ERANGE
            if ret == 0:
                return
            if ret != -errno.ERANGE:
                self._fail(ret, "update", key, flags)
        self._update(key, value, int(flags))

    def _update(self, key: Any, value: Any, flags: int) -> None:
        """The generic update: encode through the codecs, then one syscall."""
        if self._fd < 0:
            self._require_live()
        ret = lib.pybpf_map_update(self._guard, self._kcodec.encode(key), self._vcodec.encode(value), flags)
        if ret:
            self._fail(ret, "update", key, flags)

    def __setitem__(self, key: Any, value: Any) -> None:
        # set()'s integer fast path inlined (one Python call less): the hot write.
        if type(key) is int and type(value) is int:
            words = self._words
            if words is not None and key >= 0 and not words.readonly:
                try:
                    words[key] = value
                    return
                except (TypeError, IndexError, ValueError):  # past the end, does not fit, closed: as below
                    pass
            try:
                ret = self._update_int(self._guard, key, value, 0)
            except OverflowError:
                ret = -errno.ERANGE
            if not ret:
                return
            if ret != -errno.ERANGE:
                self._fail(ret, "update", key)
        self._update(key, value, 0)  # not plain ints, or out of range: the codecs decide

    def __delitem__(self, key: Any) -> None:
        if type(key) is int:
            try:
                ret = self._delete_int(self._guard, key)
            except OverflowError:
                ret = -errno.ERANGE
            if ret == 0:
                return
            if ret != -errno.ERANGE:
                self._fail(ret, "delete", key)
        if self._fd < 0:
            self._require_live()
        ret = lib.pybpf_map_delete(self._guard, self._kcodec.encode(key))
        if ret:
            self._fail(ret, "delete", key)

    def __contains__(self, key: object) -> bool:
        if type(key) is int:
            try:
                ret = self._contains_int(self._guard, key)
            except OverflowError:
                ret = -errno.ERANGE
            if ret >= 0:
                return ret == 1
            if ret != -errno.ERANGE:
                self._fail(ret, "look up", key)
        try:
            self._lookup(key)  # not a plain int, or out of range: the codecs decide
        except BPFKeyError:
            return False
        return True

    def keys(self) -> KeysView[Any]:
        """A view of the keys (see ``__iter__``)."""
        return KeysView(self)

    def items(self) -> ItemsView[Any, Any]:
        """A view of (key, value) pairs read with batch syscalls where possible."""
        return _Items(self)

    def values(self) -> ValuesView[Any]:
        """A view of the values read with batch syscalls where possible."""
        return _Values(self)


_GENERIC.add(Map)
