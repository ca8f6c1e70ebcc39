"""What the kernel holds, by id: the one walk over map, program and link ids
(what ``bpftool map|prog|link list`` walk), and who holds each object: the
processes with an fd on it and the bpffs files that pin it."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator

from pybpf._core.errors import c_string, check
from pybpf._core.fdinfo import fd_kind_of, fdinfo
from pybpf._core.ffi import ffi, lib
from pybpf._core.mounts import mount_points
from pybpf._core.public import public

TYPE_CHECKING = False  # typing's own, without importing typing: start-up time (issue 17)
if TYPE_CHECKING:
    from typing import Literal

    from pybpf._core.reports import Holder

    ObjectKind = Literal["map", "prog", "link"]

__all__ = ["highest_id", "holders", "ids_after", "object_id", "open_id", "pins", "walk_ids"]

# The kernel walks and opens ids only for CAP_SYS_ADMIN, whatever else the caller has.
_WALK_HINTS = {errno.EPERM: "walking the kernel's {kind} ids needs CAP_SYS_ADMIN"}
_NAMES = {"map": "map", "prog": "program", "link": "link"}


def _calls(kind: ObjectKind) -> tuple[Callable[..., int], Callable[[int], int]]:
    if kind == "map":
        return lib.bpf_map_get_next_id, lib.bpf_map_get_fd_by_id
    if kind == "prog":
        return lib.bpf_prog_get_next_id, lib.bpf_prog_get_fd_by_id
    return lib.bpf_link_get_next_id, lib.bpf_link_get_fd_by_id


def walk_ids(kind: ObjectKind, *, after: int = 0) -> Iterator[tuple[int, int]]:
    """(id, fd) of every ``kind`` object in the kernel with an id above
    ``after``, by id; the fd is borrowed for the iteration step (closed when
    the next is asked for).  Objects freed while this runs are skipped."""
    next_id, fd_by_id = _calls(kind)
    hints = {code: text.format(kind=_NAMES[kind]) for code, text in _WALK_HINTS.items()}
    found = ffi.new("__u32 *")
    current = after
    while True:
        ret = next_id(current, found)
        if ret == -errno.ENOENT:
            return
        check(ret, f"list {_NAMES[kind]}s after id {current}", hints=hints)
        current = int(found[0])
        fd = fd_by_id(current)
        if fd == -errno.ENOENT:
            continue  # freed meanwhile
        check(fd, f"open {_NAMES[kind]} id {current}", hints=hints)
        try:
            yield current, fd
        finally:
            os.close(fd)


def open_id(kind: ObjectKind, object_id: int) -> int | None:
    """A new fd on the ``kind`` object with id ``object_id``; None if it is gone."""
    _, fd_by_id = _calls(kind)
    hints = {code: text.format(kind=_NAMES[kind]) for code, text in _WALK_HINTS.items()}
    fd = fd_by_id(object_id)
    if fd == -errno.ENOENT:
        return None
    return check(fd, f"open {_NAMES[kind]} id {object_id}", hints=hints)


def ids_after(kind: ObjectKind, after: int = 0) -> list[int]:
    """The ids of live ``kind`` objects above ``after``, without opening any.
    An id is gone once the object's last reference is (opening one takes a
    reference, and closing a PROG_ARRAY's last user fd starts work that
    holds it a while longer)."""
    next_id, _ = _calls(kind)
    hints = {code: text.format(kind=_NAMES[kind]) for code, text in _WALK_HINTS.items()}
    found = ffi.new("__u32 *")
    current, out = after, []
    while (ret := next_id(current, found)) != -errno.ENOENT:
        check(ret, f"list {_NAMES[kind]}s after id {current}", hints=hints)
        current = int(found[0])
        out.append(current)
    return out


def highest_id(kind: ObjectKind, *, after: int = 0) -> int:
    """The highest id of a live ``kind`` object, or ``after`` if none is
    above it.  Ids only grow (until they wrap at 2**31), so objects made
    later have higher ones."""
    return max(ids_after(kind, after), default=after)


def object_id(fields: dict[str, str]) -> tuple[ObjectKind, int] | None:
    """(kind, id) of a BPF fd's fdinfo fields (a link's also name its program's id)."""
    kind = fd_kind_of(fields)
    value = fields.get(f"{kind}_id", "")
    if kind in _NAMES and value.isdigit():
        return kind, int(value)  # type: ignore[return-value]  # kind is one of ObjectKind
    return None


@public
def holders() -> dict[tuple[ObjectKind, int], list[Holder]]:
    """{(kind, id): processes with an fd on it}, from every process's
    ``/proc/<pid>/fdinfo`` (processes that exit meanwhile, or that this
    process may not inspect, are left out).  One entry per process, however
    many fds it holds."""
    from pybpf._core.reports import Holder  # here, not at import: typing.NamedTuple (start-up time)

    out: dict[tuple[ObjectKind, int], list[Holder]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            fds = os.listdir(f"/proc/{pid}/fdinfo")
            with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as f:
                comm = f.read().strip()
        except OSError:
            continue
        seen: set[tuple[ObjectKind, int]] = set()
        for fd in fds:
            try:
                if not os.readlink(f"/proc/{pid}/fd/{fd}").startswith("anon_inode:bpf"):
                    continue
                fields = fdinfo(fd, pid=pid)
            except OSError:
                continue
            found = object_id(fields)
            if found is not None:
                seen.add(found)
        for key in seen:
            out.setdefault(key, []).append(Holder(pid, comm))
    return out


@public
def pins(roots: list[str] | None = None) -> dict[tuple[ObjectKind, int], list[str]]:
    """{(kind, id): paths pinning it} under ``roots`` (default: every mounted
    bpffs), the way ``bpftool -f`` finds them: each pin file is opened and
    asked for its id.  Pins this process may not open are left out."""
    out: dict[tuple[ObjectKind, int], list[str]] = {}
    for root in mount_points("bpf") if roots is None else roots:
        for directory, _dirs, files in os.walk(root):
            for name in files:
                path = os.path.join(directory, name)
                fd = lib.bpf_obj_get(c_string(path, "open pin"))
                if fd < 0:
                    continue
                try:
                    found = object_id(fdinfo(fd))
                except OSError:
                    found = None
                finally:
                    os.close(fd)
                if found is not None:
                    out.setdefault(found, []).append(path)
    return out
