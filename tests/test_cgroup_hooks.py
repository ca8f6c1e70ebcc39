"""cgroup hooks (bpf_progs/cgroup_hooks.bpf.c), attached to a throwaway
cgroup with a child process inside that opens devices, sends, connects,
sets socket options and reads sysctls; outside the cgroup nothing changes."""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pybpf
from pybpf.testing import Cgroup

import packets

pytestmark = pytest.mark.kernel

# Runs each line it reads as Python and answers with the value, or the errno
# of the OSError it raised.
CHILD = """
import json, os, socket, sys
print("ready", flush=True)
for line in sys.stdin:
    try:
        answer = {"value": eval(line)}
    except OSError as e:
        answer = {"errno": e.errno}
    print(json.dumps(answer), flush=True)
"""


class Child:
    """A Python process that evaluates expressions on request."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline() == "ready\n"

    def run(self, expression: str) -> Any:
        """The expression's value, or ``OSError(errno)`` if it raised one."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(expression + "\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline())
        return OSError(answer["errno"], os.strerror(answer["errno"])) if "errno" in answer else answer["value"]

    def errno_of(self, expression: str) -> int:
        """0 if the expression ran, else the errno it failed with."""
        result = self.run(expression)
        return result.errno if isinstance(result, OSError) else 0

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


@pytest.fixture
def hooks() -> Iterator[pybpf.BPFObject]:
    with pybpf.load(pybpf.shipped("cgroup_hooks")) as obj:
        yield obj


@pytest.fixture
def inside(cgroup: Cgroup) -> Iterator[Child]:
    """A child process moved into the test's cgroup."""
    child = Child()
    try:
        cgroup.add(child.proc.pid)
        yield child
    finally:
        child.close()


@pytest.fixture
def outside() -> Iterator[Child]:
    """A child process left where the tests run."""
    child = Child()
    try:
        yield child
    finally:
        child.close()


def test_device_program_refuses_the_device_the_map_names(
    hooks: pybpf.BPFObject, cgroup: Cgroup, inside: Child, outside: Child
) -> None:
    devices = hooks.maps["devices"]
    devices[{"major": 1, "minor": 3}] = {"deny": 1}  # /dev/null
    devices[{"major": 1, "minor": 5}] = {}  # /dev/zero: allowed, counted
    with hooks.programs["check_device"].attach_cgroup(cgroup):
        assert inside.errno_of("open('/dev/null').close()") == errno.EPERM
        assert inside.run("len(open('/dev/zero', 'rb').read(4))") == 4
        assert outside.errno_of("open('/dev/null').close()") == 0
    assert inside.errno_of("open('/dev/null').close()") == 0  # detached
    assert devices[{"major": 1, "minor": 3}].seen == 1
    assert devices[{"major": 1, "minor": 5}].seen == 1


def test_skb_egress_counts_and_drops_udp_by_port(hooks: pybpf.BPFObject, cgroup: Cgroup, inside: Child) -> None:
    ports = hooks.maps["ports"]
    ports[47001] = {}
    ports[47002] = {"deny": 1}
    send = "socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x' * 10, ('127.0.0.1', {}))"
    with hooks.programs["check_egress"].attach_cgroup(cgroup):
        for _ in range(7):
            assert inside.run(send.format(47001)) == 10
        assert inside.errno_of(send.format(47002)) == errno.EPERM
    assert (ports[47001].seen, ports[47002].seen) == (7, 1)


def test_skb_program_test_run(hooks: pybpf.BPFObject) -> None:
    """BPF_PROG_TEST_RUN feeds the cgroup skb program a frame without a cgroup."""
    ports = hooks.maps["ports"]
    ports[47004] = {"deny": 1}
    prog = hooks.programs["check_egress"]
    assert prog.test_run(packets.udp4(dport=47004), repeat=3).retval == 0  # dropped
    assert prog.test_run(packets.udp4(dport=47005)).retval == 1
    assert ports[47004].seen == 3


