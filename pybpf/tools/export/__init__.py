"""``pybpf export``: BPF maps served as Prometheus metrics.

    pybpf export --config xdp --var interface=eth0     # a shipped configuration
    pybpf export --config my.yaml --listen 0.0.0.0:9435
    pybpf export --config syscalls --check              # check it, load nothing

Loads and attaches the programs the configuration names (shipped ones or
your own objects), then serves ``/metrics`` over HTTP (prometheus_client)
until Ctrl-C, SIGTERM or SIGHUP, which detach everything.  Maps are read
at each scrape.  Shipped configurations: xdp (packets and bytes per
protocol and per source), syscalls (per syscall name), biolatency and
runqlat (log2 latency histograms).  The format is in
``pybpf/tools/export/config.py``; a configuration error names its line and field.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from typing import Any

from pybpf.tools.options import run_until_stopped, subcommand

__all__ = ["register", "run"]


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:  # 0: a free port, printed
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(port)


def _variable(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name, value


def run(args: argparse.Namespace) -> int:
    """Load, attach and serve until stopped."""
    from prometheus_client import CollectorRegistry, start_http_server

    from pybpf.tools.export.collector import MapCollector, loaded_programs
    from pybpf.tools.export.config import ConfigError, read_config
    from pybpf.tools.options import tracefs

    try:
        config = read_config(args.config, dict(args.var))
        if args.check:
            print(f"{args.config}: {len(config.programs)} programs, {len(config.metrics)} metrics: valid")
            return 0
        with contextlib.ExitStack() as stack:
            stack.enter_context(tracefs())
            objects = stack.enter_context(loaded_programs(config))
            collector = stack.enter_context(contextlib.closing(MapCollector(config, objects)))
            registry = CollectorRegistry(auto_describe=False)
            registry.register(collector)
            host, port = args.listen
            try:
                server, thread = start_http_server(port, host, registry=registry)
            except OSError as exc:
                print(f"pybpf export: listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
                return 1
            try:
                where = f"http://{host}:{server.server_port}/metrics"
                print(f"pybpf export: serving {len(config.metrics)} metrics at {where}", file=sys.stderr, flush=True)
                run_until_stopped(time.sleep, duration=args.duration)
            finally:
                server.shutdown()
                server.server_close()
                thread.join()
    except ConfigError as exc:
        print(f"pybpf export: {exc}", file=sys.stderr)
        return 1
    print("pybpf export: stopped; everything detached", file=sys.stderr)
    return 0


def register(commands: Any) -> None:
    """Add ``export`` to the ``pybpf`` command."""
    parser = subcommand(commands, "export", help="serve BPF maps as Prometheus metrics", doc=__doc__)
    parser.add_argument("--config", required=True, help="a YAML configuration, or a shipped one's name")
    parser.add_argument(
        "--listen", type=_listen, default=("127.0.0.1", 9435), help="HOST:PORT to serve on (default 127.0.0.1:9435)"
    )
    parser.add_argument("--var", type=_variable, action="append", default=[], help="NAME=VALUE for ${NAME} in it")
    parser.add_argument("--check", action="store_true", help="check the configuration and exit")
    parser.add_argument("-d", "--duration", type=float, help="stop after this many seconds (default: Ctrl-C)")
    parser.set_defaults(run=run)
