"""tcpconnect and tcplife: TCP connections, IPv4 and IPv6, from the
kernel's socket state changes (``sock:inet_sock_set_state``).

    pybpf tcpconnect                   # each outgoing connection, when its handshake ends
    pybpf tcpconnect --failed --json   # only those refused, reset or timed out
    pybpf tcplife --pid 1234           # each connection of a process when it closes

tcpconnect names the process that called connect(), with the handshake's
outcome and duration.  tcplife shows each connection's data bytes received
and sent (no SYN or FIN, a retransmission counted once) and its life; its
process is the one that connected, or for an accepted connection the one
that closed it.
"""

from __future__ import annotations

import argparse
import socket
from typing import Any

from pybpf.tools.options import Column, Shown, add_filters, add_output, add_timing, subcommand, trace_events

__all__ = ["register", "run_tcpconnect", "run_tcplife"]

_KINDS = ("established", "failed", "closed")

CONNECT_COLUMNS = (
    Column("pid", "PID", 7),
    Column("comm", "COMM", -16),
    Column("ip", "IP", 2),
    Column("saddr", "SADDR", -24),
    Column("daddr", "DADDR", -24),
    Column("dport", "DPORT", 5),
    Column("result", "RESULT", -11),
    Column("ms_text", "MS", 8),
)
LIFE_COLUMNS = (
    Column("pid", "PID", 7),
    Column("comm", "COMM", -16),
    Column("local", "LOCAL", -30),
    Column("remote", "REMOTE", -30),
    Column("rx_kb", "RX_KB", 8),
    Column("tx_kb", "TX_KB", 8),
    Column("ms_text", "MS", 10),
)


def _address(family: int, raw: bytes) -> str:
    if family == socket.AF_INET:
        return socket.inet_ntop(socket.AF_INET, raw[:4])
    return socket.inet_ntop(socket.AF_INET6, raw[:16])


def _record(event: Any) -> dict[str, Any]:
    family = event.family
    return {
        "pid": event.pid,
        "uid": event.uid,
        "comm": event.comm.decode(errors="replace"),
        "family": "ipv4" if family == socket.AF_INET else "ipv6",
        "saddr": _address(family, bytes(event.saddr)),
        "daddr": _address(family, bytes(event.daddr)),
        "sport": event.sport,
        "dport": event.dport,
        "result": _KINDS[event.kind] if event.kind < len(_KINDS) else str(event.kind),
        "duration_ms": round(event.duration_ns / 1e6, 3),
    }


def run_tcpconnect(args: argparse.Namespace) -> int:
    """``pybpf tcpconnect``."""

    def show(event: Any) -> Shown:
        record = _record(event)
        if args.failed and record["result"] != "failed":
            return None
        return record, {"ip": record["family"][-1], "ms_text": f"{record['duration_ms']:.2f}"}

    return trace_events(
        "tcpconnect", args, columns=CONNECT_COLUMNS, event_type="struct tcp_event", show=show, noun="connections"
    )


def run_tcplife(args: argparse.Namespace) -> int:
    """``pybpf tcplife``."""

    def show(event: Any) -> Shown:
        record = _record(event)
        del record["result"]
        record.update(rx_bytes=event.rx_bytes, tx_bytes=event.tx_bytes)
        text = {
            "local": f"{record['saddr']}:{record['sport']}",
            "remote": f"{record['daddr']}:{record['dport']}",
            "rx_kb": event.rx_bytes // 1024,
            "tx_kb": event.tx_bytes // 1024,
            "ms_text": f"{record['duration_ms']:.2f}",
        }
        return record, text

    return trace_events(
        "tcplife", args, columns=LIFE_COLUMNS, event_type="struct tcp_event", show=show, noun="connections"
    )


def register(commands: Any) -> None:
    """Add ``tcpconnect`` and ``tcplife`` to the ``pybpf`` command."""
    connect = subcommand(commands, "tcpconnect", help="trace each outgoing TCP connection", doc=__doc__)
    add_filters(connect, what="trace connections made by")
    connect.add_argument("-x", "--failed", action="store_true", help="only connections that failed")
    life = subcommand(commands, "tcplife", help="trace each TCP connection's bytes and life", doc=__doc__)
    add_filters(life, what="trace connections of")
    for parser, run in ((connect, run_tcpconnect), (life, run_tcplife)):
        add_output(parser)
        add_timing(parser)
        parser.set_defaults(run=run)
