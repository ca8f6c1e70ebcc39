"""BTF built from ctypes types: what ``Map.create`` hands the kernel with a
new map, so that its keys and values are typed for every later reader
(``bpftool map dump``, ``Map.from_id``, ``Map.from_pinned``, map-in-map
lookups), as a map declared in a BPF object is.

Integers, ``bool``, ``char``, floats, arrays, structs and unions (with
bitfields) are written out; a ``Record`` built from BTF goes back as the
struct it came from, without its padding fields.
"""

from __future__ import annotations

import ctypes
import errno
import sys

from pybpf._core.errors import BPFValueError, c_string, call_ptr, check
from pybpf._core.ffi import ffi, lib

TYPE_CHECKING = False  # typing's own, without importing typing: start-up time (issue 17)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["TypeWriter", "untyped_ctype", "wide_int"]

_INT_NAMES = {
    "b": "signed char",
    "B": "unsigned char",
    "h": "short",
    "H": "unsigned short",
    "i": "int",
    "I": "unsigned int",
    "l": "long",
    "L": "unsigned long",
    "q": "long long",
    "Q": "unsigned long long",
}
_UNSIGNED_BY_SIZE = {1: ctypes.c_uint8, 2: ctypes.c_uint16, 4: ctypes.c_uint32, 8: ctypes.c_uint64}


def untyped_ctype(size: int) -> Any:
    """The type of a key or value nobody described (no BTF, no type given):
    an unsigned integer of 1, 2, 4 or 8 bytes, else ``unsigned char[size]``,
    which reads as ``bytes``."""
    return _UNSIGNED_BY_SIZE.get(size) or ctypes.c_uint8 * size


class TypeWriter:
    """A BTF object being filled with types, then loaded into the kernel."""

    def __init__(self) -> None:
        self._btf = call_ptr(lib.btf__new_empty, "create BTF")
        self._ids: dict[Any, int] = {}

    def close(self) -> None:
        """Free the BTF (a map created with it keeps the kernel's copy)."""
        if self._btf is not None:
            lib.btf__free(self._btf)
            self._btf = None

    def __enter__(self) -> TypeWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def load(self) -> int:
        """Load the types into the kernel; the BTF fd (owned by this writer)."""
        check(lib.btf__load_into_kernel(self._btf), "load BTF for the map's types")
        return int(lib.btf__fd(self._btf))

    def add(self, ctype: Any) -> int:
        """The type id of ``ctype``, adding it (and what it holds) first."""
        known = self._ids.get(ctype)
        if known is None:
            known = self._ids[ctype] = self._add(ctype)
        return known

    def _added(self, ret: int, what: str) -> int:
        return check(ret, f"add {what} to BTF")

    def _int(self, name: str, size: int, encoding: int) -> int:
        return self._added(lib.btf__add_int(self._btf, name.encode(), size, encoding), f"int {name}")

    def _add(self, ctype: Any) -> int:
        wide = getattr(ctype, "_btf_int_", None)
        if wide is not None:
            return self._int(ctype.__name__, wide[0], lib.BTF_INT_SIGNED if wide[1] else 0)
        code = getattr(ctype, "_type_", None)
        if isinstance(ctype, type) and issubclass(ctype, ctypes._SimpleCData):
            size = ctypes.sizeof(ctype)
            if code == "?":
                return self._int("_Bool", 1, lib.BTF_INT_BOOL)
            if code == "c":
                return self._int("char", 1, lib.BTF_INT_CHAR)
            if code in ("f", "d"):
                name = "float" if code == "f" else "double"
                return self._added(lib.btf__add_float(self._btf, name.encode(), size), name)
            if isinstance(code, str) and code in _INT_NAMES:
                return self._int(_INT_NAMES[code], size, lib.BTF_INT_SIGNED if code.islower() else 0)
            if code in ("P", "z", "Z"):  # pointers: 8-byte integers, as BTF maps read them
                return self.add(ctypes.c_uint64)
        if isinstance(ctype, type) and issubclass(ctype, ctypes.Array):
            element = self.add(ctype._type_)
            index = self.add(ctypes.c_uint32)
            return self._added(lib.btf__add_array(self._btf, index, element, ctype._length_), "an array")
        if isinstance(ctype, type) and issubclass(ctype, (ctypes.Structure, ctypes.Union)):
            return self._record(ctype)
        raise BPFValueError(errno.EINVAL, f"no BTF for the ctypes type {ctype!r}")

    def _record(self, ctype: Any) -> int:
        members = list(_members(ctype))
        ids = [self.add(member_type) for _, member_type, _, _ in members]  # before the struct: its fields follow it
        union = issubclass(ctype, ctypes.Union)
        add = lib.btf__add_union if union else lib.btf__add_struct
        name = c_string(getattr(ctype, "__name__", ""), "BTF struct name")
        record = self._added(add(self._btf, name, ctypes.sizeof(ctype)), f"struct {ctype.__name__}")
        for (field, _, bit_offset, bits), type_id in zip(members, ids):
            raw = c_string(field, "BTF field name") if field else ffi.NULL
            self._added(lib.btf__add_field(self._btf, raw, type_id, bit_offset, bits), f"field {field}")
        return record


