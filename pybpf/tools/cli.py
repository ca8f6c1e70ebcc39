"""The ``pybpf`` command.

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


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``pybpf``."""
    parser = argparse.ArgumentParser(prog="pybpf", description="pybpf: eBPF from Python")
    commands = parser.add_subparsers(dest="command", required=True)
    clean = commands.add_parser("cleanup", help="remove what exited pybpf processes left attached")
    clean.add_argument("--dry-run", action="store_true", help="only list it")
    args = parser.parse_args(argv)

    def body() -> None:
        cleanup(dry_run=args.dry_run)

    return run_command(f"pybpf {args.command}", body)


if __name__ == "__main__":
    sys.exit(main())
