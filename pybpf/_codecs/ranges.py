"""Range checks: every integer written into a C type must fit it.

ctypes masks out-of-range integers silently (``c_uint16(70000)`` stores
4464), so a key or value built from Python numbers is checked here first,
field by field and element by element, before any syscall.  A value that
does not fit raises ``ValueError`` (``BPFValueError``, ERANGE) naming the
field, its C type and its range.
"""

from __future__ import annotations

import ctypes
import errno
from collections.abc import Mapping, Sequence

from pybpf._core.errors import BPFValueError

TYPE_CHECKING = False  # typing's own, without importing typing: start-up time (issue 17)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["bits_range", "check_fits", "int_range"]

_INT_CODES = frozenset("bBhHiIlLqQ")


def bits_range(bits: int, signed: bool) -> tuple[int, int]:
    """(lowest, highest) of a ``bits``-bit integer."""
    if signed:
        return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    return (0, (1 << bits) - 1)


def int_range(ctype: Any, bits: int = 0) -> tuple[int, int] | None:
    """(lowest, highest) of a ctypes integer type (of ``bits`` of it, for a
    bitfield); (0, 1) for ``c_bool``; None for anything else."""
    code = getattr(ctype, "_type_", None)
    if code == "?":
        return (0, 1)
    if not isinstance(code, str) or code not in _INT_CODES:
        return None
    return bits_range(bits or 8 * ctypes.sizeof(ctype), code.islower())


def _c_name(ctype: Any, bits: int) -> str:
    code = ctype._type_
    if code == "?":
        return "bool"
    name = f"{'' if code.islower() else 'u'}int{8 * ctypes.sizeof(ctype)}"
    return f"{name} : {bits}" if bits else name


def check_fits(ctype: Any, value: Any, where: str, bits: int = 0) -> None:
    """Raise ``BPFValueError`` (ERANGE) if an integer anywhere in ``value``
    does not fit the C type ``ctype`` it will be written to; ``where`` names
    the place ("value.b", "key[3]").  Values of other kinds are left to
    ctypes, which refuses them itself."""
    limits = int_range(ctype, bits)
    if limits is not None:
        if isinstance(value, int):
            low, high = limits
            if not low <= value <= high:
                raise BPFValueError(
                    errno.ERANGE, f"{where}: {value} does not fit its {_c_name(ctype, bits)} ({low}..{high})"
                )
        return
    if not isinstance(ctype, type):
        return
    if issubclass(ctype, ctypes.Array):
        _check_array(ctype, value, where)
    elif issubclass(ctype, (ctypes.Structure, ctypes.Union)) and not isinstance(value, ctype):
        _check_record(ctype, value, where)


def _check_array(ctype: Any, value: Any, where: str) -> None:
    element, length = ctype._type_, ctype._length_
    if element is ctypes.c_char:
        if isinstance(value, str):
            value = value.encode()
        if isinstance(value, (bytes, bytearray)) and len(value) > length:
            raise BPFValueError(errno.ERANGE, f"{where}: {len(value)} bytes do not fit its char[{length}]")
        return
    if isinstance(value, (list, tuple)):
        if len(value) > length:
            raise BPFValueError(errno.ERANGE, f"{where}: {len(value)} elements do not fit its array of {length}")
        for index, item in enumerate(value):
            check_fits(element, item, f"{where}[{index}]")


def _fields(ctype: Any) -> dict[str, tuple[Any, int]]:
    """Field name -> (ctypes type, bitfield width or 0), in declaration order."""
    types = getattr(ctype, "_types_", None)  # a Record built from BTF: its bitfields check themselves
    if types:
        return {name: (types[name], 0) for name in ctype._members_ if name in types}
    return {field[0]: (field[1], field[2] if len(field) > 2 else 0) for field in ctype._fields_}


def _check_record(ctype: Any, value: Any, where: str) -> None:
    fields = _fields(ctype)
    if isinstance(value, Mapping):
        items: Any = value.items()
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray)):
        order = getattr(ctype, "_members_", None) or list(fields)
        items = zip(order, value)
    else:
        return
    for name, item in items:
        field = fields.get(name)
        if field is not None:
            check_fits(field[0], item, f"{where}.{name}", field[1])
