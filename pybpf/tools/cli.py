"""The ``pybpf`` command.

pybpf build prog.bpf.c -o prog.bpf.o   # compile BPF C into a CO-RE object
pybpf cleanup             # remove what exited pybpf processes left attached
pybpf cleanup --dry-run   # only list it
"""

from __future__ import annotations

import argparse
import sys

from pybpf._attach.marks import stale_attachments
from pybpf.tools.command import run_command

__all__ = ["main"]


def cleanup(*, dry_run: bool) -> int:
    """List, and unless ``dry_run`` remove, the attachments the kernel kept
    for pybpf processes that have exited (tc filters, BPF routes and
    STRUCT_OPS registrations made without a link); returns how many."""
    stale = stale_attachments()
    for attachment in stale:
        if not dry_run:
            attachment.remove()
        print(f"{'left' if dry_run else 'removed'}: {attachment}")
    if not stale:
        print("nothing left by exited pybpf processes")
    return len(stale)


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


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``pybpf``."""
    parser = argparse.ArgumentParser(prog="pybpf", description="pybpf: eBPF from Python")
    commands = parser.add_subparsers(dest="command", required=True)
    compile_ = commands.add_parser(
        "build",
        help="compile BPF C into a CO-RE object",
        description="Compile BPF C with clang against a vmlinux.h made from the kernel's BTF (cached), "
        "for this machine's architecture, and strip its DWARF (BTF stays).",
    )
    compile_.add_argument("source", help="the BPF C file (prog.bpf.c)")
    compile_.add_argument("-o", "--output", help="the object to write (default: the source with .o)")
    compile_.add_argument("--btf", help="BTF to make vmlinux.h from (default: /sys/kernel/btf/vmlinux)")
    compile_.add_argument("-I", dest="include", action="append", default=[], help="another include directory")
    compile_.add_argument("--cflag", action="append", default=[], help="another clang flag (repeatable)")
    compile_.add_argument("--keep-dwarf", action="store_true", help="do not strip the DWARF debug info")
    clean = commands.add_parser("cleanup", help="remove what exited pybpf processes left attached")
    clean.add_argument("--dry-run", action="store_true", help="only list it")
    args = parser.parse_args(argv)

    def body() -> int:
        if args.command == "build":
            return build(args)
        cleanup(dry_run=args.dry_run)
        return 0

    return run_command(f"pybpf {args.command}", body)


if __name__ == "__main__":
    sys.exit(main())
