"""xdp-count: packets and bytes per protocol and per source address, with
their rates, counted by the shipped XDP program on one interface.

    pybpf xdp-count eth0                     # refreshed in place until Ctrl-C
    pybpf xdp-count eth0 --json -i 1 -d 10   # one JSON object per interval
    pybpf xdp-count veth0 --netns blue --mode generic
    pybpf xdp-count --demo                   # a throwaway veth pair and traffic

The program (bpf_progs/xdp_counter.bpf.c) passes every packet on.  Ctrl-C,
SIGTERM and SIGHUP detach it (and remove the demo's namespaces), and the
final counts are printed.  ``pybpf-xdp-counter`` is the older name.
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
from pybpf.tools.command import stops_between_steps
from pybpf.tools.options import add_output, add_timing, run_until_stopped, subcommand

__all__ = ["PROTOCOLS", "XDPCounter", "demo", "main", "register", "render_live", "render_table", "run"]

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


def _rates(now: dict[str, dict[str, int]], before: dict[str, dict[str, int]], seconds: float) -> dict[str, Any]:
    """Counts with their per-second rates since ``before``."""
    return {
        name: {
            **c,
            "packets_per_s": round((c["packets"] - before.get(name, {}).get("packets", 0)) / seconds, 1),
            "bytes_per_s": round((c["bytes"] - before.get(name, {}).get("bytes", 0)) / seconds, 1),
        }
        for name, c in now.items()
    }


def render_live(protocols: dict[str, Any], sources: dict[str, Any], top: int = 5, *, by_rate: bool = True) -> str:
    """The table with rates: what ``pybpf xdp-count`` shows each interval
    (top sources by packet rate, or ``by_rate=False`` by packets)."""
    head = f"{'protocol':<12}{'packets':>12}{'pkts/s':>12}{'bytes':>14}{'bytes/s':>14}"
    lines = [head]
    lines += [
        f"{name:<12}{c['packets']:>12}{c['packets_per_s']:>12.1f}{c['bytes']:>14}{c['bytes_per_s']:>14.1f}"
        for name, c in protocols.items()
        if c["packets"]
    ]
    order = ("packets_per_s", "packets") if by_rate else ("packets",)
    ranked = sorted(sources.items(), key=lambda kv: tuple(-kv[1][k] for k in order))[:top]
    if ranked:
        lines.append(f"{'top sources':<28}{'packets':>12}{'pkts/s':>12}{'bytes':>14}{'bytes/s':>14}")
        lines += [
            f"{addr:<28}{c['packets']:>12}{c['packets_per_s']:>12.1f}{c['bytes']:>14}{c['bytes_per_s']:>14.1f}"
            for addr, c in ranked
        ]
    return "\n".join(lines)


class _Reporter:
    """Each interval's report: in place on a terminal, plain lines when piped, or JSON."""

    def __init__(self, counter: XDPCounter, fmt: str, top: int, out: TextIO) -> None:
        self.counter, self.fmt, self.top, self.out = counter, fmt, top, out
        self.live = fmt == "table" and out.isatty()
        self.started = self.last = time.monotonic()
        self.before: tuple[dict[str, Any], dict[str, Any]] = ({}, {})

    def __call__(self, *, final: bool = False) -> None:
        now = time.monotonic()
        protocols, sources = self.counter.protocols(), self.counter.sources()
        seconds = max(now - self.last, 1e-9)
        rated = _rates(protocols, self.before[0], seconds), _rates(sources, self.before[1], seconds)
        self.before, self.last = (protocols, sources), now
        if self.fmt == "json":
            record = {"elapsed_s": round(now - self.started, 3), "final": final}
            self.out.write(json.dumps({**record, "protocols": rated[0], "sources": rated[1]}) + "\n")
        elif self.fmt == "prometheus":
            self.out.write(render_prometheus(protocols) + "\n")
        else:
            title = f"{'final counts' if final else time.strftime('%H:%M:%S')} ({now - self.started:.1f} s)"
            if self.live and not final:
                self.out.write("\x1b[H\x1b[J")  # home and clear: the table refreshes in place
            self.out.write(f"{title}\n{render_live(*rated, top=self.top, by_rate=not final)}\n\n")
        self.out.flush()


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


def run(args: argparse.Namespace) -> int:
    """``pybpf xdp-count``: count on an interface until the duration ends
    or a signal stops it, then detach and print the final counts."""
    if args.demo:
        return 0 if demo()["ok"] else 1
    if not args.interface:
        raise SystemExit("pybpf xdp-count: give an interface, or --demo")
    from pybpf import netns

    fmt = "json" if args.json else args.format
    where = contextlib.nullcontext() if args.netns is None else netns.inside(args.netns)
    # From before the attach, a stop waits for the loop: the final counts are always printed.
    with XDPCounter() as counter, stops_between_steps():
        report = _Reporter(counter, fmt, args.top, sys.stdout)
        with where:
            link = counter.attach(args.interface, mode=args.mode)
        with link:
            run_until_stopped(time.sleep, duration=args.duration, interval=args.interval, report=report)
            report(final=True)
    return 0


def register(commands: Any) -> None:
    """Add ``xdp-count`` to the ``pybpf`` command."""
    parser = subcommand(commands, "xdp-count", help="count packets per protocol and source with XDP", doc=__doc__)
    parser.add_argument("interface", nargs="?", help="the interface to count on")
    parser.add_argument("--demo", action="store_true", help="count mixed traffic on a throwaway veth pair")
    parser.add_argument("--netns", help="the network namespace the interface is in (a name from `ip netns`)")
    parser.add_argument("--mode", default="auto", choices=["auto", "native", "generic"], help="the XDP mode")
    parser.add_argument("--top", type=int, default=5, help="sources to show (default 5)")
    add_output(parser, per="interval")
    parser.add_argument("--format", default="table", choices=["table", "json", "prometheus"], help=argparse.SUPPRESS)
    add_timing(parser, interval=1.0)
    parser.set_defaults(run=run)


def main(argv: list[str] | None = None) -> int:
    """``pybpf-xdp-counter``: the older name of ``pybpf xdp-count``."""
    from pybpf.tools.cli import main as pybpf_main

    return pybpf_main(["xdp-count", *(sys.argv[1:] if argv is None else argv)])
