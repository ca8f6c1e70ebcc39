#!/usr/bin/env python3
"""A Python peer's side of ``make bench-peers``, run by bench.py in the peer's
own venv (build/bench-peers/<peer>/), so that its blocks alternate with C's
and pybpf's in the same rounds.

    peers.py bpfmaps MAP_ID          # opens bench.py's own map by id
    peers.py pylibbpf OBJECT         # loads maps_bench.bpf.o (the same map definition)

Prints ``ready``, then answers each ``lookup N`` or ``update N`` line on
stdin with the nanoseconds per operation of N operations on key 1.  This file
only imports what the peer's venv has: it is not part of pybpf.
"""

from __future__ import annotations

import ctypes
import sys
import time
from typing import Any


def open_map(peer: str, where: str) -> tuple[Any, Any]:
    """The peer's map object, and what keeps it alive."""
    if peer == "bpfmaps":
        import bpfmaps  # type: ignore[import-not-found]

        m = bpfmaps.BPF_Map.get_map_by_id(int(where))
        m.key_type, m.value_type = ctypes.c_uint32, ctypes.c_uint64  # u32 -> u64, as the map is
        return m, None
    if peer == "pylibbpf":
        import pylibbpf  # type: ignore[import-not-found]

        obj = pylibbpf.BpfObject(where)
        obj.load()
        return obj["peer_hash"], obj
    raise SystemExit(f"unknown peer {peer!r}")


def main() -> int:
    peer, where = sys.argv[1], sys.argv[2]
    m, _keep = open_map(peer, where)
    m[1] = 42
    print("ready", flush=True)
    for line in sys.stdin:
        op, count = line.split()
        n = int(count)
        start = time.perf_counter_ns()
        if op == "lookup":
            for _ in range(n):
                m[1]
        else:
            for _ in range(n):
                m[2] = 42
        print((time.perf_counter_ns() - start) / n, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
