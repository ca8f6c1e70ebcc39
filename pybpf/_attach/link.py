"""``Link``: an attachment of a program to a hook, owned by Python.

Closing a link detaches the program, unless the link was pinned (the pin then
keeps it attached until the pin file is removed).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from functools import partial

from pybpf._core.errors import BPFValueError, c_string, check, error_for
from pybpf._core.fdinfo import fdinfo, require_bpf_fd_kind
from pybpf._core.ffi import ffi, lib
from pybpf._core.handle import OwnedHandle
from pybpf._core.ids import walk_ids
from pybpf._core.mounts import require_bpffs
from pybpf._core.public import public

TYPE_CHECKING = False  # typing's own, without importing typing: start-up time (issue 17)
if TYPE_CHECKING:
    from typing import Any

    from pybpf._core.reports import LinkInfo
    from pybpf._object.object import BPFObject
    from pybpf._object.program import Program

__all__ = ["IterLink", "Link", "link_info", "links"]


def _release(ptr: Any, fd: int, detach: Callable[[], None] | None) -> None:
    if detach is not None:
        detach()
    elif ptr is not None:
        lib.bpf_link__destroy(ptr)  # closes the fd: detaches unless pinned
    elif fd >= 0:
        os.close(fd)


# fdinfo fields every link has: the rest say where it attaches.
_COMMON_FIELDS = {"pos", "flags", "mnt_id", "ino", "link_type", "link_id", "prog_tag", "prog_id"}


def link_info(fd: int, what: str) -> LinkInfo:
    """The ``LinkInfo`` of a link fd."""
    info = ffi.new("struct bpf_link_info *")
    size = ffi.new("__u32 *", ffi.sizeof("struct bpf_link_info"))
    check(lib.bpf_obj_get_info_by_fd(fd, info, size), f"read info of link {what}")
    try:
        target = {key: value for key, value in fdinfo(fd).items() if key not in _COMMON_FIELDS}
    except OSError:
        target = {}
    from pybpf._core.attach_enums import LinkType  # here, not at import: start-up time
    from pybpf._core.reports import LinkInfo  # here, not at import: typing.NamedTuple (start-up time)

    kind = info.type
    return LinkInfo(
        id=info.id,
        type=LinkType(kind) if kind in LinkType._value2member_map_ else kind,
        prog_id=info.prog_id,
        target=target,
    )


@public
def links() -> list[LinkInfo]:
    """Every BPF link in the kernel (all processes), by id: what ``bpftool
    link list`` shows.  Links that go away while this runs are skipped."""
    return [link_info(fd, f"id {link_id}") for link_id, fd in walk_ids("link")]


@public
class Link(OwnedHandle):
    """A program attached to a hook.

    ``close()`` detaches it (idempotent); so does leaving a ``with`` block, or
    closing the ``BPFObject`` whose program it attached (the object holds its
    links, so dropping the last Python reference to one does not detach it).
    A link garbage-collected while open is detached with a ``ResourceWarning``.
    ``pin(path)`` keeps the attachment alive beyond this process.

    What outlives the process: a BPF link (XDP, tc on 6.6+, cgroups,
    tracing ...) is detached by the kernel when the process dies, even by
    SIGKILL, unless pinned.  Attachments the kernel keeps without a link (a
    tc filter through cls_bpf or act_bpf, an LWT route, a STRUCT_OPS map
    declared in ``.struct_ops`` rather than ``.struct_ops.link``, a socket
    filter on a socket others share) stay until ``close()`` runs.  A forked child never detaches
    what its parent attached, not even by ``close()``.
    """

    _kind = "link"

    def __init__(
        self,
        *,
        what: str,
        ptr: Any = None,
        fd: int = -1,
        detach: Callable[[], None] | None = None,
        program: Program | None = None,
        obj: BPFObject | None = None,
    ) -> None:
        # A libbpf ``struct bpf_link *``, a bare link fd from bpf_link_create,
        # or, for attachments the kernel keeps without a link (a tc filter
        # made through netlink), the call that removes them.
        fd = lib.bpf_link__fd(ptr) if ptr is not None else fd
        self._init_handle(what, fd)
        self._ptr = ptr
        self._fd = fd
        self._what = what
        self._program = program  # the program (and its object) must outlive the link
        self._obj = obj if obj is not None else getattr(program, "_obj", None)  # tracks its links
        # A forked child closes its copy of the fd, which leaves the parent's attachment alone.
        forget = partial(os.close, fd) if fd >= 0 else None
        self._own(partial(_release, ptr, fd, detach), forget=forget)

    @property
    def fd(self) -> int:
        """The link's file descriptor (borrowed)."""
        self._require_open()
        if self._fd < 0:
            raise BPFValueError(errno.EBADF, f"link {self._what} is not a BPF link: it has no fd (close() detaches)")
        return self._fd

    @property
    def program(self) -> Program | None:
        """The program this link attached (None for a link opened from a pin)."""
        return self._program

    def close(self) -> None:
        """Detach the program (unless pinned) and release the link. Idempotent;
        in a forked child it only closes the child's copy of the link's fd."""
        super().close()

    def _after_release(self) -> None:
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
        fd = check(lib.bpf_obj_get(c_string(path, "open pinned link")), f"open pinned link {path}")
        try:
            require_bpf_fd_kind(fd, "link", f"open pinned link {path}: it")
        except BaseException:
            os.close(fd)
            raise
        return cls(fd=fd, what=f"pinned at {path}")

    def info(self) -> LinkInfo:
        """What the kernel reports about the link: its id, type, program and target."""
        fd = self.fd
        with self._use():
            return link_info(fd, self._what)

    def update(self, program: Program) -> None:
        """Replace the attached program with ``program`` in one step (no
        moment without a program), where the link type allows it (XDP, tc,
        cgroup, netns, iterators, ...; EOPNOTSUPP elsewhere)."""
        fd, prog_fd = self.fd, program.fd
        with self._use():
            check(lib.bpf_link_update(fd, prog_fd, ffi.NULL), f"update link {self._what} to '{program.name}'")
        self._program = program  # the new program must outlive the link

    def pin(self, path: str | os.PathLike[str]) -> None:
        """Pin the link on a bpffs: the program stays attached after ``close()``
        and after this process exits, until the pin file is removed."""
        path = os.fspath(path)
        require_bpffs(path, f"pin link {self._what}")
        fd = self.fd
        with self._use():
            check(lib.bpf_obj_pin(fd, c_string(path, "pin link")), f"pin link {self._what} at {path}")

    def __enter__(self) -> Link:
        return self

    def __repr__(self) -> str:
        state = "closed" if self.closed else (f"fd={self._fd}" if self._fd >= 0 else "attached")
        return f"<pybpf.Link {self._what} {state}>"


@public
class IterLink(Link):
    """An iterator program attached (``Program.attach_iter``).

    Each ``read()`` runs the program once over the kernel objects it
    iterates (tasks, maps, a map's elements ...) and returns what it wrote
    (``BPF_SEQ_PRINTF``, ``bpf_seq_write``).  ``close()`` detaches it.
    """

    def read(self) -> bytes:
        """One pass of the iterator: everything it wrote, to the end."""
        link_fd = self.fd
        with self._use():
            fd = check(lib.bpf_iter_create(link_fd), f"start iterator {self._what}")
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
