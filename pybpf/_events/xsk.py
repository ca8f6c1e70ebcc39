"""``XskSocket``: an AF_XDP socket (libxdp's xsk API) that receives the frames
an XDP program redirects to it through an ``XSKMAP``."""

from __future__ import annotations

import errno
import mmap
import time
from functools import partial
from typing import Any, Literal

from pybpf._core.errors import BPFValueError, check
from pybpf._core.ffi import ffi, lib
from pybpf._core.handle import BlockingHandle, close_fds
from pybpf._core.interfaces import ifindex_of
from pybpf._core.public import public

__all__ = ["XskSocket"]

# How long a bind waits for a queue that is still being released.
_BUSY_WAIT = 1.0
XskBindMode = Literal["copy", "zerocopy", "auto"]
_BIND_MODES: dict[str, int] = {"copy": lib.XDP_COPY, "zerocopy": lib.XDP_ZEROCOPY, "auto": 0}


def _release(sock: Any, umem: Any, *fds: int) -> None:
    if sock != ffi.NULL:
        lib.xsk_socket__delete(sock)
    if umem != ffi.NULL:
        lib.xsk_umem__delete(umem)
    close_fds(*fds)


@public
class XskSocket(BlockingHandle):
    """An AF_XDP socket bound to one receive queue of an interface, for receiving.

    ``XskSocket("eth0", queue=0)`` creates the frame memory (UMEM, ``frames``
    frames of ``frame_size`` bytes), binds the socket to the queue and hands
    every frame to the kernel's fill ring.  Store it in an ``XSKMAP``
    (``xskmap[queue] = sock``) and attach an XDP program that calls
    ``bpf_redirect_map`` on the map: the frames it redirects arrive here, and
    :meth:`recv` returns them as ``bytes`` (from the Ethernet header on).  No
    XDP program is loaded for you (libxdp's default program is inhibited).

    ``bind`` is ``"copy"`` (works on every driver, including veth and generic
    XDP), ``"zerocopy"`` (drivers that support it), or ``"auto"``.  One queue
    takes one socket: binding to a queue another socket holds waits up to a
    second (a closed socket frees its queue asynchronously), then raises
    EBUSY.  The socket
    and the interface live in this thread's network namespace.  Closing the
    socket removes it from every XSKMAP; ``close()`` is idempotent.
    """

    def __init__(
        self,
        interface: str,
        queue: int = 0,
        *,
        frames: int = 4096,
        frame_size: int = 4096,
        ring_size: int = 2048,
        bind: XskBindMode = "copy",
    ) -> None:
        ifindex_of(interface)  # a clear error for a missing interface, before libxdp's
        if bind not in _BIND_MODES:
            raise BPFValueError(errno.EINVAL, f"AF_XDP bind mode {bind!r}: use one of {', '.join(_BIND_MODES)}")
        for name, value in (("frames", frames), ("ring_size", ring_size)):
            if value <= 0 or value & (value - 1):
                raise BPFValueError(errno.EINVAL, f"{name} must be a power of two, got {value}")
        if frame_size < 2048 or frame_size > mmap.PAGESIZE or frame_size & (frame_size - 1):
            raise BPFValueError(errno.EINVAL, f"frame_size must be a power of two in 2048..{mmap.PAGESIZE}")
        self._what = f"{interface!r} queue {queue}"
        self._init_handle(self._what)
        self._frame_size = frame_size
        self._sock = self._umem = ffi.NULL
        # The UMEM: page-aligned memory the kernel copies received frames into.
        self._area = mmap.mmap(-1, frames * frame_size)
        self._base = ffi.from_buffer(self._area)
        self._fill = ffi.new("struct xsk_ring_prod *")
        self._comp = ffi.new("struct xsk_ring_cons *")
        self._rx = ffi.new("struct xsk_ring_cons *")
        self._idx = ffi.new("__u32 *")
        ucfg = ffi.new("struct xsk_umem_config *")
        ucfg.fill_size = ucfg.comp_size = min(ring_size, frames)
        ucfg.frame_size = frame_size
        out_umem = ffi.new("struct xsk_umem **")
        check(
            lib.xsk_umem__create(out_umem, self._base, len(self._area), self._fill, self._comp, ucfg),
            f"create the AF_XDP frame memory for {self._what}",
        )
        self._umem = out_umem[0]
        scfg = ffi.new("struct xsk_socket_config *")
        scfg.rx_size = ring_size
        scfg.libxdp_flags = lib.XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD
        scfg.bind_flags = _BIND_MODES[bind]
        out_sock = ffi.new("struct xsk_socket **")
        # A socket closed moments ago frees its queue asynchronously (~35 ms measured).
        deadline = time.monotonic() + _BUSY_WAIT
        while True:
            ret = lib.xsk_socket__create(out_sock, interface.encode(), queue, self._umem, self._rx, ffi.NULL, scfg)
            if ret != -errno.EBUSY or time.monotonic() >= deadline:
                break
            time.sleep(0.01)
        if ret:
            _release(ffi.NULL, self._umem)
            self._umem = ffi.NULL
            what = f"create an AF_XDP socket on {self._what} ({bind} mode)"
            if ret == -errno.EBUSY:
                what += ": another AF_XDP socket holds the queue"
            check(ret, what)
        self._sock = out_sock[0]
        self._fd = self._guard.fd = lib.xsk_socket__fd(self._sock)
        wake = self._init_wake()
        # A forked child closes only its copies of the wake-up pipe: deleting
        # the socket would take it out of the parent's XSKMAPs.
        self._own(partial(_release, self._sock, self._umem, *wake), forget=partial(close_fds, *wake))
        self._refill(list(range(0, min(ring_size, frames) * frame_size, frame_size)))

    def _refill(self, addrs: list[int]) -> None:
        """Give frames back to the kernel through the fill ring."""
        n = len(addrs)
        if n and lib.xsk_ring_prod__reserve(self._fill, n, self._idx) == n:
            start = self._idx[0]
            for i, addr in enumerate(addrs):
                lib.xsk_ring_prod__fill_addr(self._fill, start + i)[0] = addr
            lib.xsk_ring_prod__submit(self._fill, n)

    def fileno(self) -> int:
        """The socket's fd: store it in an XSKMAP, or wait on it with ``select``."""
        self._require_open()
        return int(self._fd)

    def recv_many(self, max_frames: int = 64, timeout: float | None = None) -> list[bytes]:
        """Up to ``max_frames`` received frames, waiting at most ``timeout``
        seconds (None: until one arrives) for the first; [] on timeout, or
        when another thread closes the socket meanwhile."""
        with self._use():
            return self._recv_many(max_frames, timeout)

    def _recv_many(self, max_frames: int, timeout: float | None) -> list[bytes]:
        fd = self._fd
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            n = lib.xsk_ring_cons__peek(self._rx, max_frames, self._idx)
            if n:
                break
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            if self._wait_readable(fd, wait):
                continue
            if self._guard.closed or deadline is not None and time.monotonic() >= deadline:
                return []
        start = self._idx[0]
        frames, addrs = [], []
        mask = ~(self._frame_size - 1)
        for i in range(n):
            desc = lib.xsk_ring_cons__rx_desc(self._rx, start + i)
            addr = lib.xsk_umem__extract_addr(desc.addr)
            frames.append(self._area[addr : addr + desc.len])
            addrs.append(addr & mask)
        lib.xsk_ring_cons__release(self._rx, n)
        self._refill(addrs)
        return frames

    def recv(self, timeout: float | None = None) -> bytes | None:
        """One received frame, or None if none came within ``timeout`` seconds."""
        frames = self.recv_many(1, timeout)
        return frames[0] if frames else None

    def close(self) -> None:
        """Delete the socket (it leaves every XSKMAP) and free its frames.
        Idempotent; a receive blocked in another thread returns first."""
        super().close()

    def _after_release(self) -> None:
        self._sock = self._umem = ffi.NULL
        del self._base
        self._area.close()

    def __enter__(self) -> XskSocket:
        return self

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"fd={self._fd}"
        return f"<pybpf.XskSocket {self._what} {state}>"
