"""What the attach mixins of ``Program`` share: turning what the kernel or
libbpf attached into a ``Link`` that the program's object owns, and the
declarations (for the type checker) of what ``Program`` itself provides."""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pybpf import features
from pybpf._errors import error_for, with_details
from pybpf._ffi import ffi, log_capture
from pybpf._link import Link

if TYPE_CHECKING:
    from pybpf._types import ProgType

__all__ = ["AttachBase"]


class AttachBase:
    """The base of the attach mixins (``CgroupAttach``, ``TcAttach`` ...)."""

    _obj: Any  # the owning BPFObject; None for a program opened from the kernel
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

    def _link(
        self,
        attach: Callable[[], Any],
        what: str,
        probe: Callable[[], features.Support] | None = None,
        *,
        kind: Callable[..., Link] = Link,
    ) -> Link:
        """Run libbpf's ``attach()`` and own the link it returns (a ``kind``).
        A failure says what libbpf reported, or what ``probe`` found the kernel lacks."""
        with log_capture() as cap:
            ptr = attach()
        if ptr == ffi.NULL:
            err = ffi.errno or errno.EINVAL
            support = probe() if probe is not None else None
            hint = support.reason if support is not None and not support else None
            exc = error_for(err, f"attach program '{self._name}' to {what}", hint=hint)
            raise exc if hint else with_details(exc, cap.messages, program_lines=True)
        return self._own(kind(ptr=ptr, what=f"'{self._name}' -> {what}", program=self))

    def _link_fd(self, fd: int, what: str) -> Link:
        """Own a link fd from bpf_link_create."""
        return self._own(Link(fd=fd, what=f"'{self._name}' -> {what}", program=self))

    def _link_detach(self, detach: Callable[[], None], what: str) -> Link:
        """Own an attachment the kernel keeps without a BPF link (a tc filter,
        a route, a socket option): closing the link runs ``detach``."""
        return self._own(Link(what=f"'{self._name}' -> {what}", detach=detach, program=self))

    def _netlink_link(self, ipr: Any, remove: Callable[[], None], gone: tuple[int, ...], what: str) -> Link:
        """Own what ``ipr`` (an IPRoute bound to the attachment's namespace,
        now owned by the link) added: closing the link runs ``remove``, takes
        the errnos in ``gone`` as already removed (with its interface), and
        closes ``ipr``."""
        from pyroute2.netlink.exceptions import NetlinkError

        def detach() -> None:
            try:
                remove()
            except NetlinkError as e:
                if e.code not in gone:
                    raise
            finally:
                ipr.close()

        return self._link_detach(detach, what)

    def _own(self, link: Link) -> Link:
        """Hand a new link to the object, which detaches it when it closes
        (a program opened from the kernel leaves it to the caller)."""
        return link if self._obj is None else self._obj._track(link)
