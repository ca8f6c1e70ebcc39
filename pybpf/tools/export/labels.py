"""Label decoders of ``pybpf export``: a key field's value to label text.

integer (the number), string (a ``char[]`` up to its NUL), ksym (a kernel
address to its symbol), ipv4 / ipv6 / inet (an address in network order;
inet takes 4 or 16 bytes, an IPv4-mapped IPv6 address shown as IPv4),
cgroup (a cgroup v2 id to its path), syscall (a syscall number to its
name), static (a table of numbers to names).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from typing import Any

from pybpf._core.mounts import cgroup2_root
from pybpf.tools.export.config import LabelSpec
from pybpf.tools.symbols import KernelSymbols
from pybpf.tools.syscall_names import syscall_name

__all__ = ["decoder_for", "field_reader"]


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, int):
        return value.to_bytes(4, "little")  # a __u32 holding an address in network order
    return bytes(value)  # a ctypes array of bytes


_MAPPED = bytes(10) + b"\xff\xff"  # ::ffff:a.b.c.d


def _inet(value: Any) -> str:
    raw = value if type(value) is bytes else _as_bytes(value)
    if len(raw) == 16:
        if raw[:12] == _MAPPED:
            return socket.inet_ntop(socket.AF_INET, raw[12:])
        return socket.inet_ntop(socket.AF_INET6, raw)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw)
    return raw.hex()  # neither: shown, not dropped


def _string(value: Any) -> str:
    raw = _as_bytes(value)
    return raw.split(b"\0", 1)[0].decode(errors="replace")


class _Cgroups:
    """cgroup v2 ids (the directory's inode number) to their paths in the
    hierarchy (``/system.slice/ssh.service``), re-walked on a miss."""

    def __init__(self) -> None:
        self._paths: dict[int, str] = {}
        self._walked = 0.0

    def _walk(self) -> None:
        if time.monotonic() - self._walked < 1.0:
            return  # ids of cgroups gone since: one walk a second, not one per id
        self._walked = time.monotonic()
        self._paths = {}
        root = cgroup2_root()
        for directory, _dirs, _files in os.walk(root) if root else ():
            try:
                self._paths[os.stat(directory).st_ino] = "/" + os.path.relpath(directory, root).lstrip(".")
            except OSError:
                continue

    def __call__(self, value: Any) -> str:
        if value not in self._paths:
            self._walk()
        return self._paths.get(value, str(value))


def decoder_for(label: LabelSpec) -> Callable[[Any], str]:
    """The function that turns a key field's value into ``label``'s text."""
    if label.decoder == "static":
        table = label.table
        return lambda value: table.get(value, str(value))
    if label.decoder == "string":
        return _string
    if label.decoder in ("ipv4", "ipv6", "inet"):
        return _inet
    if label.decoder == "ksym":
        symbols = KernelSymbols()
        return lambda value: symbols.name(value).split(" ", 1)[0]
    if label.decoder == "cgroup":
        return _Cgroups()
    if label.decoder == "syscall":
        return syscall_name
    return str


def field_reader(path: str) -> Callable[[Any], Any]:
    """A getter of the key field at ``path`` (``a.b``; "" for the whole key)."""
    if not path:
        return lambda key: key
    names = path.split(".")

    def read(key: Any) -> Any:
        for name in names:
            key = getattr(key, name)
        return key

    return read
