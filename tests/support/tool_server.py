"""A fork server for the ``pybpf`` command, for VM guests under emulation.

    python tool_server.py SOCKET

Under qemu's software emulation an interpreter's start and ``import pybpf``
take seconds, most of a short tool test.  This process pays them once: it
imports the command and, for each connection on SOCKET, forks a child that
runs one of pybpf's console scripts (``pybpf``, ``pybpf-xdp-counter``,
``pybpf-syscount``) as its wrapper would, with the caller's stdin, stdout
and stderr (passed as fds), directory, environment and (as ``ip netns
exec`` would) network namespace.  It answers the child's pid, then its
exit status.  It creates nothing in the kernel itself.  It ends when its
stdin closes (its caller exited), and kills the children still running
then: a failed test leaves no command attached.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import selectors
import signal
import socket
import sys
import traceback
from importlib.metadata import entry_points
from typing import Any, NoReturn

from pyroute2 import netns

import pybpf.tools

COMMANDS = {
    entry.name: entry.load() for entry in entry_points(group="console_scripts") if entry.value.startswith("pybpf.")
}


def _preload() -> None:
    """Import what the commands import as they run: once here, not in each child."""
    for module in pkgutil.walk_packages(pybpf.tools.__path__, "pybpf.tools."):
        importlib.import_module(module.name)
    for name in ("pybpf.netns", "prometheus_client", "elftools.elf.elffile", "elftools.elf.sections"):
        importlib.import_module(name)


def _run(request: dict[str, Any], fds: list[int]) -> NoReturn:
    """The child: become the command and exit with its status."""
    status = 1
    try:
        for target, fd in enumerate(fds):  # stdin, stdout, stderr
            os.dup2(fd, target)
        for fd in fds:
            if fd > 2:
                os.close(fd)
        if request["netns"]:
            netns.setns(request["netns"], flags=0)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as a fresh interpreter has them
        sys.argv = request["argv"]
        status = COMMANDS[os.path.basename(sys.argv[0])]()
    except SystemExit as stop:
        if isinstance(stop.code, int) or stop.code is None:
            status = stop.code or 0
        else:
            print(stop.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except OSError:
                pass
        os._exit(status)


def serve(path: str) -> None:
    """Accept requests on ``path`` until stdin closes."""
    _preload()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen()
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(sys.stdin, selectors.EVENT_READ, "stdin")
    print("ready", flush=True)
    try:
        _loop(listener, selector)
    finally:
        os.unlink(path)
        os.rmdir(os.path.dirname(path))


def _kill_children(selector: selectors.BaseSelector) -> None:
    for key in list(selector.get_map().values()):
        if isinstance(key.data, tuple):
            pid, _ = key.data
            signal.pidfd_send_signal(key.fd, signal.SIGKILL)
            os.waitpid(pid, 0)


def _loop(listener: socket.socket, selector: selectors.BaseSelector) -> None:
    while True:
        for key, _ in selector.select():
            if key.data == "stdin":  # the caller exited: so do the commands a failed test left running
                _kill_children(selector)
                return
            if key.data == "accept":
                conn, _ = listener.accept()
                message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
                while not message.endswith(b"\n"):
                    message += conn.recv(1 << 20)
                pid = os.fork()
                if pid == 0:
                    listener.close()
                    conn.close()
                    _run(json.loads(message), fds)
                for fd in fds:
                    os.close(fd)
                conn.sendall(f"{pid}\n".encode())
                selector.register(os.pidfd_open(pid), selectors.EVENT_READ, (pid, conn))
                continue
            pid, conn = key.data
            selector.unregister(key.fd)
            os.close(key.fd)
            _, wait_status = os.waitpid(pid, 0)
            try:
                conn.sendall(f"{os.waitstatus_to_exitcode(wait_status)}\n".encode())
            except OSError:
                pass  # the caller stopped waiting
            conn.close()


if __name__ == "__main__":
    serve(sys.argv[1])
