"""What the attach mixins of ``Program`` share: turning what the kernel or
libbpf attached into a ``Link`` that the program's object owns, and the
declarations (for the type checker) of what ``Program`` itself provides."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

from pybpf._attach.link import Link
from pybpf._core.errors import call_ptr

TYPE_CHECKING = False  # typing's own, without importing typing: start-up time (issue 17)
if TYPE_CHECKING:
    from typing import Any, Literal

    from pyroute2 import IPRoute

    from pybpf._core.enums import ProgType
    from pybpf._object.object import BPFObject
    from pybpf._object.program import Program

    #: A probe of :mod:`pybpf.features` that can tell why an attachment failed;
    #: named, because the probes are imported only after a failure.
    Probe = Literal["trampolines", "kprobes"]

__all__ = ["AttachBase"]

_THREAD_NETNS = "/proc/thread-self/ns/net"


class AttachBase:
    """The base of the attach mixins (``CgroupAttach``, ``TcAttach`` ...)."""

    _obj: BPFObject | None  # the owning object; None for a program opened from the kernel
    _ptr: Any
    _name: str

    if TYPE_CHECKING:  # Program's

        @property
        def fd(self) -> int: ...

        @property
        def type(self) -> ProgType: ...

        @property
        def attach_target(self) -> str: ...

        def _live_ptr(self) -> Any: ...

        def _expected_attach_type(self) -> int: ...

        def _using(self) -> contextlib.AbstractContextManager[int]: ...

    def _require_loaded(self) -> int:
        """The program's fd: a clear error for a closed or unloaded program, before libbpf's."""
        return self.fd

    def _program(self) -> Program:
        return self  # type: ignore[return-value]  # every mixin is a Program

    def _link(
        self,
        attach: Callable[[], Any],
        what: str,
        probe: Probe | None = None,
        *,
        kind: Callable[..., Link] = Link,
    ) -> Link:
        """Run libbpf's ``attach()`` through the pointer funnel and own the
        link it returns (a ``kind``).  A failure says what libbpf reported,
        or what ``probe`` found the kernel lacks.  Closing the object waits
        for the call."""

        def reason() -> str | None:
            if probe is None:
                return None
            from pybpf import features

            support: features.Support = getattr(features, probe)()
            return None if support else support.reason

        with self._using():
            ptr = call_ptr(attach, f"attach program '{self._name}' to {what}", hint=reason)
        return self._keep(kind(ptr=ptr, what=f"'{self._name}' -> {what}", program=self._program()))

    def _link_fd(self, fd: int, what: str) -> Link:
        """Own a link fd from bpf_link_create."""
        return self._keep(Link(fd=fd, what=f"'{self._name}' -> {what}", program=self._program()))

    def _link_detach(self, detach: Callable[[], None], what: str) -> Link:
        """Own an attachment the kernel keeps without a BPF link (a tc filter,
        a route, a socket option): closing the link runs ``detach``."""
        return self._keep(Link(what=f"'{self._name}' -> {what}", detach=detach, program=self._program()))

    def _netns_link(self, detach: Callable[[], None], what: str) -> Link:
        """Own an attachment made through netlink in this thread's network
        namespace: closing the link runs ``detach`` back in that namespace,
        from whichever thread closes it."""
        netns = os.open(_THREAD_NETNS, os.O_RDONLY | os.O_CLOEXEC)

        def detach_there() -> None:
            from pybpf.netns import inside  # pyroute2: imported only when needed

            try:
                with inside(netns):
                    detach()
            finally:
                os.close(netns)

        return self._link_detach(detach_there, what)

    def _netlink_link(self, remove: Callable[[IPRoute], None], gone: tuple[int, ...], what: str) -> Link:
        """Own what a pyroute2 request added in this thread's network
        namespace: closing the link runs ``remove`` with a new IPRoute there,
        and takes the errnos in ``gone`` as already removed (with its
        interface).  No netlink socket stays open meanwhile, so none is
        shared with a forked child."""
        from pyroute2 import IPRoute
        from pyroute2.netlink.exceptions import NetlinkError

        def detach() -> None:
            try:
                with IPRoute() as ipr:
                    remove(ipr)
            except NetlinkError as e:
                if e.code not in gone:
                    raise

        return self._netns_link(detach, what)

    def _keep(self, link: Link) -> Link:
        """Hand a new link to the object, which detaches it when it closes
        (a program opened from the kernel leaves it to the caller)."""
        return link if self._obj is None else self._obj._track(link)
