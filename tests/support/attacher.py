"""A process that attaches one program and waits to be killed, for the
kill-and-restart tests.

    python attacher.py KIND NETNS INTERFACE

KIND: tcx, cls_bpf, act_bpf, route, xdp (on INTERFACE, inside NETNS),
struct_ops (the default registration), struct_ops_legacy (``use_link=False``).
Prints "ready" once attached, then sleeps.  ``exit`` as a fourth argument
closes everything and exits instead: the clean path.
"""

from __future__ import annotations

import sys
import time

import pybpf
from pybpf.netns import inside

ROUTE = "10.209.0.0/24"


def attach(kind: str, netns: str, interface: str) -> tuple[pybpf.BPFObject, pybpf.Link]:
    if kind.startswith("struct_ops"):
        obj = pybpf.BPFObject.open(pybpf.shipped("tcp_cc"))
        if kind == "struct_ops_legacy":
            obj.maps["pybpf_cc"].use_link = False
        obj.load()
        return obj, obj.maps["pybpf_cc"].attach_struct_ops()
    name = {"route": "lwt_hooks", "xdp": "xdp_counter"}.get(kind, "tc_hooks")
    obj = pybpf.load(pybpf.shipped(name))
    with inside(netns):
        if kind == "route":
            return obj, obj.programs["count_out"].attach_route(ROUTE, interface)
        if kind == "xdp":
            return obj, obj.programs["xdp_count"].attach_xdp(interface)
        if kind == "act_bpf":
            return obj, obj.programs["act_on_udp"].attach_tc_action(interface)
        return obj, obj.programs["classify_udp"].attach_tc(interface, mode=kind)  # type: ignore[arg-type]


def main() -> None:
    obj, link = attach(*sys.argv[1:4])
    print("ready", flush=True)
    if sys.argv[4:] == ["exit"]:
        obj.close()
        return
    time.sleep(600)


if __name__ == "__main__":
    main()
