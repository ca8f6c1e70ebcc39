"""XDP packet counter: per-protocol and per-source packet/byte counts.

    pybpf-xdp-counter eth0                    # live table until Ctrl-C
    pybpf-xdp-counter eth0 --format json --duration 10
    pybpf-xdp-counter --demo                  # throwaway veth pair + traffic

The program (bpf_progs/xdp_counter.bpf.c) passes every packet on.  SIGINT,
SIGTERM and SIGHUP detach it (and remove the demo's namespaces) before exit.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import sys
import time
from typing import Any, TextIO

import pybpf
from pybpf import XdpMode
from pybpf.tools.command import run_command

__all__ = ["PROTOCOLS", "XDPCounter", "main"]

# Slot order of enum proto_slot in xdp_counter.bpf.c.
PROTOCOLS = (
    "ipv4/tcp",
    "ipv4/udp",
    "ipv4/icmp",
    "ipv4/other",
    "ipv6/tcp",
    "ipv6/udp",
    "ipv6/icmp",
    "ipv6/other",
    "non-ip",
)


def _address(raw: Any) -> str:
    addr = ipaddress.IPv6Address(bytes(raw))
    return str(addr.ipv4_mapped or addr)


class XDPCounter:
    """The shipped XDP counter, loaded; attach it with ``attach(interface)``."""

    def __init__(self) -> None:
        self.obj = pybpf.load(pybpf.shipped("xdp_counter"))
        self.program = self.obj.programs["xdp_count"]

    def attach(self, interface: str | int, *, mode: XdpMode = "auto") -> pybpf.Link:
        """Attach to ``interface``'s XDP hook; closing the link detaches."""
        return self.program.attach_xdp(interface, mode=mode)

    def protocols(self) -> dict[str, dict[str, int]]:
        """{protocol: {"packets": n, "bytes": n}}, summed over CPUs."""
        out = {}
        for slot, per_cpu in self.obj.maps["proto_stats"].items():
            out[PROTOCOLS[slot]] = {
                "packets": sum(c.packets for c in per_cpu),
                "bytes": sum(c.bytes for c in per_cpu),
            }
        return out

    def sources(self) -> dict[str, dict[str, int]]:
        """{source address: {"packets": n, "bytes": n}}."""
        return {
            _address(key.addr): {"packets": value.packets, "bytes": value.bytes}
            for key, value in self.obj.maps["src_stats"].items()
        }

    def close(self) -> None:
        """Detach everything attached from this counter and unload it."""
        self.obj.close()

    def __enter__(self) -> XDPCounter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def render_table(protocols: dict[str, dict[str, int]], sources: dict[str, dict[str, int]], top: int = 5) -> str:
    """A plain-text table of the counts."""
    lines = [f"{'protocol':<12}{'packets':>12}{'bytes':>14}"]
    lines += [f"{name:<12}{c['packets']:>12}{c['bytes']:>14}" for name, c in protocols.items()]
    ranked = sorted(sources.items(), key=lambda kv: -kv[1]["packets"])[:top]
    if ranked:
        lines.append(f"{'source':<28}{'packets':>12}{'bytes':>14}")
        lines += [f"{addr:<28}{c['packets']:>12}{c['bytes']:>14}" for addr, c in ranked]
    return "\n".join(lines)


def render_prometheus(protocols: dict[str, dict[str, int]]) -> str:
    """The per-protocol counts in the Prometheus text format."""
    lines = ["# TYPE pybpf_xdp_packets_total counter", "# TYPE pybpf_xdp_bytes_total counter"]
    for name, c in protocols.items():
        lines.append(f'pybpf_xdp_packets_total{{protocol="{name}"}} {c["packets"]}')
        lines.append(f'pybpf_xdp_bytes_total{{protocol="{name}"}} {c["bytes"]}')
    return "\n".join(lines)


def _report(counter: XDPCounter, fmt: str, out: TextIO, final: bool) -> None:
    protocols = counter.protocols()
    if fmt == "json":
        out.write(json.dumps({"protocols": protocols, "sources": counter.sources()}) + "\n")
    elif fmt == "prometheus":
        out.write(render_prometheus(protocols) + "\n")
    else:
        out.write(("final counts\n" if final else "") + render_table(protocols, counter.sources()) + "\n\n")
    out.flush()


def _watch(counter: XDPCounter, fmt: str, interval: float, duration: float | None, out: TextIO) -> None:
    deadline = None if duration is None else time.monotonic() + duration
    with contextlib.suppress(KeyboardInterrupt):
        while deadline is None or time.monotonic() < deadline:
            time.sleep(interval if deadline is None else max(0.0, min(interval, deadline - time.monotonic())))
            _report(counter, fmt, out, final=False)
    _report(counter, fmt, out, final=True)


def demo(out: TextIO = sys.stdout, *, udp: int = 40, icmp: int = 25, tcp: int = 10, rounds: int = 3) -> dict[str, Any]:
    """Count traffic on a throwaway veth pair: attach, send, show, clean up.

    Returns the final protocol counts and what was sent.
    """
    from pybpf.netns import VethPair
    from pybpf.tools.traffic import send_icmp_echo, send_tcp_syn, send_udp

    sent = {"ipv4/udp": 0, "ipv4/icmp": 0, "ipv4/tcp": 0}
    with VethPair(prefix="pybpf-demo") as pair, XDPCounter() as counter:
        with pair.inside(pair.ns_a):
            link = counter.attach(pair.if_a)
        out.write(f"attached xdp_count to {pair.if_a} in netns {pair.ns_a}; sending from {pair.addr_b}\n\n")
        with link:
            for r in range(rounds):
                with pair.inside(pair.ns_b):
                    sent["ipv4/udp"] += send_udp(pair.addr_a, udp)
                    sent["ipv4/icmp"] += send_icmp_echo(pair.addr_a, icmp)
                    sent["ipv4/tcp"] += send_tcp_syn(pair.addr_a, tcp)
                time.sleep(0.2)
                out.write(f"after round {r + 1}/{rounds}\n{render_table(counter.protocols(), counter.sources())}\n\n")
            protocols = counter.protocols()
        out.write("final counts (sent -> counted)\n")
        ok = True
        for name, n in sent.items():
            got = protocols[name]["packets"]
            ok &= got == n
            out.write(f"  {name:<10} sent {n:>5}  counted {got:>5}  {'ok' if got == n else 'MISMATCH'}\n")
    out.write(f"detached and removed netns {pair.ns_a}, {pair.ns_b}\n")
    return {"sent": sent, "protocols": protocols, "ok": ok}


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``pybpf-xdp-counter``."""
    parser = argparse.ArgumentParser(prog="pybpf-xdp-counter", description=__doc__.splitlines()[0])
    parser.add_argument("interface", nargs="?", help="interface to count on")
    parser.add_argument("--demo", action="store_true", help="count mixed traffic on a throwaway veth pair")
    parser.add_argument("--mode", default="auto", choices=["auto", "native", "generic"])
    parser.add_argument("--format", default="table", choices=["table", "json", "prometheus"])
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between reports")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    args = parser.parse_args(argv)
    if not args.demo and not args.interface:
        parser.error("give an interface, or --demo")

    def body() -> int:
        if args.demo:
            return 0 if demo()["ok"] else 1
        with XDPCounter() as counter, counter.attach(args.interface, mode=args.mode):
            _watch(counter, args.format, args.interval, args.duration, sys.stdout)
        return 0

    return run_command("pybpf-xdp-counter", body)


if __name__ == "__main__":
    sys.exit(main())
