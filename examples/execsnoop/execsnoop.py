#!/usr/bin/env python3
"""execsnoop, ported from a libbpf C tool to pybpf (docs/porting.md walks
through it): one JSON line per execve, with its arguments.

    sudo python3 execsnoop.py [--ppid PID] [--duration S]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pybpf

HERE = Path(__file__).resolve().parent


def handle(event: Any) -> None:
    """One event: the C tool's handle_event(ctx, data, size)."""
    argv = event._raw("args")[: event.args_size].split(b"\0")[: event.args_count]
    record = {
        "pid": event.pid,
        "ppid": event.ppid,
        "uid": event.uid,
        "comm": event.comm.decode(errors="replace"),
        "argv": [arg.decode(errors="replace") for arg in argv],
    }
    print(json.dumps(record), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description="Trace execve() calls, one JSON line each.")
    parser.add_argument("--ppid", type=int, default=0, help="only children of this process")
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    args = parser.parse_args()

    path = pybpf.compile(HERE / "execsnoop.bpf.c", HERE / "execsnoop.bpf.o")  # the Makefile's clang step
    mounted = pybpf.mount_tracefs()  # libbpf finds tracepoints through tracefs
    try:
        with pybpf.BPFObject.open(path) as obj:  # execsnoop_bpf__open(); the with: __destroy()
            obj.rodata["target_ppid"] = args.ppid  # skel->rodata->target_ppid = ...
            obj.load()  # execsnoop_bpf__load()
            obj.attach()  # execsnoop_bpf__attach(); closing the object detaches
            with pybpf.RingBuffer(obj.maps["events"], handle, event_type="struct event") as rb:
                print("Tracing execve()... Ctrl-C to end.", file=sys.stderr, flush=True)
                deadline = None if args.duration is None else time.monotonic() + args.duration
                while deadline is None or time.monotonic() < deadline:
                    rb.poll(timeout=0.1)  # ring_buffer__poll(rb, 100)
    except KeyboardInterrupt:
        pass
    finally:
        if mounted:
            subprocess.run(["umount", "/sys/kernel/tracing"], check=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
