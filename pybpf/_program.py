"""``Program``: one program of a ``BPFObject``: attach it, or run it with test_run."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pybpf import features
from pybpf._attach_cgroup import CgroupAttach
from pybpf._attach_lirc import LircAttach
from pybpf._attach_netfilter import NetfilterAttach
from pybpf._attach_route import RouteAttach
from pybpf._attach_socket import SocketAttach
from pybpf._attach_tc import TcAttach
from pybpf._attach_trace import TraceAttach
from pybpf._errors import BPFFileNotFoundError, BPFValueError, check, closed_error, error_for, with_details
from pybpf._ffi import ffi, lib, log_capture
from pybpf._interfaces import ifindex_of
from pybpf._link import Link
from pybpf._types import ProgType

__all__ = ["Program", "TestRunResult"]

_XDP_MODES = {"auto": 0, "native": lib.XDP_FLAGS_DRV_MODE, "generic": lib.XDP_FLAGS_SKB_MODE}


@dataclass(frozen=True)
class TestRunResult:
    """What ``Program.test_run`` got back from ``BPF_PROG_TEST_RUN``."""

    retval: int
    """The program's return value (e.g. an XDP action)."""
    data_out: bytes
    """The packet as the program left it."""
    duration: int
    """Average run time per repetition, in nanoseconds."""
    ctx_out: Any = None
    """The context as the program left it: bytes, or an instance of the type
    of the ``ctx`` passed in (None without one)."""


