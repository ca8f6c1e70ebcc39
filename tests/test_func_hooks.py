"""Kernel function hooks (bpf_progs/func_hooks.bpf.c): fentry/fexit, kprobes,
fmod_ret and LSM, attached for real and triggered by a child process.

The host kernel forbids trampolines and has no kprobes: there these skip with
the probe's reason, and the VM matrix (tests/vm/) runs them.
"""

from __future__ import annotations

import errno
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import pybpf

pytestmark = pytest.mark.kernel

OPENS = 37
GETSIDS = 3
MISSING = "/nonexistent-pybpf-func-hooks"

# Everything the child needs is imported before it says it is ready: after
# "go" it makes exactly the calls it counts, and no other open().
CHILD = f"""
import json, os, socket, sys
print("ready", flush=True)
sys.stdin.read(1)
opens = 0
for _ in range({OPENS}):
    try:
        os.open({MISSING!r}, os.O_RDONLY)
    except FileNotFoundError:
        opens += 1
sid = []
for _ in range({GETSIDS}):
    try:
        os.getsid(os.getpid())  # getsid(0) skips the security hook
        sid.append(0)
    except OSError as e:
        sid.append(e.errno)
sockets = {{}}
for family in (socket.AF_INET, socket.AF_UNIX):
    try:
        socket.socket(family, socket.SOCK_DGRAM).close()
        sockets[int(family)] = 0
    except OSError as e:
        sockets[int(family)] = e.errno
print(json.dumps({{"opens": opens, "getsid": sid, "sockets": sockets}}))
"""


@contextmanager
def hooks(*programs: str) -> Iterator[pybpf.BPFObject]:
    """func_hooks with only ``programs`` loaded, reading do_sys_openat2's
    return value as the running kernel's BTF types it."""
    obj = pybpf.BPFObject.open(pybpf.shipped("func_hooks"))
    with obj:
        _, size, _ = pybpf.features.return_type("do_sys_openat2")
        obj.rodata["openat2_ret_size"] = size
        for prog in obj.programs.values():
            prog.autoload = prog.name in programs
        obj.load()
        yield obj


def run_child(watched: pybpf.Map, **decisions: int) -> tuple[Any, dict[str, Any]]:
    """Run CHILD watched (with ``decisions`` in its map entry); return what the
    programs recorded for it and what the child saw."""
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        watched[child.pid] = decisions
        out, _ = child.communicate(b"g", timeout=120)
        assert child.returncode == 0
        return watched[child.pid], json.loads(out)
    finally:
        child.kill()
        child.wait()
        watched.pop(child.pid, None)


@pytest.mark.requires_feature("fentry", min="5.5")
def test_fentry_fexit_count_a_childs_opens_and_read_the_return_value() -> None:
    with hooks("openat2_entry", "openat2_exit") as obj:
        with obj.programs["openat2_entry"].attach_trace(), obj.programs["openat2_exit"].attach():
            seen, child = run_child(obj.maps["watched"])
    assert child["opens"] == OPENS
    assert (seen.openat2_entries, seen.openat2_exits) == (OPENS, OPENS)
    assert seen.openat2_ret == -errno.ENOENT  # right whether the kernel returns long or int


@pytest.mark.requires_feature("kprobes", min="4.1")
def test_kprobe_and_kretprobe_count_a_childs_opens() -> None:
    with hooks("openat2_kprobe", "openat2_kretprobe") as obj:
        entry = obj.programs["openat2_kprobe"].attach_kprobe("do_sys_openat2")
        with entry, obj.programs["openat2_kretprobe"].attach_kprobe("do_sys_openat2", retprobe=True):
            seen, child = run_child(obj.maps["watched"])
        assert entry.closed
        after, _ = run_child(obj.maps["watched"])  # closing the links removed the probes
    assert child["opens"] == OPENS
    assert (seen.kprobe_hits, seen.kretprobe_hits) == (OPENS, OPENS)
    assert seen.kretprobe_ret == -errno.ENOENT
    assert (after.kprobe_hits, after.kretprobe_hits) == (0, 0)


