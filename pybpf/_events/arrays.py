"""Event records as one array per batch: ``batch="numpy"`` or
``batch="memoryview"`` on :class:`~pybpf.RingBuffer` and
:class:`~pybpf.PerfBuffer`.

The callback then gets every record that one libbpf call read as a single
array (a numpy structured or integer array, or a memoryview) instead of one
call per record.  Records are 8-byte aligned in the batch; the array reads
them in place of a copy of the batch, which the reader owns no longer: it
stays valid after the callback returns.
"""

from __future__ import annotations

import errno
from typing import Any, Literal, NamedTuple

from pybpf._codecs.codec import Codec, IntCodec
from pybpf._codecs.dtypes import dtype_of, padded_dtype
from pybpf._core.errors import BPFValueError

__all__ = ["BatchForm", "RecordArrays", "Taken"]

BatchForm = Literal["numpy", "memoryview"]


class Taken(NamedTuple):
    """One batch as arrays: the records (None if none fit), their CPUs (perf
    buffers), and the perf buffer's reports of lost records."""

    records: Any
    cpus: Any
    lost: list[tuple[int, int]]


class RecordArrays:
    """How a reader turns one batch of records of ``codec``'s type into one array."""

    def __init__(self, form: str, codec: Codec | None, where: str, *, padding: int = 0) -> None:
        if form not in ("numpy", "memoryview"):
            raise BPFValueError(errno.EINVAL, f"{where}: batch must be 'numpy' or 'memoryview', not {form!r}")
        if codec is None:
            raise BPFValueError(
                errno.EINVAL, f"{where}: batch={form!r} needs an event_type: records of one size make one array"
            )
        self.codec = codec
        self._padding = padding  # bytes a record may carry past the type: perf's alignment
        self._numpy: Any = None
        self._format: Any = None
        self._dtypes: dict[int, tuple[Any, bool]] = {}
        if form == "numpy":
            try:
                import numpy
            except ImportError:
                raise ImportError(
                    f"{where}: batch='numpy' needs numpy (pip install pybpf[numpy]); batch='memoryview' does not"
                ) from None
            self._numpy = numpy
            self._dtype = dtype_of(numpy, codec)
        elif isinstance(codec, IntCodec):
            self._format = codec.format  # None for wider integers: raw rows

    def fits(self, size: int) -> bool:
        """Whether a record of ``size`` bytes is the type (plus the padding
        its reader allows)."""
        return self.codec.size <= size <= self.codec.size + self._padding

    def records(self, data: bytes, n: int, stride: int) -> Any:
        """``n`` records laid out every ``stride`` bytes of ``data``, as one array."""
        if self._numpy is not None:
            if stride not in self._dtypes:
                self._dtypes[stride] = padded_dtype(self._numpy, self._dtype, stride)
            dtype, wrapped = self._dtypes[stride]
            items = self._numpy.frombuffer(data, dtype=dtype, count=n)
            return items["v"] if wrapped else items
        view = memoryview(data)
        if self._format is None:  # structs: one row of bytes per record
            return view.cast("B", shape=[n, stride])
        typed = view.cast(self._format)
        step = stride // self.codec.size
        return typed[::step] if step > 1 else typed

    def cpus(self, raw: bytes) -> Any:
        """The CPU of each record (C ``int``s in ``raw``), as the records' kind of array."""
        if self._numpy is not None:
            return self._numpy.frombuffer(raw, dtype=self._numpy.intc)
        return memoryview(raw).cast("i")

    def misfits(self, records: list[bytes], where: str, error: BaseException | None) -> BaseException:
        """The error for records of another size than the type's, which keeps
        them in its ``records``: ``error`` (the batch's earlier one) with them
        added, or a new one."""
        if error is not None:
            error.records = [*getattr(error, "records", []), *records]  # type: ignore[attr-defined]
            return error
        new = BPFValueError(
            errno.EINVAL,
            f"{where}: {len(records)} records of another size than the event type's {self.codec.size} bytes "
            "cannot be in its array; they are in this error's .records as bytes",
        )
        new.records = records  # type: ignore[attr-defined]
        return new
