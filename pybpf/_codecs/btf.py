"""BTF to ctypes: build Python types for map keys, values and global variables.

Rules (docs/maps.md repeats them for users):

* integers and enums of 1, 2, 4 or 8 bytes decode to ``int`` (signedness from BTF);
* structs and unions become ``ctypes.Structure``/``Union`` subclasses with the
  BTF field names at the BTF offsets (padding kept); they compare and hash by
  content, so decoded keys work as ``dict`` keys;
* arrays become ctypes arrays (``char[N]`` reads as ``bytes``);
* pointers are 8-byte integers; typedefs and qualifiers are looked through;
* bitfields are properties of their record that read and write the bits BTF
  names (``int``, sign-extended when signed; ``bool`` for ``bool`` fields).
  ctypes' own bitfields are not used: their layout rules are the compiler's
  guess, BTF gives the exact bit offsets.
"""

from __future__ import annotations

import ctypes
import errno
import operator
import os
import sys
import weakref
from collections.abc import Iterator, Mapping

from pybpf._codecs.btf_build import wide_int
from pybpf._codecs.ranges import bits_range, check_fits
from pybpf._core.errors import BPFFileNotFoundError, BPFKeyError, BPFValueError, c_string, c_text, call_ptr
from pybpf._core.ffi import ffi, lib, log_capture
from pybpf._core.public import public

__all__ = ["BTF", "DataSecVar", "Record"]

_KIND_WORDS = {
    "struct": (lib.BTF_KIND_STRUCT,),
    "union": (lib.BTF_KIND_UNION,),
    "enum": (lib.BTF_KIND_ENUM, lib.BTF_KIND_ENUM64),
    "func": (lib.BTF_KIND_FUNC,),
}
_ANY_NAMED = (
    lib.BTF_KIND_STRUCT,
    lib.BTF_KIND_UNION,
    lib.BTF_KIND_TYPEDEF,
    lib.BTF_KIND_ENUM,
    lib.BTF_KIND_ENUM64,
    lib.BTF_KIND_INT,
)

_SIGNED = {1: ctypes.c_int8, 2: ctypes.c_int16, 4: ctypes.c_int32, 8: ctypes.c_int64}
_UNSIGNED = {1: ctypes.c_uint8, 2: ctypes.c_uint16, 4: ctypes.c_uint32, 8: ctypes.c_uint64}
_MODIFIERS = frozenset(
    {lib.BTF_KIND_TYPEDEF, lib.BTF_KIND_VOLATILE, lib.BTF_KIND_CONST, lib.BTF_KIND_RESTRICT, lib.BTF_KIND_TYPE_TAG}
)

TYPE_CHECKING = False  # typing's own, without importing typing: start-up time (issue 17)
if TYPE_CHECKING:
    from typing import Any, ClassVar


_INT_SIZES = frozenset({1, 2, 4, 8, 16})
_KIND_NAMES = {
    lib.BTF_KIND_INT: "int",
    lib.BTF_KIND_PTR: "pointer",
    lib.BTF_KIND_ARRAY: "array",
    lib.BTF_KIND_STRUCT: "struct",
    lib.BTF_KIND_UNION: "union",
    lib.BTF_KIND_ENUM: "enum",
    lib.BTF_KIND_FWD: "forward declaration",
    lib.BTF_KIND_TYPEDEF: "typedef",
    lib.BTF_KIND_VOLATILE: "volatile",
    lib.BTF_KIND_CONST: "const",
    lib.BTF_KIND_RESTRICT: "restrict",
    lib.BTF_KIND_FUNC: "function",
    lib.BTF_KIND_FUNC_PROTO: "function prototype",
    lib.BTF_KIND_VAR: "variable",
    lib.BTF_KIND_DATASEC: "data section",
    lib.BTF_KIND_FLOAT: "float",
    lib.BTF_KIND_DECL_TAG: "declaration tag",
    lib.BTF_KIND_TYPE_TAG: "type tag",
    lib.BTF_KIND_ENUM64: "enum64",
}


def kind_name(kind: int) -> str:
    """A BTF kind as C and bpftool name it ("struct", "typedef"), not by number."""
    return _KIND_NAMES.get(kind, f"unknown kind {kind}")


