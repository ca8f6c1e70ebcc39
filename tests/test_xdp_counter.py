"""The shipped XDP counter on a real veth pair: exact per-protocol counts."""

from __future__ import annotations

import subprocess
import time

import pytest

import pybpf
from pybpf.netns import VethPair
from pybpf.tools.traffic import send_icmp_echo, send_tcp_syn, send_udp
from pybpf.tools.xdp_counter import PROTOCOLS, XDPCounter, demo

pytestmark = pytest.mark.kernel

N_UDP, M_ICMP, K_TCP = 37, 23, 11


def _ip_link_shows_xdp(pair: VethPair) -> bool:
    out = subprocess.run(
        ["ip", "-netns", pair.ns_a, "link", "show", "dev", pair.if_a], capture_output=True, text=True, check=True
    ).stdout
    return "xdp" in out


@pytest.mark.parametrize("mode", ["auto", "native", "generic"])
def test_exact_counts_on_veth(veth: VethPair, mode: str) -> None:
    with XDPCounter() as counter:
        with veth.inside(veth.ns_a):
            link = counter.attach(veth.if_a, mode=mode)
        with link:
            assert veth.xdp_attached(veth.ns_a, veth.if_a) and _ip_link_shows_xdp(veth)
            with veth.inside(veth.ns_b):
                send_udp(veth.addr_a, N_UDP)
                send_icmp_echo(veth.addr_a, M_ICMP)
                send_tcp_syn(veth.addr_a, K_TCP)
            time.sleep(0.2)
            protocols = counter.protocols()
            sources = counter.sources()
        assert not veth.xdp_attached(veth.ns_a, veth.if_a) and not _ip_link_shows_xdp(veth)

    assert set(protocols) == set(PROTOCOLS)
    assert protocols["ipv4/udp"]["packets"] == N_UDP
    assert protocols["ipv4/icmp"]["packets"] == M_ICMP
    assert protocols["ipv4/tcp"]["packets"] == K_TCP
    assert protocols["ipv4/other"]["packets"] == 0
    # 14 B Ethernet + 20 B IPv4 + 8 B UDP + 5 B payload
    assert protocols["ipv4/udp"]["bytes"] == N_UDP * (14 + 20 + 8 + 5)
    assert sources[veth.addr_b]["packets"] == N_UDP + M_ICMP + K_TCP
    assert veth.addr_a not in sources  # ingress only: our own replies are not seen


def test_closing_the_object_detaches(veth: VethPair) -> None:
    counter = XDPCounter()
    with veth.inside(veth.ns_a):
        counter.attach(veth.if_a)
    assert veth.xdp_attached(veth.ns_a, veth.if_a)
    counter.close()
    assert not veth.xdp_attached(veth.ns_a, veth.if_a)


def test_link_pin_keeps_it_attached(veth: VethPair, pin_dir) -> None:  # type: ignore[no-untyped-def]
    with XDPCounter() as counter:
        with veth.inside(veth.ns_a):
            link = counter.attach(veth.if_a)
        link.pin(pin_dir / "link")
        with pytest.raises(ValueError, match="is a link, not a map"):
            pybpf.Map.from_pinned(pin_dir / "link")
        link.close()
        assert veth.xdp_attached(veth.ns_a, veth.if_a)  # the pin holds it
        (pin_dir / "link").unlink()
    assert not veth.xdp_attached(veth.ns_a, veth.if_a)


def test_demo_counts_what_it_sent() -> None:
    import io

    before = set(subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split())
    out = io.StringIO()
    result = demo(out, udp=5, icmp=4, tcp=3, rounds=2)
    assert result["ok"], out.getvalue()
    assert result["sent"] == {"ipv4/udp": 10, "ipv4/icmp": 8, "ipv4/tcp": 6}
    after = set(subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split())
    assert after <= before  # nothing left behind
    assert "final counts" in out.getvalue()
