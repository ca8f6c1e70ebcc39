"""Attaching tracing programs: tracepoints, raw tracepoints, kprobes,
uprobes, perf events, iterators, BPF trampolines (fentry/fexit/fmod_ret) and
LSM hooks.

A mixin of ``Program``: each method returns a ``Link`` whose ``close()``
detaches the program.
"""

from __future__ import annotations

import errno
import os
import warnings

from pybpf._attach.base import AttachBase
from pybpf._attach.link import IterLink, Link
from pybpf._core.attach_enums import PerfEventType, SoftwareEvent
from pybpf._core.errors import (
    BPFFileNotFoundError,
    BPFPermissionError,
    BPFValueError,
    c_string,
    check,
    require_unsigned,
)
from pybpf._core.ffi import ffi, lib
from pybpf._core.mounts import TRACEFS_PATH, tracefs_mounted, tracefs_unreadable

TYPE_CHECKING = False  # typing's own, without importing typing: start-up time (issue 17)
if TYPE_CHECKING:
    from pybpf._maps.base import MapBase

__all__ = ["TraceAttach"]


class TraceAttach(AttachBase):
    """Program methods for the tracing hooks (see ``Program``)."""

    def attach_tracepoint(self, category: str, name: str) -> Link:
        """Attach to the tracepoint ``category:name`` (needs tracefs); closing the link detaches."""
        self._require_loaded()
        self._require_tracefs()
        return self._link(
            lambda: lib.bpf_program__attach_tracepoint(self._live_ptr(), category.encode(), name.encode()),
            f"tracepoint {category}:{name}",
        )

    def attach_raw_tracepoint(self, name: str) -> Link:
        """Attach to the raw tracepoint ``name`` (e.g. ``sys_enter``); closing the link detaches."""
        self._require_loaded()
        return self._link(
            lambda: lib.bpf_program__attach_raw_tracepoint(self._live_ptr(), name.encode()), f"raw tracepoint {name}"
        )

    def attach_kprobe(self, symbol: str, *, retprobe: bool = False, offset: int = 0, cookie: int = 0) -> Link:
        """Attach a kprobe (or, with ``retprobe``, a kretprobe) to the kernel
        function ``symbol`` (+ ``offset`` bytes); ``cookie`` is what
        ``bpf_get_attach_cookie`` returns in the program.  Closing the link
        removes the probe."""
        self._require_loaded()
        opts = ffi.new("struct bpf_kprobe_opts *")
        opts.sz = ffi.sizeof("struct bpf_kprobe_opts")
        opts.retprobe = retprobe
        opts.offset = offset
        opts.bpf_cookie = cookie
        kind = "kretprobe" if retprobe else "kprobe"
        where = f"{symbol}+{offset:#x}" if offset else symbol
        return self._link(
            lambda: lib.bpf_program__attach_kprobe_opts(self._live_ptr(), c_string(symbol, "kprobe symbol"), opts),
            f"{kind} {where}",
            "kprobes",
        )

    def attach_uprobe(
        self,
        binary: str | os.PathLike[str],
        function: str | int,
        *,
        pid: int | None = None,
        retprobe: bool = False,
        cookie: int = 0,
    ) -> Link:
        """Attach a uprobe (or, with ``retprobe``, a uretprobe) to ``function``
        in ``binary``: a symbol name, which libbpf finds in the file's ELF
        symbols (a bare library name such as ``"libc.so.6"`` is looked up
        where the dynamic linker would), or a byte offset into the file.
        ``pid`` limits the probe to one process (None: every process running
        the file); ``cookie`` is what ``bpf_get_attach_cookie`` returns.
        Closing the link removes the probe."""
        path, target_pid, for_pid = self._user_probe(binary, pid)
        opts = ffi.new("struct bpf_uprobe_opts *")
        opts.sz = ffi.sizeof("struct bpf_uprobe_opts")
        opts.retprobe = retprobe
        opts.bpf_cookie = cookie
        offset = 0
        if isinstance(function, str):
            name = ffi.new("char[]", c_string(function, "uprobe function"))  # read by libbpf during the call
            opts.func_name = name
        else:
            offset = function
        kind = "uretprobe" if retprobe else "uprobe"
        where = f"{path}:{function if isinstance(function, str) else hex(function)}"
        return self._link(
            lambda: lib.bpf_program__attach_uprobe_opts(
                self._live_ptr(), target_pid, c_string(path, "uprobe binary"), offset, opts
            ),
            f"{kind} {where}{for_pid}",
        )

    def _user_probe(self, binary: str | os.PathLike[str], pid: int | None) -> tuple[str, int, str]:
        """For a uprobe or USDT probe of a loaded program: the binary's path
        (a missing file is an error here, before libbpf's), the pid libbpf
        takes (-1: every process) and how messages name it."""
        self._require_loaded()
        path = os.fspath(binary)
        if os.sep in path and not os.path.isfile(path):
            raise BPFFileNotFoundError(errno.ENOENT, f"attach program '{self._name}': no file {path!r} to probe")
        return path, -1 if pid is None else pid, "" if pid is None else f" (pid {pid})"

    def attach_usdt(
        self,
        binary: str | os.PathLike[str],
        provider: str,
        name: str,
        *,
        pid: int | None = None,
        cookie: int | None = None,
    ) -> Link:
        """Attach to the USDT probe ``provider:name`` (``DTRACE_PROBE`` &
        co, a ``.note.stapsdt`` note) of ``binary``, a program or library
        path (a bare name is looked up in ``PATH``, a library's where the
        dynamic linker would).  libbpf reads the probe's argument locations
        from the note, so ``BPF_USDT(prog, a, b)`` gets them; the program
        includes ``<bpf/usdt.bpf.h>``.  ``pid`` limits it to one process;
        ``cookie`` is what ``bpf_usdt_cookie()`` returns.  A probe with a
        semaphore is enabled while attached.  Closing the link removes every
        uprobe it made."""
        path, target_pid, for_pid = self._user_probe(binary, pid)
        opts = ffi.new("struct bpf_usdt_opts *")
        opts.sz = ffi.sizeof("struct bpf_usdt_opts")
        if cookie is not None:
            require_unsigned(f"attach program '{self._name}' to USDT", "cookie", cookie, 64)
            opts.usdt_cookie = cookie
        raw = (
            c_string(path, "USDT binary"),
            c_string(provider, "USDT provider"),
            c_string(name, "USDT probe name"),
        )
        try:
            return self._link(
                lambda: lib.bpf_program__attach_usdt(self._live_ptr(), target_pid, *raw, opts),
                f"USDT {provider}:{name} in {path}{for_pid}",
            )
        except BPFFileNotFoundError as exc:
            if not os.path.isfile(path) or (pid is not None and not os.path.exists(f"/proc/{pid}")):
                raise  # a bare name libbpf did not find, or no such process
            # The file is there: libbpf found no such probe in its notes.
            exc.strerror = (
                f"{exc.strerror} (the file has no USDT probe {provider}:{name}; `readelf -n` lists its probes)"
            )
            raise

    def attach_perf_event(
        self,
        event_type: PerfEventType | int,
        config: int,
        *,
        pid: int | None = None,
        cpu: int | None = None,
        sample_period: int | None = None,
        sample_freq: int | None = None,
    ) -> Link:
        """Open a perf event and run the program (``SEC("perf_event")``) on
        each of its samples: every ``sample_period`` events (default 1), or
        ``sample_freq`` times a second.

        With ``pid``, the event counts that process (on any CPU, or on
        ``cpu``); without, every process on ``cpu``, or on each online CPU
        (one event per CPU, one ``Link`` for all).  Software events
        (``PerfEventType.SOFTWARE``, ``SoftwareEvent.PAGE_FAULTS`` ...) exist
        everywhere; hardware ones need a PMU.  Closing the link closes the
        events.
        """
        self._require_loaded()
        if sample_period is not None and sample_freq is not None:
            raise BPFValueError(errno.EINVAL, "give sample_period or sample_freq, not both")
        freq = sample_freq is not None
        period = sample_freq if sample_freq is not None else (sample_period or 1)
        what = f"perf event {_perf_event_name(event_type, config)}"
        if pid is not None or cpu is not None:
            target_pid, target_cpu = (-1 if pid is None else pid), (-1 if cpu is None else cpu)
            where = (f" of pid {pid}" if pid is not None else "") + (f" on CPU {cpu}" if cpu is not None else "")
            return self._perf_link(int(event_type), config, period, freq, target_pid, target_cpu, what + where)
        links: list[Link] = []
        try:
            for each in online_cpus():
                links.append(self._perf_link(int(event_type), config, period, freq, -1, each, f"{what} on CPU {each}"))
        except BaseException:
            for link in links:
                link.close()
            raise

        def close_all() -> None:
            for link in links:
                link.close()

        return self._link_detach(close_all, f"{what} on every CPU")

    def _perf_link(self, event_type: int, config: int, period: int, freq: bool, pid: int, cpu: int, what: str) -> Link:
        pfd = check(
            lib.pybpf_perf_event_open(event_type, config, period, freq, pid, cpu),
            f"attach program '{self._name}' to {what}: open the event",
        )
        try:
            return self._link(lambda: lib.bpf_program__attach_perf_event(self._live_ptr(), pfd), what)
        except BaseException:
            os.close(pfd)  # the link owns it only once made
            raise

    def attach_iter(self, *, map: MapBase | None = None) -> IterLink:  # noqa: A002 - the kernel's word
        """Attach an iterator program (``SEC("iter/task")``, ``iter/bpf_map``
        ...; ``map=`` for ``iter/bpf_map_elem``, the map to walk).  The
        returned ``IterLink.read()`` runs one pass and returns what the
        program wrote.  Closing the link detaches it."""
        self._require_loaded()
        opts = ffi.NULL
        what = f"iterator {self.attach_target}"
        if map is not None:
            info = ffi.new("union bpf_iter_link_info *")
            info.map.map_fd = map.fd
            opts = ffi.new("struct bpf_iter_attach_opts *")
            opts.sz = ffi.sizeof("struct bpf_iter_attach_opts")
            opts.link_info = info
            opts.link_info_len = ffi.sizeof("union bpf_iter_link_info")
            what += f" of map '{map.name}'"
        link = self._link(lambda: lib.bpf_program__attach_iter(self._live_ptr(), opts), what, kind=IterLink)
        assert isinstance(link, IterLink)
        return link

    def attach_trace(self) -> Link:
        """Attach an fentry, fexit or fmod_ret program (or a BTF tracepoint,
        ``tp_btf``) to the kernel function its section or ``attach_target``
        names, through a BPF trampoline.  Closing the link detaches it."""
        self._require_loaded()
        what = f"trampoline of {self.attach_target}"
        return self._link(lambda: lib.bpf_program__attach_trace(self._live_ptr()), what, "trampolines")

    def attach_lsm(self) -> Link:
        """Attach an LSM program to the security hook its section names
        (``lsm/socket_create``).  The hook runs only where the BPF LSM is
        enabled at boot (``lsm=...,bpf``); where it is known not to be, this
        warns (``RuntimeWarning``).  Closing the link detaches it."""
        self._require_loaded()
        link = self._link(
            lambda: lib.bpf_program__attach_lsm(self._live_ptr()),
            f"LSM hook {self.attach_target}",
            "trampolines",
        )
        from pybpf import features  # probed only for LSM programs

        lsm = features.bpf_lsm()
        if not lsm and lsm.forbidden:
            warnings.warn(f"pybpf: program '{self._name}' attached but will not run: {lsm.reason}", RuntimeWarning, 2)
        return link

    @staticmethod
    def _require_tracefs() -> None:
        if tracefs_mounted():
            return
        unreadable = tracefs_unreadable()
        if unreadable:
            raise BPFPermissionError(
                errno.EACCES,
                f"tracefs is mounted at {unreadable} but this process cannot read it (mode "
                f"{os.stat(unreadable).st_mode & 0o777:o}): tracepoints are found by name there. Run as its "
                "owner, give this user access to it, or use attach_raw_tracepoint(), which needs no tracefs",
            )
        raise BPFFileNotFoundError(
            errno.ENOENT,
            f"tracefs is not mounted: tracepoints are found by name there. Mount it with "
            f"pybpf.mount_tracefs() or `mount -t tracefs tracefs {TRACEFS_PATH}`",
        )


def online_cpus() -> list[int]:
    """The CPUs that are online now (``/sys/devices/system/cpu/online``)."""
    with open("/sys/devices/system/cpu/online", encoding="ascii") as f:
        spec = f.read().strip()
    cpus: list[int] = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        cpus.extend(range(int(lo), int(hi or lo) + 1))
    return cpus


def _perf_event_name(event_type: PerfEventType | int, config: int) -> str:
    if event_type == PerfEventType.SOFTWARE and config in SoftwareEvent._value2member_map_:
        return f"software {SoftwareEvent(config).name.lower()}"
    kind = PerfEventType(event_type).name.lower() if event_type in PerfEventType._value2member_map_ else event_type
    return f"{kind} {config:#x}"
