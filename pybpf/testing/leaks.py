"""The leak guard: what a test left behind on the machine.

A :class:`Snapshot` is taken once a test's fixtures are set up; after its
fixtures are torn down, :func:`leaks_since` lists what is new and still
there:

* **open fds** of this process, by number (a BPF program, map or link fd
  names its object, its id and its name);
* **BPF programs, maps and links** created meanwhile that are alive with no
  fd anywhere and no pin: attached without a link (tc, a route), or held
  by another object the test left (a program holds its maps).  Objects
  another process holds are that process's business and are left out;
* **pins**: files and directories new on any mounted bpffs;
* **network namespaces** new under ``/run/netns``, but those whose name
  says a live process outside this one's tree made them (pybpf names its
  namespaces ``<prefix>-p<pid>-...``): another test run on the machine;
* **cgroups** new in the cgroup v2 hierarchy, unless processes other than
  this one's live in them (a service manager's new scope is not a leak).

The kernel frees some objects a moment after their last user goes (a
network namespace's devices and their programs are dismantled by a
workqueue), so live BPF objects are looked at again for up to
``settle`` seconds before they count.  Only then, and only if something
new is found, does the guard collect garbage and look once more: handles
dropped in a reference cycle are released by their finalizers.
"""

from __future__ import annotations

import errno
import gc
import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pybpf._core.ids import highest_id, holders, ids_after, object_id, open_id
from pybpf._core.mounts import cgroup2_root, mount_points

if TYPE_CHECKING:
    from pybpf._core.ids import ObjectKind

__all__ = ["Leak", "Snapshot", "leaks_since", "remove_leaks"]

NETNS_DIR = "/run/netns"
_KINDS: tuple[ObjectKind, ...] = ("prog", "map", "link")
_NAMES = {"prog": "program", "map": "map", "link": "link"}


@dataclass(frozen=True)
class Leak:
    """One thing a test left: its kind (``fd``, ``program``, ``map``, ``link``,
    ``pin``, ``netns``, ``cgroup``) and how to find it."""

    kind: str
    what: str
    path: str = ""
    """For pins, namespaces and cgroups: the path to remove."""

    def __str__(self) -> str:
        return f"{self.kind} {self.what}"


@dataclass
class Snapshot:
    """What exists before a test runs (see the module docstring)."""

    fds: dict[int, str] = field(default_factory=dict)
    pins: set[str] = field(default_factory=set)
    netns: set[str] = field(default_factory=set)
    cgroups: set[str] = field(default_factory=set)
    highest: dict[ObjectKind, int] = field(default_factory=dict)
    """The highest live id per kind; no entry when ids cannot be walked (no CAP_SYS_ADMIN)."""

    @classmethod
    def take(cls, previous: Snapshot | None = None) -> Snapshot:
        """Look at the machine now; ``previous`` saves walking old ids again."""
        highest: dict[ObjectKind, int] = {}
        for kind in _KINDS:
            after = previous.highest.get(kind, 0) if previous is not None else 0
            try:
                highest[kind] = highest_id(kind, after=after)
            except OSError:  # no CAP_SYS_ADMIN: the ids stay unseen, fds still tell
                break
        return cls(_fds(), _tree(mount_points("bpf"), files=True), _netns(), _cgroups(), highest)


