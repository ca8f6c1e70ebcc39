"""Tool output formats: no kernel needed."""

from __future__ import annotations

from pybpf.tools.xdp_counter import PROTOCOLS


def test_prometheus_and_table_render() -> None:
    from pybpf.tools.xdp_counter import render_prometheus, render_table

    protocols = {name: {"packets": i, "bytes": 10 * i} for i, name in enumerate(PROTOCOLS)}
    assert 'pybpf_xdp_packets_total{protocol="ipv4/udp"} 1' in render_prometheus(protocols)
    assert "ipv4/udp" in render_table(protocols, {"10.0.0.1": {"packets": 3, "bytes": 4}})


def test_histogram_rendering() -> None:
    from pybpf.tools import histogram

    text = histogram.render({0: 1, 3: 4, 4: 2}, "usecs")
    lines = text.splitlines()
    assert lines[0].split() == ["usecs", ":", "count", "distribution"]
    assert lines[1].split()[:5] == ["0", "->", "1", ":", "1"]
    assert lines[4].split()[:5] == ["8", "->", "15", ":", "4"] and lines[4].endswith("|" + "*" * 40 + "|")
    assert [b["count"] for b in histogram.buckets({0: 1, 3: 4, 4: 2, 9: 0})] == [1, 0, 0, 4, 2]
