"""What the running kernel supports, probed once and cached.

The library's errors and the test suite ask here instead of guessing from
the kernel version: distributions backport features, and configurations
(lockdown, missing modules) take them away.
"""

from __future__ import annotations

import errno
import functools
import os
import re
from typing import NamedTuple

from pybpf._codecs.btf import BTF
from pybpf._core.attach_enums import AttachType
from pybpf._core.capabilities import needs_hint, program_needs
from pybpf._core.enums import MapFlags, MapType, ProgType
from pybpf._core.errors import BPFError, NotSupportedError, check
from pybpf._core.ffi import ffi, lib, libbpf_version
from pybpf._core.mounts import tracefs_root

__all__ = [
    "Support",
    "attach_type",
    "bpf_lsm",
    "fentry_can_attach",
    "helper",
    "kernel_release",
    "kernel_version",
    "kfunc_exists",
    "kprobe_exists",
    "kprobes",
    "map_type",
    "program_type",
    "return_type",
    "struct_ops_links",
    "tracepoint_exists",
    "trampolines",
]

KPROBE_PMU = "/sys/bus/event_source/devices/kprobe/type"
KALLSYMS = "/proc/kallsyms"
KPROBE_BLACKLIST = "/sys/kernel/debug/kprobes/blacklist"
LSM_LIST = "/sys/kernel/security/lsm"
_TRACEFS_KPROBES = ("/sys/kernel/tracing/kprobe_events", "/sys/kernel/debug/tracing/kprobe_events")
# mov64 r0, 0; exit: the smallest program every type accepts.
_RETURN_ZERO = bytes([0xB7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0])
# Program types that load only for their one attach type (libbpf knows this for the types it knows).
_EXPECTED_ATTACH = {ProgType.NETFILTER: AttachType.NETFILTER}
# How verifiers refuse a helper: unknown id, or not for this program type (old and new wording).
_HELPER_REFUSALS = ("invalid func", "unknown func", "cannot use helper")


class Support(NamedTuple):
    """A probe's answer: true when the kernel has the feature.

    Otherwise ``reason`` says why not, and ``forbidden`` tells a kernel whose
    configuration takes the feature away (lockdown, not built, not enabled at
    boot) from one too old to have it.
    """

    ok: bool
    reason: str = ""
    forbidden: bool = False

    def __bool__(self) -> bool:
        return self.ok


@functools.lru_cache(maxsize=None)
def map_type(kind: MapType) -> bool:
    """Whether the kernel can create maps of type ``kind``: libbpf's probe,
    or, for a type newer than the libbpf pybpf was built with, a small map of
    the type created here."""
    try:
        return bool(check(lib.libbpf_probe_bpf_map_type(int(kind), ffi.NULL), f"probe map type {kind.name}"))
    except NotSupportedError:
        pass  # a type this libbpf does not know
    key_size, value_size, flags = _MAP_PROBES.get(kind, (4, 8, 0))
    opts = ffi.new("struct bpf_map_create_opts *")
    opts.sz = ffi.sizeof("struct bpf_map_create_opts")
    opts.map_flags = flags
    try:
        fd = check(
            lib.bpf_map_create(int(kind), b"pybpf_probe", key_size, value_size, 1, opts), f"create a {kind.name}"
        )
    except BPFError:
        return False
    os.close(fd)
    return True


# What a one-entry map of the types newer than libbpf 1.1 needs: key size, value size, flags.
_MAP_PROBES = {MapType.ARENA: (0, 0, int(MapFlags.MMAPABLE))}


