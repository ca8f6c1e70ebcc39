"""Attaching tc programs: classifiers (SCHED_CLS) to an interface's ingress or
egress, through TCX links where the kernel has them (6.6) and libbpf's tc
hook API (a cls_bpf filter in the clsact qdisc) before; actions (SCHED_ACT)
through a matchall filter with a bpf action (pyroute2).  A clsact qdisc
added here is removed again when its last filter goes.

A mixin of ``Program``.
"""

from __future__ import annotations

import errno
from typing import Any, Literal

from pybpf._attach.base import AttachBase
from pybpf._attach.link import Link
from pybpf._core.enums import AttachType
from pybpf._core.errors import BPFValueError, check, error_for
from pybpf._core.ffi import ffi, lib
from pybpf._core.interfaces import ifindex_of

__all__ = ["TcAttach"]

TcDirection = Literal["ingress", "egress"]
_TCX = {"ingress": AttachType.TCX_INGRESS, "egress": AttachType.TCX_EGRESS}
# The clsact qdisc's two hooks as tc parents: TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS / _EGRESS).
_CLSACT_PARENT = {"ingress": 0xFFFFFFF2, "egress": 0xFFFFFFF3}


def _direction(direction: str) -> str:
    if direction not in _TCX:
        raise BPFValueError(errno.EINVAL, f"tc direction {direction!r}: use 'ingress' or 'egress'")
    return direction


class TcAttach(AttachBase):
    """Program methods for tc hooks (see ``Program``)."""

    def attach_tc(self, interface: str | int, direction: TcDirection = "ingress") -> Link:
        """Attach a classifier (``SEC("tc")``, SCHED_CLS) to ``interface``'s
        ingress or egress, looked up in this thread's network namespace.

        On kernels with TCX (6.6+) this is a BPF link, and other programs on
        the hook keep running; before, libbpf adds a direct-action cls_bpf
        filter to the interface's clsact qdisc (creating the qdisc if needed).
        Return ``TC_ACT_UNSPEC`` (-1) to let later programs decide.  Closing
        the link detaches the program.
        """
        prog_fd = self.fd
        ifindex = ifindex_of(interface)
        what = f"tc {_direction(direction)} of {interface!r}"
        fd = lib.bpf_link_create(prog_fd, ifindex, _TCX[direction], ffi.NULL)
        if fd != -errno.EINVAL:  # EINVAL: no TCX attach type in this kernel
            check(fd, f"attach program '{self._name}' to {what}")
            return self._link_fd(fd, f"tcx {direction} of {interface!r}")
        return self._attach_cls_bpf(prog_fd, ifindex, direction, what)

    def _attach_cls_bpf(self, prog_fd: int, ifindex: int, direction: str, what: str) -> Link:
        hook = ffi.new("struct bpf_tc_hook *")
        hook.sz = ffi.sizeof("struct bpf_tc_hook")
        hook.ifindex = ifindex
        hook.attach_point = lib.BPF_TC_INGRESS if direction == "ingress" else lib.BPF_TC_EGRESS
        ret = lib.bpf_tc_hook_create(hook)
        if ret < 0 and ret != -errno.EEXIST:
            check(ret, f"attach program '{self._name}' to {what}: create the clsact qdisc")
        created = ret == 0
        opts = ffi.new("struct bpf_tc_opts *")
        opts.sz = ffi.sizeof("struct bpf_tc_opts")
        opts.prog_fd = prog_fd
        try:
            check(lib.bpf_tc_attach(hook, opts), f"attach program '{self._name}' to {what}")
        except BaseException:
            if created:
                _drop_empty_clsact(ifindex)
            raise
        handle, priority = opts.handle, opts.priority

        def detach() -> None:
            gone = ffi.new("struct bpf_tc_opts *")
            gone.sz = ffi.sizeof("struct bpf_tc_opts")
            gone.handle, gone.priority = handle, priority
            lib.bpf_tc_detach(hook, gone)  # fails only if the interface is gone
            if created:
                _drop_empty_clsact(ifindex)

        return self._netns_link(detach, f"{what} (cls_bpf)")

    def attach_tc_action(self, interface: str | int, direction: TcDirection = "ingress") -> Link:
        """Run an action program (``SEC("action")``, SCHED_ACT) on every
        packet of ``interface``'s ingress or egress: tc's ``act_bpf`` in a
        matchall filter of the clsact qdisc (created if needed), through
        pyroute2.  The kernel needs act_bpf and cls_matchall (modules on most
        distributions).  A program returning ``TC_ACT_UNSPEC`` (-1) lets the
        packet pass.  Closing the link removes the filter.
        """
        from pyroute2 import IPRoute
        from pyroute2.netlink.exceptions import NetlinkError

        prog_fd = self.fd
        ifindex = ifindex_of(interface)
        what = f"tc action on {_direction(direction)} of {interface!r}"
        created = False
        with IPRoute() as ipr:
            try:
                try:
                    ipr.tc("add", "clsact", ifindex)
                    created = True
                except NetlinkError as e:
                    if e.code != errno.EEXIST:
                        raise
                priority = _add_matchall(ipr, ifindex, direction, prog_fd, self._name)
            except NetlinkError as e:
                if created:
                    _drop_empty_clsact(ifindex, ipr)
                hint = "needs the act_bpf and cls_matchall tc modules"
                raise error_for(e.code, f"attach program '{self._name}' to {what}", hint=hint) from None

        def remove(ipr: IPRoute) -> None:
            ipr.tc("del-filter", "matchall", ifindex, parent=_CLSACT_PARENT[direction], prio=priority)
            if created:
                _drop_empty_clsact(ifindex, ipr)

        return self._netlink_link(remove, (errno.ENOENT, errno.ENODEV, errno.EINVAL), what)


def _add_matchall(ipr: Any, ifindex: int, direction: str, prog_fd: int, name: str) -> int:
    """Add the matchall filter at a priority no other filter has (a matchall
    priority holds one filter), so that removing it removes nothing else."""
    from pyroute2.netlink.exceptions import NetlinkError

    for priority in range(0xC000, 0xC000 + 256):
        try:
            ipr.tc(
                "add-filter",
                "matchall",
                ifindex,
                parent=_CLSACT_PARENT[direction],
                prio=priority,
                action={"kind": "bpf", "fd": prog_fd, "name": name[:31], "action": "ok"},
            )
            return priority
        except NetlinkError as e:
            if e.code != errno.EEXIST:
                raise
    raise NetlinkError(errno.EEXIST, "no free tc priority")


def _drop_empty_clsact(ifindex: int, ipr: Any = None) -> None:
    """Remove the clsact qdisc this library added, once neither hook has a
    filter left (another user's filters keep it)."""
    from pyroute2 import IPRoute

    own = ipr is None
    ipr = IPRoute() if own else ipr
    try:
        if not any(ipr.get_filters(index=ifindex, parent=parent) for parent in _CLSACT_PARENT.values()):
            ipr.tc("del", "clsact", ifindex)
    finally:
        if own:
            ipr.close()
