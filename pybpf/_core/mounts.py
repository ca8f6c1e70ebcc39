"""tracefs and bpffs: where they are mounted, and mounting them.

Neither is mounted by default on many machines; tracepoint attach by name
needs tracefs, pinning needs bpffs.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager

from pybpf._core.capabilities import CAP_SYS_ADMIN, lacking
from pybpf._core.errors import BPFError, BPFFileNotFoundError, BPFValueError, error_for, raise_errno
from pybpf._core.public import public

__all__ = [
    "BPFFS_PATH",
    "TRACEFS_PATH",
    "bpffs_mounted",
    "cgroup2_root",
    "fs_type",
    "mount_bpffs",
    "mount_points",
    "mount_securityfs",
    "mount_tracefs",
    "require_bpffs",
    "tracefs_mounted",
    "tracefs_root",
    "tracefs_unreadable",
    "unmount",
]

TRACEFS_PATH = "/sys/kernel/tracing"
BPFFS_PATH = "/sys/fs/bpf"
SECURITYFS_PATH = "/sys/kernel/security"
_DEBUGFS_TRACING = "/sys/kernel/debug/tracing"


def _mounts() -> list[tuple[str, str]]:
    """(mount point, fs type) for this mount namespace, in mount order."""
    out = []
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            point = fields[4].encode().decode("unicode_escape")
            out.append((point, fields[sep + 1]))
    return out


def mount_points(fstype: str) -> list[str]:
    """Where file systems of type ``fstype`` ("bpf", "cgroup2") are mounted, in mount order."""
    return [point for point, kind in _mounts() if kind == fstype]


@public
def cgroup2_root() -> str | None:
    """Where the cgroup v2 hierarchy is mounted (``/sys/fs/cgroup``, or
    ``/sys/fs/cgroup/unified`` on a hybrid system), None without one."""
    return next(iter(mount_points("cgroup2")), None)


def fs_type(path: str) -> str | None:
    """The type of the file system that holds ``path`` (its last mount wins)."""
    path = os.path.realpath(path)
    best: tuple[int, str] | None = None
    for point, kind in _mounts():
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= best[0]):
            best = (len(point), kind)
    return best[1] if best else None


@public
def tracefs_mounted() -> bool:
    """Whether tracefs is reachable where libbpf looks for it."""
    return any(os.path.isdir(os.path.join(p, "events")) for p in (TRACEFS_PATH, _DEBUGFS_TRACING))


def tracefs_unreadable() -> str | None:
    """Where tracefs is mounted but this process cannot look inside (it is
    0700 root's: a user with CAP_BPF and CAP_PERFMON alone cannot)."""
    for path in (TRACEFS_PATH, _DEBUGFS_TRACING):
        if fs_type(path) == "tracefs" and not os.access(os.path.join(path, "events"), os.R_OK | os.X_OK):
            return path
    return None


@public
def bpffs_mounted(path: str = BPFFS_PATH) -> bool:
    """Whether ``path`` lies on a bpffs."""
    return fs_type(path) == "bpf"


def _mount(source: str, target: str, fstype: str) -> None:
    # os has no mount(2); the mount(8) tool is what every distribution ships.
    import subprocess

    os.makedirs(target, exist_ok=True)
    proc = subprocess.run(["mount", "-t", fstype, source, target], capture_output=True, text=True)
    if proc.returncode != 0:
        said = " ".join(proc.stderr.split())
        refused = any(word in said.lower() for word in ("permission", "superuser", "not permitted"))
        what = f"mount {fstype} at {target}: {said}"
        if refused:
            hint = "this process lacks CAP_SYS_ADMIN, which mounting needs" if lacking(CAP_SYS_ADMIN) else None
            raise error_for(errno.EPERM, what, hint=hint)
        raise_errno(errno.EINVAL, what)


@public
def unmount(path: str) -> None:
    """Unmount what is mounted at ``path``."""
    import subprocess

    proc = subprocess.run(["umount", path], capture_output=True, text=True)
    if proc.returncode != 0:
        raise_errno(errno.EBUSY, f"unmount {path}: {proc.stderr.strip()}")


@contextmanager
def tracefs_root() -> Iterator[str]:
    """A mounted tracefs for the block: where it is mounted already, or a
    private mount in a temporary directory, unmounted afterwards (nothing
    that others see changes)."""
    for path in (TRACEFS_PATH, _DEBUGFS_TRACING):
        if fs_type(path) == "tracefs":
            yield path
            return
    import tempfile  # only here: it costs import time

    with tempfile.TemporaryDirectory(prefix="pybpf-tracefs-") as private:
        _mount("tracefs", private, "tracefs")
        try:
            yield private
        finally:
            unmount(private)


def _mount_unless_there(source: str, path: str, fstype: str) -> bool:
    if fs_type(path) == fstype:
        return False
    try:
        _mount(source, path, fstype)
    except BPFError:
        if fs_type(path) == fstype:
            return False  # another process mounted it meanwhile: theirs, not ours
        raise
    return True


@public
def mount_tracefs(path: str = TRACEFS_PATH) -> bool:
    """Mount tracefs at ``path`` unless it is there; True if this call mounted it."""
    return _mount_unless_there("tracefs", path, "tracefs")


@public
def mount_bpffs(path: str = BPFFS_PATH) -> bool:
    """Mount bpffs at ``path`` unless it is there; True if this call mounted it."""
    return _mount_unless_there("bpf", path, "bpf")


@public
def mount_securityfs(path: str = SECURITYFS_PATH) -> bool:
    """Mount securityfs at ``path`` unless it is there (it lists the active
    LSMs, which ``pybpf.features.bpf_lsm`` reads); True if this call mounted it."""
    return _mount_unless_there("securityfs", path, "securityfs")


def require_bpffs(path: str, what: str) -> None:
    """Raise a clear error unless ``path``'s directory is on a bpffs."""
    parent = os.path.dirname(os.path.abspath(path)) or "/"
    if not os.path.isdir(parent):
        raise BPFFileNotFoundError(errno.ENOENT, f"{what}: directory {parent} does not exist")
    if fs_type(parent) != "bpf":
        raise BPFValueError(
            errno.EINVAL,
            f"{what}: {parent} is not on a bpffs; mount one with pybpf.mount_bpffs() "
            f"or `mount -t bpf bpf {BPFFS_PATH}`",
        )
