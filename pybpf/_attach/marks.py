"""Owner marks on the attachments the kernel keeps after their process dies.

A BPF link ends with its last fd, so a killed process leaves nothing behind.
A tc filter (cls_bpf, or a matchall filter with an act_bpf action) and a
route with a BPF encapsulation (LWT, seg6local End.BPF) have no such owner:
they stay until removed.  pybpf names each of them, in the name field the
kernel stores with the program, with a mark::

    pybpf:<pid>:<start time>:<program>

The start time (clock ticks since boot, ``/proc/<pid>/stat``) tells the owner
from a later process that reuses its pid.  A STRUCT_OPS map registered
without a link (kernels before 6.4) has no name field: its mark is a record
file, ``/run/pybpf/struct_ops/<map id>``, removed when it is unregistered.
An attachment whose owner is gone is *stale*: attaching the same program to
the same hook again replaces it, and ``pybpf cleanup`` lists and removes
every one (``stale_attachments``).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import warnings
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from pybpf._core.enums import MapType
from pybpf._core.public import public

__all__ = ["Mark", "StaleAttachment", "delete_filter", "remove_stale", "stale_attachments", "stale_struct_ops"]

_PREFIX = "pybpf"
# The clsact qdisc's two hooks as tc parents: TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS / _EGRESS).
CLSACT_PARENT = {"ingress": 0xFFFFFFF2, "egress": 0xFFFFFFF3}
_NAME_ATTRS = ("TCA_BPF_NAME", "TCA_ACT_BPF_NAME", "LWT_BPF_PROG_NAME")
_GONE = (errno.ENOENT, errno.ESRCH, errno.ENODEV, errno.EINVAL)


def _start_time(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot; None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # Field 22; the command name (field 2) may hold spaces and parentheses.
    return int(stat[stat.rindex(b")") + 2 :].split()[19])


@public
class Mark(NamedTuple):
    """Who attached a program the kernel keeps without a process."""

    pid: int
    start: int
    program: str

    @classmethod
    def own(cls, program: str) -> Mark:
        """The mark of this process for ``program``."""
        pid = os.getpid()  # after a fork, the child's own
        start = _start_time(pid)
        assert start is not None  # this process is alive
        return cls(pid, start, program)

    @classmethod
    def parse(cls, name: str) -> Mark | None:
        """The mark in a name the kernel reports, or None if pybpf did not write it."""
        parts = name.split(":", 3)
        if len(parts) != 4 or parts[0] != _PREFIX or not (parts[1].isdigit() and parts[2].isdigit()):
            return None
        return cls(int(parts[1]), int(parts[2]), parts[3])

    @property
    def alive(self) -> bool:
        """Whether the process that attached is still running (not another
        process that took its pid since)."""
        return _start_time(self.pid) == self.start

    def owner(self) -> str:
        """The owner, as an error message names it."""
        state = "running" if self.alive else "exited"
        return f"pybpf process {self.pid} ({state})"

    def __str__(self) -> str:
        return f"{_PREFIX}:{self.pid}:{self.start}:{self.program}"


@public
class StaleAttachment(NamedTuple):
    """An attachment whose owner has exited, and how to remove it."""

    mark: Mark
    where: str  # "tc ingress of 'eth0' (bpf filter, priority 49152)", "route 10.9.0.0/24 (table 254)"
    netns: str  # "" for this process's namespace, else the name under /run/netns
    remover: Callable[[], None]
    """What ``remove()`` calls."""

    def remove(self) -> None:
        """Remove it (nothing happens if it went meanwhile)."""
        self.remover()

    def __str__(self) -> str:
        place = f" in netns {self.netns}" if self.netns else ""
        return f"{self.where}{place}: '{self.mark.program}' of exited pybpf process {self.mark.pid}"


def _names(attr: Any) -> Iterator[str]:
    """The program names anywhere in a netlink message (nested in options,
    actions, encapsulations)."""
    for item in attr.get("attrs", ()) if hasattr(attr, "get") else ():
        name, value = item[0], item[1]
        if name in _NAME_ATTRS and isinstance(value, str):
            yield value
        elif hasattr(value, "get"):
            yield from _names(value)


def marks_in(message: Any) -> list[Mark]:
    """The pybpf marks in one netlink message (a filter or a route)."""
    return [mark for name in _names(message) if (mark := Mark.parse(name)) is not None]


def tc_marks(ipr: Any, ifindex: int, direction: str) -> list[tuple[int, str, Mark]]:
    """(priority, filter kind, mark) of the pybpf filters on a clsact hook of ``ifindex``."""
    found = []
    for msg in ipr.get_filters(index=ifindex, parent=CLSACT_PARENT[direction]):
        for mark in marks_in(msg):
            found.append(((msg["info"] >> 16) & 0xFFFF, msg.get_attr("TCA_KIND"), mark))
    return found


def remove_stale(ipr: Any, ifindex: int, direction: str, program: str) -> None:
    """Remove the filters that an exited pybpf process attached on this hook
    for ``program``: a restart replaces its old attachment, not adds to it."""
    for priority, kind, mark in tc_marks(ipr, ifindex, direction):
        if mark.program == program and not mark.alive:
            delete_filter(ipr, ifindex, direction, kind, priority)


def delete_filter(ipr: Any, ifindex: int, direction: str, kind: str, priority: int) -> None:
    """Remove the ``kind`` filter at ``priority`` of a clsact hook (nothing if it went meanwhile)."""
    from pyroute2.netlink.exceptions import NetlinkError

    try:
        ipr.tc("del-filter", kind, ifindex, parent=CLSACT_PARENT[direction], prio=priority)
    except NetlinkError as e:
        if e.code not in _GONE:  # removed meanwhile
            raise


def route_key(msg: Any) -> dict[str, Any]:
    """What identifies a dumped route for ``ipr.route("del", ...)``."""
    key: dict[str, Any] = {"family": msg["family"], "dst_len": msg["dst_len"], "table": msg.get_attr("RTA_TABLE")}
    dst = msg.get_attr("RTA_DST")
    if dst is not None:
        key["dst"] = dst
    oif = msg.get_attr("RTA_OIF")
    if oif is not None:
        key["oif"] = oif
    return key


def _stale_in_namespace(ipr: Any, netns: str) -> Iterator[StaleAttachment]:
    from pyroute2.netlink.exceptions import NetlinkError

    for link in ipr.get_links():
        ifindex, ifname = link["index"], link.get_attr("IFLA_IFNAME")
        for direction in CLSACT_PARENT:
            try:
                marks = tc_marks(ipr, ifindex, direction)
            except NetlinkError:  # the interface went away meanwhile
                continue
            for priority, kind, mark in marks:
                if not mark.alive:
                    remove = functools.partial(
                        delete_filter, ifindex=ifindex, direction=direction, kind=kind, priority=priority
                    )
                    where = f"tc {direction} of {ifname!r} ({kind} filter, priority {priority})"
                    yield StaleAttachment(mark, where, netns, functools.partial(_netlink, netns, remove))
    import socket  # only here: it costs import time

    for family in (socket.AF_INET, socket.AF_INET6):
        for msg in ipr.get_routes(family=family):  # every table
            for mark in marks_in(msg):
                if not mark.alive:
                    key = route_key(msg)
                    where = f"route {key.get('dst', 'default')}/{key['dst_len']} (table {key['table']})"
                    remove = functools.partial(_delete_route, key=key)
                    yield StaleAttachment(mark, where, netns, functools.partial(_netlink, netns, remove))


def _netlink(netns: str, request: Callable[[Any], None]) -> None:
    """Run ``request`` with a new IPRoute in the named network namespace ("" for this one)."""
    from pyroute2 import IPRoute

    from pybpf.netns import inside

    with inside(netns) if netns else contextlib.nullcontext(), IPRoute() as ipr:
        request(ipr)


def _delete_route(ipr: Any, key: dict[str, Any]) -> None:
    from pyroute2.netlink.exceptions import NetlinkError

    try:
        ipr.route("del", **key)
    except NetlinkError as e:
        if e.code not in _GONE:
            raise


STRUCT_OPS_RECORDS = "/run/pybpf/struct_ops"


def record_struct_ops(map_id: int, program: str) -> None:
    """Note that this process registered STRUCT_OPS map ``map_id`` without a
    link: the kernel keeps such a registration after the process dies.  A
    process that may not write /run is warned that nothing will find it."""
    try:
        os.makedirs(STRUCT_OPS_RECORDS, exist_ok=True)
        with open(os.path.join(STRUCT_OPS_RECORDS, str(map_id)), "w", encoding="ascii") as f:
            f.write(str(Mark.own(program)))
    except OSError as e:
        warnings.warn(
            f"pybpf: struct_ops map '{program}' is registered without a link, but its owner cannot be recorded "
            f"({e}): if this process is killed, neither a restart nor pybpf cleanup will find it",
            RuntimeWarning,
            3,
        )


def forget_struct_ops(map_id: int) -> None:
    """The registration of ``map_id`` ended: drop its record."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(STRUCT_OPS_RECORDS, str(map_id)))


