"""Attaching tc programs: classifiers (SCHED_CLS) to an interface's ingress or
egress, through TCX links where the kernel has them (6.6) and a cls_bpf
filter in the clsact qdisc before; actions (SCHED_ACT) through a matchall
filter with a bpf action.  Filters are added with pyroute2 rather than
libbpf's tc API, which names a filter after its program: pybpf names it with
an owner mark (``marks``), so that what a killed process left can be found.
A clsact qdisc added here is removed again when its last filter goes.

A mixin of ``Program``.
"""

from __future__ import annotations

import errno

from pybpf._attach.base import AttachBase
from pybpf._attach.link import Link
from pybpf._core.attach_enums import AttachType
from pybpf._core.capabilities import net_admin_hints
from pybpf._core.errors import BPFValueError, check, error_for
from pybpf._core.ffi import ffi, lib
from pybpf._core.interfaces import ifindex_of

TYPE_CHECKING = False  # typing's own, without importing typing: start-up time (issue 17)
if TYPE_CHECKING:
    from typing import Any

    from pybpf._attach.modes import TcDirection, TcMode

__all__ = ["TcAttach"]

_TCX = {"ingress": AttachType.TCX_INGRESS, "egress": AttachType.TCX_EGRESS}


def _direction(direction: str) -> str:
    if direction not in _TCX:
        raise BPFValueError(errno.EINVAL, f"tc direction {direction!r}: use 'ingress' or 'egress'")
    return direction


class TcAttach(AttachBase):
    """Program methods for tc hooks (see ``Program``)."""

    def attach_tc(self, interface: str | int, direction: TcDirection = "ingress", *, mode: TcMode = "auto") -> Link:
        """Attach a classifier (``SEC("tc")``, SCHED_CLS) to ``interface``'s
        ingress or egress, looked up in this thread's network namespace.

        ``mode="tcx"`` makes a BPF link (6.6+): other programs on the hook
        keep running, and the kernel detaches it when the process dies.
        ``mode="cls_bpf"`` adds a direct-action cls_bpf filter to the
        interface's clsact qdisc (created if needed), as ``tc filter`` shows
        them: it outlives a killed process, carries an owner mark, and is
        replaced by the next attach of the same program to the hook (see
        ``pybpf cleanup``).  ``"auto"``: TCX where the kernel has it.
        Return ``TC_ACT_UNSPEC`` (-1) to let later programs decide.  Closing
        the link detaches the program.
        """
        if mode not in ("auto", "tcx", "cls_bpf"):
            raise BPFValueError(errno.EINVAL, f"tc mode {mode!r}: use 'auto', 'tcx' or 'cls_bpf'")
        prog_fd = self.fd
        ifindex = ifindex_of(interface)
        what = f"tc {_direction(direction)} of {interface!r}"
        if mode != "cls_bpf":
            fd = lib.bpf_link_create(prog_fd, ifindex, _TCX[direction], ffi.NULL)
            if fd != -errno.EINVAL or mode == "tcx":  # EINVAL: no TCX attach type in this kernel
                if fd < 0:  # the hints read /proc: on failure only
                    hints = {errno.EINVAL: "TCX needs Linux 6.6", **net_admin_hints()}
                    check(fd, f"attach program '{self._name}' to {what}", hints=hints)
                return self._link_fd(fd, f"tcx {direction} of {interface!r}")
        options = {"fd": prog_fd, "direct_action": True}
        return self._attach_tc_filter(ifindex, direction, "bpf", options, f"{what} (cls_bpf)", hint=None)

    def attach_tc_action(self, interface: str | int, direction: TcDirection = "ingress") -> Link:
        """Run an action program (``SEC("action")``, SCHED_ACT) on every
        packet of ``interface``'s ingress or egress: tc's ``act_bpf`` in a
        matchall filter of the clsact qdisc (created if needed), through
        pyroute2.  The kernel needs act_bpf and cls_matchall (modules on most
        distributions).  A program returning ``TC_ACT_UNSPEC`` (-1) lets the
        packet pass.  Closing the link removes the filter; a killed
        process leaves it, marked, for the next attach or ``pybpf cleanup``.
        """
        prog_fd = self.fd
        ifindex = ifindex_of(interface)
        what = f"tc action on {_direction(direction)} of {interface!r}"
        action = {"kind": "bpf", "fd": prog_fd, "action": "ok"}
        hint = "needs the act_bpf and cls_matchall tc modules"
        return self._attach_tc_filter(ifindex, direction, "matchall", {"action": action}, what, hint=hint)

    def _attach_tc_filter(
        self, ifindex: int, direction: str, kind: str, options: dict[str, Any], what: str, hint: str | None
    ) -> Link:
        """Add a ``kind`` filter holding this program, named with this
        process's mark, to a clsact hook, after removing what an exited
        pybpf process left there for the same program."""
        from pyroute2 import IPRoute
        from pyroute2.netlink.exceptions import NetlinkError

        from pybpf._attach.marks import Mark, delete_filter, remove_stale

        name = str(Mark.own(self._name))
        if kind == "matchall":
            options["action"]["name"] = name
        else:
            options["name"] = name
        created = False
        with IPRoute() as ipr:
            try:
                try:
                    ipr.tc("add", "clsact", ifindex)
                    created = True
                except NetlinkError as e:
                    if e.code != errno.EEXIST:
                        raise
                remove_stale(ipr, ifindex, direction, self._name)
                priority = _add_filter(ipr, ifindex, direction, kind, options)
            except NetlinkError as e:
                if created:
                    _drop_empty_clsact(ifindex, ipr)
                hint = net_admin_hints().get(e.code, hint)
                raise error_for(e.code, f"attach program '{self._name}' to {what}", hint=hint) from None

        def remove(ipr: IPRoute) -> None:
            delete_filter(ipr, ifindex, direction, kind, priority)
            if created:
                _drop_empty_clsact(ifindex, ipr)

        return self._netlink_link(remove, (errno.ENOENT, errno.ENODEV, errno.EINVAL), what)


def _add_filter(ipr: Any, ifindex: int, direction: str, kind: str, options: dict[str, Any]) -> int:
    """Add the filter at a priority no other filter has, so that removing
    the priority removes nothing else."""
    from pyroute2.netlink.exceptions import NetlinkError

    from pybpf._attach.marks import CLSACT_PARENT

    taken = {(msg["info"] >> 16) & 0xFFFF for msg in ipr.get_filters(index=ifindex, parent=CLSACT_PARENT[direction])}
    for priority in range(0xC000, 0xC000 + 1024):
        if priority in taken:
            continue
        try:
            ipr.tc("add-filter", kind, ifindex, parent=CLSACT_PARENT[direction], prio=priority, **options)
            return priority
        except NetlinkError as e:
            if e.code != errno.EEXIST:  # taken meanwhile: try the next
                raise
    raise NetlinkError(errno.EEXIST, "no free tc priority")


def _drop_empty_clsact(ifindex: int, ipr: Any) -> None:
    """Remove the clsact qdisc this library added, once neither hook has a
    filter left (another user's filters keep it)."""
    from pybpf._attach.marks import CLSACT_PARENT

    if not any(ipr.get_filters(index=ifindex, parent=parent) for parent in CLSACT_PARENT.values()):
        ipr.tc("del", "clsact", ifindex)
