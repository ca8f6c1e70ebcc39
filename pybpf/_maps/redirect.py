"""XDP redirect targets: DEVMAP/DEVMAP_HASH (interfaces) and CPUMAP (CPUs)."""

from __future__ import annotations

import ctypes
import errno
import os
import struct
from typing import Any, NamedTuple

from pybpf._codecs.codec import Codec, fd_of, u32_key_codec
from pybpf._core.enums import MapType
from pybpf._core.errors import BPFValueError, check
from pybpf._core.ffi import lib
from pybpf._core.interfaces import ifindex_of
from pybpf._core.public import public
from pybpf._maps.map import Map

__all__ = ["CpuMap", "CpuMapValue", "DevMap", "DevMapValue"]

_PAIR = struct.Struct("=II")
_U32 = struct.Struct("=I")


@public
class DevMapValue(NamedTuple):
    """A DEVMAP/DEVMAP_HASH entry as the kernel reports it."""

    ifindex: int
    """The interface frames are sent out of."""
    prog_id: int = 0
    """The id of the ``xdp/devmap`` program run before sending (0: none)."""


@public
class CpuMapValue(NamedTuple):
    """A CPUMAP entry as the kernel reports it."""

    qsize: int
    """The queue length of the CPU's redirect kthread (0 removes the CPU)."""
    prog_id: int = 0
    """The id of the ``xdp/cpumap`` program run on that CPU (0: none)."""


class _TargetCodec(Codec):
    """``u32 target`` or ``struct {u32 target; union {int fd; u32 id} bpf_prog}``.

    Writes take the target alone, or ``(target, program)`` with a ``Program``,
    a program fd or None.  A value read back (``DevMapValue``/``CpuMapValue``)
    with a program is written by the map, which opens the program by id.
    """

    def __init__(self, size: int, value_type: type[Any], target: Any) -> None:
        self.size = size
        self.value_type = value_type
        self.target = target  # Python value -> u32
        self.ctype = ctypes.c_uint32 if size == 4 else ctypes.c_uint32 * 2
        self.what = "value"

    def encode(self, value: Any) -> bytes:
        if isinstance(value, (bytes, bytearray, memoryview)):
            return self._bytes(value)  # type: ignore[return-value]
        if isinstance(value, self.value_type):
            if value[1]:
                raise BPFValueError(
                    errno.EINVAL,
                    f"{value!r} names its program by id: write (target, program) with a Program or program fd",
                )
            target, prog = value[0], None
        elif isinstance(value, tuple) and len(value) == 2:
            target, prog = value
        else:
            target, prog = value, None
        first = self.target(target)
        if self.size == 4:
            if prog is not None:
                raise BPFValueError(errno.EINVAL, "this map's values are 4 bytes: they hold no program")
            return _U32.pack(first)
        if prog is None:
            return _PAIR.pack(first, 0)
        fd = fd_of(prog)
        if fd is None:
            raise BPFValueError(errno.EINVAL, f"a redirect entry's program is a Program or a program fd, not {prog!r}")
        return _PAIR.pack(first, fd)

    def decode(self, data: Any) -> Any:
        if self.size == 4:
            return self.value_type(_U32.unpack_from(data)[0])
        return self.value_type(*_PAIR.unpack_from(data))


def _u32(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 32:
        raise BPFValueError(errno.EINVAL, f"{what} must be an integer 0..2**32-1, not {value!r}")
    return value


class _RedirectMap(Map):
    """Index keys (u32) and target values (``_value_type``)."""

    _value_type: type[Any]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # DEVMAP and CPUMAP walk every index with GET_NEXT_KEY, filled or not.
        self._keys_need_lookup = self._type != MapType.DEVMAP_HASH

    def _target(self, value: Any) -> int:
        raise NotImplementedError

    def _default_codec(self, what: str, size: int) -> Codec | None:
        if what == "key":
            return u32_key_codec(what, size)
        if size in (4, 8):
            return _TargetCodec(size, self._value_type, self._target)
        return None

    def _update(self, key: Any, value: Any, flags: int) -> None:
        if isinstance(value, self._value_type) and value[1]:
            # A value read back names its program by id: write it through an fd.
            fd = check(lib.bpf_prog_get_fd_by_id(value[1]), f"open program id {value[1]}")
            try:
                super()._update(key, (value[0], fd), flags)
            finally:
                os.close(fd)
            return
        super()._update(key, value, flags)


@public
class DevMap(_RedirectMap, map_types=(MapType.DEVMAP, MapType.DEVMAP_HASH)):
    """``DEVMAP`` (keys are indexes) and ``DEVMAP_HASH``: interfaces that XDP
    programs send frames out of with ``bpf_redirect_map``.

    A value is an interface: its name (looked up in this thread's network
    namespace) or ifindex, or ``(interface, program)`` to run an
    ``xdp/devmap`` program before sending (maps with 8-byte values, the
    ``struct bpf_devmap_val`` layout).  Reading returns a
    :class:`DevMapValue` (ifindex, prog_id).  Empty DEVMAP slots are not
    keys.  XDP programs may look entries up; sending out of a veth needs an
    XDP program (or GRO) on its peer.
    """

    _value_type = DevMapValue

    def _target(self, value: Any) -> int:
        return ifindex_of(value) if isinstance(value, str) else _u32(value, "an ifindex")


@public
class CpuMap(_RedirectMap, map_types=(MapType.CPUMAP,)):
    """``CPUMAP``: CPUs that XDP programs hand frames to with ``bpf_redirect_map``.

    The key is a CPU number; the value is the queue size of that CPU's
    redirect kthread, or ``(qsize, program)`` to run an ``xdp/cpumap``
    program there (8-byte values, ``struct bpf_cpumap_val``).  Reading
    returns a :class:`CpuMapValue` (qsize, prog_id).  BPF programs cannot
    look a CPUMAP up: ``bpf_redirect_map``'s fallback action says whether a
    CPU has an entry.
    """

    _value_type = CpuMapValue

    def _target(self, value: Any) -> int:
        return _u32(value, "a CPUMAP queue size")