class Program(TraceAttach, CgroupAttach, TcAttach, SocketAttach, NetfilterAttach, RouteAttach, LircAttach):
    """A program of a ``BPFObject`` (a view: the object owns it).

    Attach methods return a ``Link``; closing the link detaches the program.
    """

    def __init__(self, obj: Any, ptr: Any) -> None:
        self._obj = obj
        self._ptr = ptr
        self._name = ffi.string(lib.bpf_program__name(ptr)).decode()
        self._section = ffi.string(lib.bpf_program__section_name(ptr)).decode()
        self._target = ""

    @property
    def name(self) -> str:
        """The program's name (its C function name)."""
        return str(self._name)

    @property
    def section(self) -> str:
        """The ELF section, e.g. ``xdp`` or ``tracepoint/raw_syscalls/sys_enter``."""
        return str(self._section)

    @property
    def type(self) -> ProgType:
        """The program type libbpf derived from the section."""
        value = lib.bpf_program__type(self._live_ptr())
        try:
            return ProgType(value)
        except ValueError:
            return ProgType.UNSPEC

    @property
    def autoload(self) -> bool:
        """Whether ``load()`` loads this program; settable before load."""
        return bool(lib.bpf_program__autoload(self._live_ptr()))

    @autoload.setter
    def autoload(self, value: bool) -> None:
        if self._obj.loaded:
            raise BPFValueError(errno.EINVAL, f"program '{self._name}': autoload can only be set before load()")
        check(lib.bpf_program__set_autoload(self._live_ptr(), bool(value)), f"set autoload of program '{self._name}'")

    @property
    def attach_target(self) -> str:
        """The kernel function (or BTF tracepoint) an fentry/fexit/fmod_ret/LSM
        program attaches to: from the section, or as set before load to
        retarget it (``prog.attach_target = "security_task_getpgid"``)."""
        return self._target or self._section.partition("/")[2]

    @attach_target.setter
    def attach_target(self, function: str) -> None:
        if self._obj.loaded:
            raise BPFValueError(errno.EINVAL, f"program '{self._name}': attach_target can only be set before load()")
        check(
            lib.bpf_program__set_attach_target(self._live_ptr(), 0, function.encode()),
            f"set attach target of program '{self._name}' to {function!r}",
            hints={errno.ESRCH: "the kernel's BTF has no such function"},  # libbpf's "not found" here
        )
        self._target = function

    @property
    def fd(self) -> int:
        """The loaded program's file descriptor (borrowed)."""
        ptr = self._live_ptr()
        fd = lib.bpf_program__fd(ptr)
        if fd < 0:
            raise BPFValueError(
                errno.EBADF, f"program '{self._name}' is not loaded (call load(); autoload={self.autoload})"
            )
        return int(fd)

    @property
    def id(self) -> int:
        """The loaded program's kernel id (what PROG_ARRAY and redirect maps report)."""
        info = ffi.new("struct bpf_prog_info *")
        size = ffi.new("__u32 *", ffi.sizeof("struct bpf_prog_info"))
        check(lib.bpf_obj_get_info_by_fd(self.fd, info, size), f"read info of program '{self._name}'")
        return int(info.id)

    def _live_ptr(self) -> Any:
        if self._obj.closed:
            raise closed_error("program", self._name)
        return self._ptr

    def __repr__(self) -> str:
        return f"<pybpf.Program '{self._name}' section={self._section!r}>"

    # -- attaching ------------------------------------------------------------

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
        """Hand a new link to the object, which detaches it when it closes."""
        return self._obj._track(link)  # type: ignore[no-any-return]

    def attach(self) -> Link:
        """Attach where the section name says (``tracepoint/cat/name``, ``raw_tp/x``,
        ``kprobe/fn``, ``fentry/fn``, ``lsm/hook``, ``uprobe/...``); closing the link detaches."""
        self.fd  # noqa: B018 - a clear error for a closed or unloaded program, before libbpf's
        if self._section.startswith(("tracepoint/", "tp/")):
            self._require_tracefs()
        probe = None
        if self.type in (ProgType.TRACING, ProgType.LSM):
            probe = features.trampolines
        elif self._section.startswith(("kprobe/", "kretprobe/", "ksyscall/", "kretsyscall/")):
            probe = features.kprobes
        return self._link(lambda: lib.bpf_program__attach(self._ptr), f"section {self._section!r}", probe)

    def attach_xdp(self, interface: str | int, *, mode: str = "auto") -> Link:
        """Attach to an interface's XDP hook through a BPF link.

        ``mode`` is ``"auto"`` (native if the driver has it, else generic),
        ``"native"`` or ``"generic"``.  Closing the link detaches the program.
        The interface is looked up in this thread's network namespace.
        """
        prog_fd = self.fd  # a clear error for a closed or unloaded program, before libbpf's
        try:
            flags = _XDP_MODES[mode]
        except KeyError:
            raise BPFValueError(errno.EINVAL, f"XDP mode {mode!r}: use one of {', '.join(_XDP_MODES)}") from None
        ifindex = ifindex_of(interface)
        what = f"XDP on {interface!r} ({mode})"
        if flags == 0:
            return self._link(lambda: lib.bpf_program__attach_xdp(self._ptr, ifindex), what)
        opts = ffi.new("struct bpf_link_create_opts *")
        opts.sz = ffi.sizeof("struct bpf_link_create_opts")
        opts.flags = flags
        fd = check(lib.bpf_link_create(prog_fd, ifindex, lib.BPF_XDP, opts), f"attach program '{self._name}' to {what}")
        return self._link_fd(fd, what)

    def attach_netns(self, netns: str | os.PathLike[str] | int | None = None) -> Link:
        """Attach an ``sk_lookup`` (or flow dissector) program to a network namespace.

        ``netns`` is a name from ``ip netns`` (``/run/netns/NAME``), a path to a
        namespace file, an open namespace fd, or None for this thread's
        namespace.  The link holds the namespace; closing it detaches.
        """
        self.fd  # noqa: B018
        if isinstance(netns, int):
            return self._link(lambda: lib.bpf_program__attach_netns(self._ptr, netns), f"netns fd {netns}")
        if netns is None:
            path = "/proc/thread-self/ns/net"
        else:
            path = os.fspath(netns)
            if os.sep not in path:
                path = os.path.join("/run/netns", path)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise BPFFileNotFoundError(errno.ENOENT, f"no network namespace {netns!r} ({path})") from None
        try:
            return self._link(lambda: lib.bpf_program__attach_netns(self._ptr, fd), f"netns {path}")
        finally:
            os.close(fd)  # the link holds the namespace now

    # -- running --------------------------------------------------------------

    def test_run(
        self, data: bytes = b"", *, ctx: Any = None, repeat: int = 1, data_out_size: int | None = None
    ) -> TestRunResult:
        """Run the program in the kernel on ``data`` (``BPF_PROG_TEST_RUN``),
        ``repeat`` times, without attaching it.

        ``ctx`` is the program's context (bytes, or a ctypes instance such as
        ``obj.btf_type("struct args")(...)``): the ``__sk_buff`` fields of a
        packet program, or the whole argument of a ``SEC("syscall")``
        program, which is run this way only.  The context the program left
        comes back as ``ctx_out``, in the same type.
        """
        opts = ffi.new("struct bpf_test_run_opts *")
        opts.sz = ffi.sizeof("struct bpf_test_run_opts")
        data_in = ffi.from_buffer(data)
        out_size = data_out_size if data_out_size is not None else len(data) + 256
        data_out = ffi.new("char[]", max(out_size, 1))
        if data:
            opts.data_in = data_in
            opts.data_size_in = len(data)
            opts.data_out = data_out
            opts.data_size_out = out_size
        ctx_bytes = b"" if ctx is None else bytes(ctx)
        ctx_in = ffi.new("char[]", ctx_bytes or b"\0")
        ctx_out = ffi.new("char[]", max(len(ctx_bytes), 1))
        syscall = self.type == ProgType.SYSCALL
        if syscall:
            # The kernel runs these once and writes the context back in place.
            if repeat != 1 or data:
                raise BPFValueError(errno.EINVAL, f"program '{self._name}': a syscall program runs once, on ctx only")
            ctx_out = ctx_in
            repeat = 0
        if ctx_bytes:
            opts.ctx_in = ctx_in
            opts.ctx_size_in = len(ctx_bytes)
            if not syscall:
                opts.ctx_out = ctx_out
                opts.ctx_size_out = len(ctx_bytes)
        opts.repeat = repeat
        check(lib.bpf_prog_test_run_opts(self.fd, opts), f"test_run program '{self._name}'")
        if syscall:
            opts.ctx_size_out = len(ctx_bytes)
        returned = None
        if ctx is not None:
            raw = ffi.buffer(ctx_out, min(opts.ctx_size_out, len(ctx_bytes)))[:]
            returned = raw if isinstance(ctx, (bytes, bytearray, memoryview)) else type(ctx).from_buffer_copy(raw)
        return TestRunResult(
            retval=opts.retval,
            data_out=ffi.buffer(data_out, min(opts.data_size_out, out_size))[:] if data else b"",
            duration=opts.duration,
            ctx_out=returned,
        )
