"""A keyed map as two arrays: every key and every value read in one batch
syscall into buffers that become numpy arrays or typed memoryviews without a
copy or a Python object per entry, and written back from such arrays.

``to_numpy()`` needs numpy (``pip install pybpf[numpy]``); ``to_buffers()``
and ``update_from(keys, values)`` do not.  Keys and values keep the map's own
layout: integers in their C width and byte order, structs as numpy
structured arrays (from the BTF or the caller's ctypes type), per-CPU values
as one row per entry with a column per possible CPU.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable, Iterator, Mapping

from pybpf._codecs.codec import IntCodec, PerCPUCodec
from pybpf._codecs.dtypes import dtype_of, padded_dtype
from pybpf._core.enums import UpdateFlags
from pybpf._core.errors import NOT_SUPPORTED, BPFValueError, NotSupportedError
from pybpf._core.ffi import ffi, lib
from pybpf._maps.bulk import BulkOps, _NoBatch

TYPE_CHECKING = False  # typing's own, without importing typing: start-up time (issue 17)
if TYPE_CHECKING:
    from typing import Any

    import numpy

__all__ = ["ArrayOps"]

# Buffers for whole-map reads are sized for max_entries but left uncleared:
# the allocator maps large ones lazily, so the process holds only the pages
# the kernel fills (a quarter-full map costs a quarter of its size).
_uncleared = ffi.new_allocator(should_clear_after_alloc=False)


class ArrayOps(BulkOps):
    """Whole-map reads into arrays and writes from them (see the module docstring)."""

    def to_numpy(self, *, clear: bool = False) -> tuple[numpy.ndarray[Any, Any], numpy.ndarray[Any, Any]]:
        """Every entry as ``(keys, values)`` numpy arrays, read with batch
        syscalls straight into the arrays' memory.

        Integer keys and values come as arrays of their C type (``uint32``,
        ``int64`` ...); structs as structured arrays with the type's fields
        (raw ``void`` items where numpy has no equivalent, as for bitfields);
        per-CPU values as a 2-D array, one column per possible CPU.

        ``clear=True`` reads and deletes each entry in the same syscall
        (lookup-and-delete batch, the hash types): counters read this way
        lose no increment.  Arrays cannot delete (``NotSupportedError``).  On
        an error after entries were deleted, the error's ``entries`` attribute
        holds every deleted entry as raw bytes, as ``pop_all()`` does.
        """
        try:
            import numpy
        except ImportError:
            raise ImportError(
                f"map '{self._name}': to_numpy() needs numpy (pip install pybpf[numpy]); "
                "to_buffers() gives the same data as memoryviews without it"
            ) from None
        keys, values, n = self._read_all(clear)
        kraw = ffi.buffer(keys, n * self._key_size)
        vraw = ffi.buffer(values, n * self._vtotal)
        key_array = numpy.frombuffer(kraw, dtype=dtype_of(numpy, self._kcodec), count=n)
        vcodec = self._vcodec
        if isinstance(vcodec, PerCPUCodec):
            # Each CPU's slot is 8 bytes; a narrower value is read through a padded dtype.
            slot, wrapped = padded_dtype(numpy, dtype_of(numpy, vcodec.inner), vcodec.stride)
            flat = numpy.frombuffer(vraw, dtype=slot, count=n * vcodec.ncpus)
            return key_array, (flat["v"] if wrapped else flat).reshape(n, vcodec.ncpus)
        return key_array, numpy.frombuffer(vraw, dtype=dtype_of(numpy, vcodec), count=n)

    def to_buffers(self, *, clear: bool = False) -> tuple[memoryview, memoryview]:
        """Every entry as ``(keys, values)`` memoryviews, without numpy: what
        ``to_numpy()`` reads, in the same single buffer per side.

        Integer keys and values are typed views (``view[i]`` is an ``int``;
        ``format`` and ``itemsize`` say the C type); per-CPU integers of 8
        bytes are 2-D, ``view[i, cpu]``.  Anything else is raw bytes shaped
        ``(entries, size)``: one row per entry, in the map's layout
        (``ctype.from_buffer_copy(view, i * size)`` decodes entry ``i``).
        ``clear`` as for ``to_numpy()``.
        """
        keys, values, n = self._read_all(clear)
        return (
            _typed(memoryview(ffi.buffer(keys, n * self._key_size)), self._kcodec, n, self._key_size),
            _typed(memoryview(ffi.buffer(values, n * self._vtotal)), self._vcodec, n, self._vtotal),
        )

    def update_from(
        self,
        entries: Mapping[Any, Any] | Iterable[tuple[Any, Any]] | Any,
        values: Any = None,
        *,
        flags: UpdateFlags | int = UpdateFlags.ANY,
    ) -> int:
        """Write many entries with batch syscalls; returns how many were written.

        ``update_from(entries)`` takes a mapping or (key, value) pairs, each
        encoded as ``m[k] = v`` would.  ``update_from(keys, values)`` takes
        two arrays in the map's layout, as ``to_numpy()`` and ``to_buffers()``
        give them (numpy arrays, ``array.array``, memoryviews or bytes,
        C-contiguous) and writes them without a Python object per entry.
        Integer arrays must have the map's width and signedness (cast them,
        after checking the range, rather than have pybpf reinterpret them);
        raw bytes are taken as they are.  Per-CPU values are ``(entries,
        CPUs)``: narrower than 8 bytes, they are padded (numpy arrays) or must
        come padded to 8 bytes per CPU.

        ``flags`` apply to every entry; with ``NOEXIST``/``EXIST`` the writes
        go one at a time (the kernel's batch update takes only ``F_LOCK``).
        On an error, the entries before the failing one are written and the
        exception says which key failed.
        """
        if values is None:
            return super().update_from(entries, flags=flags)
        self._require_live()
        keys = _contiguous(entries, "keys", self._name)
        n = _entries_of(keys, self._kcodec, self._key_size, "keys", self._name)
        vals = self._value_rows(_contiguous(values, "values", self._name), n)
        if not n:
            return 0

        raw_keys = keys.cast("B")

        def key_at(i: int) -> Any:
            return self._kcodec.decode(raw_keys[i * self._key_size : (i + 1) * self._key_size])

        return self._write_raw(keys, vals, n, int(flags), key_at)

    def _value_rows(self, values: memoryview, n: int) -> memoryview:
        """``n`` values in the map's layout (per-CPU slots padded to 8 bytes)."""
        vcodec = self._vcodec
        if not isinstance(vcodec, PerCPUCodec):
            if _entries_of(values, vcodec, self._vtotal, "values", self._name) != n:
                raise _count_error(self._name, n, values.nbytes // self._vtotal)
            return values
        inner, ncpus = vcodec.inner, vcodec.ncpus
        _check_items(values, inner, "values", self._name)
        if values.nbytes == n * self._vtotal:
            return values
        if values.nbytes == n * ncpus * inner.size:  # narrower than their slots: pad them
            try:
                import numpy
            except ImportError:
                raise BPFValueError(
                    errno.EINVAL,
                    f"map '{self._name}': per-CPU values of {inner.size} bytes are stored 8 bytes apart; pass them "
                    "padded to 8 bytes per CPU, or as a numpy array",
                ) from None
            padded = numpy.zeros((n, ncpus), dtype=numpy.dtype((numpy.void, vcodec.stride)))
            slots = padded.view(numpy.uint8).reshape(n, ncpus, vcodec.stride)
            slots[:, :, : inner.size] = numpy.frombuffer(values, dtype=numpy.uint8).reshape(n, ncpus, inner.size)
            return padded.view(numpy.uint8).data.cast("B")
        raise BPFValueError(
            errno.EINVAL,
            f"map '{self._name}': {n} keys need {n} x {ncpus} per-CPU values ({n * self._vtotal} bytes, or "
            f"{n * ncpus * inner.size} unpadded), got {values.nbytes} bytes",
        )

    # -- reading --------------------------------------------------------------

    def _iter_items(self) -> Iterator[tuple[Any, Any]]:
        # One walk into one pair of buffers, then one decode per side: what
        # dict(m.items()) costs beyond C's batch lookup is building the dict.
        keys, values, n = self._read_all(False)
        ksize, vsize = self._key_size, self._vtotal
        return zip(
            self._kcodec.decode_many(ffi.buffer(keys, n * ksize), n, ksize),
            self._vcodec.decode_many(ffi.buffer(values, n * vsize), n, vsize),
        )

    def _read_all(self, clear: bool) -> tuple[Any, Any, int]:
        """Every entry into one keys buffer and one values buffer: (keys, values, count)."""
        self._require_live()
        if not self._key_size:
            raise NotSupportedError(
                errno.EOPNOTSUPP, f"map '{self._name}' ({self._type.name}) has no keys: it has no entries to list"
            )
        if clear and self._type.is_array:
            raise NotSupportedError(
                errno.EOPNOTSUPP,
                f"map '{self._name}' is a {self._type.name}: its elements cannot be deleted, so it cannot be "
                "read and cleared; use a hash map, or read it and write zeros",
            )
        if self._batch:
            try:
                return self._batch_all(lib.pybpf_map_lookup_and_delete_batch if clear else lib.pybpf_map_lookup_batch)
            except _NoBatch:
                if not clear:
                    self._batch = False
        if clear:
            taken = self._take_all_keeping()
        else:
            ksize, vsize = self._key_size, self._vtotal
            taken = [
                (ffi.buffer(keys, n * ksize)[:], ffi.buffer(values, n * vsize)[:], n)
                for keys, values, n in self._iter_raw(values=True)
            ]
        count = sum(n for *_, n in taken)
        keys, values = b"".join(k for k, _, _ in taken), b"".join(v for _, v, _ in taken)
        return ffi.from_buffer(keys), ffi.from_buffer(values), count

    def _batch_all(self, call: Any) -> tuple[Any, Any, int]:
        """One batch walk into buffers for ``max_entries`` entries, the most a
        walk returns (as iteration, it is bounded even while programs insert
        and delete); _NoBatch if the kernel has no batch operation for the
        type (before anything was read)."""
        ksize, vsize = self._key_size, self._vtotal
        capacity = max(1, self._max_entries)
        keys, values = _uncleared("char[]", capacity * ksize), _uncleared("char[]", capacity * vsize)
        token_size = max(ksize, 8)
        tokens = [ffi.new("char[]", token_size), ffi.new("char[]", token_size)]
        count = ffi.new("__u32 *")
        in_batch, n = ffi.NULL, 0
        while n < capacity:
            count[0] = capacity - n
            ret = call(self._guard, in_batch, tokens[1], keys + n * ksize, values + n * vsize, count, ffi.NULL)
            if ret == -errno.ENOSPC and count[0] == 0:
                # A bucket bigger than the room left: more than max_entries
                # entries came and went during the walk.  The bound stops it
                # here; with lookup-and-delete, the entries left stay in the map.
                break
            if ret and n == 0 and in_batch == ffi.NULL and (-ret in NOT_SUPPORTED or ret == -errno.EINVAL):
                raise _NoBatch
            n += count[0]
            if ret == -errno.ENOENT:
                break
            if ret:
                try:
                    self._fail(ret, "batch lookup in")
                except BaseException as exc:
                    if call is lib.pybpf_map_lookup_and_delete_batch and n:
                        exc.entries = self._raw_entries(  # type: ignore[attr-defined]
                            [(ffi.buffer(keys, n * ksize)[:], ffi.buffer(values, n * vsize)[:], n)]
                        )
                    raise
            tokens.reverse()
            in_batch = tokens[0]
        return keys, values, n


def _typed(view: memoryview, codec: Any, n: int, size: int) -> memoryview:
    """``view`` of ``n`` items cast to their integer type, else raw rows."""
    if isinstance(codec, IntCodec) and codec.format is not None:
        return view.cast(codec.format)
    if isinstance(codec, PerCPUCodec) and isinstance(codec.inner, IntCodec) and codec.inner.size == 8:
        return view.cast(codec.inner.format, shape=[n, codec.ncpus])
    return view.cast("B", shape=[n, size])


def _contiguous(data: Any, what: str, name: str) -> memoryview:
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError(f"map '{name}': {what} must be an array or buffer, not {type(data).__name__}") from None
    if not view.c_contiguous:
        raise BPFValueError(errno.EINVAL, f"map '{name}': {what} must be C-contiguous (numpy.ascontiguousarray)")
    return view


def _check_items(view: memoryview, codec: Any, what: str, name: str) -> None:
    """Refuse integers of another width or signedness than the map's: they
    would be reinterpreted, not converted.  Raw bytes pass as they are."""
    fmt = view.format.lstrip("@=<")
    if fmt in ("B", "b", "c") and view.itemsize == 1 and not (isinstance(codec, IntCodec) and codec.size == 1):
        return  # raw bytes in the map's layout
    if isinstance(codec, IntCodec):
        expected = codec.format
        signed = fmt in "bhilq" and len(fmt) == 1
        same = len(fmt) == 1 and fmt in "bBhHiIlLqQ" and view.itemsize == codec.size and signed == codec.signed
        if expected is not None and not same:
            raise BPFValueError(
                errno.EINVAL,
                f"map '{name}': {what} are {codec.cdecl}, got items of format {view.format!r} and {view.itemsize} "
                "bytes; convert them (numpy: .astype) after checking their range",
            )
    elif view.itemsize not in (1, codec.size):
        raise BPFValueError(
            errno.EINVAL, f"map '{name}': {what} are {codec.size} bytes each, got items of {view.itemsize} bytes"
        )


def _entries_of(view: memoryview, codec: Any, size: int, what: str, name: str) -> int:
    """How many items of ``size`` bytes ``view`` holds, after checking their type."""
    _check_items(view, codec, what, name)
    if view.nbytes % size:
        raise BPFValueError(
            errno.EINVAL, f"map '{name}': {view.nbytes} bytes of {what} are not whole {size}-byte items"
        )
    return view.nbytes // size


def _count_error(name: str, keys: int, values: int) -> BPFValueError:
    return BPFValueError(errno.EINVAL, f"map '{name}': {keys} keys but {values} values")
