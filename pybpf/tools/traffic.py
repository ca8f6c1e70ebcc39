"""Send exact numbers of UDP, ICMP echo and TCP SYN packets (for demos and tests).

Every function sends from the calling thread's network namespace and returns
the number of packets put on the wire.
"""

from __future__ import annotations

import errno
import socket
import struct

__all__ = ["send_icmp_echo", "send_tcp_syn", "send_udp"]


def send_udp(dst: str, count: int, *, port: int = 9, payload: bytes = b"pybpf") -> int:
    """Send ``count`` UDP datagrams to ``dst:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _ in range(count):
            s.sendto(payload, (dst, port))
    return count


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = int(sum(struct.unpack(f"!{len(data) // 2}H", data)))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return int(~total & 0xFFFF)


def send_icmp_echo(dst: str, count: int, *, ident: int = 0x7062) -> int:
    """Send ``count`` ICMP echo requests to ``dst`` (raw socket: needs CAP_NET_RAW)."""
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as s:
        for seq in range(count):
            header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
            body = b"pybpf-echo"
            csum = _checksum(header + body)
            s.sendto(struct.pack("!BBHHH", 8, 0, csum, ident, seq) + body, (dst, 0))
    return count


def send_tcp_syn(dst: str, count: int, *, port: int = 1, timeout: float = 5.0) -> int:
    """Open ``count`` TCP connections to a port with no listener: one SYN each,
    answered by a RST (so no retransmission)."""
    for _ in range(count):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            err = s.connect_ex((dst, port))
            if err not in (errno.ECONNREFUSED, 0):
                raise OSError(err, f"TCP connect to {dst}:{port}: expected a RST, got {errno.errorcode.get(err, err)}")
    return count