@pytest.mark.requires_feature("fentry", min="5.7")
def test_fmod_ret_answers_getsid_with_the_errno_from_the_map() -> None:
    with hooks("deny_getsid") as obj:
        with obj.programs["deny_getsid"].attach_trace():
            seen, child = run_child(obj.maps["watched"], deny_errno=errno.EACCES)
            spared, spared_child = run_child(obj.maps["watched"])  # deny_errno 0: passes through
        after, after_child = run_child(obj.maps["watched"], deny_errno=errno.EACCES)
    assert child["getsid"] == [errno.EACCES] * GETSIDS and seen.getsid_denied == GETSIDS
    assert spared_child["getsid"] == [0] * GETSIDS and spared.getsid_denied == 0
    assert after_child["getsid"] == [0] * GETSIDS and after.getsid_denied == 0  # detached


@pytest.mark.requires_feature("lsm", min="5.7")
def test_lsm_refuses_the_socket_family_the_map_names() -> None:
    with hooks("refuse_socket") as obj:
        with obj.programs["refuse_socket"].attach_lsm():
            seen, child = run_child(obj.maps["watched"], deny_errno=errno.EACCES, deny_family=socket.AF_INET)
        after, after_child = run_child(obj.maps["watched"], deny_errno=errno.EACCES, deny_family=socket.AF_INET)
    assert child["sockets"] == {str(int(socket.AF_INET)): errno.EACCES, str(int(socket.AF_UNIX)): 0}
    assert seen.sockets_denied == 1
    assert after_child["sockets"][str(int(socket.AF_INET))] == 0 and after.sockets_denied == 0  # detached


def test_do_sys_openat2_return_type_follows_the_kernel() -> None:
    """Kernels up to 6.12 return long, newer ones int: the BTF says which."""
    name, size, signed = pybpf.features.return_type("do_sys_openat2")
    version = pybpf.features.kernel_version()
    assert signed
    if version <= (6, 12):
        assert (name, size) == ("long int", 8)
    elif version >= (6, 18):
        assert (name, size) == ("int", 4)
    assert pybpf.features.return_type("bpf_fentry_test1") == ("int", 4, True)


def test_refused_trampolines_and_missing_kprobes_are_explained() -> None:
    """Where the kernel forbids a hook, the error says why; where it allows
    it, the same calls work.  Both sides run on every kernel."""
    trampolines = pybpf.features.trampolines()
    if trampolines:
        with hooks("openat2_entry") as obj, obj.programs["openat2_entry"].attach_trace():
            pass
    else:
        assert trampolines.forbidden, trampolines.reason
        with pytest.raises(PermissionError, match="ftrace function tracing is blocked"):
            with hooks("openat2_entry"):
                pass
    kprobes = pybpf.features.kprobes()
    with hooks("openat2_kprobe") as obj:
        prog = obj.programs["openat2_kprobe"]
        if kprobes:
            with prog.attach_kprobe("do_sys_openat2"):
                pass
        else:
            with pytest.raises(FileNotFoundError, match="kprobes are not built"):
                prog.attach_kprobe("do_sys_openat2")
            with pytest.raises(FileNotFoundError, match="kprobes are not built"):
                prog.attach()


def test_attach_target_is_set_before_load() -> None:
    with pybpf.BPFObject.open(pybpf.shipped("func_hooks")) as obj:
        prog = obj.programs["deny_getsid"]
        assert prog.attach_target == "security_task_getsid"
        with pytest.raises(pybpf.BPFError, match="BTF has no such function"):
            prog.attach_target = "no_such_kernel_function"
        prog.attach_target = "security_task_getpgid"
        assert prog.attach_target == "security_task_getpgid"
        for other in obj.programs.values():
            other.autoload = other.type == pybpf.ProgType.KPROBE
        obj.load()
        with pytest.raises(ValueError, match="before load"):
            prog.attach_target = "security_task_getsid"
