"""``syscall-census -- COMMAND [ARG...]``: run COMMAND, then print how many
times it made each system call, as ``number count`` lines, most frequent
first; ``--json`` prints one JSON object instead."""

from __future__ import annotations

import argparse
import json
import sys

from syscall_census import census


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="syscall-census", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print {number: count} as JSON")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command to run (after --)")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give a command to run")
    status, calls = census(command)
    if args.json:
        print(json.dumps({str(nr): count for nr, count in sorted(calls.items())}))
    else:
        for nr, count in sorted(calls.items(), key=lambda item: -item[1]):
            print(f"{nr} {count}")
    return status


if __name__ == "__main__":
    sys.exit(main())
