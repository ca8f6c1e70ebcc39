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

    def _own(self, link: Link) -> Link:
        """Hand a new link to the object, which detaches it when it closes
        (a program opened from the kernel leaves it to the caller)."""
        return link if self._obj is None else self._obj._track(link)
