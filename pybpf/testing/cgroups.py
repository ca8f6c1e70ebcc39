"""A throwaway cgroup v2, and running a child process inside it."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pybpf._core.mounts import cgroup2_root

__all__ = ["Cgroup"]

# The child moves itself in before it execs: no instant of it runs outside.
_ENTER_AND_EXEC = 'echo 0 > "$0" && exec "$@"'


class Cgroup:
    """A new cgroup v2 directory under ``parent`` (default: the root of the
    hierarchy), named ``<prefix>-<random>``.

    It stands for its path wherever one is taken (``os.fspath``,
    ``prog.attach_cgroup(cgroup)``, ``cgroup / "cgroup.procs"``).
    ``close()`` kills what still runs in it (``cgroup.kill``, 5.14) and
    removes it.
    """

    def __init__(self, *, parent: str | os.PathLike[str] | None = None, prefix: str = "pybpf") -> None:
        root = parent if parent is not None else cgroup2_root()
        if root is None:
            raise FileNotFoundError("no cgroup v2 hierarchy is mounted (mount -t cgroup2 none /sys/fs/cgroup)")
        self.path = Path(root) / f"{prefix}-{uuid.uuid4().hex[:8]}"
        self._created = False

    def create(self) -> Cgroup:
        """Make the directory."""
        self.path.mkdir()
        self._created = True
        return self

    @property
    def id(self) -> int:
        """The cgroup's id, as BPF programs see it (``bpf_get_current_cgroup_id``)."""
        return self.path.stat().st_ino

    def pids(self) -> list[int]:
        """The processes in it now."""
        return [int(line) for line in (self.path / "cgroup.procs").read_text().split()]

    def add(self, pid: int) -> None:
        """Move process ``pid`` into it."""
        (self.path / "cgroup.procs").write_text(str(pid))

    def popen(self, argv: Sequence[str], *, timeout: float = 10.0, **kwargs: Any) -> subprocess.Popen[Any]:
        """Start ``argv`` inside the cgroup (``subprocess.Popen`` arguments);
        returns once the child is in it (or has ended)."""
        child = subprocess.Popen(self._wrapped(argv), **kwargs)
        deadline = time.monotonic() + timeout
        while child.pid not in self.pids() and child.poll() is None:
            if time.monotonic() >= deadline:
                child.kill()
                child.wait()
                raise TimeoutError(f"{argv[0]} did not enter {self.path} in {timeout} s")
            time.sleep(0.005)
        return child

    def run(self, argv: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[Any]:
        """Run ``argv`` inside the cgroup to its end (``subprocess.run`` arguments)."""
        return subprocess.run(self._wrapped(argv), **kwargs)  # noqa: PLW1510 - the caller's check=

    def _wrapped(self, argv: Sequence[str]) -> list[str]:
        if not argv:
            raise ValueError("an empty command")
        return ["sh", "-c", _ENTER_AND_EXEC, str(self.path / "cgroup.procs"), *argv]

    def close(self, *, timeout: float = 5.0) -> None:
        """Kill what still runs in it, wait for it to empty, and remove it. Idempotent."""
        if not self._created:
            return
        deadline = time.monotonic() + timeout
        killed = False
        while True:
            try:
                self.path.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:  # EBUSY: processes (or a child cgroup) still in it
                if not killed and (self.path / "cgroup.kill").exists():
                    (self.path / "cgroup.kill").write_text("1")
                    killed = True
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.02)  # a killed or moved child leaves once reaped
        self._created = False

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def __repr__(self) -> str:
        return f"Cgroup({str(self.path)!r})"

    def __enter__(self) -> Cgroup:
        return self.create()

    def __exit__(self, *exc: object) -> None:
        self.close()