@functools.lru_cache(maxsize=None)
def program_type(kind: ProgType) -> Support:
    """Whether the kernel can load programs of type ``kind``: libbpf's
    probe, or a return-0 program of the type loaded here (for a type newer
    than the libbpf pybpf was built with, and to learn why libbpf's probe
    failed).  A load refused for a capability this process lacks is not
    the kernel lacking the type: its reason names the capability."""
    try:
        if check(lib.libbpf_probe_bpf_prog_type(int(kind), ffi.NULL), f"probe program type {kind.name}"):
            return Support(True)
    except NotSupportedError:
        pass  # a type this libbpf does not know
    opts = ffi.new("struct bpf_prog_load_opts *")
    opts.sz = ffi.sizeof("struct bpf_prog_load_opts")
    opts.expected_attach_type = _EXPECTED_ATTACH.get(kind, 0)
    insns = ffi.cast("struct bpf_insn *", ffi.from_buffer(_RETURN_ZERO))
    try:
        fd = check(lib.bpf_prog_load(int(kind), b"pybpf_probe", b"GPL", insns, 2, opts), f"load a {kind.name} probe")
    except BPFError as e:
        if e.errno in (errno.EPERM, errno.EACCES):
            hint = needs_hint(f"loading {kind.name} programs", *program_needs(kind))
            return Support(False, hint or f"loading {kind.name} programs was refused: {e.strerror}", forbidden=True)
        return Support(False, f"this kernel has no {kind.name} programs (too old, or built without them)")
    os.close(fd)
    return Support(True)


@functools.lru_cache(maxsize=None)
def helper(program: ProgType, helper_id: int) -> bool:
    """Whether programs of type ``program`` may call helper ``helper_id``
    (``BPF_FUNC_*``, e.g. 1 for bpf_map_lookup_elem).

    Loads a program that only calls the helper and reads the verifier's
    answer: a helper it refuses is named in the log before any argument is
    checked.  (libbpf's own probe misreads the wording newer kernels use.)
    Types that load only against a kernel function (tracing, LSM, ...) are
    left to libbpf's probe.
    """
    if program in (ProgType.TRACING, ProgType.LSM, ProgType.EXT, ProgType.STRUCT_OPS):
        return bool(check(lib.libbpf_probe_bpf_helper(int(program), helper_id, ffi.NULL), f"probe helper {helper_id}"))
    call = bytes([0x85, 0, 0, 0]) + helper_id.to_bytes(4, "little")  # call helper_id
    insns = ffi.from_buffer(call + _RETURN_ZERO)
    log = ffi.new("char[]", 4096)
    opts = ffi.new("struct bpf_prog_load_opts *")
    opts.sz = ffi.sizeof("struct bpf_prog_load_opts")
    opts.log_buf, opts.log_size, opts.log_level = log, 4096, 1
    try:
        fd = check(
            lib.bpf_prog_load(int(program), b"pybpf_probe", b"GPL", ffi.cast("struct bpf_insn *", insns), 3, opts),
            f"probe helper {helper_id}",
        )
    except BPFError:
        text = ffi.string(log).decode(errors="replace")
        return not any(refusal in text for refusal in _HELPER_REFUSALS)
    os.close(fd)
    return True


@functools.lru_cache(maxsize=None)
def attach_type(kind: AttachType | int) -> bool:
    """Whether the kernel knows the attach type ``kind`` (its table maps it
    to a program type): BPF_PROG_ATTACH checks that before it looks at the
    fds it is given, and says EINVAL for a type it does not know."""
    try:
        check(lib.bpf_prog_attach(-1, -1, int(kind), 0), f"probe attach type {kind}")
    except BPFError as e:
        return e.errno == errno.EBADF  # the fds were looked at: the type is known
    return True  # cannot happen with fd -1


def kernel_release() -> str:
    """``uname -r`` of the running kernel."""
    return os.uname().release


def kernel_version() -> tuple[int, int]:
    """(major, minor) of the running kernel."""
    match = re.match(r"(\d+)\.(\d+)", kernel_release())
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


@functools.lru_cache(maxsize=None)
def trampolines() -> Support:
    """Whether fentry/fexit/fmod_ret (and LSM) programs attach: loads a
    return-0 fentry program on ``bpf_fentry_test1`` and attaches it once."""
    btf_id = lib.libbpf_find_vmlinux_btf_id(b"bpf_fentry_test1", AttachType.TRACE_FENTRY)
    if btf_id < 0:
        return Support(False, "the kernel's BTF has no bpf_fentry_test1 to probe fentry with")
    opts = ffi.new("struct bpf_prog_load_opts *")
    opts.sz = ffi.sizeof("struct bpf_prog_load_opts")
    opts.expected_attach_type = AttachType.TRACE_FENTRY
    opts.attach_btf_id = btf_id
    insns = ffi.from_buffer(_RETURN_ZERO)
    try:
        prog_fd = check(
            lib.bpf_prog_load(ProgType.TRACING, b"pybpf_probe", b"GPL", ffi.cast("struct bpf_insn *", insns), 2, opts),
            "load an fentry probe",
        )
    except BPFError as e:
        return _trampolines_refused("load", e)
    try:
        link_fd = check(lib.bpf_link_create(prog_fd, 0, AttachType.TRACE_FENTRY, ffi.NULL), "attach an fentry probe")
    except BPFError as e:
        return _trampolines_refused("attach", e)
    finally:
        os.close(prog_fd)
    os.close(link_fd)
    return Support(True)


