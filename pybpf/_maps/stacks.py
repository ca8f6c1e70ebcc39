"""``StackTraceMap``: BPF_MAP_TYPE_STACK_TRACE, the stacks ``bpf_get_stackid`` stores."""

from __future__ import annotations

import ctypes
import errno
import struct
from typing import Any, NamedTuple

from pybpf._codecs.codec import Codec, u32_key_codec
from pybpf._core.enums import MapFlags, MapType, UpdateFlags
from pybpf._core.errors import NotSupportedError
from pybpf._core.public import public
from pybpf._maps.map import Map

__all__ = ["BuildIdFrame", "StackTraceMap"]

_BUILD_ID_FRAME = struct.Struct("=i20s4xQ")  # struct bpf_stack_build_id


@public
class BuildIdFrame(NamedTuple):
    """A frame of a ``BPF_F_STACK_BUILD_ID`` stack: where the code came from."""

    status: int
    """0: empty, 1: ``build_id`` and ``offset`` valid, 2: only ``ip`` (no build id found)."""
    build_id: bytes
    """The ELF build id of the file the frame is in (20 bytes)."""
    offset: int
    """The offset in that file (status 1), or the raw address (status 2)."""


class _StackCodec(Codec):
    """A stack as a tuple of addresses, innermost first; trailing empty slots dropped."""

    def __init__(self, size: int, build_id: bool) -> None:
        self.size = size
        self.what = "value"
        self.build_id = build_id
        frame = _BUILD_ID_FRAME.size if build_id else 8
        self.depth = size // frame
        self.ctype = ctypes.c_uint8 * size if build_id else ctypes.c_uint64 * self.depth
        self._ips = struct.Struct(f"={self.depth}Q")

    def encode(self, value: Any) -> bytes:
        raise NotSupportedError(
            errno.EINVAL, "stack traces are written by BPF programs (bpf_get_stackid); user space reads and deletes"
        )

    def decode(self, data: Any) -> tuple[Any, ...]:
        if not self.build_id:
            ips = self._ips.unpack_from(data)
            end = self.depth
            while end and not ips[end - 1]:
                end -= 1
            return ips[:end]
        frames = [BuildIdFrame(*f) for f in _BUILD_ID_FRAME.iter_unpack(bytes(data[: self.size]))]
        while frames and frames[-1].status == 0:
            frames.pop()
        return tuple(frames)


@public
class StackTraceMap(Map, map_types=(MapType.STACK_TRACE,)):
    """``STACK_TRACE``: stack id -> the stack a program recorded with ``bpf_get_stackid``.

    ``m[stack_id]`` is a tuple of instruction addresses, innermost frame
    first (no symbols: resolve them with ``/proc/kallsyms`` for kernel
    stacks, or the process's maps and ELF symbols for user stacks).  With
    ``BPF_F_STACK_BUILD_ID`` each frame is a :class:`BuildIdFrame`.  Stack
    ids come from the program (negative ids are its errors: -EFAULT for no
    stack, -EEXIST with ``BPF_F_REUSE_STACKID`` off and a hash collision).
    Iteration lists the ids; ``del`` frees one.  User space cannot write.
    """

    def _default_codec(self, what: str, size: int) -> Codec | None:
        if what == "key":
            return u32_key_codec(what, size)
        return _StackCodec(size, bool(self._flags & MapFlags.STACK_BUILD_ID))

    def _update(self, key: Any, value: Any, flags: int) -> None:
        self._require_live()
        self._vcodec.encode(value)  # raises: the kernel's EINVAL, with the reason

    def update_from(self, entries: Any, values: Any = None, *, flags: UpdateFlags | int = UpdateFlags.ANY) -> int:
        """Not for stack traces (see the class)."""
        self._require_live()
        self._vcodec.encode(None)
        return 0