def _fds() -> dict[int, str]:
    out = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            out[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:  # the fd of the listing itself, closed by now
            continue
    return out


def _tree(roots: Iterable[str], *, files: bool) -> set[str]:
    found: set[str] = set()
    for root in roots:
        for directory, dirs, names in os.walk(root):
            found.update(os.path.join(directory, name) for name in dirs)
            if files:
                found.update(os.path.join(directory, name) for name in names)
    return found


def _netns() -> set[str]:
    try:
        return set(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return set()


def _cgroups() -> set[str]:
    root = cgroup2_root()
    return _tree([root], files=False) if root else set()


def leaks_since(before: Snapshot, *, settle: float = 5.0) -> list[Leak]:
    """What is new since ``before`` and still there (see the module docstring)."""
    found = _new_things(before, settle)
    if found:
        gc.collect()  # handles in reference cycles: their finalizers release them
        found = _new_things(before, settle)
    return found


def _new_things(before: Snapshot, settle: float) -> list[Leak]:
    fd_leaks, held = _new_fds(before)
    leaks = fd_leaks + _new_objects(before, held, settle)
    pins = _tree(mount_points("bpf"), files=True) - before.pins
    leaks += [Leak("pin", path, path) for path in sorted(pins)]
    leaks += [
        Leak("netns", name, os.path.join(NETNS_DIR, name))
        for name in sorted(_netns() - before.netns)
        if _netns_ours(name)
    ]
    leaks += [Leak("cgroup", path, path) for path in sorted(_cgroups() - before.cgroups) if _ours(path)]
    return leaks


def _new_fds(before: Snapshot) -> tuple[list[Leak], set[tuple[ObjectKind, int]]]:
    """Leaked fds, and the BPF objects they hold."""
    from pybpf._core.fdinfo import fdinfo

    leaks, held = [], set()
    for fd, target in sorted(_fds().items()):
        if fd in before.fds:  # there before (pytest's capture dup2s over 1 and 2)
            continue
        what = f"{fd} -> {target}"
        if target.startswith("anon_inode:bpf"):
            try:
                found = object_id(fdinfo(fd))
            except OSError:
                found = None
            if found is not None:
                held.add(found)
                what = f"{fd} -> {_describe(*found)}"
        leaks.append(Leak("fd", what))
    return leaks, held


def _new_objects(before: Snapshot, held: set[tuple[ObjectKind, int]], settle: float) -> list[Leak]:
    """Live BPF objects made since ``before`` that no process holds and no pin keeps."""
    deadline = time.monotonic() + settle
    while True:  # by id alone: opening an object would keep it alive
        alive = {
            (kind, object_id)
            for kind in before.highest
            for object_id in _ids_quietly(kind, before.highest[kind])
            if (kind, object_id) not in held
        }
        if not alive or time.monotonic() >= deadline:
            break
        time.sleep(0.05)  # the kernel may be dismantling them (a namespace's devices)
    if not alive:
        return []
    pinned = _pinned_ids(before)
    others = holders()
    return [
        Leak(_NAMES[kind], _describe(kind, object_id))
        for kind, object_id in sorted(alive)
        if (kind, object_id) not in others
        and (kind, object_id) not in pinned
        and not _used_by_others(kind, object_id, others)
    ]


def _ids_quietly(kind: ObjectKind, after: int) -> list[int]:
    try:
        return ids_after(kind, after)
    except OSError as e:
        if e.errno in (errno.EPERM, errno.EACCES):
            return []
        raise


def _pinned_ids(before: Snapshot) -> set[tuple[ObjectKind, int]]:
    from pybpf._core.ids import pins

    new = sorted(_tree(mount_points("bpf"), files=True) - before.pins)
    roots = sorted({os.path.dirname(path) for path in new})
    return set(pins(roots)) if roots else set()


def _used_by_others(kind: ObjectKind, object_id: int, others: Mapping[tuple[ObjectKind, int], object]) -> bool:
    """Whether a map belongs to a program another process holds."""
    if kind != "map":
        return False
    from pybpf._object.program import _prog_info

    for prog_kind, prog_id in others:
        if prog_kind == "prog":
            fd = _open_quietly(prog_kind, prog_id)
            if fd is None:
                continue
            try:
                if object_id in _prog_info(fd, f"program id {prog_id}").map_ids:
                    return True
            finally:
                os.close(fd)
    return False


def _open_quietly(kind: ObjectKind, object_id: int) -> int | None:
    try:
        return open_id(kind, object_id)
    except OSError:
        return None


def _describe(kind: ObjectKind, object_id: int) -> str:
    """``program 123 'xdp_count' (XDP)``, or the bare id if it is gone."""
    fd = _open_quietly(kind, object_id)
    if fd is None:
        return f"{_NAMES[kind]} {object_id}"
    try:
        return f"{_NAMES[kind]} {object_id} {_details(kind, fd)}"
    except OSError:
        return f"{_NAMES[kind]} {object_id}"
    finally:
        os.close(fd)


def _details(kind: ObjectKind, fd: int) -> str:
    if kind == "prog":
        from pybpf._object.program import _prog_info

        prog = _prog_info(fd, "a leaked program")
        return f"'{prog.name}' ({_type_name(prog.type)})"
    if kind == "map":
        from pybpf._maps.info import info_of, map_info

        info = info_of(map_info(fd, "a leaked map"))
        return f"'{info.name}' ({_type_name(info.type)})"
    from pybpf._attach.link import link_info

    link = link_info(fd, "a leaked link")
    where = ", ".join(f"{key} {value}" for key, value in link.target.items())
    return f"({_type_name(link.type)}, program {link.prog_id}{', ' + where if where else ''})"


def _type_name(value: object) -> str:
    return str(getattr(value, "name", value))


# pybpf's namespaces: <prefix>-p<pid>-<8 hex>[-a|-b] (pybpf.netns).
_CREATOR = re.compile(r"-p(\d+)-[0-9a-f]{8}(?:-[ab])?$")


def _netns_ours(name: str) -> bool:
    """Whether a new namespace may be this process's leak: not when its name
    says a live process outside this process's tree made it (another test
    run on the same machine, whose namespace this guard must not remove)."""
    match = _CREATOR.search(name)
    if match is None:
        return True  # made some other way: this test is the likely maker
    pid = int(match.group(1))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True  # its maker is gone: a child of this test, killed, or a leak of anyone's
    except PermissionError:
        pass
    while pid > 1:
        if pid == os.getpid():
            return True
        pid = _parent(pid) or 0
    return False


def _ours(cgroup: str) -> bool:
    """Whether only this process and its children (or nobody) live in ``cgroup``."""
    try:
        with open(os.path.join(cgroup, "cgroup.procs"), encoding="ascii") as f:
            pids = [int(line) for line in f if line.strip()]
    except OSError:
        return False  # gone meanwhile
    return all(pid == os.getpid() or _parent(pid) == os.getpid() for pid in pids)


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    return int(stat[stat.rindex(b")") + 2 :].split()[1])


def remove_leaks(leaks: Iterable[Leak]) -> list[str]:
    """Remove the pins, namespaces and empty cgroups among ``leaks`` (fds and
    objects stay: their owners in the test may still close them); returns
    what could not be removed, with why."""
    from pybpf.netns import remove_namespace

    failed = []
    for leak in sorted(leaks, key=lambda leak: leak.path, reverse=True):  # a cgroup's children first
        try:
            if leak.kind == "pin":
                if os.path.isdir(leak.path) and not os.path.islink(leak.path):
                    for directory, dirs, names in os.walk(leak.path, topdown=False):
                        for name in names:
                            os.unlink(os.path.join(directory, name))
                        for name in dirs:
                            os.rmdir(os.path.join(directory, name))
                    os.rmdir(leak.path)
                elif os.path.lexists(leak.path):
                    os.unlink(leak.path)
            elif leak.kind == "netns":
                remove_namespace(os.path.basename(leak.path))
            elif leak.kind == "cgroup":
                os.rmdir(leak.path)
        except OSError as e:
            failed.append(f"{leak}: {e.strerror}")
    return failed