def _trampolines_refused(step: str, e: BPFError) -> Support:
    # EPERM while other program types load means a policy, not missing privilege.
    if e.errno == errno.EPERM and program_type(ProgType.SOCKET_FILTER):
        return Support(
            False,
            f"the kernel refuses to {step} BPF trampoline programs (fentry/fexit/fmod_ret/LSM/freplace) "
            "although other programs load: ftrace function tracing is blocked here",
            forbidden=True,
        )
    return Support(False, f"fentry programs do not {step}: {e.strerror}")


@functools.lru_cache(maxsize=None)
def kprobes() -> Support:
    """Whether kprobes exist: the kprobe PMU, or tracefs's kprobe_events."""
    if os.path.exists(KPROBE_PMU) or any(os.path.exists(p) for p in _TRACEFS_KPROBES):
        return Support(True)
    return Support(False, "kprobes are not built into this kernel (no kprobe PMU, no kprobe_events)", forbidden=True)


def bpf_lsm() -> Support:
    """Whether the BPF LSM is active (``bpf`` in the boot's ``lsm=`` list), so
    LSM programs run once attached.  Reads securityfs, which must be mounted."""
    try:
        with open(LSM_LIST, encoding="ascii") as f:
            active = f.read().strip().split(",")
    except FileNotFoundError:
        return Support(
            False,
            f"securityfs is not mounted ({LSM_LIST} is missing): mount it with pybpf.mount_securityfs() "
            "or `mount -t securityfs securityfs /sys/kernel/security`",
        )
    if "bpf" in active:
        return Support(True)
    return Support(
        False,
        f"the BPF LSM is not enabled (active: {','.join(active)}); boot with lsm={','.join([*active, 'bpf'])}",
        forbidden=True,
    )


@functools.lru_cache(maxsize=None)
def struct_ops_links() -> Support:
    """Whether a STRUCT_OPS map can be registered through a BPF link (6.4,
    libbpf 1.2), which the kernel drops with its last fd: the kernel's BTF
    has the link's type, and the running libbpf makes such links."""
    if libbpf_version() < (1, 2):
        major, minor = libbpf_version()
        return Support(False, f"struct_ops links need libbpf >= 1.2 (this is {major}.{minor})")
    try:
        btf = BTF.vmlinux()
    except BPFError as e:
        return Support(False, str(e))
    try:
        btf.find("struct bpf_struct_ops_link")
    except KeyError:
        return Support(False, f"this kernel has no struct_ops links (6.4+; running {kernel_release()})")
    finally:
        btf.close()
    return Support(True)


@functools.lru_cache(maxsize=None)
def return_type(function: str) -> tuple[str, int, bool]:
    """The return type of the kernel function ``function`` from the running
    kernel's BTF: (C name, size in bytes, signed); ("void", 0, False) for void.

    Kernel functions change signature between versions (``do_sys_openat2``
    returned long up to 6.12, int later); a program reading a return value
    needs to know which.
    """
    btf = BTF.vmlinux()
    try:
        func_id = btf.find(f"func {function}")
        ret_id = btf.proto_return(func_id)
        if ret_id == 0:
            return ("void", 0, False)
        info = btf.int_info(ret_id)
        size, signed = info if info is not None else (btf.size(ret_id), False)
        return (btf.name(btf.resolve(ret_id)) or btf.name(ret_id), size, signed)
    finally:
        btf.close()


# -- per-symbol probes ----------------------------------------------------------------


