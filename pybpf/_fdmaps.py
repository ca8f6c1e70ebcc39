"""Maps whose values are file descriptors: sockets (SOCKMAP, SOCKHASH), programs
(PROG_ARRAY), AF_XDP sockets (XSKMAP) and cgroups (CGROUP_ARRAY).

Python writes an object (or its fd); the kernel stores a reference to what
the fd names, so the fd may be closed afterwards.  What a user-space lookup
returns is the map type's choice, and some types have none.
"""

from __future__ import annotations

import errno
import socket
import struct
from collections.abc import Iterator
from typing import Any, ClassVar, NoReturn

from pybpf._codecs import Codec, FdCodec, u32_key_codec
from pybpf._errors import NotSupportedError
from pybpf._map import Map
from pybpf._types import MapType

__all__ = ["FdArray", "ProgArray", "SockMap", "socket_cookie"]

_SO_COOKIE = getattr(socket, "SO_COOKIE", 57)  # Linux asm-generic/socket.h
_U64 = struct.Struct("=Q")


def socket_cookie(sock: socket.socket | int) -> int:
    """The kernel's cookie of a socket (``SO_COOKIE``): what a SOCKMAP or
    SOCKHASH lookup returns for it, and what ``bpf_get_socket_cookie`` sees."""
    if isinstance(sock, int):
        sock = socket.socket(fileno=sock)
        try:
            return int(_U64.unpack(sock.getsockopt(socket.SOL_SOCKET, _SO_COOKIE, 8))[0])
        finally:
            sock.detach()  # the caller's fd: do not close it
    return int(_U64.unpack(sock.getsockopt(socket.SOL_SOCKET, _SO_COOKIE, 8))[0])


class SockMap(Map, map_types=(MapType.SOCKMAP, MapType.SOCKHASH)):
    """``SOCKMAP`` (keys are indexes) and ``SOCKHASH`` (any key): maps of sockets.

    ``m[k] = sock`` stores a ``socket.socket`` (or its fd).  The kernel takes
    TCP sockets that listen or are established, bound UDP sockets, and
    connected Unix stream sockets; others raise ``NotSupportedError`` (EOPNOTSUPP).
    (Kernels without the 2026 stable fix that rejects unhashed UDP sockets
    also take an unbound one.)
    The map does not keep a socket open: when its last fd closes, the kernel
    removes it from every map.  Reading returns the socket's cookie (compare
    with :func:`socket_cookie`), and only when the map's values are 8 bytes;
    with 4-byte values the kernel refuses user-space reads
    (``NotSupportedError``).  BPF programs look sockets up with
    ``bpf_map_lookup_elem`` (then ``bpf_sk_release``), redirect with
    ``bpf_sk_redirect_map``/``bpf_msg_redirect_map`` or, from ``sk_lookup``,
    steer connections with ``bpf_sk_assign``.  No batch operations.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # SOCKMAP's GET_NEXT_KEY walks every index, filled or not.
        self._keys_need_lookup = self._type == MapType.SOCKMAP

    def _default_codec(self, what: str, size: int) -> Codec | None:
        if what == "value" and size in (4, 8):
            return FdCodec(size, "socket")
        return u32_key_codec(what, size) if self._type == MapType.SOCKMAP else None

    def _fail(self, ret: int, action: str, key: Any = None, flags: int = 0) -> None:
        if ret == -errno.ENOSPC and action == "look up":
            raise NotSupportedError(
                errno.ENOSPC,
                f"map '{self._name}': the kernel returns a socket's cookie only when the {self._type.name}'s "
                f"values are 8 bytes; this map's are {self._value_size}",
            )
        if ret == -errno.EOPNOTSUPP and action == "update":
            raise NotSupportedError(
                errno.EOPNOTSUPP,
                f"store {key!r} in map '{self._name}': the kernel takes TCP sockets that listen or are established, "
                "bound UDP sockets and connected Unix stream sockets",
            )
        super()._fail(ret, action, key, flags)


class ProgArray(Map, map_types=(MapType.PROG_ARRAY,)):
    """``PROG_ARRAY``: the programs a BPF program tail-calls with ``bpf_tail_call``.

    ``m[i] = program`` stores a loaded ``Program`` (or a program fd) of the
    same type as the caller; reading returns the stored program's kernel id;
    ``del m[i]`` empties the slot, after which a tail call to it falls
    through.  Empty slots are not keys.  The kernel empties the whole array
    when the last user-space reference to it goes (unless it is pinned), so
    keep the owning object or map open while programs tail-call through it.
    """

    _keys_need_lookup = True

    def _default_codec(self, what: str, size: int) -> Codec | None:
        if what == "value" and size == 4:
            return FdCodec(4, "program")
        return u32_key_codec(what, size)


class Unlisted(Map):
    """A map the kernel cannot list from user space: ``len()``, iteration,
    ``items()``/``values()`` and ``pop_all()`` raise ``NotSupportedError``
    (:meth:`_unlisted` says why)."""

    def _unlisted(self) -> NoReturn:
        raise NotImplementedError

    def __len__(self) -> int:
        self._unlisted()

    def __iter__(self) -> Iterator[Any]:
        self._unlisted()

    def _iter_items(self) -> Iterator[tuple[Any, Any]]:
        self._unlisted()

    def pop_all(self) -> dict[Any, Any]:
        """Not for this map type (see the class)."""
        self._unlisted()


class FdArray(Unlisted, map_types=(MapType.XSKMAP, MapType.CGROUP_ARRAY, MapType.PERF_EVENT_ARRAY)):
    """Write-only fd arrays: ``XSKMAP`` (AF_XDP sockets), ``CGROUP_ARRAY``
    (cgroups, as an open directory fd or an object with ``fileno()``) and
    ``PERF_EVENT_ARRAY`` (perf event fds; ``PerfBuffer`` fills it for you).

    ``m[i] = obj`` stores, ``del m[i]`` empties a slot and ``clear()`` empties
    them all.  The kernel offers no user-space lookup for these types, so
    reading, ``in``, ``len()`` and iteration raise ``NotSupportedError``: only
    BPF programs read them (``bpf_map_lookup_elem`` and ``bpf_redirect_map``
    on an XSKMAP, ``bpf_current_task_under_cgroup``/``bpf_skb_under_cgroup``
    on a CGROUP_ARRAY).
    """

    _KINDS: ClassVar[dict[MapType, str]] = {
        MapType.XSKMAP: "AF_XDP socket",
        MapType.CGROUP_ARRAY: "cgroup",
        MapType.PERF_EVENT_ARRAY: "perf event",
    }

    def _default_codec(self, what: str, size: int) -> Codec | None:
        if what == "value" and size == 4:
            return FdCodec(4, self._KINDS.get(self._type, "file"))
        return u32_key_codec(what, size)

    def _unlisted(self) -> NoReturn:
        self._require_live()
        raise NotSupportedError(
            errno.EOPNOTSUPP,
            f"map '{self._name}' is a {self._type.name}: the kernel has no user-space lookup for it "
            "(only BPF programs read it); write, delete or clear() it",
        )

    def _lookup(self, key: Any) -> NoReturn:
        self._unlisted()

    def __getitem__(self, key: Any) -> Any:
        return self._lookup(key)

    def __contains__(self, key: object) -> bool:
        self._lookup(key)
