"""Ethernet frames for BPF_PROG_TEST_RUN: the kernel's test runs take a
whole frame (and strip the Ethernet header for the types that see L3)."""

from __future__ import annotations

import ipaddress
import struct

ETH_IPV4 = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00"
ETH_IPV6 = b"\x02" * 6 + b"\x04" * 6 + b"\x86\xdd"


def udp4(src: str = "10.0.0.1", dst: str = "192.0.2.1", sport: int = 1, dport: int = 2, payload: bytes = b"") -> bytes:
    """An Ethernet + IPv4 + UDP frame (checksums zero: the programs do not check them)."""
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
        ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed,
    )  # fmt: skip
    return ETH_IPV4 + ip + udp


def udp6(src: str = "2001:db8::2", dst: str = "2001:db8::1", sport: int = 1, dport: int = 2) -> bytes:
    """An Ethernet + IPv6 + UDP frame."""
    ip = struct.pack(
        "!IHBB16s16s", 6 << 28, 8, 17, 64, ipaddress.IPv6Address(src).packed, ipaddress.IPv6Address(dst).packed
    )
    return ETH_IPV6 + ip + struct.pack("!HHHH", sport, dport, 8, 0)
