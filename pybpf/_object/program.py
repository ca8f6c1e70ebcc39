"""``Program``: one program of a ``BPFObject``: attach it, or run it with test_run."""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from functools import partial

from pybpf._attach.hooks import Hooks
from pybpf._attach.link import Link
from pybpf._core.capabilities import net_admin_hints
from pybpf._core.enums import ProgType
from pybpf._core.errors import (
    BPFError,
    BPFFileNotFoundError,
    BPFValueError,
    NotSupportedError,
    c_string,
    c_text,
    check,
    require_unsigned,
)
from pybpf._core.fdinfo import require_bpf_fd_kind
from pybpf._core.ffi import ffi, lib
from pybpf._core.handle import OwnedHandle
from pybpf._core.ids import walk_ids
from pybpf._core.interfaces import ifindex_of
from pybpf._core.mounts import require_bpffs
from pybpf._core.public import public

TYPE_CHECKING = False  # typing's own, without importing typing: start-up time (issue 17)
if TYPE_CHECKING:
    from typing import Any

    from pybpf._attach.base import Probe
    from pybpf._attach.modes import XdpMode
    from pybpf._core.attach_enums import AttachType
    from pybpf._core.reports import ProgramInfo, TestRunResult
    from pybpf._object.object import BPFObject

__all__ = ["Program", "programs"]

# Sections libbpf attaches by themselves when they name a target after "/".
_AUTO_SECTIONS = frozenset(
    {
        "tracepoint", "tp", "raw_tracepoint", "raw_tp", "raw_tracepoint.w", "raw_tp.w", "tp_btf",
        "kprobe", "kretprobe", "kprobe.multi", "kretprobe.multi", "kprobe.session", "ksyscall", "kretsyscall",
        "uprobe", "uretprobe", "uprobe.s", "uretprobe.s", "uprobe.multi", "uretprobe.multi", "uprobe.multi.s",
        "uretprobe.multi.s", "usdt", "usdt.s",
        "fentry", "fexit", "fmod_ret", "fentry.s", "fexit.s", "fmod_ret.s", "lsm", "lsm.s", "iter", "iter.s",
        "freplace",
    }
)  # fmt: skip
# The call that attaches each program type whose section cannot say where.
_ATTACH_CALLS = {
    ProgType.XDP: "attach_xdp(interface)",
    ProgType.SCHED_CLS: "attach_tc(interface)",
    ProgType.SCHED_ACT: "attach_tc_action(interface)",
    ProgType.SOCKET_FILTER: "attach_socket(sock)",
    ProgType.SK_REUSEPORT: "attach_reuseport(sock)",
    ProgType.SK_SKB: "attach_sockmap(sockmap)",
    ProgType.SK_MSG: "attach_sockmap(sockmap)",
    ProgType.SK_LOOKUP: "attach_netns(netns)",
    ProgType.FLOW_DISSECTOR: "attach_netns(netns)",
    ProgType.PERF_EVENT: "attach_perf_event(type, config)",
    ProgType.TRACEPOINT: "attach_tracepoint(category, name)",
    ProgType.RAW_TRACEPOINT: "attach_raw_tracepoint(name)",
    ProgType.LIRC_MODE2: "attach_lirc(device)",
    ProgType.NETFILTER: "attach_netfilter(family, hook, priority)",
    ProgType.LWT_IN: "attach_route(destination, interface)",
    ProgType.LWT_OUT: "attach_route(destination, interface)",
    ProgType.LWT_XMIT: "attach_route(destination, interface)",
    ProgType.LWT_SEG6LOCAL: "attach_seg6local(sid, interface)",
    ProgType.EXT: "set_attach_target(func_name, target) before load, or attach_freplace(target, func_name)",
    ProgType.SYSCALL: "test_run(ctx=...): syscall programs run, they do not attach",
    ProgType.STRUCT_OPS: "nothing: load() registers its struct_ops map (StructOpsMap.attach_struct_ops)",
    **dict.fromkeys(
        (
            ProgType.CGROUP_SKB,
            ProgType.CGROUP_SOCK,
            ProgType.CGROUP_SOCK_ADDR,
            ProgType.CGROUP_SOCKOPT,
            ProgType.CGROUP_SYSCTL,
            ProgType.CGROUP_DEVICE,
            ProgType.SOCK_OPS,
        ),
        "attach_cgroup(path)",
    ),
}
_RUN_ONCE = frozenset({ProgType.SYSCALL, ProgType.RAW_TRACEPOINT, ProgType.RAW_TRACEPOINT_WRITABLE})
_XDP_MODES: dict[str, int] = {"auto": 0, "native": lib.XDP_FLAGS_DRV_MODE, "generic": lib.XDP_FLAGS_SKB_MODE}