def _members(ctype: Any) -> list[tuple[str, Any, int, int]]:
    """(name, ctypes type, bit offset, bitfield bits or 0) of a struct's
    members, by offset: padding left out, anonymous members unnamed."""
    out: list[tuple[str, Any, int, int]] = []
    anonymous = set(getattr(ctype, "_anonymous_", ()))
    is_record = hasattr(ctype, "_bitfields_")  # built from BTF: pybpf.Record
    # An anonymous member's bitfields are promoted into this record too: they go with the member.
    promoted = {
        name for field in ctype._fields_ if field[0] in anonymous for name in getattr(field[1], "_members_", ())
    }
    for field in ctype._fields_:
        name, member_type = field[0], field[1]
        if is_record and name.startswith("_pad"):
            continue
        descriptor = getattr(ctype, name)
        bit_offset, bits = descriptor.offset * 8, 0
        if len(field) > 2:  # a ctypes bitfield: its size packs (width << 16) | bit position
            bits = field[2]
            position = descriptor.size & 0xFFFF
            if sys.byteorder == "big":
                position = ctypes.sizeof(member_type) * 8 - position - bits
            bit_offset += position
        out.append(("" if name in anonymous else name, member_type, bit_offset, bits))
    for name, (bit_offset, bits, kind) in getattr(ctype, "_bitfields_", {}).items():
        if name in promoted:
            continue
        if kind == "bool":
            holder: Any = ctypes.c_bool
        else:
            span = (bit_offset % 8 + bits + 7) // 8  # the kernel wants the bits inside their type's bytes
            width = next(size for size in (1, 2, 4, 8, 16, span) if size >= span)
            holder = wide_int(width, kind == "signed")
        whole = bit_offset % 8 == 0 and bits == ctypes.sizeof(holder) * 8
        out.append((name, holder, bit_offset, 0 if whole else bits))
    return sorted(out, key=lambda member: member[2])


def wide_int(size: int, signed: bool) -> Any:
    """A ctypes stand-in for an integer of ``size`` bytes (__int128 and the like)."""
    if size in _UNSIGNED_BY_SIZE:
        return getattr(ctypes, f"c_{'' if signed else 'u'}int{size * 8}")
    return _Wide.get(size, signed)


class _Wide:
    """Integers wider than 8 bytes: BTF ints of that size, named as C names them."""

    _cache: dict[tuple[int, bool], Any] = {}

    @classmethod
    def get(cls, size: int, signed: bool) -> Any:
        key = (size, signed)
        if key not in cls._cache:
            name = f"{'' if signed else 'unsigned '}__int{size * 8}"
            cls._cache[key] = type(
                name, (ctypes.Array,), {"_type_": ctypes.c_uint8, "_length_": size, "_btf_int_": key}
            )
        return cls._cache[key]
