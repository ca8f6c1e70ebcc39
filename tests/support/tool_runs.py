"""Running the ``pybpf`` command as a user would: a subprocess, started and
waited for until its programs are attached, stopped by a signal, its JSON
lines parsed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PYBPF = str(Path(sys.executable).parent / "pybpf")


def links_held(pid: int) -> int:
    """How many BPF links process ``pid`` holds."""
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}", encoding="ascii") as f:
                count += "link_type:" in f.read()
        except FileNotFoundError:
            continue
    return count


class ToolRun:
    """``pybpf ARGS`` running in the background, attached once started."""

    def __init__(self, args: Sequence[str], *, links: int, prefix: Sequence[str] = (), timeout: float = 120) -> None:
        self.proc = subprocess.Popen(
            [*prefix, PYBPF, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/"
        )
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            if links_held(self.proc.pid) >= links:
                return
            time.sleep(0.05)
        out, err = self.stop()
        raise AssertionError(
            f"pybpf {' '.join(args)} did not attach {links} links: status {self.proc.returncode}\n{err}"
        )

    def stop(self, signum: int = signal.SIGINT, timeout: float = 60) -> tuple[str, str]:
        """Signal it and return its stdout and stderr once it exits."""
        time.sleep(0.3)  # the last events reach the ring buffer
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        return self.proc.communicate(timeout=timeout)

    def records(self, signum: int = signal.SIGINT) -> tuple[list[dict[str, Any]], str]:
        """Stop it; its JSON lines and stderr, after checking it exited 0."""
        out, err = self.stop(signum)
        assert self.proc.returncode == 0, err
        assert "Traceback" not in err, err
        return [json.loads(line) for line in out.splitlines() if line.strip()], err


def run_tool(args: Sequence[str], timeout: float = 120, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``pybpf ARGS`` to completion."""
    return subprocess.run([PYBPF, *args], capture_output=True, text=True, timeout=timeout, cwd="/", **kwargs)
