"""Raw tracepoints (bpf_progs/raw_tracepoints.bpf.c): sys_enter counting a
child's syscalls, and the writable nbd_send_request tracepoint reading the
requests an NBD device sends to a server the test runs on a socketpair."""

from __future__ import annotations

import fcntl
import mmap
import os
import platform
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import pybpf

pytestmark = pytest.mark.kernel

GETPPID = {"x86_64": 110, "aarch64": 173}
CALLS = 321


@pytest.fixture
def raw_tps() -> Iterator[pybpf.BPFObject]:
    with pybpf.load(pybpf.shipped("raw_tracepoints")) as obj:
        yield obj


@pytest.mark.skipif(platform.machine() not in GETPPID, reason="getppid number unknown on this architecture")
def test_sys_enter_counts_a_childs_syscalls(raw_tps: pybpf.BPFObject) -> None:
    code = f"import os, sys\nsys.stdin.readline()\nfor _ in range({CALLS}):\n    os.getppid()\n"
    with subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, text=True) as child:
        raw_tps.maps["watched"][child.pid] = GETPPID[platform.machine()]
        raw_tps.maps["syscalls"][child.pid] = 0
        with raw_tps.programs["count_syscall"].attach_raw_tracepoint("sys_enter"):
            child.communicate("go\n", timeout=60)
    assert child.returncode == 0
    assert raw_tps.maps["syscalls"][child.pid] == CALLS


@pytest.mark.skipif(platform.machine() not in GETPPID, reason="getppid number unknown on this architecture")
def test_raw_tracepoint_test_run_with_its_arguments(raw_tps: pybpf.BPFObject) -> None:
    """test_run hands the program the tracepoint's u64 arguments, in this process."""
    me, nr = os.getpid(), GETPPID[platform.machine()]
    raw_tps.maps["watched"][me] = nr
    raw_tps.maps["syscalls"][me] = 0
    prog = raw_tps.programs["count_syscall"]
    assert prog.test_run(ctx=struct.pack("QQ", 0, nr)).retval == 0
    prog.test_run(ctx=struct.pack("QQ", 0, nr + 1))  # another syscall: not counted
    assert raw_tps.maps["syscalls"][me] == 1


# -- NBD: a block device whose server is this test ---------------------------

NBD_SET_SOCK, NBD_SET_BLKSIZE, NBD_DO_IT, NBD_CLEAR_SOCK = 0xAB00, 0xAB01, 0xAB03, 0xAB04
NBD_SET_SIZE_BLOCKS, NBD_DISCONNECT = 0xAB07, 0xAB08
NBD_CMD_READ, NBD_CMD_WRITE, NBD_CMD_DISC = 0, 1, 2
REQUEST = struct.Struct(">IIQQI")  # magic, type, cookie, from, len
BLOCK, BLOCKS = 4096, 16


class NbdServer:
    """Serves zeros for an NBD device over a socketpair until disconnected."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.fd = os.open(device, os.O_RDWR)
        self.kernel_side, self.our_side = socket.socketpair()
        self.requests: list[tuple[int, int, int]] = []  # (type, from, len)
        fcntl.ioctl(self.fd, NBD_SET_BLKSIZE, BLOCK)
        fcntl.ioctl(self.fd, NBD_SET_SIZE_BLOCKS, BLOCKS)
        fcntl.ioctl(self.fd, NBD_SET_SOCK, self.kernel_side.fileno())
        self.serving = threading.Thread(target=self._serve, daemon=True)
        self.running = threading.Thread(target=fcntl.ioctl, args=(self.fd, NBD_DO_IT), daemon=True)
        self.serving.start()
        self.running.start()

    def _read(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.our_side.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def _serve(self) -> None:
        try:
            while True:
                _, kind, cookie, offset, length = REQUEST.unpack(self._read(REQUEST.size))
                self.requests.append((kind, offset, length))
                if kind == NBD_CMD_DISC:
                    return
                if kind == NBD_CMD_WRITE:
                    self._read(length)
                reply = struct.pack(">IIQ", 0x67446698, 0, cookie)
                self.our_side.sendall(reply + (bytes(length) if kind == NBD_CMD_READ else b""))
        except (EOFError, OSError):
            return

    def close(self) -> None:
        fcntl.ioctl(self.fd, NBD_DISCONNECT)
        self.running.join(10)
        fcntl.ioctl(self.fd, NBD_CLEAR_SOCK)
        self.serving.join(10)
        os.close(self.fd)
        self.kernel_side.close()
        self.our_side.close()


def _free_nbd() -> str:
    for index in range(16):
        if not Path(f"/sys/block/nbd{index}/pid").exists() and Path(f"/dev/nbd{index}").exists():
            return f"/dev/nbd{index}"
    pytest.fail("no free /dev/nbd* device")


@pytest.mark.requires_feature("module:nbd", min="5.2")
def test_writable_nbd_tracepoint_sees_the_request_header(raw_tps: pybpf.BPFObject) -> None:
    offset = 5 * BLOCK
    seen = raw_tps.maps["nbd_offsets"]
    seen[offset] = {}
    with raw_tps.programs["watch_nbd"].attach_raw_tracepoint("nbd_send_request"):
        server = NbdServer(_free_nbd())
        try:
            for _ in range(100):  # the device is usable once the kernel took the socket
                if Path(f"/sys/block/{Path(server.device).name}/size").read_text().strip() != "0":
                    break
                time.sleep(0.05)
            fd = os.open(server.device, os.O_RDONLY | os.O_DIRECT)
            try:
                buffer = mmap.mmap(-1, BLOCK)  # page-aligned, as O_DIRECT wants
                assert os.preadv(fd, [buffer], offset) == BLOCK
                buffer.close()
            finally:
                os.close(fd)
        finally:
            server.close()
    assert (NBD_CMD_READ, offset, BLOCK) in server.requests
    assert (seen[offset].requests, seen[offset].type, seen[offset].len) == (1, NBD_CMD_READ, BLOCK)
