"""A parent attaches XDP, a tc classifier, a socket filter, an LWT route and a
tracepoint, then forks a child that exits normally, closes everything
explicitly, or raises.  The parent then checks that each attachment is
still in place and counting, closes everything (with a watchdog against a
hang) and checks that each is gone.

    python tests/support/fork_scenario.py exit|close|raise [...]

A real interpreter of its own (not pytest's), so the child's exit runs
atexit and the finalizers as in any program.  Prints one JSON object per
mode, in order: {"mode": ..., "child": exit status, "counts": {...},
"after_close": {...}}.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
from typing import Any

import pybpf
from pybpf.netns import VethPair
from pybpf.tools.traffic import send_udp

COUNTED_PORT = 47021
HOOK_OUT = 1  # lwt_hooks.bpf.c
IPV4_UDP = 1  # xdp_counter.bpf.c: SLOT_IPV4_UDP
ROUTE = "10.204.0.0/24"
N = 3


class Attached:
    """Everything the parent attached, and how to read each counter."""

    def __init__(self, veth: VethPair) -> None:
        self.veth = veth
        self.xdp = pybpf.load(pybpf.shipped("xdp_counter"))
        self.tc = pybpf.load(pybpf.shipped("tc_hooks"))
        self.tc.maps["udp_ports"][COUNTED_PORT] = {}
        self.sock_hooks = pybpf.load(pybpf.shipped("socket_hooks"))
        self.lwt = pybpf.load(pybpf.shipped("lwt_hooks"))
        trace = pybpf.BPFObject.open(pybpf.shipped("syscount"))
        trace.rodata["target_pid"] = os.getpid()
        self.trace = trace.load()
        self.rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rx.bind(("127.0.0.1", 0))
        self.rx.setblocking(False)
        self.sock_hooks.maps["lengths"][8 + 10] = {}
        with veth.inside(veth.ns_a):
            self.links = {
                "xdp": self.xdp.programs["xdp_count"].attach_xdp(veth.if_a),
                "tc": self.tc.programs["classify_udp"].attach_tc(veth.if_a, "ingress"),
            }
        with veth.inside(veth.ns_b):
            self.links["route"] = self.lwt.programs["count_out"].attach_route(ROUTE, veth.if_b, gateway=veth.addr_a)
        self.links["socket"] = self.sock_hooks.programs["filter_by_length"].attach_socket(self.rx)
        self.links["tracepoint"] = self.trace.programs["count_syscalls"].attach()

    def objects(self) -> list[pybpf.BPFObject]:
        return [self.xdp, self.tc, self.sock_hooks, self.lwt, self.trace]

    def counts(self) -> dict[str, int]:
        xdp = sum(c.packets for c in self.xdp.maps["proto_stats"][IPV4_UDP])
        return {
            "xdp": xdp,
            "tc": self.tc.maps["udp_ports"][COUNTED_PORT].packets,
            "route": self.lwt.maps["hooks"][HOOK_OUT].packets,
            "socket": self.sock_hooks.maps["lengths"][18].seen,
            "tracepoint": sum(v for k, v in self.trace.maps["counts"].items() if k.nr == _GETPPID),
        }

    def traffic(self) -> None:
        """N packets through every hook; N getppid() calls for the tracepoint."""
        veth = self.veth
        with veth.inside(veth.ns_b):
            send_udp(veth.addr_a, N, port=COUNTED_PORT)  # XDP and tc on if_a
            try:
                send_udp("10.204.0.9", N, port=4000)  # the LWT route
            except OSError:
                pass  # no route any more: counted as not sent
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            for _ in range(N):
                tx.sendto(b"x" * 10, self.rx.getsockname())
        for _ in range(N):
            os.getppid()


_GETPPID = 110  # x86_64


def _child(mode: str, attached: Attached) -> None:
    """What the forked child does; its exit runs atexit and finalizers."""
    if mode == "close":
        for link in attached.links.values():
            link.close()
        for obj in attached.objects():
            obj.close()
        sys.exit(0)
    if mode == "raise":
        raise RuntimeError("the child fails")
    sys.exit(0)


def _delta(attached: Attached) -> dict[str, int]:
    before = attached.counts()
    attached.traffic()
    after = attached.counts()
    return {k: after[k] - before[k] for k in before}


def scenario(mode: str) -> dict[str, Any]:
    """One parent, one child that ends by ``mode``: what was counted."""
    with VethPair(prefix="pybpf-fork") as veth:
        attached = Attached(veth)
        pid = os.fork()
        if pid == 0:
            _child(mode, attached)
        _, status = os.waitpid(pid, 0)
        result: dict[str, Any] = {"mode": mode, "child": os.waitstatus_to_exitcode(status)}
        result["counts"] = _delta(attached)
        signal.alarm(30)  # a hang in close() fails the test rather than the run
        for link in attached.links.values():
            link.close()
        signal.alarm(0)
        result["after_close"] = _delta(attached)
        for obj in attached.objects():
            obj.close()
        attached.rx.close()
    return result


def main() -> None:
    for mode in sys.argv[1:]:
        print(json.dumps(scenario(mode)), flush=True)


if __name__ == "__main__":
    main()