def test_sock_create_refuses_the_socket_type_the_map_names(
    hooks: pybpf.BPFObject, cgroup: Cgroup, inside: Child
) -> None:
    sockets = hooks.maps["sockets"]
    sockets[{"family": socket.AF_INET, "type": socket.SOCK_DGRAM}] = {"deny": 1}
    with hooks.programs["check_socket"].attach_cgroup(cgroup, kind="sock_create"):
        assert inside.errno_of("socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close()") == errno.EPERM
        assert inside.errno_of("socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()") == 0
    assert sockets[{"family": socket.AF_INET, "type": socket.SOCK_DGRAM}].seen == 1


def test_connect4_rewrites_the_port_the_map_names(hooks: pybpf.BPFObject, cgroup: Cgroup, inside: Child) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        server.settimeout(10)
        real_port = server.getsockname()[1]
        hooks.maps["ports"][47003] = {"arg": real_port}
        with hooks.programs["rewrite_connect"].attach_cgroup(cgroup):
            inside.run(
                "(lambda s: (s.connect(('127.0.0.1', 47003)), s.send(b'rewritten'), s.close()))"
                "(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))"
            )
        assert server.recv(64) == b"rewritten"
    assert hooks.maps["ports"][47003].seen == 1


def test_setsockopt_refuses_the_option_the_map_names(hooks: pybpf.BPFObject, cgroup: Cgroup, inside: Child) -> None:
    sockopts = hooks.maps["sockopts"]
    sockopts[{"level": socket.SOL_SOCKET, "optname": socket.SO_KEEPALIVE}] = {"deny": 1}
    setopt = "socket.socket().setsockopt(socket.SOL_SOCKET, socket.{}, 1)"
    with hooks.programs["check_setsockopt"].attach_cgroup(cgroup):
        assert inside.errno_of(setopt.format("SO_KEEPALIVE")) == errno.EPERM
        assert inside.errno_of(setopt.format("SO_REUSEADDR")) == 0
    assert sockopts[{"level": socket.SOL_SOCKET, "optname": socket.SO_KEEPALIVE}].seen == 1


def test_sysctl_program_refuses_the_sysctl_the_map_names(hooks: pybpf.BPFObject, cgroup: Cgroup, inside: Child) -> None:
    sysctls = hooks.maps["sysctls"]
    sysctls[{"name": b"kernel/ostype"}] = {"deny": 1}
    sysctls[{"name": b"kernel/osrelease"}] = {}
    with hooks.programs["check_sysctl"].attach_cgroup(cgroup):
        assert inside.errno_of("open('/proc/sys/kernel/ostype').read()") == errno.EPERM
        assert inside.run("open('/proc/sys/kernel/osrelease').read()").strip() == os.uname().release
    assert sysctls[{"name": b"kernel/ostype"}].seen == 1
    assert sysctls[{"name": b"kernel/osrelease"}].seen >= 1  # a read may take more than one read()


def test_sock_ops_sees_each_connection_of_the_cgroup(hooks: pybpf.BPFObject, cgroup: Cgroup, inside: Child) -> None:
    tcp_connect_cb, active_established_cb = 3, 4  # BPF_SOCK_OPS_*
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        port = server.getsockname()[1]
        with hooks.programs["count_tcp_ops"].attach_cgroup(cgroup):
            for _ in range(5):
                inside.run(f"socket.create_connection(('127.0.0.1', {port})).close()")
                server.accept()[0].close()
    ops = hooks.maps["tcp_ops"]
    assert (ops[tcp_connect_cb], ops[active_established_cb]) == (5, 5)


def test_attach_cgroup_errors(hooks: pybpf.BPFObject, tmp_path: Path) -> None:
    prog = hooks.programs["check_device"]
    with pytest.raises(FileNotFoundError, match="no cgroup directory"):
        prog.attach_cgroup(tmp_path / "missing")
    with pytest.raises(ValueError, match="not on a cgroup v2"):
        prog.attach_cgroup(tmp_path)
    with pytest.raises(ValueError, match="unknown cgroup hook 'sideways'.*connect4"):
        prog.attach_cgroup(tmp_path, kind="sideways")
    assert {"ingress", "egress", "connect4", "sendmsg6", "device", "sysctl", "sock_ops"} <= set(pybpf.cgroup_kinds())
