"""Attaching cgroup programs (device, skb, sock, sock_addr, sockopt, sysctl,
sock_ops) to a cgroup v2 directory through BPF links.

A mixin of ``Program``.
"""

from __future__ import annotations

import errno
import os
import re

from pybpf._attach.base import AttachBase
from pybpf._attach.link import Link
from pybpf._core.attach_enums import AttachType
from pybpf._core.errors import BPFFileNotFoundError, BPFValueError, check
from pybpf._core.ffi import ffi, lib
from pybpf._core.mounts import fs_type
from pybpf._core.public import public

__all__ = ["CgroupAttach", "cgroup_kinds"]


def _short_name(kind: AttachType) -> str:
    """``connect4`` for CGROUP_INET4_CONNECT, ``egress`` for CGROUP_INET_EGRESS ..."""
    if not kind.name.startswith("CGROUP_"):
        return kind.name.lower()
    name = kind.name[len("CGROUP_") :].lower()
    versioned = re.fullmatch(r"(?:inet|udp)([46])_(\w+)", name)
    if versioned:
        return f"{versioned.group(2)}{versioned.group(1)}"
    if name.startswith("unix_"):
        return f"{name[len('unix_') :]}_unix"
    return name.removeprefix("inet_")


_KINDS = {_short_name(kind): kind for kind in AttachType if kind.name.startswith("CGROUP_")}


@public
def cgroup_kinds() -> list[str]:
    """The names ``attach_cgroup(kind=...)`` takes: ``ingress``, ``egress``,
    ``sock_create``, ``connect4``, ``sendmsg6``, ``device``, ``sysctl`` ..."""
    return sorted(_KINDS)


class CgroupAttach(AttachBase):
    """Program methods for cgroup hooks (see ``Program``)."""

    def attach_cgroup(self, cgroup: str | os.PathLike[str] | int, *, kind: str | AttachType | None = None) -> Link:
        """Attach to a cgroup v2 directory (a path, or an open fd of one): the
        program then runs for the processes in it and its descendants.

        The hook is the one the section names (``cgroup_skb/egress``,
        ``cgroup/connect4``, ``sockops`` ...), or ``kind``: an ``AttachType``
        or a short name (``pybpf.cgroup_kinds()``).  Other programs attached
        to the cgroup keep running (links attach with BPF_F_ALLOW_MULTI).
        Closing the link detaches the program.
        """
        prog_fd = self.fd
        attach_type = None if kind is None else _attach_type(kind)
        if isinstance(cgroup, int):
            return self._attach_cgroup_fd(prog_fd, cgroup, attach_type, f"cgroup fd {cgroup}")
        path = os.fspath(cgroup)
        if not os.path.isdir(path):
            raise BPFFileNotFoundError(errno.ENOENT, f"attach program '{self._name}': no cgroup directory {path!r}")
        if fs_type(path) != "cgroup2":
            raise BPFValueError(
                errno.EINVAL, f"attach program '{self._name}': {path} is not on a cgroup v2 file system (cgroup2)"
            )
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            return self._attach_cgroup_fd(prog_fd, fd, attach_type, f"cgroup {path}")
        finally:
            os.close(fd)  # the link holds the cgroup

    def _attach_cgroup_fd(self, prog_fd: int, cgroup_fd: int, attach_type: AttachType | None, what: str) -> Link:
        if attach_type is None:
            return self._link(lambda: lib.bpf_program__attach_cgroup(self._live_ptr(), cgroup_fd), what)
        what = f"{what} ({_short_name(attach_type)})"
        fd = check(
            lib.bpf_link_create(prog_fd, cgroup_fd, attach_type, ffi.NULL), f"attach program '{self._name}' to {what}"
        )
        return self._link_fd(fd, what)


def _attach_type(kind: str | AttachType) -> AttachType:
    if isinstance(kind, AttachType):
        return kind
    found = _KINDS.get(kind.lower())
    if found is None:
        raise BPFValueError(errno.EINVAL, f"unknown cgroup hook {kind!r}: use one of {', '.join(cgroup_kinds())}")
    return found
