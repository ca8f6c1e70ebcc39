"""Flow dissector programs (bpf_progs/flow_dissector.bpf.c): attached to a
namespace whose veth receives with RPS on, so the kernel hashes (dissects)
every packet; and run by test_run, which returns the flow keys."""

from __future__ import annotations

import ctypes
import ipaddress
import socket
import subprocess
from collections.abc import Iterator

import pytest

import pybpf
from pybpf.netns import VethPair
from pybpf.tools.traffic import send_udp

import packets

pytestmark = pytest.mark.kernel

UDP, TCP = 17, 6


@pytest.fixture
def dissector() -> Iterator[pybpf.BPFObject]:
    with pybpf.load(pybpf.shipped("flow_dissector")) as obj:
        obj.maps["dissected"][UDP] = {}
        obj.maps["dissected"][TCP] = {}
        yield obj


def test_every_received_packet_is_dissected_with_rps(dissector: pybpf.BPFObject, veth: VethPair) -> None:
    # RPS makes the receive path hash each packet: the namespace's dissector runs.
    rps = f"/sys/class/net/{veth.if_a}/queues/rx-0/rps_cpus"
    subprocess.run(["ip", "netns", "exec", veth.ns_a, "sh", "-c", f"echo 1 > {rps}"], check=True)
    with dissector.programs["dissect_ipv4"].attach_netns(veth.ns_a):
        with veth.inside(veth.ns_b):
            send_udp(veth.addr_a, 6, port=4000)
    with veth.inside(veth.ns_b):
        send_udp(veth.addr_a, 3, port=4000)  # detached: the kernel's own dissector
    counts = dissector.maps["dissected"]
    assert (counts[UDP].packets, counts[TCP].packets) == (6, 0)


def test_test_run_returns_the_flow_keys(dissector: pybpf.BPFObject) -> None:
    keys_type = dissector.btf_type("struct bpf_flow_keys")
    prog = dissector.programs["dissect_ipv4"]
    frame = packets.udp4(src="10.0.0.1", dst="192.0.2.9", sport=1234, dport=4242)
    result = prog.test_run(frame, data_out_size=ctypes.sizeof(keys_type))
    assert result.retval == 0  # BPF_OK
    keys = keys_type.from_buffer_copy(result.data_out[: ctypes.sizeof(keys_type)])
    assert (keys.nhoff, keys.thoff, keys.ip_proto) == (14, 34, UDP)
    assert (socket.ntohs(keys.sport), socket.ntohs(keys.dport)) == (1234, 4242)
    assert ipaddress.IPv4Address(socket.ntohl(keys.ipv4_dst)) == ipaddress.IPv4Address("192.0.2.9")
    assert dissector.maps["dissected"][UDP].packets == 1
    dissector.maps["dissected"][UDP] = {"refuse": 1}  # a new entry: its count starts at 0
    assert prog.test_run(frame).retval == 2  # BPF_DROP: the kernel is told it cannot dissect it
    assert dissector.maps["dissected"][UDP].packets == 1
