"""Network interfaces by name or index."""

from __future__ import annotations

import errno

from pybpf._core.errors import BPFFileNotFoundError, BPFValueError, c_string
from pybpf._core.ffi import lib

__all__ = ["ifindex_of"]


def ifindex_of(interface: str | int) -> int:
    """The ifindex of an interface name (in this thread's network namespace)."""
    if isinstance(interface, int):
        if interface <= 0:
            raise BPFValueError(errno.EINVAL, f"invalid ifindex {interface}")
        return interface
    index = lib.if_nametoindex(c_string(interface, "interface name"))  # 0: no such interface
    if not index:
        raise BPFFileNotFoundError(errno.ENODEV, f"no network interface named {interface!r} in this namespace")
    return int(index)
