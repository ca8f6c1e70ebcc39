"""``python -m fuzz``: run a seeded campaign and print its report as JSON.

    PYTHONPATH=tests/support python -m fuzz --cases 20000 [--objects DIR]
    PYTHONPATH=tests/support python -m fuzz --seed 13 --case 4711 --write case.bpf.o

Exits 1 if any case escaped the library's errors, crashed or hung."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import pybpf

from fuzz import campaign
from fuzz.mutations import load_corpus, mutate


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--cases", type=int, default=20000)
    parser.add_argument("--start", type=int, default=0, help="first case number")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds before a case counts as hung")
    parser.add_argument(
        "--objects", type=Path, action="append", default=[], help="more objects to mutate (a directory)"
    )
    parser.add_argument("--case", type=int, help="write this one case's object and exit (with --write)")
    parser.add_argument("--write", type=Path, help="where --case writes its object")
    args = parser.parse_args()

    paths = [Path(pybpf.shipped(name)) for name in pybpf.shipped_names()]
    for directory in args.objects:
        paths += sorted(directory.glob("*.bpf.o"))
    corpus = load_corpus(paths)
    if args.case is not None:
        case = mutate(corpus, args.seed, args.case)
        (args.write or Path(f"case-{args.case}.bpf.o")).write_bytes(case.data)
        print(f"case {args.case}: {case.strategy} of {case.base}")
        return 0
    report = campaign.run(
        corpus, seed=args.seed, cases=args.cases, start=args.start, jobs=args.jobs, timeout=args.timeout
    )
    result = {"seed": args.seed, "start": args.start, "objects": len(corpus), **report.as_dict()}
    json.dump(result, sys.stdout, indent=1)
    print()
    return 1 if report.defects else 0


if __name__ == "__main__":
    sys.exit(main())