def tracepoint_exists(category: str, name: str) -> Support:
    """Whether the tracepoint ``category:name`` exists (tracefs lists it;
    a private tracefs mount is made for the look if none is mounted)."""
    if os.sep in category or os.sep in name or category in ("", ".", "..") or name in ("", ".", ".."):
        return Support(False, f"{category!r}:{name!r} is not a tracepoint name")
    with tracefs_root() as root:
        if os.path.isdir(os.path.join(root, "events", category, name)):
            return Support(True)
        if os.path.isdir(os.path.join(root, "events", category)):
            return Support(False, f"the kernel has no tracepoint {name!r} in {category!r}")
        return Support(False, f"the kernel has no tracepoint category {category!r}")


def kprobe_exists(symbol: str) -> Support:
    """Whether a kprobe can go on the kernel function ``symbol``: kprobes are
    built, the function is in ``/proc/kallsyms`` (not inlined away) and not
    on the kprobe blacklist (read where debugfs is mounted)."""
    built = kprobes()
    if not built:
        return built
    if symbol not in _text_symbols():
        return Support(False, f"the kernel has no function {symbol!r} (not in {KALLSYMS}: absent, or inlined)")
    try:
        with open(KPROBE_BLACKLIST, encoding="ascii", errors="replace") as f:
            if any(line.split()[-1:] == [symbol] for line in f):
                return Support(False, f"{symbol!r} is on the kernel's kprobe blacklist", forbidden=True)
    except OSError:
        pass  # debugfs not mounted: the attach will say
    return Support(True)


@functools.lru_cache(maxsize=1)
def _text_symbols() -> frozenset[str]:
    names: set[str] = set()
    with open(KALLSYMS, encoding="ascii", errors="replace") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[1] in ("t", "T"):
                names.add(parts[2])
    return frozenset(names)


@functools.lru_cache(maxsize=None)
def fentry_can_attach(function: str) -> Support:
    """Whether an fentry/fexit program can attach to the kernel function
    ``function``: the kernel's BTF has it, and a return-0 fentry program
    aimed at it loads and attaches (then is detached at once)."""
    btf_id = lib.libbpf_find_vmlinux_btf_id(function.encode(), AttachType.TRACE_FENTRY)
    if btf_id < 0:
        return Support(False, f"the kernel's BTF has no function {function!r}")
    allowed = trampolines()
    if not allowed:
        return allowed
    opts = ffi.new("struct bpf_prog_load_opts *")
    opts.sz = ffi.sizeof("struct bpf_prog_load_opts")
    opts.expected_attach_type = AttachType.TRACE_FENTRY
    opts.attach_btf_id = btf_id
    insns = ffi.cast("struct bpf_insn *", ffi.from_buffer(_RETURN_ZERO))
    try:
        prog_fd = check(
            lib.bpf_prog_load(ProgType.TRACING, b"pybpf_probe", b"GPL", insns, 2, opts), f"load fentry on {function}"
        )
    except BPFError as e:
        return Support(False, f"an fentry program on {function!r} does not load: {e.strerror}")
    try:
        link_fd = check(lib.bpf_link_create(prog_fd, 0, AttachType.TRACE_FENTRY, ffi.NULL), f"attach to {function}")
    except BPFError as e:
        return Support(False, f"an fentry program on {function!r} does not attach (notrace?): {e.strerror}")
    finally:
        os.close(prog_fd)
    os.close(link_fd)
    return Support(True)


def kfunc_exists(name: str) -> Support:
    """Whether the kernel has the kfunc ``name`` (a kernel function BPF
    programs may call).  Kernels whose BTF tags kfuncs (``bpf_kfunc``
    declaration tags, pahole 1.26+) answer exactly; on others only the
    function's presence in BTF is known, and the reason says so."""
    kfuncs, tagged = _kfuncs()
    if name in kfuncs:
        return Support(True)
    if tagged:
        return Support(False, f"the kernel has no kfunc {name!r}")
    if lib.libbpf_find_vmlinux_btf_id(name.encode(), AttachType.TRACE_FENTRY) >= 0:
        return Support(True, f"the kernel's BTF does not tag kfuncs: {name!r} is a function, maybe not a kfunc")
    return Support(False, f"the kernel's BTF has no function {name!r}")


@functools.lru_cache(maxsize=1)
def _kfuncs() -> tuple[frozenset[str], bool]:
    """The names the kernel's BTF tags ``bpf_kfunc``, and whether it tags any."""
    btf = BTF.vmlinux()
    try:
        return btf.tagged_functions("bpf_kfunc")
    finally:
        btf.close()
