"""Running the ``pybpf`` command as a user would: a subprocess, started and
waited for until its programs are attached, stopped by a signal, its JSON
lines parsed.

In a VM guest under emulation the processes come from a fork server
(tool_server.py) that imported the command once: the same command, exit
status, signals and output, without the seconds an interpreter's start and
``import pybpf`` take there.  The host runs the console script itself.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emulation import EMULATED

PYBPF = str(Path(sys.executable).parent / "pybpf")


class _Server:
    """tool_server.py, started once (at import: before any test, so the
    leak guard counts its pipe among what was there)."""

    def __init__(self) -> None:
        self.path = os.path.join(tempfile.mkdtemp(prefix="pybpf-tools-"), "socket")
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("tool_server.py")), self.path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd="/",
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline() == b"ready\n", "the tool server did not start"
        self.proc.stdout.close()


_server = _Server() if EMULATED else None


class ForkedTool:
    """A pybpf console script (``argv``) forked by the tool server, in
    network namespace ``netns`` if given: the parts of ``subprocess.Popen``
    (text mode, piped stdout and stderr) the tests use."""

    def __init__(self, argv: Sequence[str], *, cwd: str = "/", netns: str | None = None) -> None:
        assert _server is not None
        self.args = list(argv)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        stdin = os.open(os.devnull, os.O_RDONLY)
        self._conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._conn.connect(_server.path)
        request = {"argv": self.args, "cwd": cwd, "env": dict(os.environ), "netns": netns}
        socket.send_fds(self._conn, [json.dumps(request).encode() + b"\n"], [stdin, out_w, err_w])
        for fd in (stdin, out_w, err_w):
            os.close(fd)
        self._buffer = b""
        self.stdout = open(out_r, encoding="utf-8")  # noqa: SIM115 - closed by communicate()
        self.stderr = open(err_r, encoding="utf-8")  # noqa: SIM115
        self.returncode: int | None = None
        line = self._line(60)
        assert line is not None, "the tool server did not fork"
        self.pid = int(line)

    def _line(self, timeout: float | None) -> str | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            with selectors.DefaultSelector() as selector:
                selector.register(self._conn, selectors.EVENT_READ)
                if not selector.select(left):
                    return None
            chunk = self._conn.recv(4096)
            if not chunk:
                raise AssertionError("the tool server went away")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            line = self._line(timeout)
            if line is None:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            self.returncode = int(line)
            self._conn.close()
        return self.returncode

    def poll(self) -> int | None:
        try:
            return self.wait(0)
        except subprocess.TimeoutExpired:
            return None

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def __del__(self) -> None:
        self._conn.close()  # a test that failed before waiting for it

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        deadline = None if timeout is None else time.monotonic() + timeout
        texts: dict[int, list[str]] = {self.stdout.fileno(): [], self.stderr.fileno(): []}
        with selectors.DefaultSelector() as selector:
            for stream in (self.stdout, self.stderr):
                os.set_blocking(stream.fileno(), False)
                selector.register(stream, selectors.EVENT_READ)
            while selector.get_map():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise subprocess.TimeoutExpired(self.args, timeout or 0)
                for key, _ in selector.select(left):
                    data = os.read(key.fd, 1 << 16)
                    if data:
                        texts[key.fd].append(data.decode("utf-8", errors="replace"))
                    else:
                        selector.unregister(key.fd)
        out, err = ("".join(texts[stream.fileno()]) for stream in (self.stdout, self.stderr))
        self.stdout.close()
        self.stderr.close()
        self.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return out, err


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


def start_tool(
    args: Sequence[str], *, command: str = PYBPF, netns: str | None = None
) -> subprocess.Popen[str] | ForkedTool:
    """``command ARGS`` (a pybpf console script) started in / (in network
    namespace ``netns`` if given), its stdout and stderr piped (text)."""
    if EMULATED:
        return ForkedTool([command, *args], netns=netns)
    prefix = ["ip", "netns", "exec", netns] if netns else []
    return subprocess.Popen(
        [*prefix, command, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/"
    )


class ToolRun:
    """``pybpf ARGS`` running in the background, attached once started."""

    def __init__(self, args: Sequence[str], *, links: int, timeout: float = 120, every: float = 0.05) -> None:
        self.proc = start_tool(args)
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            if links_held(self.proc.pid) >= links:
                return
            time.sleep(every)
        out, err = self.stop()
        raise AssertionError(
            f"pybpf {' '.join(args)} did not attach {links} links: status {self.proc.returncode}\n{err}"
        )

    def stop(self, signum: int = signal.SIGINT, timeout: float = 60, *, settle: float = 0.3) -> tuple[str, str]:
        """Signal it, ``settle`` seconds on, and return its stdout and stderr once it exits."""
        time.sleep(settle)  # the last events reach the ring buffer
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        return self.proc.communicate(timeout=timeout)

    def records(self, signum: int = signal.SIGINT) -> tuple[list[dict[str, Any]], str]:
        """Stop it; its JSON lines and stderr, after checking it exited 0."""
        out, err = self.stop(signum)
        assert self.proc.returncode == 0, err
        assert "Traceback" not in err, err
        return [json.loads(line) for line in out.splitlines() if line.strip()], err


def run_tool(args: Sequence[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``pybpf ARGS`` to completion (killed after ``timeout`` seconds)."""
    proc = start_tool(args)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise
    return subprocess.CompletedProcess([PYBPF, *args], proc.wait(), out, err)