def _py_name(text: str) -> str:
    """A BTF name as a Python class or field name: bytes that are not UTF-8
    (surrogate escapes) are shown as backslash escapes, which Python accepts."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _plain(value: Any) -> Any:
    """A value made of Python builtins (tuples for arrays and records)."""
    if isinstance(value, Record):
        return value._astuple()
    if isinstance(value, ctypes.Array):
        return tuple(_plain(v) for v in value)
    return value


def _coerce(ctype: Any, value: Any) -> Any:
    """Turn a sequence or dict into the ctypes array or record a field holds."""
    if ctype is None or isinstance(value, ctype):
        return value
    if isinstance(value, str) and getattr(ctype, "_type_", None) is ctypes.c_char:
        return value.encode()  # a char[N] field: ctypes NUL-pads shorter bytes, check_fits the longer
    if (
        isinstance(ctype, type)
        and issubclass(ctype, ctypes.Array)
        and getattr(ctype, "_type_", None) is not ctypes.c_char
    ):
        if isinstance(value, (bytes, bytearray, list, tuple)):
            return ctype(*(_coerce(ctype._type_, v) for v in value))
    if isinstance(ctype, type) and issubclass(ctype, Record):
        if isinstance(value, dict):
            return ctype(**value)
        if isinstance(value, (list, tuple)):
            return ctype(*value)
    return value


def _bit_property(name: str, bit_offset: int, bits: int, kind: str) -> property:
    """A property reading and writing ``bits`` bits at BTF bit offset ``bit_offset``.

    BTF counts bit offsets in memory order: from the least significant bit of
    the first byte on little-endian hosts, from the most significant on
    big-endian ones.  Out-of-range values raise instead of being truncated."""
    lo, hi = bit_offset // 8, (bit_offset + bits + 7) // 8
    width = hi - lo
    shift = bit_offset - lo * 8 if sys.byteorder == "little" else hi * 8 - bit_offset - bits
    mask = (1 << bits) - 1
    low, high = bits_range(bits, kind == "signed")

    def get(self: Any) -> Any:
        raw = int.from_bytes(ctypes.string_at(ctypes.addressof(self) + lo, width), sys.byteorder)
        value = (raw >> shift) & mask
        if kind == "bool":
            return bool(value)
        if kind == "signed" and value > high:
            value -= 1 << bits
        return value

    def set(self: Any, value: Any) -> None:
        value = operator.index(value)
        if not low <= value <= high:
            raise BPFValueError(errno.ERANGE, f"{name} is a {bits}-bit field ({low}..{high}), got {value}")
        address = ctypes.addressof(self) + lo
        raw = int.from_bytes(ctypes.string_at(address, width), sys.byteorder)
        raw = (raw & ~(mask << shift)) | ((value & mask) << shift)
        ctypes.memmove(address, raw.to_bytes(width, sys.byteorder), width)

    return property(get, set, doc=f"{kind} {bits}-bit field at bit {bit_offset}")


@public
class Record:
    """Mixin of the ctypes structs and unions built from BTF.

    Instances compare and hash by their bytes, print their fields, and convert
    with ``_asdict()`` / ``_astuple()``.
    """

    _fields_: Any
    _members_: tuple[str, ...] = ()  # declaration order, bitfields and anonymous members' fields included
    _types_: ClassVar[Mapping[str, Any]] = {}  # field name -> ctypes type, for coercion
    _bitfields_: ClassVar[Mapping[str, tuple[int, int, str]]] = {}  # name -> (bit offset, bits, kind)
    _record_size: int = 0
    """The bytes a program sent for this event (records of another size than the type's)."""
    _record_tail: bytes = b""
    """The bytes sent past the end of the type."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Positional arguments fill the named fields, skipping padding; arrays and
        # nested records may be given as sequences (or dicts for records).
        names = self._names()
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__} takes at most {len(names)} fields, got {len(args)}")
        for name, value in zip(names, args):
            if name in kwargs:
                raise TypeError(f"{type(self).__name__}: field {name!r} given twice")
            kwargs[name] = value
        unknown = kwargs.keys() - set(names)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {sorted(unknown)[0]!r}")
        types = self._types_
        bits = {name: kwargs.pop(name) for name in self._bitfields_.keys() & kwargs.keys()}
        for name, value in kwargs.items():
            check_fits(types.get(name), value, f"{type(self).__name__}.{name}")  # ctypes would mask it
            kwargs[name] = _coerce(types.get(name), value)
        super().__init__(**kwargs)
        for name, value in bits.items():
            setattr(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        field = self._types_.get(name)
        if field is not None:
            check_fits(field, value, f"{type(self).__name__}.{name}")  # ctypes would mask it
            value = _coerce(field, value)
        super().__setattr__(name, value)

    def _names(self) -> tuple[str, ...]:
        return self._members_

    def _raw(self, name: str) -> bytes:
        """Every byte of field ``name``: a ``char[N]`` field reads only up to
        its first NUL, this keeps NUL-separated contents (an argv)."""
        field = getattr(type(self), name, None)
        if field is None or not hasattr(field, "offset") or name not in self._types_:
            raise AttributeError(f"{type(self).__name__} has no field {name!r} stored in whole bytes")
        start = ctypes.addressof(self) + field.offset  # type: ignore[arg-type]  # every Record is a ctypes struct
        return ctypes.string_at(start, field.size)

    def _asdict(self) -> dict[str, Any]:
        """The fields as a dict (nested records and arrays as tuples)."""
        return {name: _plain(getattr(self, name)) for name in self._names()}

    def _astuple(self) -> tuple[Any, ...]:
        """The fields as a tuple, in declaration order."""
        return tuple(_plain(getattr(self, name)) for name in self._names())

    def __eq__(self, other: object) -> bool:
        if type(other) is type(self):
            return bool(bytes(self) == bytes(other))  # type: ignore[call-overload]
        if isinstance(other, tuple):
            return self._astuple() == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(bytes(self))  # type: ignore[call-overload]

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._asdict().items())
        return f"{type(self).__name__}({fields})"


@public
class BTF:
    """Type information (BTF): of an object, a file, a live map or the kernel,
    and the ctypes types built from it.

    ``BTF.from_file("events.bpf.o").type("struct event")`` gives a type to
    decode records with (``RingBuffer(..., event_type=...)``) when the object
    that sends them does not carry it.  The built types stay usable after
    ``close()``.
    """

    def __init__(self, ptr: Any, *, owned: bool) -> None:
        self._ptr = ptr
        self._cache: dict[int, Any] = {}
        self._free = weakref.finalize(self, lib.btf__free, ptr) if owned else None

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> BTF:
        """Parse the BTF of a file: an ELF object's ``.BTF`` section (a
        ``*.bpf.o``, a kernel module) or a raw BTF file (``/sys/kernel/btf/*``)."""
        path = os.fspath(path)
        what = f"read BTF from {path}"
        raw = c_string(path, what)
        if not os.path.exists(path):
            raise BPFFileNotFoundError(errno.ENOENT, f"{what}: no such file")
        return cls(call_ptr(lambda: lib.btf__parse(raw, ffi.NULL), what), owned=True)

    def type(self, name: str) -> Any:
        """The ctypes type for the BTF type ``name`` (``"struct event"``, or a
        bare name); ``KeyError`` if there is none."""
        self._require_open()
        return self.ctype(self.find(name))

    def _require_open(self) -> None:
        if self._ptr is None:
            raise BPFValueError(errno.EBADF, "this BTF is closed")

    def __enter__(self) -> BTF:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @classmethod
    def from_kernel(cls, btf_id: int) -> BTF:
        """Load the BTF object ``btf_id`` that a live map or program refers to."""
        ptr = call_ptr(lambda: lib.btf__load_from_kernel_by_id(btf_id), f"load BTF id {btf_id}")
        return cls(ptr, owned=True)

    @classmethod
    def vmlinux(cls) -> BTF:
        """The running kernel's own BTF (``/sys/kernel/btf/vmlinux``)."""
        return cls(call_ptr(lib.btf__load_vmlinux_btf, "load the kernel's BTF"), owned=True)

    @classmethod
    def from_raw(cls, data: bytes) -> BTF:
        """Parse raw BTF (the bytes of an object's ``.BTF`` section); libbpf copies them."""
        ptr = call_ptr(lambda: lib.btf__new(data, len(data)), "parse raw BTF")
        return cls(ptr, owned=True)

    def close(self) -> None:
        """Free the BTF if this object owns it (idempotent)."""
        if self._free is not None:
            self._free()
        self._ptr = None

    def _type(self, type_id: int) -> Any:
        t = lib.btf__type_by_id(self._ptr, type_id)
        if t == ffi.NULL:
            raise BPFValueError(22, f"BTF has no type id {type_id}")
        return t

    def name(self, type_id: int) -> str:
        """The name of a type ('' when anonymous)."""
        return self._name_at(self._type(type_id).name_off)

    def _name_at(self, offset: int) -> str:
        p = lib.btf__name_by_offset(self._ptr, offset)
        return c_text(p)

    def resolve(self, type_id: int) -> int:
        """Follow typedefs and qualifiers to the underlying type id."""
        for _ in range(64):  # bounded: BTF from the kernel is acyclic, but be safe
            t = self._type(type_id)
            if lib.btf_kind(t) not in _MODIFIERS:
                return type_id
            type_id = t.type
        raise BPFValueError(22, "BTF modifier chain too long")

    @classmethod
    def from_elf(cls, path: bytes) -> BTF | None:
        """The ``.BTF`` section of an ELF file, parsed; None if it has none or libbpf cannot parse it."""
        with log_capture():  # the object's own open reports what is wrong with it
            ptr = lib.btf__parse_elf(path, ffi.NULL)
        return cls(ptr, owned=True) if ptr != ffi.NULL else None

    def defect(self) -> str | None:
        """What makes this BTF unsafe for libbpf to walk, or None.

        The kernel refuses such BTF, but libbpf walks it before the kernel
        sees it: older libbpf (1.1) follows a type id past the last type,
        every version loops forever on a type that holds itself
        (libbpf/libbpf#688) and reads outside a struct_ops struct whose
        member lies past its end.  Objects are checked before libbpf opens them."""
        count = lib.btf__type_cnt(self._ptr)
        for type_id in range(1, count):
            missing = next((ref for ref in self._refs(type_id) if ref >= count), None)
            if missing is not None:
                return f"in its BTF, {self.describe(type_id)} refers to type {missing}, past the last ({count - 1})"
        cycle = self.find_cycle()
        if cycle:
            chain = " -> ".join(self.describe(i) for i in cycle)
            return f"its BTF holds a type inside itself ({chain}); libbpf would loop forever on it"
        for type_id in range(1, count):
            t = self._type(type_id)
            if lib.btf_kind(t) not in (lib.BTF_KIND_STRUCT, lib.BTF_KIND_UNION):
                continue
            members = lib.btf_members(t)
            for i in range(lib.btf_vlen(t)):
                bit_offset = lib.btf_member_bit_offset(t, i)
                try:
                    bitfield = self._bitfield(members[i].type, bit_offset, lib.btf_member_bitfield_size(t, i))
                except BPFValueError:
                    bitfield = None
                size = lib.btf__resolve_size(self._ptr, members[i].type)
                end = bitfield[0] + bitfield[1] if bitfield else bit_offset + max(size, 0) * 8
                if size < 0 or end > t.size * 8:
                    member = _py_name(self._name_at(members[i].name_off)) or f"#{i}"
                    return (
                        f"in its BTF, member {member} of {self.describe(type_id)} ends at bit {end}, "
                        f"outside the {t.size} bytes of its type; libbpf would read outside it"
                    )
        return None

    def find_cycle(self) -> list[int] | None:
        """A chain of type ids that contains itself by value, or None.

        Typedefs, qualifiers, arrays, variables and struct or union members
        hold their type by value; only a pointer may lead back to a type that
        holds it.  The kernel refuses such a cycle, but libbpf walks type
        chains before the kernel sees them and loops forever on one
        (libbpf/libbpf#688), so objects are checked at open."""
        count = lib.btf__type_cnt(self._ptr)
        state = bytearray(count)  # 0 unvisited, 1 on the current path, 2 done
        for root in range(1, count):
            if state[root]:
                continue
            path = [root]
            pending = [iter(self._held(root))]
            state[root] = 1
            while pending:
                child = next(pending[-1], None)
                if child is None:
                    state[path.pop()] = 2
                    pending.pop()
                elif child < count and state[child] == 1:
                    return path[path.index(child) :] + [child]
                elif child < count and not state[child]:
                    state[child] = 1
                    path.append(child)
                    pending.append(iter(self._held(child)))
        return None

    def _held(self, type_id: int) -> list[int]:
        """The type ids a type holds by value (0, void, is left out)."""
        t = self._type(type_id)
        kind = lib.btf_kind(t)
        if kind in _MODIFIERS or kind in (lib.BTF_KIND_VAR, lib.BTF_KIND_DECL_TAG):
            held = [t.type]
        elif kind == lib.BTF_KIND_ARRAY:
            held = [lib.btf_array(t).type]
        elif kind in (lib.BTF_KIND_STRUCT, lib.BTF_KIND_UNION):
            members = lib.btf_members(t)
            held = [members[i].type for i in range(lib.btf_vlen(t))]
        elif kind == lib.BTF_KIND_DATASEC:
            infos = lib.btf_var_secinfos(t)
            held = [infos[i].type for i in range(lib.btf_vlen(t))]
        else:
            held = []
        return [i for i in held if i]

    def _refs(self, type_id: int) -> list[int]:
        """Every type id a type refers to, by value or through a pointer, function or array index."""
        t = self._type(type_id)
        kind = lib.btf_kind(t)
        if kind in (lib.BTF_KIND_PTR, lib.BTF_KIND_FUNC):
            return [t.type]
        if kind == lib.BTF_KIND_ARRAY:
            return [lib.btf_array(t).type, lib.btf_array(t).index_type]
        if kind == lib.BTF_KIND_FUNC_PROTO:
            params = lib.btf_params(t)
            return [t.type, *(params[i].type for i in range(lib.btf_vlen(t)))]
        return self._held(type_id)

    def describe(self, type_id: int) -> str:
        """``typedef __u16`` or ``struct event``: a type as a message names it."""
        t = self._type(type_id)
        kind = lib.btf_kind(t)
        name = _py_name(self._name_at(t.name_off)) or f"#{type_id}"
        return f"{kind_name(kind)} {name}"

    def int_info(self, type_id: int) -> tuple[int, bool] | None:
        """(size, signed) if the type is a plain integer or enum, else None."""
        t = self._type(self.resolve(type_id))
        kind = lib.btf_kind(t)
        if kind == lib.BTF_KIND_INT:
            enc = lib.btf_int_encoding(t)
            if enc & lib.BTF_INT_BOOL:
                return None  # a bool reads as bool (its ctype, c_bool)
            if t.size in _INT_SIZES and lib.btf_int_offset(t) == 0 and lib.btf_int_bits(t) == t.size * 8:
                return t.size, bool(enc & lib.BTF_INT_SIGNED)
        elif kind in (lib.BTF_KIND_ENUM, lib.BTF_KIND_ENUM64) and t.size in _SIGNED:
            return t.size, bool(lib.btf_kflag(t))
        return None

    def size(self, type_id: int) -> int:
        """sizeof() of a type."""
        return ctypes.sizeof(self.ctype(type_id))

    def ctype(self, type_id: int) -> Any:
        """The ctypes type for a BTF type id (cached)."""
        cached = self._cache.get(type_id)
        if cached is None:
            cached = self._cache[type_id] = self._build(type_id)
        return cached

    def _build(self, type_id: int) -> Any:
        t = self._type(type_id)
        kind = lib.btf_kind(t)
        if kind in _MODIFIERS or kind == lib.BTF_KIND_VAR:
            return self.ctype(t.type)
        if kind == lib.BTF_KIND_INT:
            enc = lib.btf_int_encoding(t)
            if enc & lib.BTF_INT_BOOL and t.size == 1:
                return ctypes.c_bool
            if t.size == 1 and (enc & lib.BTF_INT_CHAR or self._name_at(t.name_off) == "char"):
                return ctypes.c_char  # clang marks plain char only as signed
            table = _SIGNED if enc & lib.BTF_INT_SIGNED else _UNSIGNED
            return table.get(t.size) or wide_int(t.size, bool(enc & lib.BTF_INT_SIGNED))
        if kind in (lib.BTF_KIND_ENUM, lib.BTF_KIND_ENUM64):
            table = _SIGNED if lib.btf_kflag(t) else _UNSIGNED
            return table.get(t.size) or ctypes.c_uint8 * t.size
        if kind == lib.BTF_KIND_PTR:
            return ctypes.c_uint64
        if kind == lib.BTF_KIND_FLOAT:
            return {4: ctypes.c_float, 8: ctypes.c_double}.get(t.size) or ctypes.c_uint8 * t.size
        if kind == lib.BTF_KIND_ARRAY:
            arr = lib.btf_array(t)
            return self.ctype(arr.type) * arr.nelems
        if kind in (lib.BTF_KIND_STRUCT, lib.BTF_KIND_UNION):
            return self._record(type_id, t, kind == lib.BTF_KIND_UNION)
        raise BPFValueError(22, f"BTF type id {type_id} ({kind_name(kind)}) has no value representation")

    def _bitfield(self, type_id: int, bit_offset: int, bits: int) -> tuple[int, int, str] | None:
        """(bit offset, bits, kind) of a member stored in part of its type's
        bytes, or None for a whole-byte member.  ``bits`` is the member's
        bitfield size (kflag structs); structs without kflag encode it in an
        INT type's own bit offset and size instead."""
        t = self._type(self.resolve(type_id))
        kind = lib.btf_kind(t)
        if kind == lib.BTF_KIND_INT:
            enc = lib.btf_int_encoding(t)
            word = "bool" if enc & lib.BTF_INT_BOOL else "signed" if enc & lib.BTF_INT_SIGNED else "unsigned"
            if not bits and (lib.btf_int_offset(t) or lib.btf_int_bits(t) != t.size * 8):
                bit_offset, bits = bit_offset + lib.btf_int_offset(t), lib.btf_int_bits(t)
            elif not bits and t.size not in _SIGNED:
                bits = t.size * 8  # __int128: read and written as an int, like a bitfield
        elif kind in (lib.BTF_KIND_ENUM, lib.BTF_KIND_ENUM64):
            word = "signed" if lib.btf_kflag(t) else "unsigned"
        elif bits:
            raise BPFValueError(22, f"BTF type id {type_id} ({kind_name(kind)}) cannot be a bitfield")
        return (bit_offset, bits, word) if bits else None

    def _record(self, type_id: int, t: Any, union: bool) -> Any:
        name = _py_name(self._name_at(t.name_off)) or f"anon_{type_id}"
        members = lib.btf_members(t)
        fields: list[tuple[str, Any]] = []
        order: list[str] = []
        types: dict[str, Any] = {}
        anonymous: list[str] = []
        bitfields: dict[str, tuple[int, int, str]] = {}
        offset = 0
        for i in range(lib.btf_vlen(t)):
            bit_offset = lib.btf_member_bit_offset(t, i)
            member_name = _py_name(self._name_at(members[i].name_off))
            bitfield = self._bitfield(members[i].type, bit_offset, lib.btf_member_bitfield_size(t, i))
            if bitfield is not None:
                if member_name:  # unnamed bitfields only pad; their bits stay in the padding
                    bitfields[member_name] = bitfield
                    order.append(member_name)
                continue
            member_type = self.ctype(members[i].type)
            if member_name:
                order.append(member_name)
                types[member_name] = member_type
            else:
                member_name = f"_anon{i}"
                if isinstance(member_type, type) and issubclass(member_type, Record):
                    # Its fields read as this record's, as in C.  ctypes promotes
                    # the ctypes fields; the bitfield properties are added here.
                    anonymous.append(member_name)
                    order.extend(member_type._members_)
                    types.update(member_type._types_)
                    for inner, (bit, bits, word) in member_type._bitfields_.items():
                        bitfields[inner] = (bit_offset + bit, bits, word)
                else:
                    order.append(member_name)  # raw bytes: shown under a made-up name
            start = bit_offset // 8
            if not union and start > offset:
                fields.append((f"_pad{len(fields)}", ctypes.c_uint8 * (start - offset)))
            fields.append((member_name, member_type))
            offset = max(offset, start + ctypes.sizeof(member_type))
        if t.size > offset and not union:
            fields.append((f"_pad{len(fields)}", ctypes.c_uint8 * (t.size - offset)))
        elif t.size > offset:  # a union whose widest member is a bitfield
            fields.append(("_pad", ctypes.c_uint8 * t.size))
        base = ctypes.Union if union else ctypes.Structure
        namespace: dict[str, Any] = {
            "_pack_": 1,
            "_fields_": fields,
            "_anonymous_": anonymous,
            "_members_": tuple(order),
            "_types_": types,
            "_bitfields_": bitfields,
            "_record_size": t.size,
        }
        for field, (bit, bits, word) in bitfields.items():
            namespace[field] = _bit_property(f"{name}.{field}", bit, bits, word)
        cls = type(name, (Record, base), namespace)
        if ctypes.sizeof(cls) != t.size:
            return ctypes.c_uint8 * t.size  # layout we cannot express: raw bytes
        return cls

    def find(self, name: str) -> int:
        """The type id named ``name``: ``"struct event"``, ``"union u"``,
        ``"enum e"``, ``"func f"``, or a bare name (struct, union, typedef, enum, int, in that order)."""
        word, _, bare = name.strip().partition(" ")
        kinds = _KIND_WORDS.get(word) if bare else None
        if kinds is None:
            kinds, bare = _ANY_NAMED, name.strip()
        for kind in kinds:
            type_id = lib.btf__find_by_name_kind(self._ptr, c_string(bare, "BTF type name"), kind)
            if type_id > 0:
                return int(type_id)
        raise BPFKeyError(errno.ENOENT, f"BTF has no type named {name!r}")

    def proto_return(self, func_id: int) -> int:
        """The return type id of a function (0 for void)."""
        proto = self._type(self._type(func_id).type)
        if lib.btf_kind(proto) != lib.BTF_KIND_FUNC_PROTO:
            raise BPFValueError(errno.EINVAL, f"BTF type {func_id} is not a function")
        return int(proto.type)

    def datasec(self, section: str) -> dict[str, DataSecVar]:
        """Variables of a data section, by name."""
        sec_id = lib.btf__find_by_name_kind(self._ptr, c_string(section, "BTF section name"), lib.BTF_KIND_DATASEC)
        if sec_id < 0:
            return {}
        t = self._type(sec_id)
        infos = lib.btf_var_secinfos(t)
        out = {}
        for i in range(lib.btf_vlen(t)):
            var = self._type(infos[i].type)
            static = lib.btf_kind(var) == lib.BTF_KIND_VAR and lib.btf_var(var).linkage == lib.BTF_VAR_STATIC
            out[self._name_at(var.name_off)] = DataSecVar(var.type, infos[i].offset, infos[i].size, static)
        return out

    def tagged_functions(self, tag: str) -> tuple[frozenset[str], bool]:
        """The functions carrying the declaration tag ``tag`` (``bpf_kfunc``),
        and whether the BTF has any such tag at all."""
        names: set[str] = set()
        seen = False
        for t in self._of_kind(lib.BTF_KIND_DECL_TAG):
            if self._name_at(t.name_off) != tag:
                continue
            seen = True
            target = self._type(t.type)
            if lib.btf_kind(target) == lib.BTF_KIND_FUNC:
                names.add(self._name_at(target.name_off))
        return frozenset(names), seen

    def datasecs(self) -> list[str]:
        """The names of every data section (``.data``, ``.rodata.foo`` ...)."""
        return [self._name_at(t.name_off) for t in self._of_kind(lib.BTF_KIND_DATASEC)]

    def _of_kind(self, kind: int) -> Iterator[Any]:
        """Every type of one BTF kind, in id order."""
        for type_id in range(1, lib.btf__type_cnt(self._ptr)):
            t = self._type(type_id)
            if lib.btf_kind(t) == kind:
                yield t


class DataSecVar:
    """A variable of a data section, as its BTF places it: its type, offset
    and size, and whether it is ``static`` in C (file scope or in a
    function), which a skeleton leaves out."""

    # Not a NamedTuple: one with postponed annotations costs the process its
    # first compile() (see pybpf._core.reports), and loading reads these.
    __slots__ = ("type_id", "offset", "size", "static")

    def __init__(self, type_id: int, offset: int, size: int, static: bool) -> None:
        self.type_id = type_id
        self.offset = offset
        self.size = size
        self.static = static
