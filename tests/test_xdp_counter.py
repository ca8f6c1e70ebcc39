"""The shipped XDP counter on a real veth pair: exact per-protocol counts."""

from __future__ import annotations

import subprocess
import time

import pytest

import pybpf
from pybpf.netns import VethPair
from pybpf.tools.traffic import send_icmp_echo, send_tcp_syn, send_udp
from pybpf.tools.xdp_counter import PROTOCOLS, XDPCounter, demo

from tool_runs import ToolRun, run_tool

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


def test_link_pin_keeps_it_attached(veth: VethPair, bpffs) -> None:  # type: ignore[no-untyped-def]
    with XDPCounter() as counter:
        with veth.inside(veth.ns_a):
            link = counter.attach(veth.if_a)
        link.pin(bpffs / "link")
        with pytest.raises(ValueError, match="is a link, not a map"):
            pybpf.Map.from_pinned(bpffs / "link")
        link.close()
        assert veth.xdp_attached(veth.ns_a, veth.if_a)  # the pin holds it
        (bpffs / "link").unlink()
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


@pytest.mark.parametrize("mode", ["native", "generic"])
def test_xdp_count_command_counts_exactly(veth: VethPair, mode: str) -> None:
    """``pybpf xdp-count`` in a throwaway namespace, as a user runs it: each
    interval's JSON has rates, and the final one counts exactly what was sent."""
    run = ToolRun(["xdp-count", veth.if_a, "--netns", veth.ns_a, "--mode", mode, "--json", "-i", "0.2"], links=1)
    assert veth.xdp_attached(veth.ns_a, veth.if_a)
    with veth.inside(veth.ns_b):
        send_udp(veth.addr_a, N_UDP)
        send_icmp_echo(veth.addr_a, M_ICMP)
        send_tcp_syn(veth.addr_a, K_TCP)
    time.sleep(0.5)  # an interval report sees them
    records, _ = run.records()
    assert not veth.xdp_attached(veth.ns_a, veth.if_a)
    final = records[-1]
    assert final["final"] is True and all(not r["final"] for r in records[:-1])
    protocols = final["protocols"]
    assert protocols["ipv4/udp"]["packets"] == N_UDP
    assert protocols["ipv4/icmp"]["packets"] == M_ICMP
    assert protocols["ipv4/tcp"]["packets"] == K_TCP
    assert final["sources"][veth.addr_b]["packets"] == N_UDP + M_ICMP + K_TCP
    assert any(r["protocols"]["ipv4/udp"]["packets_per_s"] > 0 for r in records[:-1])


def test_xdp_count_piped_table_and_missing_interface() -> None:
    """Piped, the table is plain lines (no terminal escapes); an unknown
    interface is one line naming it, status 1."""
    done = run_tool(["xdp-count", "lo", "--duration", "0.5", "-i", "0.2", "--mode", "generic"])
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and "final counts" in done.stdout and "protocol" in done.stdout
    missing = run_tool(["xdp-count", "pybpf-no-such-if"])
    assert missing.returncode == 1
    assert len(missing.stderr.splitlines()) == 1 and "pybpf-no-such-if" in missing.stderr
