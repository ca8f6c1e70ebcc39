"""Attaching tracing programs: tracepoints, raw tracepoints, kprobes, BPF
trampolines (fentry/fexit/fmod_ret) and LSM hooks.

A mixin of ``Program``: each method returns a ``Link`` whose ``close()``
detaches the program.
"""

from __future__ import annotations

import errno
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pybpf import features
from pybpf._errors import BPFError, BPFFileNotFoundError, error_for
from pybpf._ffi import ffi, lib
from pybpf._link import Link
from pybpf._mounts import TRACEFS_PATH, tracefs_mounted

__all__ = ["TraceAttach"]


class TraceAttach:
    """Program methods for the tracing hooks (see ``Program``)."""

    _ptr: Any
    _name: str

    if TYPE_CHECKING:  # Program's

        @property
        def fd(self) -> int: ...

        @property
        def attach_target(self) -> str: ...

        def _link(self, ptr: Any, what: str) -> Link: ...

    def _link_explained(self, ptr: Any, what: str, probe: Callable[[], features.Support]) -> Link:
        """``_link``, but a failure the feature probe can explain says why."""
        try:
            return self._link(ptr, what)
        except BPFError as e:
            support = probe()
            if support or e.errno is None:
                raise
            raise error_for(e.errno, f"attach program '{self._name}' to {what}", hint=support.reason) from None

    def attach_tracepoint(self, category: str, name: str) -> Link:
        """Attach to the tracepoint ``category:name`` (needs tracefs); closing the link detaches."""
        self.fd  # noqa: B018 - a clear error for a closed or unloaded program, before libbpf's
        self._require_tracefs()
        return self._link(
            lib.bpf_program__attach_tracepoint(self._ptr, category.encode(), name.encode()),
            f"tracepoint {category}:{name}",
        )

    def attach_raw_tracepoint(self, name: str) -> Link:
        """Attach to the raw tracepoint ``name`` (e.g. ``sys_enter``); closing the link detaches."""
        self.fd  # noqa: B018
        return self._link(lib.bpf_program__attach_raw_tracepoint(self._ptr, name.encode()), f"raw tracepoint {name}")

    def attach_kprobe(self, symbol: str, *, retprobe: bool = False, offset: int = 0, cookie: int = 0) -> Link:
        """Attach a kprobe (or, with ``retprobe``, a kretprobe) to the kernel
        function ``symbol`` (+ ``offset`` bytes); ``cookie`` is what
        ``bpf_get_attach_cookie`` returns in the program.  Closing the link
        removes the probe."""
        self.fd  # noqa: B018
        opts = ffi.new("struct bpf_kprobe_opts *")
        opts.sz = ffi.sizeof("struct bpf_kprobe_opts")
        opts.retprobe = retprobe
        opts.offset = offset
        opts.bpf_cookie = cookie
        kind = "kretprobe" if retprobe else "kprobe"
        where = f"{symbol}+{offset:#x}" if offset else symbol
        return self._link_explained(
            lib.bpf_program__attach_kprobe_opts(self._ptr, symbol.encode(), opts), f"{kind} {where}", features.kprobes
        )

    def attach_trace(self) -> Link:
        """Attach an fentry, fexit or fmod_ret program (or a BTF tracepoint,
        ``tp_btf``) to the kernel function its section or ``attach_target``
        names, through a BPF trampoline.  Closing the link detaches it."""
        self.fd  # noqa: B018
        return self._link_explained(
            lib.bpf_program__attach_trace(self._ptr), f"trampoline of {self.attach_target}", features.trampolines
        )

    def attach_lsm(self) -> Link:
        """Attach an LSM program to the security hook its section names
        (``lsm/socket_create``).  The hook runs only where the BPF LSM is
        enabled at boot (``lsm=...,bpf``); where it is known not to be, this
        warns (``RuntimeWarning``).  Closing the link detaches it."""
        self.fd  # noqa: B018
        link = self._link_explained(
            lib.bpf_program__attach_lsm(self._ptr), f"LSM hook {self.attach_target}", features.trampolines
        )
        lsm = features.bpf_lsm()
        if not lsm and lsm.forbidden:
            warnings.warn(f"pybpf: program '{self._name}' attached but will not run: {lsm.reason}", RuntimeWarning, 2)
        return link

    @staticmethod
    def _require_tracefs() -> None:
        if not tracefs_mounted():
            raise BPFFileNotFoundError(
                errno.ENOENT,
                f"tracefs is not mounted: tracepoints are found by name there. Mount it with "
                f"pybpf.mount_tracefs() or `mount -t tracefs tracefs {TRACEFS_PATH}`",
            )