def _program_fd(target: Program | int, what: str) -> tuple[int, str]:
    """The fd of a program given as a ``Program`` or an fd, and how messages name it."""
    if isinstance(target, Program):
        return target.fd, f"program '{target.name}'"
    require_unsigned(what, "target", target, 31)
    require_bpf_fd_kind(target, "prog", f"{what}: target fd {target}")
    return target, f"program fd {target}"


def _prog_info(fd: int, what: str) -> ProgramInfo:
    info = ffi.new("struct bpf_prog_info *")
    size = ffi.new("__u32 *", ffi.sizeof("struct bpf_prog_info"))
    check(lib.bpf_obj_get_info_by_fd(fd, info, size), f"read info of {what}")
    count = info.nr_map_ids
    ids = ffi.new("__u32[]", max(count, 1))
    if count:  # a second call for the ids: the kernel fills what we point it at
        again = ffi.new("struct bpf_prog_info *")
        again.nr_map_ids = count
        again.map_ids = ffi.cast("__u64", ids)
        size[0] = ffi.sizeof("struct bpf_prog_info")
        check(lib.bpf_obj_get_info_by_fd(fd, again, size), f"read map ids of {what}")
        count = min(count, again.nr_map_ids)
    from pybpf._core.reports import ProgramInfo  # here, not at import: typing.NamedTuple (start-up time)

    kind = info.type
    return ProgramInfo(
        id=info.id,
        name=ffi.string(info.name).decode(errors="replace"),
        type=ProgType(kind) if kind in ProgType._value2member_map_ else kind,
        tag=bytes(ffi.buffer(info.tag, 8)).hex(),
        run_count=info.run_cnt,
        run_time_ns=info.run_time_ns,
        verified_instructions=info.verified_insns,
        map_ids=tuple(ids[i] for i in range(count)),
        translated_size=info.xlated_prog_len,
        jited_size=info.jited_prog_len,
        load_time_ns=info.load_time,
    )


@public
def programs() -> list[ProgramInfo]:
    """Every program loaded in the kernel (all processes), by id: what
    ``bpftool prog list`` shows.  Programs unloaded while this runs are skipped."""
    return [_prog_info(fd, f"program id {prog_id}") for prog_id, fd in walk_ids("prog")]


