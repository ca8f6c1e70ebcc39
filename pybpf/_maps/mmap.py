"""``MappedArray``: the elements of a memory-mapped BPF array (``BPF_F_MMAPABLE``),
shared with the kernel: reading and writing them is a memory access, no syscall."""

from __future__ import annotations

import errno
import mmap
from collections.abc import Iterator, Sequence

from pybpf._codecs.codec import Codec, IntCodec
from pybpf._core.errors import BPFValueError, NotSupportedError
from pybpf._core.public import public

TYPE_CHECKING = False  # typing's own, without importing typing: start-up time (issue 17)
if TYPE_CHECKING:
    from typing import Any, overload

__all__ = ["MappedArray"]


@public
class MappedArray(Sequence["Any"]):  # a string: typing is not imported at run time
    """The elements of a ``BPF_F_MMAPABLE`` ARRAY map (or a data section),
    mapped into this process.

    ``view[i]`` decodes element ``i`` like ``Map`` does and ``view[i] = v``
    encodes into it; :attr:`buffer` is the raw memory (elements every
    ``stride`` bytes, the value size rounded up to 8 as the kernel lays them
    out) and :meth:`at` gives a ctypes object living in the memory.  BPF
    programs see writes at once, and Python sees theirs; an element is not
    updated atomically (use ``__sync_*`` builtins on the BPF side for
    counters).  A frozen map (``.rodata`` after load) maps read-only.

    The mapping keeps the map alive until :meth:`close` (idempotent; also
    ``with``); memoryviews taken from :attr:`buffer` must be released first.
    """

    def __init__(self, fd: int, *, count: int, value_size: int, codec: Codec, name: str) -> None:
        self._name = name
        self._count = count
        self._size = value_size
        self._stride = (value_size + 7) & ~7
        self._codec = codec
        length = max(1, count * self._stride)
        try:
            self._mm: mmap.mmap | None = mmap.mmap(fd, length, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
            self._readonly = False
        except PermissionError:  # frozen (or RDONLY) map: the kernel allows reading only
            self._mm = mmap.mmap(fd, length, mmap.MAP_SHARED, mmap.PROT_READ)
            self._readonly = True
        self._view = memoryview(self._mm)

    @property
    def buffer(self) -> memoryview:
        """The mapped memory (``readonly`` for a frozen map)."""
        self._require_open()
        return self._view

    @property
    def ints(self) -> memoryview:
        """The elements as a typed memoryview, when they are integers of 1, 2,
        4 or 8 bytes: ``ints[i]`` reads element ``i`` and ``ints[i] = v``
        writes it (``ValueError`` if ``v`` does not fit), at the cost of a
        memoryview item, the fastest access Python has.  Release it (or let
        it go) before :meth:`close`."""
        self._require_open()
        codec = self._codec
        if not isinstance(codec, IntCodec) or codec.format is None:
            raise NotSupportedError(
                errno.EOPNOTSUPP, f"'{self._name}': its elements are not integers of 1, 2, 4 or 8 bytes"
            )
        typed = self._view.cast(codec.format)
        step = self._stride // codec.size  # elements are 8 bytes apart
        return typed[::step] if step > 1 else typed

    @property
    def stride(self) -> int:
        """Bytes from one element to the next (the value size rounded up to 8)."""
        return self._stride

    @property
    def readonly(self) -> bool:
        """Whether the map is frozen: reads only."""
        return self._readonly

    def _require_open(self) -> None:
        if self._mm is None:
            raise BPFValueError(errno.EBADF, f"mapped array '{self._name}' is closed")

    def _offset(self, index: int) -> int:
        self._require_open()
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(f"index out of range: '{self._name}' has {self._count} elements")
        return index * self._stride

    def __len__(self) -> int:
        return self._count

    if TYPE_CHECKING:  # typing's overload is not imported at run time

        @overload
        def __getitem__(self, index: int) -> Any: ...

        @overload
        def __getitem__(self, index: slice) -> list[Any]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._count))]
        start = self._offset(index)
        return self._codec.decode(self._view[start : start + self._size])

    def __setitem__(self, index: int, value: Any) -> None:
        start = self._offset(index)
        if self._readonly:
            raise BPFValueError(errno.EPERM, f"'{self._name}' is frozen: its mapping is read-only")
        self._view[start : start + self._size] = self._codec.encode(value)

    def __iter__(self) -> Iterator[Any]:
        return (self[i] for i in range(self._count))

    def at(self, index: int) -> Any:
        """Element ``index`` as a ctypes object that lives in the mapped memory:
        changing its fields writes the map, with no copy."""
        start = self._offset(index)
        ctype = self._codec.ctype
        if self._readonly:
            return ctype.from_buffer_copy(self._view[start : start + self._size])
        return ctype.from_buffer(self._mm, start)

    def close(self) -> None:
        """Unmap (the map may be freed once nothing else holds it). Idempotent."""
        if self._mm is None:
            return
        self._view.release()
        try:
            self._mm.close()
        except BufferError:
            self._view = memoryview(self._mm)
            raise BPFValueError(
                errno.EBUSY, f"'{self._name}': release the memoryviews and at() objects of the mapping first"
            ) from None
        self._mm = None

    def __enter__(self) -> MappedArray:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._mm is None else ("read-only" if self._readonly else "read-write")
        return f"<pybpf.MappedArray '{self._name}' {self._count} x {self._size}B {state}>"
