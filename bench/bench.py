#!/usr/bin/env python3
"""Map hot paths and event consumption: pybpf against a C libbpf baseline, in the same run.

    make bench            # or: python bench/bench.py [--n 1000000] [--entries 1000000]

Prints ns/op for each side and the ratio (the targets: <= 1.3x for single
integer lookups/updates, <= 1.4x for a full dump into a dict), and the floor
any Python caller pays on this machine: the bare compiled cffi call of the same
C helper (no method around it), and for the dump the C batch time plus building
the dict of fresh ints from filled buffers without any syscall.  The ring
and perf buffer rows' floor is libbpf consuming into pybpf's C batch plus one
decode of the batch into ints (no delivery); they have no target yet.
"""

from __future__ import annotations

import argparse
import array
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pybpf
from pybpf._core.ffi import ffi, lib
from pybpf._events.reader import Batch

HERE = Path(__file__).resolve().parent


def build_baseline(out: Path) -> Path:
    exe = out / "baseline"
    libs = subprocess.run(["pkg-config", "--cflags", "--libs", "libbpf"], capture_output=True, text=True, check=True)
    subprocess.run(["cc", "-O2", "-o", str(exe), str(HERE / "baseline.c"), *libs.stdout.split()], check=True)
    return exe


def c_ns(exe: Path, op: str, n: int, repeats: int, *extra: str) -> float:
    return min(
        float(subprocess.run([str(exe), op, str(n), *extra], capture_output=True, text=True, check=True).stdout)
        for _ in range(repeats)
    )


def build_producer(out: Path) -> Path:
    """The ring and perf buffer producers, compiled like every BPF object of the project."""
    root = HERE.parent
    src = HERE / "events_bench.bpf.c"
    subprocess.run([sys.executable, str(root / "scripts" / "build_bpf.py"), str(out), str(src)], check=True)
    return out / "events_bench.bpf.o"


# Pages per CPU of the perf buffers (baseline.c's PERF_PAGES): 32 MiB hold 1M records.
PERF_PAGES = 8192


def _filled(obj_path: Path, n: int, program: str) -> pybpf.BPFObject:
    obj = pybpf.load(obj_path)
    obj.programs[program].test_run(bytes(64), repeat=n)
    assert obj.bss["dropped"] == 0
    return obj


def py_ringbuf(obj_path: Path, n: int) -> float:
    """RingBuffer.consume() of n records decoded as ints, into a callback (list.append)."""
    with _filled(obj_path, n, "produce") as obj:
        got: list[int] = []
        with pybpf.RingBuffer(obj.maps["bench_ring"], got.append, event_type="Q") as rb:
            start = time.perf_counter_ns()
            rb.consume()
            ns = (time.perf_counter_ns() - start) / n
        assert len(got) == n and got[-1] == n - 1
        return ns


def py_perfbuf(obj_path: Path, n: int) -> float:
    """PerfBuffer.consume() of n records decoded as ints, into a callback that keeps them."""
    obj = pybpf.load(obj_path)
    got: list[int] = []
    with (
        obj,
        pybpf.PerfBuffer(
            obj.maps["bench_perf"], lambda cpu, value: got.append(value), pages=PERF_PAGES, event_type="Q"
        ) as pb,
    ):
        obj.programs["produce_perf"].test_run(bytes(64), repeat=n)  # a perf buffer must be open first
        assert obj.bss["dropped"] == 0
        start = time.perf_counter_ns()
        pb.consume()
        ns = (time.perf_counter_ns() - start) / n
        assert sorted(got) == list(range(n)) and pb.lost == 0
        return ns


def _floor(
    open_reader: Callable[[Any], Any], consume: Callable[[Any], int], free: Callable[[Any], None], perf: bool
) -> float:
    """libbpf consuming into pybpf's C batch, then one decode of the batch into
    ints: what any Python reader pays before delivering events anywhere."""
    batch = Batch(with_cpus=perf)
    ptr = open_reader(batch.c)
    assert ptr != ffi.NULL
    try:
        start = time.perf_counter_ns()
        consume(ptr)
        n = int(batch.c.count)
        data = memoryview(ffi.buffer(batch.c.data, batch.c.len)).cast("Q")
        values = data[::2].tolist() if perf else data.tolist()  # perf records: 12 bytes, stored in 16
        ns = (time.perf_counter_ns() - start) / n
    finally:
        free(ptr)
        batch.free()
    assert len(values) == n
    return ns


def floor_ringbuf(obj_path: Path, n: int) -> float:
    with _filled(obj_path, n, "produce") as obj:
        fd, collect = obj.maps["bench_ring"].fd, ffi.addressof(lib, "pybpf_ring_collect")
        return _floor(
            lambda batch: lib.ring_buffer__new(fd, collect, batch, ffi.NULL),
            lib.ring_buffer__consume,
            lib.ring_buffer__free,
            perf=False,
        )


