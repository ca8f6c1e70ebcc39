"""The ``pybpf`` command (also ``python -m pybpf``): tracers, the XDP
counter, inspection of what the kernel holds, the compiler and cleanup.

    pybpf execsnoop | opensnoop | exitsnoop | syscount         # tracers
    pybpf tcpconnect | tcplife          # TCP connections
    pybpf runqlat | biolatency | funclatency TARGET   # latency histograms
    pybpf profile [--folded]            # CPU stack samples
    pybpf xdp-count eth0                # the XDP counter, live
    pybpf progs | maps | links          # what the kernel holds
    pybpf map dump ID|PIN               # a map's entries, decoded through BTF
    pybpf export --config xdp --var interface=eth0   # maps as Prometheus metrics
    pybpf vm --kernels 6.1,6.12 -- pytest tests/   # a command on other kernels, in VMs
    pybpf build prog.bpf.c -o prog.bpf.o
    pybpf cleanup [--dry-run]           # what exited pybpf processes left attached

``pybpf COMMAND --help`` describes each.  Every command exits 0, or 1 with a
one-line error (``--verbose`` shows libbpf's messages and the whole error).
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from pybpf.tools.command import run_command

__all__ = ["main"]


def cleanup(args: argparse.Namespace) -> int:
    """List, and unless ``--dry-run`` remove, the attachments the kernel kept
    for pybpf processes that have exited (tc filters, BPF routes and
    STRUCT_OPS registrations made without a link)."""
    from pybpf import stale_attachments

    stale = stale_attachments()
    for attachment in stale:
        if not args.dry_run:
            attachment.remove()
        print(f"{'left' if args.dry_run else 'removed'}: {attachment}")
    if not stale:
        print("nothing left by exited pybpf processes")
    return 0


def build(args: argparse.Namespace) -> int:
    """Compile one BPF C file; clang's diagnostics go to stderr, status 1 on failure."""
    from pybpf.build.compiler import CompileError, compile

    try:
        out = compile(
            args.source,
            args.output,
            btf=args.btf,
            include_dirs=args.include,
            cflags=args.cflag,
            strip=not args.keep_dwarf,
        )
    except CompileError as exc:
        print(f"pybpf build: {args.source}:\n{exc}", file=sys.stderr)
        return 1
    print(out)
    return 0


def _register_build(commands: Any) -> None:
    parser = commands.add_parser(
        "build",
        help="compile BPF C into a CO-RE object",
        description="Compile BPF C with clang against a vmlinux.h made from the kernel's BTF (cached), "
        "for this machine's architecture, and strip its DWARF (BTF stays).",
    )
    parser.add_argument("source", help="the BPF C file (prog.bpf.c)")
    parser.add_argument("-o", "--output", help="the object to write (default: the source with .o)")
    parser.add_argument("--btf", help="BTF to make vmlinux.h from (default: /sys/kernel/btf/vmlinux)")
    parser.add_argument("-I", dest="include", action="append", default=[], help="another include directory")
    parser.add_argument("--cflag", action="append", default=[], help="another clang flag (repeatable)")
    parser.add_argument("--keep-dwarf", action="store_true", help="do not strip the DWARF debug info")
    parser.set_defaults(run=build)


def _register_cleanup(commands: Any) -> None:
    parser = commands.add_parser("cleanup", help="remove what exited pybpf processes left attached")
    parser.add_argument("--dry-run", action="store_true", help="only list it")
    parser.set_defaults(run=cleanup)


def parser() -> argparse.ArgumentParser:
    """The ``pybpf`` command's parser, every subcommand registered."""
    from pybpf.tools import export, inventory, vm, xdp_counter
    from pybpf.tools.tracers import execsnoop, exitsnoop, funclatency, latency, opensnoop, profile, syscount, tcp

    top = argparse.ArgumentParser(
        prog="pybpf", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    top.add_argument("-v", "--verbose", action="store_true", help="libbpf's messages, and whole errors")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    tracers = (execsnoop, opensnoop, exitsnoop, tcp, syscount, latency, funclatency, profile)
    for module in (*tracers, xdp_counter, inventory, export, vm):
        module.register(commands)
    _register_build(commands)
    _register_cleanup(commands)
    return top


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``pybpf``."""
    args = parser().parse_args(argv)
    libbpf_log = logging.getLogger("pybpf.libbpf")
    if args.verbose:
        logging.basicConfig(format="%(name)s: %(message)s", level=logging.DEBUG)
    else:  # what libbpf says about a failure is in the error; the rest is noise here
        libbpf_log.addHandler(logging.NullHandler())
        libbpf_log.propagate = False
    return run_command(f"pybpf {args.command}", lambda: args.run(args), verbose=args.verbose)


if __name__ == "__main__":
    sys.exit(main())
