"""Tool output formats: no kernel needed."""

from __future__ import annotations

from pybpf.tools.xdp_counter import PROTOCOLS


def test_prometheus_and_table_render() -> None:
    from pybpf.tools.xdp_counter import render_prometheus, render_table

    protocols = {name: {"packets": i, "bytes": 10 * i} for i, name in enumerate(PROTOCOLS)}
    assert 'pybpf_xdp_packets_total{protocol="ipv4/udp"} 1' in render_prometheus(protocols)
    assert "ipv4/udp" in render_table(protocols, {"10.0.0.1": {"packets": 3, "bytes": 4}})
