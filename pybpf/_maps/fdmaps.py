"""Maps whose values are file descriptors: sockets (SOCKMAP, SOCKHASH), programs
(PROG_ARRAY), AF_XDP sockets (XSKMAP) and cgroups (CGROUP_ARRAY).

Python writes an object (or its fd); the kernel stores a reference to what
the fd names, so the fd may be closed afterwards.  What a user-space lookup
returns is the map type's choice, and some types have none.
"""

from __future__ import annotations

import errno
import struct
from typing import TYPE_CHECKING, Any, ClassVar

from pybpf._codecs.codec import Codec, FdCodec, u32_key_codec
from pybpf._core.enums import MapType
from pybpf._core.errors import BPFKeyError, NotSupportedError
from pybpf._core.ffi import lib
from pybpf._core.public import public
from pybpf._maps.keyless import KeylessMap
from pybpf._maps.map import Map

if TYPE_CHECKING:
    import socket

__all__ = ["FdArray", "ProgArray", "SockMap", "socket_cookie"]

_SO_COOKIE = 57  # socket.SO_COOKIE (asm-generic/socket.h); socket is imported when used
_SOL_SOCKET = 1
_U64 = struct.Struct("=Q")


@public
def socket_cookie(sock: socket.socket | int) -> int:
    """The kernel's cookie of a socket (``SO_COOKIE``): what a SOCKMAP or
    SOCKHASH lookup returns for it, and what ``bpf_get_socket_cookie`` sees."""
    if isinstance(sock, int):
        import socket

        sock = socket.socket(fileno=sock)
        try:
            return int(_U64.unpack(sock.getsockopt(_SOL_SOCKET, _SO_COOKIE, 8))[0])
        finally:
            sock.detach()  # the caller's fd: do not close it
    return int(_U64.unpack(sock.getsockopt(_SOL_SOCKET, _SO_COOKIE, 8))[0])


@public
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


@public
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


@public
class FdArray(KeylessMap, map_types=(MapType.XSKMAP, MapType.CGROUP_ARRAY, MapType.PERF_EVENT_ARRAY)):
    """Write-only fd arrays: ``XSKMAP`` (AF_XDP sockets), ``CGROUP_ARRAY``
    (cgroups, as an open directory fd or an object with ``fileno()``) and
    ``PERF_EVENT_ARRAY`` (perf event fds; ``PerfBuffer`` fills it for you).

    ``m[i] = obj`` stores, ``del m[i]`` empties a slot and ``clear()`` empties
    them all.  The kernel offers no user-space lookup for these types, so
    they have no reading, ``in``, ``len()`` or iteration (this is not a
    ``Map``): only BPF programs read them (``bpf_map_lookup_elem`` and
    ``bpf_redirect_map`` on an XSKMAP,
    ``bpf_current_task_under_cgroup``/``bpf_skb_under_cgroup`` on a
    CGROUP_ARRAY).
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

    def __setitem__(self, index: int, value: Any) -> None:
        self._require_live()
        ret = lib.pybpf_map_update(self._guard, self._kcodec.encode(index), self._vcodec.encode(value), 0)
        if ret:
            self._fail(ret, "update", index)

    def __delitem__(self, index: int) -> None:
        self._require_live()
        ret = lib.pybpf_map_delete(self._guard, self._kcodec.encode(index))
        if ret:
            self._fail(ret, "delete", index)

    def clear(self) -> None:
        """Empty every slot."""
        for index in range(self._max_entries):
            try:
                del self[index]
            except BPFKeyError:
                pass  # empty already
