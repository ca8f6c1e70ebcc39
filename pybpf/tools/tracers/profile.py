"""profile: where the CPUs spend their time, from stack samples taken by a
perf event at a fixed frequency on every CPU.

    pybpf profile -d 10                # the hottest stacks over 10 s
    pybpf profile --pid 1234 -F 99 -d 5
    pybpf profile --folded -d 10 > out.folded   # flame-graph input

Kernel frames are named from ``/proc/kallsyms``, user frames from the ELF
symbols of the files each process maps (read with pyelftools; a process's
mappings are read while it runs, so that its frames resolve after it
exits).  User stacks are walked by frame pointers: code built without them
shows its innermost frame only.  ``--folded`` prints one line per stack,
``comm;outermost;...;innermost count``, kernel frames marked ``_[k]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import pybpf
from pybpf.tools.options import add_filters, add_timing, loaded_tool, run_until_stopped, subcommand
from pybpf.tools.symbols import KernelSymbols, UserSymbols

__all__ = ["register", "run"]


def _frames(stacks: Any, stack_id: int) -> tuple[int, ...]:
    if stack_id < 0:
        return ()
    try:
        return tuple(stacks[stack_id])
    except KeyError:  # evicted meanwhile: the sample's count stays, its frames are gone
        return ()


def run(args: argparse.Namespace) -> int:
    """Sample until stopped, then print the stacks."""
    kernel, user = KernelSymbols(), UserSymbols()
    with loaded_tool("profile", args, rodata={"include_idle": args.idle}, attach=False) as obj:
        counts = obj.maps["counts"]

        def begin() -> None:  # the object holds the link: closing it detaches
            obj.programs["sample"].attach_perf_event(
                pybpf.PerfEventType.SOFTWARE, pybpf.SoftwareEvent.CPU_CLOCK, sample_freq=args.frequency
            )
            if not args.folded and not args.json:
                print(f"Sampling stacks at {args.frequency} Hz... Ctrl-C to end.", flush=True)

        def remember_processes() -> None:
            for key in counts.keys():
                user.remember(key.pid)

        run_until_stopped(time.sleep, duration=args.duration, interval=0.2, report=remember_processes, start=begin)
        samples = dict(counts.items())
        stacks = obj.maps["stacks"]
        merged: dict[tuple[Any, ...], int] = {}
        for key, count in samples.items():  # stacks that differ only in addresses within the same functions merge
            user.remember(key.pid)
            names = (
                key.pid,
                key.comm.decode(errors="replace"),
                tuple(kernel.name(a).split(" ", 1)[0] for a in _frames(stacks, key.kernel_stack)),
                tuple(user.name(key.pid, a) for a in _frames(stacks, key.user_stack)),
            )
            merged[names] = merged.get(names, 0) + count
        rows = [
            {"pid": pid, "comm": comm, "count": count, "kernel_stack": list(kstack), "user_stack": list(ustack)}
            for (pid, comm, kstack, ustack), count in sorted(merged.items(), key=lambda kv: -kv[1])
        ]
        dropped = sum(obj.maps["dropped"][0])
    for row in rows:
        if args.json:
            print(json.dumps(row))
        elif args.folded:
            frames = row["user_stack"][::-1] + [f"{name}_[k]" for name in row["kernel_stack"][::-1]]
            print(";".join([row["comm"], *frames]) + f" {row['count']}")
        else:
            lines = [f"    {name}" for name in row["kernel_stack"]]
            if row["kernel_stack"] and row["user_stack"]:
                lines.append("    --")
            lines += [f"    {name}" for name in row["user_stack"]]
            lines += [f"    -                {row['comm']} ({row['pid']})", f"        {row['count']}", ""]
            print("\n".join(lines))
    total = sum(row["count"] for row in rows)
    note = f", {dropped} dropped (the count map was full)" if dropped else ""
    print(f"profile: {total} samples, {len(rows)} stacks{note}", file=sys.stderr, flush=True)
    return 0


def register(commands: Any) -> None:
    """Add ``profile`` to the ``pybpf`` command."""
    parser = subcommand(commands, "profile", help="sample CPU stacks; flame-graph input with --folded", doc=__doc__)
    add_filters(parser, what="sample only")
    parser.add_argument("-F", "--frequency", type=int, default=49, help="samples per second per CPU (default 49)")
    parser.add_argument("--idle", action="store_true", help="count the idle task's samples too")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--folded", action="store_true", help="one line per stack: comm;frames... count")
    output.add_argument("--json", action="store_true", help="one JSON object per stack")
    add_timing(parser)
    parser.set_defaults(run=run)
