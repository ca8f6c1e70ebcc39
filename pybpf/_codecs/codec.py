"""Codecs: turn Python values into a map's key/value bytes and back.

A codec is chosen per map from its BTF (``pybpf._codecs.btf``), from ctypes types the
caller gives, or falls back to raw ``bytes``.  ``IntCodec`` is what the hot
path recognises: maps whose key and value are both plain integers skip the
generic encode/decode entirely.
"""

from __future__ import annotations

import ctypes
import struct
import sys
from collections.abc import Mapping, Sequence

from pybpf._codecs.ranges import check_fits
from pybpf._core.errors import BPFValueError
from pybpf._core.public import public

TYPE_CHECKING = False  # typing's own, without importing typing: start-up time (issue 17)
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "BytesCodec",
    "Codec",
    "CtypesCodec",
    "FdCodec",
    "IntCodec",
    "PerCPUCodec",
    "codec_for_ctype",
]

EINVAL = 22


def _size_error(what: str, expected: int, got: int) -> BPFValueError:
    return BPFValueError(EINVAL, f"{what} must be {expected} bytes, got {got}")


@public
class Codec:
    """Encode one key or value to exactly ``size`` bytes, and decode it back."""

    size: int
    what: str = "value"
    #: The ctypes type of one item (``Map.key_type``/``value_type`` report it).
    ctype: Any = None

    def encode(self, value: Any) -> bytes:
        """The bytes of ``value``; ``ValueError`` (BPFValueError) if it does not fit."""
        raise NotImplementedError

    def decode(self, data: Any) -> Any:
        """The Python value of ``size`` bytes of ``data`` (bytes or a buffer)."""
        raise NotImplementedError

    def decode_many(self, buf: Any, count: int, stride: int) -> list[Any]:
        """Decode ``count`` items laid out every ``stride`` bytes of ``buf``."""
        view = memoryview(buf)
        return [self.decode(view[i * stride : i * stride + self.size]) for i in range(count)]

    def _bytes(self, value: Any) -> bytes | None:
        if isinstance(value, (bytes, bytearray, memoryview)):
            data = bytes(value)
            if len(data) != self.size:
                raise _size_error(self.what, self.size, len(data))
            return data
        return None