def _unregister_struct_ops(map_id: int) -> None:
    from pybpf._core.ffi import ffi, lib

    fd = lib.bpf_map_get_fd_by_id(map_id)
    if fd >= 0:
        try:
            lib.bpf_map_delete_elem(fd, ffi.new("__u32 *"))  # key 0: unregisters it
        finally:
            os.close(fd)
    forget_struct_ops(map_id)


def stale_struct_ops() -> list[StaleAttachment]:
    """The STRUCT_OPS registrations whose pybpf owner exited.  Records of
    maps the kernel no longer has are dropped on the way."""
    from pybpf._core.fdinfo import fdinfo
    from pybpf._core.ffi import lib

    found = []
    names = os.listdir(STRUCT_OPS_RECORDS) if os.path.isdir(STRUCT_OPS_RECORDS) else []
    for name in sorted(names):
        with open(os.path.join(STRUCT_OPS_RECORDS, name), encoding="ascii", errors="replace") as f:
            mark = Mark.parse(f.read().strip())
        if not name.isdigit() or mark is None or mark.alive:
            continue
        map_id = int(name)
        fd = lib.bpf_map_get_fd_by_id(map_id)
        if fd < 0:  # the kernel freed it: the registration is gone
            forget_struct_ops(map_id)
            continue
        try:
            info = fdinfo(fd)
        finally:
            os.close(fd)
        if info.get("map_type") != str(int(MapType.STRUCT_OPS)):  # the id was reused by another kind of map
            forget_struct_ops(map_id)
            continue
        where = f"struct_ops map {map_id}"
        found.append(StaleAttachment(mark, where, "", functools.partial(_unregister_struct_ops, map_id)))
    return found


@public
def stale_attachments() -> list[StaleAttachment]:
    """Every attachment an exited pybpf process left: tc filters and routes,
    in this process's network namespace and in every one named under
    ``/run/netns``, and STRUCT_OPS maps registered without a link."""
    from pyroute2 import IPRoute

    from pybpf.netns import inside

    found = []
    with IPRoute() as ipr:
        found += list(_stale_in_namespace(ipr, ""))
    names = sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else []
    for name in names:
        try:
            with inside(name), IPRoute() as ipr:
                found += list(_stale_in_namespace(ipr, name))
        except OSError:
            continue  # removed meanwhile
    return found + stale_struct_ops()
