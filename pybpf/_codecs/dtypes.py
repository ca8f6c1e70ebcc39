"""numpy dtypes of codecs: how pybpf's arrays (``Map.to_numpy()``, event
batches) type keys, values and records.  numpy is passed in, never imported
here: it is an optional dependency."""

from __future__ import annotations

from pybpf._codecs.codec import Codec, IntCodec

TYPE_CHECKING = False  # typing's own, without importing typing: start-up time (issue 17)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["dtype_of", "padded_dtype"]


def dtype_of(numpy: Any, codec: Codec) -> Any:
    """The numpy dtype of one key or value (one CPU's, for per-CPU maps)."""
    if isinstance(codec, IntCodec):
        return (
            numpy.dtype(f"{'i' if codec.signed else 'u'}{codec.size}")
            if codec.size <= 8
            else numpy.dtype((numpy.void, codec.size))
        )
    raw = numpy.dtype((numpy.void, codec.size))
    if _has_bitfields(codec.ctype):  # numpy would show them as padding, or refuse them
        return raw
    try:
        dtype = _strings(numpy, numpy.dtype(codec.ctype))
    except (TypeError, ValueError, NotImplementedError):  # layouts numpy cannot say
        return raw
    return dtype if dtype.itemsize == codec.size else raw


def _strings(numpy: Any, dtype: Any) -> Any:
    """``dtype`` with each ``char[N]`` (numpy's ``N`` x ``S1``) as one ``SN``
    field, as C code reads it: a string, not a list of letters."""
    if dtype.subdtype is not None:
        base, shape = dtype.subdtype
        if base == numpy.dtype("S1") and len(shape) == 1:
            return numpy.dtype(f"S{shape[0]}")
        return numpy.dtype((_strings(numpy, base), shape))
    if dtype.names is None:
        return dtype
    fields = [dtype.fields[name] for name in dtype.names]
    return numpy.dtype(
        {
            "names": list(dtype.names),
            "formats": [_strings(numpy, field[0]) for field in fields],
            "offsets": [field[1] for field in fields],
            "itemsize": dtype.itemsize,
        }
    )


def _has_bitfields(ctype: Any) -> bool:
    """Whether a ctypes type has bitfields anywhere (ctypes' own, or a BTF
    record's, which are properties over padding)."""
    while hasattr(ctype, "_length_"):  # arrays: their element type
        ctype = ctype._type_
    fields = getattr(ctype, "_fields_", None)
    if fields is None:
        return False
    if getattr(ctype, "_bitfields_", None):
        return True
    return any(len(field) == 3 or _has_bitfields(field[1]) for field in fields)


def padded_dtype(numpy: Any, dtype: Any, stride: int) -> tuple[Any, bool]:
    """``dtype`` in items ``stride`` bytes apart (records and per-CPU slots are
    8-byte aligned): (the dtype to read with, whether its one field ``v``
    must then be taken)."""
    if dtype.itemsize == stride:
        return dtype, False
    return numpy.dtype({"names": ["v"], "formats": [dtype], "offsets": [0], "itemsize": stride}), True
