"""``Link``: an attachment of a program to a hook, owned by Python.

Closing a link detaches the program, unless the link was pinned (the pin then
keeps it attached until the pin file is removed).
"""

from __future__ import annotations

import errno
import os
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pybpf._errors import BPFValueError, check, closed_error, error_for
from pybpf._ffi import ffi, lib
from pybpf._mounts import require_bpffs
from pybpf._types import LinkType

__all__ = ["IterLink", "Link", "LinkInfo", "bpf_fd_kind"]


def _destroy_leaked(ptr: Any, fd: int, detach: Callable[[], None] | None, what: str) -> None:
    _release(ptr, fd, detach)  # first: the warning may be turned into an exception
    warnings.warn(f"pybpf: link {what} was not closed; detached it", ResourceWarning, stacklevel=2)


def _release(ptr: Any, fd: int, detach: Callable[[], None] | None) -> None:
    if detach is not None:
        detach()
    elif ptr is not None:
        lib.bpf_link__destroy(ptr)  # closes the fd: detaches unless pinned
    elif fd >= 0:
        os.close(fd)


@dataclass(frozen=True)
class LinkInfo:
    """What the kernel reports about a link (``Link.info()``)."""

    id: int
    type: LinkType | int
    prog_id: int
    """The id of the program it attaches (``Program.from_id`` opens it)."""


def bpf_fd_kind(fd: int) -> str:
    """What a BPF fd holds ("link", "map" or "prog"), from the kernel's fdinfo."""
    with open(f"/proc/self/fdinfo/{fd}", encoding="ascii") as f:
        for line in f:
            for kind in ("link", "map", "prog"):
                if line.startswith(f"{kind}_type:"):
                    return kind
    return "object"


class Link:
    """A program attached to a hook.

    ``close()`` detaches it (idempotent); so does leaving a ``with`` block, or
    closing the ``BPFObject`` whose program it attached (the object holds its
    links, so dropping the last Python reference to one does not detach it).
    A link garbage-collected while open is detached with a ``ResourceWarning``.
    ``pin(path)`` keeps the attachment alive beyond this process.
    """

    def __init__(
        self,
        *,
        what: str,
        ptr: Any = None,
        fd: int = -1,
        detach: Callable[[], None] | None = None,
        program: Any = None,
        obj: Any = None,
    ) -> None:
        # A libbpf ``struct bpf_link *``, a bare link fd from bpf_link_create,
        # or, for attachments the kernel keeps without a link (a tc filter
        # made through netlink), the call that removes them.
        self._ptr = ptr
        self._fd = lib.bpf_link__fd(ptr) if ptr is not None else fd
        self._what = what
        self._program = program  # the program (and its object) must outlive the link
        self._obj = obj if obj is not None else getattr(program, "_obj", None)  # tracks its links
        self._finalizer = weakref.finalize(self, _destroy_leaked, ptr, self._fd, detach, what)

    @property
    def fd(self) -> int:
        """The link's file descriptor (borrowed)."""
        if self.closed:
            raise closed_error("link", self._what)
        if self._fd < 0:
            raise BPFValueError(errno.EBADF, f"link {self._what} is not a BPF link: it has no fd (close() detaches)")
        return self._fd

    @property
    def closed(self) -> bool:
        """Whether the link was closed (detached)."""
        return not self._finalizer.alive

    def close(self) -> None:
        """Detach the program (unless pinned) and release the link. Idempotent."""
        state = self._finalizer.detach()  # (self, func, (ptr, fd, detach, what), {})
        if state is not None:
            _release(*state[2][:3])
        if self._obj is not None:
            self._obj._untrack(self)
        self._ptr = None
        self._fd = -1
        self._program = self._obj = None

    @classmethod
    def from_pinned(cls, path: str | os.PathLike[str]) -> Link:
        """Open the link pinned at ``path``: ``close()`` releases this handle
        and leaves the program attached (the pin holds it); removing the pin
        file, once no handle is open, detaches it."""
        path = os.fspath(path)
        fd = check(lib.bpf_obj_get(path.encode()), f"open pinned link {path}")
        kind = bpf_fd_kind(fd)
        if kind != "link":
            os.close(fd)
            raise BPFValueError(errno.EINVAL, f"open pinned link {path}: it is a BPF {kind}, not a link")
        return cls(fd=fd, what=f"pinned at {path}")

    def info(self) -> LinkInfo:
        """What the kernel reports about the link: its id, type and program."""
        info = ffi.new("struct bpf_link_info *")
        size = ffi.new("__u32 *", ffi.sizeof("struct bpf_link_info"))
        check(lib.bpf_obj_get_info_by_fd(self.fd, info, size), f"read info of link {self._what}")
        kind = info.type
        return LinkInfo(
            id=info.id, type=LinkType(kind) if kind in LinkType._value2member_map_ else kind, prog_id=info.prog_id
        )

    def update(self, program: Any) -> None:
        """Replace the attached program with ``program`` in one step (no
        moment without a program), where the link type allows it (XDP, tc,
        cgroup, netns, iterators, ...; EOPNOTSUPP elsewhere)."""
        check(lib.bpf_link_update(self.fd, program.fd, ffi.NULL), f"update link {self._what} to '{program.name}'")
        self._program = program  # the new program must outlive the link

    def pin(self, path: str | os.PathLike[str]) -> None:
        """Pin the link on a bpffs: the program stays attached after ``close()``
        and after this process exits, until the pin file is removed."""
        path = os.fspath(path)
        require_bpffs(path, f"pin link {self._what}")
        check(lib.bpf_obj_pin(self.fd, path.encode()), f"pin link {self._what} at {path}")

    def __enter__(self) -> Link:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else (f"fd={self._fd}" if self._fd >= 0 else "attached")
        return f"<pybpf.Link {self._what} {state}>"


class IterLink(Link):
    """An iterator program attached (``Program.attach_iter``).

    Each ``read()`` runs the program once over the kernel objects it
    iterates (tasks, maps, a map's elements ...) and returns what it wrote
    (``BPF_SEQ_PRINTF``, ``bpf_seq_write``).  ``close()`` detaches it.
    """

    def read(self) -> bytes:
        """One pass of the iterator: everything it wrote, to the end."""
        fd = check(lib.bpf_iter_create(self.fd), f"start iterator {self._what}")
        chunks: list[bytes] = []
        try:
            while True:
                try:
                    chunk = os.read(fd, 1 << 16)
                except OSError as e:
                    raise error_for(e.errno or errno.EIO, f"read iterator {self._what}") from None
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)
        finally:
            os.close(fd)

    def lines(self) -> list[str]:
        """``read()`` as text, one string per line."""
        return self.read().decode("utf-8", "replace").splitlines()
