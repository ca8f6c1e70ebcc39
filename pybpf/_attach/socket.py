"""Attaching socket programs: a socket filter or reuseport selector to a
socket (setsockopt), and sk_skb / sk_msg verdicts to a sockmap or sockhash.

A mixin of ``Program``.  None of these attachments has a BPF link: the
returned ``Link`` detaches through the same call the kernel attached with.
"""

from __future__ import annotations

import errno

from pybpf._attach.base import AttachBase
from pybpf._attach.link import Link
from pybpf._core.attach_enums import AttachType
from pybpf._core.enums import MapType
from pybpf._core.errors import BPFValueError, check, error_for
from pybpf._core.ffi import lib

TYPE_CHECKING = False  # typing's own, without importing typing: start-up time (issue 17)
if TYPE_CHECKING:
    import socket

    from pybpf._attach.modes import SockmapKind
    from pybpf._maps.base import MapBase

__all__ = ["SocketAttach"]

# asm-generic/socket.h, the same on every architecture Linux runs BPF on but
# parisc/sparc/alpha, where pybpf does not run.
SO_ATTACH_BPF = 50
SO_DETACH_BPF = 27
SO_ATTACH_REUSEPORT_EBPF = 52
SO_DETACH_REUSEPORT_BPF = 68
_SOL_SOCKET = 1

_SOCKMAP_KINDS: dict[str, AttachType] = {
    "stream_parser": AttachType.SK_SKB_STREAM_PARSER,
    "stream_verdict": AttachType.SK_SKB_STREAM_VERDICT,
    "skb_verdict": AttachType.SK_SKB_VERDICT,
    "msg_verdict": AttachType.SK_MSG_VERDICT,
}


class SocketAttach(AttachBase):
    """Program methods for socket hooks (see ``Program``)."""

    def attach_socket(self, sock: socket.socket) -> Link:
        """Attach a socket filter (``SEC("socket")``) to ``sock``
        (``SO_ATTACH_BPF``): it sees every packet the socket receives and
        returns how many bytes to keep (0 drops it).  Closing the link
        detaches the filter (``SO_DETACH_BPF``); so does closing the socket."""
        return self._setsockopt_link(sock, SO_ATTACH_BPF, SO_DETACH_BPF, "socket filter")

    def attach_reuseport(self, sock: socket.socket) -> Link:
        """Attach a reuseport selector (``SEC("sk_reuseport")``) to the
        SO_REUSEPORT group ``sock`` belongs to (``SO_ATTACH_REUSEPORT_EBPF``):
        it picks which socket of the group gets each packet or connection.
        Closing the link detaches it (``SO_DETACH_REUSEPORT_BPF``, 5.3+)."""
        return self._setsockopt_link(sock, SO_ATTACH_REUSEPORT_EBPF, SO_DETACH_REUSEPORT_BPF, "reuseport group")

    def _setsockopt_link(self, sock: socket.socket, attach: int, detach_opt: int, kind: str) -> Link:
        prog_fd = self.fd
        what = f"{kind} of socket fd {sock.fileno()}"
        if sock.fileno() < 0:
            raise BPFValueError(errno.EBADF, f"attach program '{self._name}' to a {kind}: the socket is closed")
        try:
            sock.setsockopt(_SOL_SOCKET, attach, prog_fd)
        except OSError as e:
            raise error_for(e.errno or errno.EINVAL, f"attach program '{self._name}' to {what}") from None

        def detach() -> None:
            if sock.fileno() < 0:
                return  # closing the socket dropped the program with it
            try:
                sock.setsockopt(_SOL_SOCKET, detach_opt, 0)
            except OSError as e:
                if e.errno not in (errno.ENOENT, errno.EBADF, errno.ENOPROTOOPT):
                    raise

        return self._link_detach(detach, what)

    def attach_sockmap(self, sockmap: MapBase, kind: SockmapKind | AttachType | None = None) -> Link:
        """Attach an ``sk_skb`` or ``sk_msg`` program to a SOCKMAP or
        SOCKHASH: it then runs for the sockets in the map (``stream_verdict``,
        ``stream_parser``, ``skb_verdict`` for received data, ``msg_verdict``
        for sends).  The kind comes from the section unless given.  Closing
        the link detaches it; the map stays referenced until then."""
        prog_fd = self.fd
        if sockmap.type not in (MapType.SOCKMAP, MapType.SOCKHASH):
            raise BPFValueError(errno.EINVAL, f"attach program '{self._name}': map '{sockmap.name}' is not a sockmap")
        attach_type = _sockmap_attach_type(kind, self._expected_attach_type(), self._name)
        map_fd = sockmap.fd
        name = next(k for k, v in _SOCKMAP_KINDS.items() if v == attach_type)
        what = f"sockmap '{sockmap.name}' ({name})"
        check(lib.bpf_prog_attach(prog_fd, map_fd, attach_type, 0), f"attach program '{self._name}' to {what}")

        def detach() -> None:
            # keeps the map (and so map_fd) alive while attached
            if not sockmap.closed:
                lib.bpf_prog_detach2(prog_fd, map_fd, attach_type)

        return self._link_detach(detach, what)


def _sockmap_attach_type(kind: str | AttachType | None, expected: int, prog: str) -> AttachType:
    if isinstance(kind, AttachType):
        if kind not in _SOCKMAP_KINDS.values():
            raise BPFValueError(
                errno.EINVAL, f"{kind.name} is not a sockmap hook: use one of {', '.join(_SOCKMAP_KINDS)}"
            )
        return kind
    if kind is None:
        if expected in _SOCKMAP_KINDS.values():
            return AttachType(expected)
        raise BPFValueError(
            errno.EINVAL,
            f"program '{prog}': its section names no sockmap hook; pass kind= ({', '.join(_SOCKMAP_KINDS)})",
        )
    found = _SOCKMAP_KINDS.get(kind)
    if found is None:
        raise BPFValueError(errno.EINVAL, f"unknown sockmap hook {kind!r}: use one of {', '.join(_SOCKMAP_KINDS)}")
    return found