@public
class Program(OwnedHandle, Hooks):
    """A program of a ``BPFObject`` (a view: the object owns it), or one
    opened from the kernel with ``from_pinned`` / ``from_id`` (an owning
    handle: ``close()`` it).

    Attach methods return a ``Link``; closing the link detaches the program.
    A program opened from the kernel has no libbpf object behind it: the
    attach methods built on the kernel's own calls work (XDP, tc, cgroups
    with ``kind=``, sockets, sockmaps, netfilter, routes), those that need
    libbpf's view of the object (by section, kprobes, tracepoints ...) say so.
    """

    _kind = "program"

    def __init__(self, obj: BPFObject | None, ptr: Any) -> None:
        self._obj = obj
        self._ptr = ptr
        self._name = c_text(lib.bpf_program__name(ptr)) if ptr is not None else ""
        self._section = c_text(lib.bpf_program__section_name(ptr)) if ptr is not None else ""
        self._init_handle(f"'{self._name}'")
        self._target = ""
        self._attach_prog: Program | int | None = None  # the program set_attach_target aimed at
        self._log_buffer: Any = None  # set_log_buffer's memory, which libbpf fills at load
        self._own_fd = -1
        self._info_type = 0  # the kernel's word on the type, for a program opened from it

    @classmethod
    def from_pinned(cls, path: str | os.PathLike[str]) -> Program:
        """Open the program pinned at ``path`` on a bpffs (an owning handle)."""
        path = os.fspath(path)
        fd = check(lib.bpf_obj_get(c_string(path, "open pinned program")), f"open pinned program {path}")
        return cls._from_fd(fd, f"pinned at {path}")

    @classmethod
    def from_id(cls, prog_id: int) -> Program:
        """Open a loaded program by its kernel id (an owning handle)."""
        require_unsigned("open program by id", "prog_id", prog_id, 32)
        fd = check(lib.bpf_prog_get_fd_by_id(prog_id), f"open program id {prog_id}")
        return cls._from_fd(fd, f"id {prog_id}")

    @classmethod
    def _from_fd(cls, fd: int, where: str) -> Program:
        try:
            require_bpf_fd_kind(fd, "prog", f"open program {where}: it")
            info = _prog_info(fd, f"program {where}")
        except BaseException:
            os.close(fd)
            raise
        prog = cls(None, None)
        prog._name = info.name or f"<{where}>"
        prog._label = f"'{prog._name}'"
        prog._own_fd = prog._guard.fd = fd
        prog._info_type = info.type
        prog._own(partial(os.close, fd), forget=partial(os.close, fd))
        return prog

    @property
    def closed(self) -> bool:
        """Whether the program can no longer be used (its handle or its object was closed)."""
        if self._obj is None:
            return bool(self._guard.closed)
        return self._obj.closed

    def close(self) -> None:
        """Release a program opened from the kernel (it stays loaded while
        pinned or attached).  A program of an object closes with its object:
        this does nothing for it.  Idempotent."""
        if self._obj is None:
            super().close()

    def _after_release(self) -> None:
        self._own_fd = -1

    def __enter__(self) -> Program:
        return self

    def pin(self, path: str | os.PathLike[str]) -> None:
        """Pin the loaded program on a bpffs: it stays loaded after this
        process exits, until the pin file is removed."""
        path = os.fspath(path)
        require_bpffs(path, f"pin program '{self._name}'")
        with self._using() as fd:
            check(lib.bpf_obj_pin(fd, c_string(path, "pin program")), f"pin program '{self._name}' at {path}")

    def info(self) -> ProgramInfo:
        """What the kernel reports about the loaded program: id, tag, run
        statistics (counted while ``pybpf.enable_stats()`` is on), verified
        instructions, the maps it uses."""
        with self._using() as fd:
            return _prog_info(fd, f"program '{self._name}'")

    @contextlib.contextmanager
    def _using(self) -> Iterator[int]:
        """The program's fd, as a call in flight on its owner (the object, or
        this handle): closing waits for the block."""
        fd = self.fd
        with self._obj._use() if self._obj is not None else self._use():
            yield fd

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
        """The program type: derived by libbpf from the section unless set
        before load (``prog.type = ProgType.SCHED_CLS``)."""
        value = self._info_type if self._obj is None else lib.bpf_program__type(self._live_ptr())
        try:
            return ProgType(value)
        except ValueError:
            return ProgType.UNSPEC

    @type.setter
    def type(self, kind: ProgType) -> None:
        ptr = self._unloaded_ptr("type")
        check(lib.bpf_program__set_type(ptr, int(kind)), f"set type of program '{self._name}'")

    @property
    def expected_attach_type(self) -> AttachType | int:
        """The hook the kernel verifies the program for (``AttachType``):
        from the section unless set before load."""
        from pybpf._core.attach_enums import AttachType  # here, not at import: start-up time

        value = self._expected_attach_type()
        return AttachType(value) if value in AttachType._value2member_map_ else value

    @expected_attach_type.setter
    def expected_attach_type(self, kind: AttachType) -> None:
        ptr = self._unloaded_ptr("expected_attach_type")
        check(lib.bpf_program__set_expected_attach_type(ptr, int(kind)), f"set attach type of program '{self._name}'")

    def _expected_attach_type(self) -> int:
        """The expected attach type, -1 when only the kernel knows it (a program opened from a pin)."""
        return -1 if self._obj is None else int(lib.bpf_program__expected_attach_type(self._live_ptr()))

    @property
    def log_level(self) -> int:
        """The verifier log level for ``load()`` (0 none, 1 the log, 2 with
        every state, 4 statistics); settable before load.  The log of a
        program the verifier accepts is then in the ``pybpf.libbpf`` logger."""
        return int(lib.bpf_program__log_level(self._live_ptr()))

    @log_level.setter
    def log_level(self, level: int) -> None:
        ptr = self._unloaded_ptr("log_level")
        check(lib.bpf_program__set_log_level(ptr, level), f"set log level of program '{self._name}'")

    @property
    def autoload(self) -> bool:
        """Whether ``load()`` loads this program; settable before load."""
        return bool(lib.bpf_program__autoload(self._live_ptr()))

    @autoload.setter
    def autoload(self, value: bool) -> None:
        ptr = self._unloaded_ptr("autoload")
        check(lib.bpf_program__set_autoload(ptr, bool(value)), f"set autoload of program '{self._name}'")

    def _unloaded_ptr(self, setting: str) -> Any:
        """The libbpf program, for a setting that only exists before load."""
        ptr = self._live_ptr()
        if self._obj is not None and self._obj.loaded:
            raise BPFValueError(errno.EINVAL, f"program '{self._name}': {setting} can only be set before load()")
        return ptr

    @property
    def flags(self) -> int:
        """The load flags (``BPF_F_SLEEPABLE``, ``BPF_F_XDP_HAS_FRAGS`` ...):
        from the section unless set before load."""
        return int(lib.bpf_program__flags(self._live_ptr()))

    @flags.setter
    def flags(self, flags: int) -> None:
        ptr = self._unloaded_ptr("flags")
        require_unsigned(f"set flags of program '{self._name}'", "flags", flags, 32)
        check(lib.bpf_program__set_flags(ptr, flags), f"set flags of program '{self._name}'")

    def set_log_buffer(self, size: int) -> None:
        """Keep this program's verifier log in a buffer of ``size`` bytes at
        ``load()`` (with ``log_level`` 1 if it is 0), for :attr:`verifier_log`
        to return, instead of sending it to the ``pybpf.libbpf`` logger.  A
        log longer than the buffer fails the load with ENOSPC, as in libbpf."""
        ptr = self._unloaded_ptr("the log buffer")
        require_unsigned(f"set the log buffer of program '{self._name}'", "size", size, 32)
        if size < 128:
            raise BPFValueError(errno.EINVAL, f"program '{self._name}': a verifier log buffer needs >= 128 bytes")
        buffer = ffi.new("char[]", size)
        check(lib.bpf_program__set_log_buf(ptr, buffer, size), f"set the log buffer of program '{self._name}'")
        self._log_buffer = buffer  # libbpf writes into it at load
        if not self.log_level:
            self.log_level = 1

    @property
    def verifier_log(self) -> str:
        """The verifier's log from ``load()``, kept by :meth:`set_log_buffer` ('' without one)."""
        if self._log_buffer is None:
            return ""
        size = ffi.new("size_t *")
        text = lib.bpf_program__log_buf(self._live_ptr(), size)
        return c_text(text) if text != ffi.NULL else ""

    @property
    def autoattach(self) -> bool:
        """Whether ``BPFObject.attach()`` attaches this program (default True
        where the section says where); settable before ``attach()``."""
        return bool(lib.bpf_program__autoattach(self._live_ptr()))

    @autoattach.setter
    def autoattach(self, value: bool) -> None:
        lib.bpf_program__set_autoattach(self._live_ptr(), bool(value))

    @property
    def attach_target(self) -> str:
        """The kernel function (or BTF tracepoint) an fentry/fexit/fmod_ret/LSM
        program attaches to: from the section, or as set before load to
        retarget it (``prog.attach_target = "security_task_getpgid"``).
        :meth:`set_attach_target` also targets a BPF program's function."""
        return self._target or self._section.partition("/")[2]

    @attach_target.setter
    def attach_target(self, function: str) -> None:
        self.set_attach_target(function)

    def set_attach_target(self, func_name: str, target: Program | int | None = None) -> None:
        """Before load, aim this program at ``func_name``: a kernel function
        (``target=None``), or a global function of the loaded BPF program
        ``target`` (a ``Program`` or a program fd): what an freplace (EXT)
        program replaces, or an fentry/fexit program traces.  The verifier
        checks the program against that function's BTF."""
        ptr = self._unloaded_ptr("attach_target")
        what = f"set attach target of program '{self._name}' to {func_name!r}"
        raw = c_string(func_name, "attach target")
        if target is None:
            check(
                lib.bpf_program__set_attach_target(ptr, 0, raw),
                what,
                hints={errno.ESRCH: "the kernel's BTF has no such function"},  # libbpf's "not found" here
            )
        else:
            target_fd, label = _program_fd(target, what)
            self._attach_prog = target  # the target must stay loaded until this one is
            check(lib.bpf_program__set_attach_target(ptr, target_fd, raw), f"{what} of {label}")
        self._target = func_name

    @property
    def fd(self) -> int:
        """The loaded program's file descriptor (borrowed)."""
        if self._obj is None:
            self._require_open()
            return self._own_fd
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
        return self.info().id

    def _live_ptr(self) -> Any:
        if self._obj is None:
            raise BPFValueError(
                errno.EINVAL,
                f"program '{self._name}' was opened from the kernel, not from its object: this needs libbpf's "
                "view of the object (its section and settings); attach through the kernel's own calls instead "
                "(attach_xdp, attach_tc, attach_cgroup(kind=...), attach_socket, attach_sockmap(kind=...) ...)",
            )
        if self._obj.closed:
            raise self._closed_error()
        return self._ptr

    def __repr__(self) -> str:
        return f"<pybpf.Program '{self._name}' section={self._section!r}>"

    # -- attaching ------------------------------------------------------------

    def attach(self) -> Link:
        """Attach where the section name says (``tracepoint/cat/name``, ``raw_tp/x``,
        ``kprobe/fn``, ``fentry/fn``, ``lsm/hook``, ``uprobe/...``,
        ``usdt/...``, ``freplace`` aimed by :meth:`set_attach_target`);
        closing the link detaches.  A section that does not say where (a
        bare ``SEC("uprobe")``, ``xdp``, ``tc`` ...) is an error naming the
        ``attach_*`` call that takes the target."""
        self._require_loaded()
        if self._section.startswith(("tracepoint/", "tp/")):
            self._require_tracefs()
        probe: Probe | None = None
        if self.type in (ProgType.TRACING, ProgType.LSM, ProgType.EXT):
            probe = "trampolines"
        elif self._section.startswith(("kprobe/", "kretprobe/", "ksyscall/", "kretsyscall/")):
            probe = "kprobes"
        try:
            return self._link(lambda: lib.bpf_program__attach(self._live_ptr()), f"section {self._section!r}", probe)
        except BPFError as exc:
            call = self._attach_call() if exc.errno == errno.EOPNOTSUPP else None
            if call is None:
                raise
            raise NotSupportedError(
                errno.EOPNOTSUPP,
                f"attach program '{self._name}': its section {self._section!r} does not say where to attach; "
                f"use {call}",
            ) from None

    @property
    def attaches_by_section(self) -> bool:
        """Whether :meth:`attach` knows where to attach from the section
        alone (``tracepoint/x/y``, ``kprobe/fn``, ``usdt/bin:prov:name``,
        ``fentry/fn``, ``iter/task`` ...) or from :meth:`set_attach_target`."""
        kind, slash, target = self._section.partition("/")
        if self.type in (ProgType.EXT, ProgType.TRACING, ProgType.LSM) and self._target:
            return True
        return bool(slash and target) and kind in _AUTO_SECTIONS

    def _attach_call(self) -> str | None:
        """The ``attach_*`` call for a program whose section names no target."""
        section = self._section
        if self.type == ProgType.KPROBE:
            if section.startswith("usdt"):
                return "attach_usdt(binary, provider, name)"
            if section.startswith(("uprobe", "uretprobe")):
                return "attach_uprobe(binary, symbol)"
            return "attach_kprobe(function)"
        return _ATTACH_CALLS.get(self.type)

    def attach_freplace(self, target: Program | int, func_name: str) -> Link:
        """Replace the global function ``func_name`` of the loaded program
        ``target`` (a ``Program`` or a program fd) with this freplace (EXT)
        program, through a BPF link; closing the link restores the original.
        A program loaded with :meth:`set_attach_target` attaches with
        :meth:`attach` instead."""
        self._require_loaded()
        target_fd, label = _program_fd(target, f"attach program '{self._name}'")
        raw = c_string(func_name, "freplace target")
        return self._link(
            lambda: lib.bpf_program__attach_freplace(self._live_ptr(), target_fd, raw),
            f"{func_name!r} of {label}",
            "trampolines",
        )

    def attach_xdp(self, interface: str | int, *, mode: XdpMode = "auto") -> Link:
        """Attach to an interface's XDP hook through a BPF link.

        ``mode`` is ``"auto"`` (native if the driver has it, else generic),
        ``"native"`` or ``"generic"``.  Closing the link detaches the program.
        The interface is looked up in this thread's network namespace.
        """
        self._require_loaded()
        try:
            flags = _XDP_MODES[mode]
        except KeyError:
            raise BPFValueError(errno.EINVAL, f"XDP mode {mode!r}: use one of {', '.join(_XDP_MODES)}") from None
        ifindex = ifindex_of(interface)
        what = f"XDP on {interface!r} ({mode})"
        opts = ffi.new("struct bpf_link_create_opts *")
        opts.sz = ffi.sizeof("struct bpf_link_create_opts")
        opts.flags = flags  # 0: native where the driver has it, else generic
        with self._using() as prog_fd:
            fd = lib.bpf_link_create(prog_fd, ifindex, lib.BPF_XDP, opts)
        if fd < 0:  # the hints read /proc: on failure only
            check(fd, f"attach program '{self._name}' to {what}", hints=net_admin_hints())
        return self._link_fd(fd, what)

    def attach_netns(self, netns: str | os.PathLike[str] | int | None = None) -> Link:
        """Attach an ``sk_lookup`` (or flow dissector) program to a network namespace.

        ``netns`` is a name from ``ip netns`` (``/run/netns/NAME``), a path to a
        namespace file, an open namespace fd, or None for this thread's
        namespace.  The link holds the namespace; closing it detaches.
        """
        self._require_loaded()
        if isinstance(netns, int):
            return self._link(lambda: lib.bpf_program__attach_netns(self._live_ptr(), netns), f"netns fd {netns}")
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
            return self._link(lambda: lib.bpf_program__attach_netns(self._live_ptr(), fd), f"netns {path}")
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
        comes back as ``ctx_out``, in the same type.  SYSCALL and raw
        tracepoint programs run once, on ``ctx`` only (a raw tracepoint's
        arguments as u64s); only the syscall program's context comes back.
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
        kind = self.type
        once = kind in _RUN_ONCE
        if once:
            # The kernel runs these once, on the context alone, and takes no
            # output buffer; a syscall program's context comes back in place.
            if repeat != 1 or data:
                raise BPFValueError(
                    errno.EINVAL, f"program '{self._name}': a {kind.name} program runs once, on ctx only"
                )
            ctx_out = ctx_in
            repeat = 0
        if ctx_bytes:
            opts.ctx_in = ctx_in
            opts.ctx_size_in = len(ctx_bytes)
            if not once:
                opts.ctx_out = ctx_out
                opts.ctx_size_out = len(ctx_bytes)
        opts.repeat = repeat
        with self._using() as fd:
            check(lib.bpf_prog_test_run_opts(fd, opts), f"test_run program '{self._name}'")
        if once:
            opts.ctx_size_out = len(ctx_bytes) if kind == ProgType.SYSCALL else 0
        returned = None
        if ctx is not None and (not once or kind == ProgType.SYSCALL):
            raw = ffi.buffer(ctx_out, min(opts.ctx_size_out, len(ctx_bytes)))[:]
            returned = raw if isinstance(ctx, (bytes, bytearray, memoryview)) else type(ctx).from_buffer_copy(raw)
        from pybpf._core.reports import TestRunResult  # here, not at import: typing.NamedTuple (start-up time)

        return TestRunResult(
            retval=opts.retval,
            data_out=ffi.buffer(data_out, min(opts.data_size_out, out_size))[:] if data else b"",
            duration=opts.duration,
            ctx_out=returned,
        )
