"""``DataView``: an array or struct global variable (or a part of one), read
and written in place, as a skeleton's ``skel->bss->counts[3] = 1`` does.

A view holds no pointer into the section: every access finds the section's
memory again through its ``GlobalData`` (libbpf's image before load, the
kernel's mapping after), so it never reaches memory that load remapped
read-only or that close unmapped.  Each write touches only the bytes of
what it changes, so the fields a running program writes meanwhile stay.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator

from pybpf._codecs.codec import codec_for_ctype

TYPE_CHECKING = False  # typing's own, without importing typing: start-up time (issue 17)
if TYPE_CHECKING:
    from typing import Any

    from pybpf._object.data import GlobalData

__all__ = ["DataView", "is_aggregate", "view_or_value"]


def is_aggregate(ctype: Any) -> bool:
    """Arrays and structs: what a view stands for."""
    if not isinstance(ctype, type):
        return False
    if issubclass(ctype, ctypes.Array):  # not char[N] (bytes) nor __int128 (an int)
        return getattr(ctype, "_type_", None) is not ctypes.c_char and not hasattr(ctype, "_btf_int_")
    return issubclass(ctype, (ctypes.Structure, ctypes.Union))


def view_or_value(section: GlobalData, ctype: Any, offset: int, where: str) -> Any:
    """A view of an aggregate at ``offset`` of the section, or the decoded value there."""
    if is_aggregate(ctype):
        return DataView(section, ctype, offset, where)
    size = ctypes.sizeof(ctype)
    return codec_for_ctype(ctype, where).decode(section._read(offset, size, where))


class DataView:
    """An array or struct variable (or part of one) of a data section.

    Arrays index and iterate (``view[2] = 80``; elements that are arrays or
    structs are views too); structs have their fields as attributes
    (``view.limit = 5``).  ``copy()`` returns a snapshot (a ctypes object).
    A view compares equal to a list/tuple (arrays) or to its struct type's
    value.  Writes to ``.rodata`` after load raise, as the kernel froze it.
    """

    __slots__ = ("_section", "_ctype", "_offset", "_where")

    def __init__(self, section: GlobalData, ctype: Any, offset: int, where: str) -> None:
        object.__setattr__(self, "_section", section)
        object.__setattr__(self, "_ctype", ctype)
        object.__setattr__(self, "_offset", offset)
        object.__setattr__(self, "_where", where)

    def copy(self) -> Any:
        """The value now, as a ctypes object (an array) or struct record."""
        return self._ctype.from_buffer_copy(self._section._read(self._offset, ctypes.sizeof(self._ctype)))

    # -- arrays ---------------------------------------------------------------------

    def _array(self) -> Any:
        if not issubclass(self._ctype, ctypes.Array):
            raise TypeError(f"{self._where} is a struct: use its fields as attributes")
        return self._ctype

    def __len__(self) -> int:
        return int(self._array()._length_)

    def _element(self, index: int) -> tuple[Any, int, str]:
        array = self._array()
        if not isinstance(index, int):
            raise TypeError(f"{self._where} is indexed by int, not {type(index).__name__}")
        length = array._length_
        if index < 0:
            index += length
        if not 0 <= index < length:
            raise IndexError(f"{self._where}[{index}]: the array has {length} elements")
        element = array._type_
        return element, self._offset + index * ctypes.sizeof(element), f"{self._where}[{index}]"

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        element, offset, where = self._element(index)
        return view_or_value(self._section, element, offset, where)

    def __setitem__(self, index: int, value: Any) -> None:
        element, offset, where = self._element(index)
        self._section._write(offset, codec_for_ctype(element, where).encode(value), where)

    def __iter__(self) -> Iterator[Any]:
        return (self[i] for i in range(len(self)))

    # -- structs --------------------------------------------------------------------

    def _field(self, name: str) -> tuple[int, int]:
        """The byte range of field ``name`` within the struct (a bitfield's bytes)."""
        ctype = self._ctype
        bitfield = getattr(ctype, "_bitfields_", {}).get(name)
        if bitfield is not None:
            bit, bits, _ = bitfield
            return bit // 8, (bit + bits + 7) // 8
        field = getattr(ctype, name, None)
        if field is None or not hasattr(field, "offset"):
            raise AttributeError(f"{self._where} has no field {name!r}")
        return field.offset, field.offset + field.size

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        types = getattr(self._ctype, "_types_", None)
        if types is not None and name in types and is_aggregate(types[name]):
            start, _ = self._field(name)
            return DataView(self._section, types[name], self._offset + start, f"{self._where}.{name}")
        return getattr(self.copy(), name)  # a field's value, or _asdict() & co of the snapshot

    def __setattr__(self, name: str, value: Any) -> None:
        start, end = self._field(name)
        snapshot = self.copy()
        setattr(snapshot, name, value)  # the record checks the range and coerces
        data = bytes(memoryview(snapshot).cast("B")[start:end])
        self._section._write(self._offset + start, data, f"{self._where}.{name}")

    # -- both -----------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DataView):
            other = other.copy()
        if issubclass(self._ctype, ctypes.Array):
            return isinstance(other, (list, tuple)) and list(_plain(self)) == list(_plain(other))
        return bool(self.copy() == other)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        value = list(_plain(self)) if issubclass(self._ctype, ctypes.Array) else self.copy()
        return f"<{self._where} of {self._section.name}: {value!r}>"


def _plain(value: Any) -> Any:
    """Arrays of views as lists of plain values, for comparisons and reprs."""
    if isinstance(value, DataView):
        return [_plain(v) for v in value] if issubclass(value._ctype, ctypes.Array) else value.copy()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