@public
class IntCodec(Codec):
    """A C integer as a Python ``int``: of 1, 2, 4 or 8 bytes, or wider
    (``__int128``), in the host's byte order."""

    _FORMATS = {1: "b", 2: "h", 4: "i", 8: "q"}

    def __init__(self, size: int, signed: bool, what: str = "value") -> None:
        self.size = size
        self.signed = signed
        self.what = what
        self.cdecl = f"{'' if signed else 'u'}int{size * 8}_t"
        fmt = self._FORMATS.get(size)
        self.format: Any = (fmt if signed else fmt.upper()) if fmt else None
        """The one-letter struct/memoryview format (``"I"``, ``"q"`` ...); None
        for integers wider than 8 bytes."""
        self._struct = struct.Struct("=" + self.format) if self.format else None
        self.ctype = getattr(ctypes, f"c_{'' if signed else 'u'}int{size * 8}", None) or ctypes.c_uint8 * size

    def encode(self, value: Any) -> bytes:
        raw = self._bytes(value)
        if raw is not None:
            return raw
        if self._struct is None:
            return self._wide(value)
        try:
            return self._struct.pack(value)
        except struct.error as exc:
            raise BPFValueError(EINVAL, f"{self.what} {value!r} does not fit a {self.cdecl}: {exc}") from None

    def _wide(self, value: Any) -> bytes:
        if not isinstance(value, int):
            raise BPFValueError(EINVAL, f"{self.what} must be an int, not {type(value).__name__}")
        try:
            return value.to_bytes(self.size, sys.byteorder, signed=self.signed)
        except OverflowError:
            raise BPFValueError(EINVAL, f"{self.what} {value!r} does not fit a {self.cdecl}") from None

    def decode(self, data: Any) -> int:
        if self._struct is None:
            return int.from_bytes(bytes(data[: self.size]), sys.byteorder, signed=self.signed)
        return self._struct.unpack_from(data)[0]  # type: ignore[no-any-return]

    def decode_many(self, buf: Any, count: int, stride: int) -> list[Any]:
        if self._struct is not None and stride % self.size == 0:  # aligned items: one cast, one strided copy
            view = memoryview(buf).cast("B")[: count * stride]
            items = view.cast(self._struct.format[1])[:: stride // self.size]  # type: ignore[call-overload]
            return items.tolist()  # type: ignore[no-any-return]
        return super().decode_many(buf, count, stride)


@public
class BytesCodec(Codec):
    """Raw bytes, for maps without type information.

    Also takes an ``int``, stored in native byte order as an unsigned integer of
    the map's size, so ``m[1] = 2`` works on a map made by ``Map.create``.
    """

    def __init__(self, size: int, what: str = "value") -> None:
        self.size = size
        self.what = what
        self.ctype = ctypes.c_uint8 * size

    def encode(self, value: Any) -> bytes:
        raw = self._bytes(value)
        if raw is not None:
            return raw
        if isinstance(value, int):
            try:
                return value.to_bytes(self.size, sys.byteorder)
            except OverflowError:
                raise BPFValueError(EINVAL, f"{self.what} {value!r} does not fit {self.size} bytes") from None
        raise BPFValueError(
            EINVAL, f"{self.what} must be bytes of length {self.size} or an int, got {type(value).__name__}"
        )

    def decode(self, data: Any) -> bytes:
        return bytes(data[: self.size])


@public
class CtypesCodec(Codec):
    """A ctypes type: structs, unions and arrays (from BTF or from the caller).

    Encodes an instance of the type, bytes of its size, a tuple/list of fields
    or elements, or a dict of fields.  Decodes to an instance (a struct) or a
    Python sequence (an array: ``bytes`` for ``char[N]``, else a list).
    """

    def __init__(self, ctype: Any, what: str = "value") -> None:
        self.ctype = ctype
        self.size = ctypes.sizeof(ctype)
        self.what = what
        self._array = issubclass(ctype, ctypes.Array)
        self._chars = self._array and ctype._type_ is ctypes.c_char
        # A whole key or value that is unsigned char[N] is raw bytes (a MAC
        # address, a hash; the rule for maps nobody typed), read as bytes.
        self._octets = self._array and ctype._type_ is ctypes.c_uint8 and not hasattr(ctype, "_btf_int_")
        self._simple = issubclass(ctype, ctypes._SimpleCData)  # bool, float, double: read as Python values
        self.packer = flat_int_packer(ctype)
        """A ``struct.Struct`` of the same layout when every field is a whole
        integer (no bitfields, arrays or nested records), else None: a tuple
        of fields then encodes in one ``pack`` call."""

    def encode(self, value: Any) -> bytes:
        if type(value) is tuple and self.packer is not None:
            try:
                return self.packer.pack(*value)
            except struct.error:
                pass  # too few fields, or one that does not fit: the general path says which
        if self._chars and isinstance(value, (str, bytes, bytearray, memoryview)):
            return chars(value, self.size, self.what)
        raw = self._bytes(value)
        if raw is not None:
            return raw
        if isinstance(value, self.ctype):
            return bytes(value)
        check_fits(self.ctype, value, self.what)  # ctypes would mask what does not fit
        try:
            if isinstance(value, Mapping):
                obj = self.ctype(**value)
            elif isinstance(value, Sequence) and not isinstance(value, str):
                obj = self.ctype(*value)
            else:
                obj = self.ctype(value)
        except (TypeError, ValueError, IndexError, RuntimeError) as exc:
            raise BPFValueError(
                EINVAL, f"cannot encode {value!r} as {self.what} of type {self.ctype.__name__}: {exc}"
            ) from None
        return bytes(obj)

    def decode(self, data: Any) -> Any:
        if self._octets:
            return bytes(data[: self.size])
        obj = self.ctype.from_buffer_copy(data[: self.size])
        if self._chars:
            return obj.raw
        if self._array:
            return list(obj)
        if self._simple:
            return obj.value
        return obj

    def decode_many(self, buf: Any, count: int, stride: int) -> list[Any]:
        if self._octets:  # one copy, then a slice per item: no call per item
            data, size = bytes(memoryview(buf)[: count * stride]), self.size
            return [data[offset : offset + size] for offset in range(0, count * stride, stride)]
        if self._array or self._simple:
            return super().decode_many(buf, count, stride)
        copy = self.ctype.from_buffer_copy  # at an offset: no slice per item
        return [copy(buf, offset) for offset in range(0, count * stride, stride)]


def flat_int_packer(ctype: Any) -> struct.Struct | None:
    """A native-order ``struct.Struct`` with ``ctype``'s layout, taking its
    named fields in order, when all of them are whole integers; else None.

    ``struct.pack`` refuses an integer that does not fit (it never masks), so
    it is as strict as the field-by-field checks it stands in for.
    """
    if not issubclass(ctype, ctypes.Structure) or getattr(ctype, "_anonymous_", None):
        return None
    if getattr(ctype, "_bitfields_", None):  # a BTF record's bitfields are properties
        return None
    fields = {field[0]: field for field in ctype._fields_}
    names = getattr(ctype, "_members_", None) or tuple(fields)
    layout, offset = ["="], 0
    for name in names:
        field = fields.get(name)
        if field is None or len(field) != 2:  # a member of an anonymous one, or a ctypes bitfield
            return None
        code = getattr(field[1], "_type_", None)
        if not isinstance(code, str) or code not in "bBhHiIlLqQ":
            return None
        start, size = getattr(ctype, name).offset, ctypes.sizeof(field[1])
        if start < offset:
            return None
        layout.append("x" * (start - offset))
        letter = IntCodec._FORMATS[size]
        layout.append(letter if code.islower() else letter.upper())
        offset = start + size
    layout.append("x" * (ctypes.sizeof(ctype) - offset))
    packer = struct.Struct("".join(layout))
    return packer if packer.size == ctypes.sizeof(ctype) else None


def chars(value: str | bytes | bytearray | memoryview, size: int, what: str) -> bytes:
    """A ``char[size]``: bytes (or a ``str``, as UTF-8) of at most ``size``
    bytes, NUL-padded as C initialises a shorter string."""
    data = value.encode() if isinstance(value, str) else bytes(value)
    if len(data) > size:
        raise BPFValueError(EINVAL, f"{what}: {len(data)} bytes do not fit its char[{size}]")
    return data.ljust(size, b"\0")


@public
class PerCPUCodec(Codec):
    """One value per possible CPU, each slot rounded up to 8 bytes.

    Decodes to a list with one item per possible CPU.  Encodes such a list, or
    any single value, which is written to every CPU.
    """

    def __init__(self, inner: Codec, ncpus: int) -> None:
        self.inner = inner
        self.ncpus = ncpus
        self.stride = (inner.size + 7) & ~7
        self.size = self.stride * ncpus
        self.what = inner.what

    def encode(self, value: Any) -> bytes:
        pad = b"\0" * (self.stride - self.inner.size)
        if isinstance(value, list):
            if len(value) != self.ncpus:
                raise BPFValueError(
                    EINVAL,
                    f"per-CPU {self.what} needs {self.ncpus} items (one per possible CPU), got {len(value)}",
                )
            return b"".join(self.inner.encode(v) + pad for v in value)
        return (self.inner.encode(value) + pad) * self.ncpus

    def decode(self, data: Any) -> list[Any]:
        return self.inner.decode_many(data, self.ncpus, self.stride)


def fd_of(value: Any) -> int | None:
    """The file descriptor a Python object stands for: a ``Map``/``Program``
    (``.fd``), a socket or file (``fileno()``), or an ``int``; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    fd = getattr(value, "fd", None)
    if isinstance(fd, int):
        return fd
    fileno = getattr(value, "fileno", None)
    if callable(fileno):
        return int(fileno())
    return None


@public
class FdCodec(Codec):
    """Values of the fd-holding map types: a file descriptor goes in (of a map,
    program, socket, cgroup ...: ``kind`` names it), something else comes out.

    The kernel turns the fd into a reference to the object; what a user-space
    lookup returns is the map type's choice (an id, a socket cookie), which
    ``out`` converts.  ``out=None``: the kernel has no user-space lookup.
    """

    def __init__(self, size: int, kind: str, out: Any = None, what: str = "value") -> None:
        self.size = size
        self.kind = kind
        self.what = what
        self.out = out
        self._struct = struct.Struct("=I" if size == 4 else "=Q")
        self.ctype = ctypes.c_uint32 if size == 4 else ctypes.c_uint64

    def encode(self, value: Any) -> bytes:
        fd = fd_of(value)
        if fd is None:
            raise BPFValueError(EINVAL, f"this map's {self.what}s are {self.kind}s (or their fds), not {value!r}")
        return self._struct.pack(fd)

    def decode(self, data: Any) -> Any:
        raw = self._struct.unpack_from(data)[0]
        return raw if self.out is None else self.out(raw)


def u32_key_codec(what: str, size: int) -> Codec | None:
    """The keys of index- and id-keyed map types: a u32 read as an ``int``,
    with or without BTF (None for values, or keys of another size)."""
    return IntCodec(4, False, "key") if what == "key" and size == 4 else None


def codec_for_ctype(ctype: Any, what: str) -> Codec:
    """The codec for a ctypes type or a struct format string the caller gave."""
    if isinstance(ctype, str):
        fmt = struct.Struct(ctype)
        body = fmt.format.lstrip("@=")
        if len(body) == 1 and body in "bBhHiIlLqQ":
            return IntCodec(fmt.size, body.islower(), what)
        raise BPFValueError(EINVAL, f"format {ctype!r}: only one native integer is supported; use a ctypes type")
    if ctype in (int,):
        raise BPFValueError(EINVAL, "give a sized type such as ctypes.c_uint32, not int")
    size = ctypes.sizeof(ctype)
    if issubclass(ctype, ctypes._SimpleCData) and size in (1, 2, 4, 8) and ctype._type_ in "bBhHiIlLqQ":
        return IntCodec(size, ctype._type_.islower(), what)
    wide = getattr(ctype, "_btf_int_", None)  # __int128 & co, from BTF
    if wide is not None:
        return IntCodec(wide[0], wide[1], what)
    return CtypesCodec(ctype, what)
