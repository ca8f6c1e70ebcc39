"""Network interfaces by name or index."""

from __future__ import annotations

import errno

from pybpf._core.errors import BPFFileNotFoundError, BPFValueError

__all__ = ["ifindex_of"]


def ifindex_of(interface: str | int) -> int:
    """The ifindex of an interface name (in this thread's network namespace)."""
    if isinstance(interface, int):
        if interface <= 0:
            raise BPFValueError(errno.EINVAL, f"invalid ifindex {interface}")
        return interface
    import socket  # only here: it costs import time

    try:
        return socket.if_nametoindex(interface)
    except OSError:
        raise BPFFileNotFoundError(
            errno.ENODEV, f"no network interface named {interface!r} in this namespace"
        ) from None
