#!/usr/bin/env python3
"""``pybpf export``: how long one scrape of a map with N series takes.

    make bench            # or: python bench/export_scrape.py [--series 100000]

Fills the flow table of tests/bpf/export_maps.bpf.c with N sources (one
label each, decoded as addresses), serves it as ``pybpf export`` does, and
times a GET of /metrics over loopback (best of --repeats), then splits the
time: reading the map, building the metric families (pybpf), and
prometheus_client's text exposition.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest, start_http_server

from pybpf.tools.export.collector import MapCollector, loaded_programs
from pybpf.tools.export.config import load_config

ROOT = Path(__file__).resolve().parent.parent
CONFIG = """\
programs:
  maps: {{object: {object}, attach: []}}
metrics:
  - name: flow_packets
    type: counter
    map: flows
    value: packets
    labels: [{{name: source, key: addr, decoder: inet}}]
"""


def best(call: Callable[[], object], repeats: int) -> float:
    """The fastest of ``repeats`` runs of ``call``, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=100_000, help="entries of the map, one series each")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many scrapes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = ROOT / "tests" / "bpf" / "export_maps.bpf.c"
        subprocess.run([sys.executable, str(ROOT / "scripts" / "build_bpf.py"), tmp, str(source)], check=True)
        config = load_config(CONFIG.format(object=Path(tmp) / "export_maps.bpf.o"))
        with loaded_programs(config) as objects:
            flows = objects["maps"].maps["flows"]
            entries = []
            for i in range(args.series):
                key = flows.key_type()
                key.addr[10:16] = [0xFF, 0xFF, 10, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF]
                entries.append((key, flows.value_type(packets=i, bytes=i)))
            flows.update_from(entries)
            collector = MapCollector(config, objects)
            registry = CollectorRegistry(auto_describe=False)
            registry.register(collector)
            server, thread = start_http_server(0, "127.0.0.1", registry=registry)
            try:
                url = f"http://127.0.0.1:{server.server_port}/metrics"
                scrapes = []
                for _ in range(args.repeats + 1):
                    start = time.perf_counter()
                    with urllib.request.urlopen(url, timeout=120) as reply:
                        size = len(reply.read())
                    scrapes.append(time.perf_counter() - start)
                raw = collector.maps[flows.id]
                read = best(lambda: list(raw.items()), args.repeats)
                families = best(lambda: list(collector.collect()), args.repeats)
                text = best(lambda: generate_latest(registry), args.repeats)
            finally:
                server.shutdown()
                server.server_close()
                thread.join()
                collector.close()
    first, steady = scrapes[0], min(scrapes[1:])
    print(f"pybpf export: a scrape of {args.series} series ({size} bytes) over loopback:")
    print(f"  first {first * 1000:.0f} ms (every label decoded), then {steady * 1000:.0f} ms (best of {args.repeats})")
    print(
        f"  of which: map read {read * 1000:.0f} ms, metric families {(families - read) * 1000:.0f} ms, "
        f"prometheus_client's exposition {(text - families) * 1000:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