def floor_perfbuf(obj_path: Path, n: int) -> float:
    obj = pybpf.load(obj_path)
    with obj:
        fd = obj.maps["bench_perf"].fd
        collect, lost = ffi.addressof(lib, "pybpf_perf_collect"), ffi.addressof(lib, "pybpf_perf_lost")

        def open_reader(batch: Any) -> Any:
            ptr = lib.perf_buffer__new(fd, PERF_PAGES, collect, lost, batch, ffi.NULL)
            obj.programs["produce_perf"].test_run(bytes(64), repeat=n)
            return ptr

        return _floor(open_reader, lib.perf_buffer__consume, lib.perf_buffer__free, perf=True)


def _map(entries: int) -> pybpf.Map:
    return pybpf.Map.create(
        pybpf.MapType.HASH,
        key_size=4,
        value_size=8,
        max_entries=entries,
        name="pybpf_bench_py",
        key_type="I",
        value_type="Q",
    )


def py_lookup(n: int) -> float:
    with _map(16) as m:
        m[1] = 42
        start = time.perf_counter_ns()
        for _ in range(n):
            m[1]
        return (time.perf_counter_ns() - start) / n


def py_update(n: int) -> float:
    with _map(16) as m:
        start = time.perf_counter_ns()
        for _ in range(n):
            m[1] = 42
        return (time.perf_counter_ns() - start) / n


def floor_lookup(n: int) -> float:
    with _map(16) as m:
        m[1] = 42
        call, h = lib.pybpf_lookup_uint, m._guard
        start = time.perf_counter_ns()
        for _ in range(n):
            call(h, 1)
        return (time.perf_counter_ns() - start) / n


def floor_update(n: int) -> float:
    with _map(16) as m:
        call, h = lib.pybpf_update_int, m._guard
        start = time.perf_counter_ns()
        for _ in range(n):
            call(h, 1, 42, 0)
        return (time.perf_counter_ns() - start) / n


def dict_build(n: int) -> float:
    """Python's own cost of a dict of n fresh int pairs decoded from buffers."""
    keys, values = array.array("I", range(n)).tobytes(), array.array("Q", range(n)).tobytes()
    start = time.perf_counter_ns()
    d = dict(zip(memoryview(keys).cast("I").tolist(), memoryview(values).cast("Q").tolist()))
    ns = (time.perf_counter_ns() - start) / n
    assert len(d) == n
    return ns


def py_dump(n: int) -> float:
    with _map(n) as m:
        m.update((k, k) for k in range(n))
        start = time.perf_counter_ns()
        d = dict(m.items())
        ns = (time.perf_counter_ns() - start) / n
        assert len(d) == n
        return ns


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="single operations per measurement")
    parser.add_argument("--entries", type=int, default=1_000_000, help="entries of the dumped map")
    parser.add_argument("--records", type=int, default=1_000_000, help="ring/perf buffer records consumed")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        exe = build_baseline(Path(tmp))
        producer = build_producer(Path(tmp))

        def best(measure: Callable[[int], float], n: int) -> float:
            return min(measure(n) for _ in range(args.repeats))

        c_dump = c_ns(exe, "dump", args.entries, args.repeats)
        rows = [
            (
                "lookup m[k] (int)",
                c_ns(exe, "lookup", args.n, args.repeats),
                best(floor_lookup, args.n),
                best(py_lookup, args.n),
                1.3,
            ),
            (
                "update m[k] = v (int)",
                c_ns(exe, "update", args.n, args.repeats),
                best(floor_update, args.n),
                best(py_update, args.n),
                1.3,
            ),
            (
                f"dict(m.items()) {args.entries} entries, per entry",
                c_dump,
                c_dump + best(dict_build, args.entries),
                best(py_dump, args.entries),
                1.4,
            ),
            (
                f"RingBuffer.consume() {args.records} records, per record",
                c_ns(exe, "ringbuf", args.records, args.repeats, str(producer)),
                best(lambda n: floor_ringbuf(producer, n), args.records),
                best(lambda n: py_ringbuf(producer, n), args.records),
                None,
            ),
            (
                f"PerfBuffer.consume() {args.records} records, per record",
                c_ns(exe, "perfbuf", args.records, args.repeats, str(producer)),
                best(lambda n: floor_perfbuf(producer, n), args.records),
                best(lambda n: py_perfbuf(producer, n), args.records),
                None,
            ),
        ]
    print(f"{'operation':<52}{'C ns':>9}{'floor ns':>10}{'pybpf ns':>10}{'ratio':>8}{'floor':>8}{'target':>8}")
    for name, c, floor, py, target in rows:
        goal = f"{target:>7.1f}x" if target else f"{'-':>8}"
        print(f"{name:<52}{c:>9.1f}{floor:>10.1f}{py:>10.1f}{py / c:>7.2f}x{floor / c:>7.2f}x{goal}")
    return 0


if __name__ == "__main__":
    os.nice(0)
    sys.exit(main())
