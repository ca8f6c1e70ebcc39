#!/usr/bin/env python3
"""pybpf's hot paths against C libbpf and the bare cffi call, in one process.

    make bench            # or: python bench/bench.py [--rounds 7] [--n 200000]

Each row times its sides one block after another, the order rotating from
round to round (bench/harness.py), and reports the median of each round's
ratio against the row's target (issue 17):

* ``C``: libbpf called from C (bench/baseline.c, loaded as a shared library
  into this process), on the same kernel map as the other sides.
* ``floor``: what any Python caller pays for the same work: the bare compiled
  cffi call of libbpf's function with buffers made beforehand, writing the
  key and reading the value as a caller must.
* ``pybpf``: the public API, as a user writes it.

The per-call groups (maps, percpu) pool the rounds of several processes
(``--processes``), whose different address layouts move a per-call ratio by a
few percent.  Results, with the machine and Python, go to docs/benchmarks.md
(``--markdown``).  The Python processes of the start-up rows run outside the
source tree, so that they import the installed package.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import cffi
import numpy

import pybpf
import pybpf.netns
from pybpf._core.ffi import ffi, lib
from pybpf._events.reader import Batch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import Ratio, Row, report, run  # noqa: E402

# docs/benchmarks.md: --markdown keeps the text above this line and writes the results below it.
RESULTS_MARK = "<!-- results: written by `make bench` -->"

# Pages per CPU of the perf buffers: 32 MiB hold 1M records.
PERF_PAGES = 8192

C_DECLARATIONS = """
double bench_lookup(int fd, long n, unsigned long long key, unsigned int key_size, unsigned int value_size);
double bench_update(int fd, long n, unsigned int key, unsigned long long value);
double bench_update_delete(int fd, long n, unsigned int key, unsigned long long value);
double bench_dump(int fd, long entries, unsigned int value_size, unsigned int chunk, int delete);
double bench_update_batch(int fd, long entries);
double bench_events(int map_fd, int prog_fd, long n, int perf_pages, unsigned long long first);
"""


def build_baseline(out: Path) -> tuple[Any, Path]:
    """The C side: a shared library for this process, and the start-up program."""
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libbpf"], capture_output=True, text=True, check=True)
    shared, program = out / "libbaseline.so", out / "baseline"
    source = str(HERE / "baseline.c")
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", str(shared), source, *flags.stdout.split()], check=True)
    subprocess.run(["cc", "-O2", "-DBASELINE_MAIN", "-o", str(program), source, *flags.stdout.split()], check=True)
    c_ffi = cffi.FFI()
    c_ffi.cdef(C_DECLARATIONS)
    return c_ffi.dlopen(str(shared)), program


def build_bpf(out: Path, name: str) -> Path:
    """bench/NAME.bpf.c compiled like every BPF object of the project."""
    src = HERE / f"{name}.bpf.c"
    subprocess.run([sys.executable, str(HERE.parent / "scripts" / "build_bpf.py"), str(out), str(src)], check=True)
    return out / f"{name}.bpf.o"


def build_producer(out: Path) -> Path:
    """The ring and perf buffer producers (and a .bss to read)."""
    return build_bpf(out, "events_bench")


def per_op(n: int, loop: Callable[[], None]) -> float:
    start = time.perf_counter_ns()
    loop()
    return (time.perf_counter_ns() - start) / n


class FlowKey(ctypes.Structure):
    """A small struct key, as tools key maps by (pid, cpu) or addresses."""

    _fields_ = [("pid", ctypes.c_uint32), ("cpu", ctypes.c_uint32)]


def _map(stack: ExitStack, kind: pybpf.MapType, entries: int, name: str, **kwargs: Any) -> pybpf.Map:
    kwargs.setdefault("key_type", "I")
    kwargs.setdefault("value_type", "Q")
    key_size = ctypes.sizeof(kwargs["key_type"]) if not isinstance(kwargs["key_type"], str) else 4
    return stack.enter_context(
        pybpf.Map.create(kind, key_size=key_size, value_size=8, max_entries=entries, name=name, **kwargs)
    )


PEERS_DIR = HERE.parent / "build" / "bench-peers"


class Peer:
    """A Python peer measuring blocks in its own venv's process (bench/peers.py)."""

    def __init__(self, stack: ExitStack, name: str, where: str) -> None:
        python = PEERS_DIR / name / "bin" / "python"
        self.name = name
        self.process = subprocess.Popen(
            [str(python), str(HERE / "peers.py"), name, where],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd="/",
        )
        stack.callback(self.process.wait)
        stack.callback(self.process.stdin.close)  # type: ignore[union-attr]
        if self.process.stdout.readline().strip() != "ready":  # type: ignore[union-attr]
            raise RuntimeError(f"peer {name} did not start (see its error above)")

    def measure(self, op: str, n: int) -> float:
        print(op, n, file=self.process.stdin, flush=True)
        return float(self.process.stdout.readline())  # type: ignore[union-attr]


def installed_peers() -> list[str]:
    """The peers `make bench-peers` installed (each in a venv of its own)."""
    return sorted(p.name for p in PEERS_DIR.glob("*") if (p / "bin" / "python").exists())


def start_peers(stack: ExitStack, map_id: int, tmp: Path) -> list[Peer]:
    peers = []
    for name in installed_peers():
        if name == "pylibbpf":  # it opens maps of objects it loads itself: the same definition
            src = HERE / "maps_bench.bpf.c"
            subprocess.run(
                [sys.executable, str(HERE.parent / "scripts" / "build_bpf.py"), str(tmp), str(src)], check=True
            )
            where = str(tmp / "maps_bench.bpf.o")
        else:
            where = str(map_id)
        peers.append(Peer(stack, name, where))
    return peers


def map_rows(stack: ExitStack, c: Any, n: int, peers_tmp: Path | None = None) -> list[Row]:
    """Single-element operations on integer and small-struct keys."""
    m = _map(stack, pybpf.MapType.HASH, 64, "pybpf_bench_h")
    m[1] = 42
    fd = m.fd
    k, v = ffi.new("unsigned int *", 1), ffi.new("unsigned long long *")
    lookup, update, delete = lib.bpf_map_lookup_elem, lib.bpf_map_update_elem, lib.bpf_map_delete_elem

    def floor_lookup() -> None:
        for _ in range(n):
            k[0] = 1
            lookup(fd, k, v)
            v[0]

    def floor_contains() -> None:
        for _ in range(n):
            k[0] = 1
            lookup(fd, k, v) == 0  # noqa: B015

    def floor_update() -> None:
        for _ in range(n):
            k[0] = 2
            v[0] = 42
            update(fd, k, v, 0)

    def floor_update_delete() -> None:
        for _ in range(n):
            k[0] = 3
            v[0] = 42
            update(fd, k, v, 0)
            k[0] = 3
            delete(fd, k)

    def py_lookup() -> None:
        for _ in range(n):
            m[1]

    def py_contains() -> None:
        for _ in range(n):
            1 in m  # noqa: B015

    def py_update() -> None:
        for _ in range(n):
            m[2] = 42

    def py_update_delete() -> None:
        for _ in range(n):
            m[3] = 42
            del m[3]

    guard, helper = m._guard, lib.pybpf_lookup_uint

    def helper_lookup() -> None:
        for _ in range(n):
            helper(guard, 1)

    s = _map(stack, pybpf.MapType.HASH, 64, "pybpf_bench_s", key_type=FlowKey)
    s[(1, 2)] = 42
    sfd, sk = s.fd, ffi.new("unsigned int[2]", [1, 2])

    def floor_struct() -> None:
        for _ in range(n):
            sk[0] = 1
            sk[1] = 2
            lookup(sfd, sk, v)
            v[0]

    def py_struct() -> None:
        for _ in range(n):
            s[(1, 2)]

    against_floor = [Ratio("pybpf", "floor", 1.05), Ratio("pybpf", "C")]
    peers = start_peers(stack, m.id, peers_tmp) if peers_tmp is not None else []
    peer_lookups = {peer.name: partial(peer.measure, "lookup", n) for peer in peers}
    peer_updates = {peer.name: partial(peer.measure, "update", n) for peer in peers}
    # Faster than every peer: pybpf's time under each peer's.
    peer_ratios = [Ratio("pybpf", peer.name, 1.0) for peer in peers]
    return [
        Row(
            "`m[k]` lookup, u32 -> u64 HASH",
            {
                "C": lambda: c.bench_lookup(fd, n, 1, 4, 8),
                "floor": lambda: per_op(n, floor_lookup),
                "pybpf": lambda: per_op(n, py_lookup),
                "helper": lambda: per_op(n, helper_lookup),
                **peer_lookups,
            },
            [*against_floor, Ratio("helper", "floor"), *peer_ratios],
            note="helper: pybpf's own C helper called bare (ints by value)"
            + (f"; peers ({', '.join(p.name for p in peers)}) in their own venvs' processes" if peers else ""),
        ),
        Row(
            "`k in m`",
            {
                "C": lambda: c.bench_lookup(fd, n, 1, 4, 8),
                "floor": lambda: per_op(n, floor_contains),
                "pybpf": lambda: per_op(n, py_contains),
            },
            against_floor,
        ),
        Row(
            "`m[k] = v` update",
            {
                "C": lambda: c.bench_update(fd, n, 2, 42),
                "floor": lambda: per_op(n, floor_update),
                "pybpf": lambda: per_op(n, py_update),
                **peer_updates,
            },
            [*against_floor, *peer_ratios],
        ),
        Row(
            "`m[k] = v; del m[k]` (per pair)",
            {
                "C": lambda: c.bench_update_delete(fd, n, 3, 42),
                "floor": lambda: per_op(n, floor_update_delete),
                "pybpf": lambda: per_op(n, py_update_delete),
            },
            against_floor,
        ),
        Row(
            "`m[(pid, cpu)]` lookup, 8-byte struct key",
            {
                "C": lambda: c.bench_lookup(sfd, n, 1 | 2 << 32, 8, 8),  # (pid 1, cpu 2), little-endian
                "floor": lambda: per_op(n, floor_struct),
                "pybpf": lambda: per_op(n, py_struct),
            },
            against_floor,
        ),
    ]


def percpu_rows(stack: ExitStack, c: Any, n: int, producer: Path) -> list[Row]:
    """A per-CPU lookup decoded to one list, and the mapped reads and writes:
    an MMAPABLE array's elements and a data section's globals."""
    p = _map(stack, pybpf.MapType.PERCPU_ARRAY, 4, "pybpf_bench_p")
    p[1] = 7
    pfd = p.fd
    ncpus = pybpf.possible_cpus()
    k, v = ffi.new("unsigned int *", 1), ffi.new("unsigned long long[]", ncpus)
    lookup, unpack = lib.bpf_map_lookup_elem, ffi.unpack

    def floor_percpu() -> None:
        for _ in range(n):
            k[0] = 1
            lookup(pfd, k, v)
            unpack(v, ncpus)

    def py_percpu() -> None:
        for _ in range(n):
            p[1]

    a = _map(stack, pybpf.MapType.ARRAY, 64, "pybpf_bench_a", flags=pybpf.MapFlags.MMAPABLE)
    a[1] = 42
    afd = a.fd

    def py_mmap() -> None:
        for _ in range(n):
            a[1]

    mapped = a.mmap()
    stack.callback(mapped.close)
    words = mapped.buffer.cast("Q")
    stack.callback(words.release)
    ints = mapped.ints
    stack.callback(ints.release)

    def py_ints() -> None:
        for _ in range(n):
            ints[1]

    def bare_memoryview() -> None:
        for _ in range(n):
            words[1]

    # A global of an object's .bss, after load: the section is mapped.
    obj = stack.enter_context(pybpf.load(producer))
    bss = obj.bss
    section = next(m for name, m in obj.maps.items() if name.endswith(".bss"))  # libbpf names it after the object
    bss_fd, bss_size = section.fd, section.value_size
    bss["dropped"] = 0
    dropped = bss.memory("dropped")

    def bss_view_read() -> None:
        for _ in range(n):
            dropped[0]

    def py_bss_read() -> None:
        for _ in range(n):
            bss["dropped"]

    def py_bss_write() -> None:
        for _ in range(n):
            bss["dropped"] = 0

    def bss_view_write() -> None:
        for _ in range(n):
            dropped[0] = 0

    return [
        Row(
            "`obj.bss[name]` read, an integer global after load",
            {
                "C": lambda: c.bench_lookup(bss_fd, n, 0, 4, bss_size),
                "pybpf": lambda: per_op(n, py_bss_read),
                "memory()": lambda: per_op(n, bss_view_read),
            },
            [Ratio("pybpf", "C", 0.15), Ratio("memory()", "C", 0.15)],
            note="C: libbpf's syscall lookup of the section's map; memory(): `view = obj.bss.memory(name)`, "
            "then `view[0]`",
        ),
        Row(
            "`obj.bss[name] = v` write",
            {
                "C": lambda: c.bench_lookup(bss_fd, n, 0, 4, bss_size),
                "pybpf": lambda: per_op(n, py_bss_write),
                "memory()": lambda: per_op(n, bss_view_write),
            },
            [Ratio("pybpf", "C", 0.15), Ratio("memory()", "C", 0.15)],
            note="C: libbpf's syscall lookup of the section's map; memory(): `view[0] = v`",
        ),
        Row(
            f"per-CPU lookup -> list ({ncpus} CPUs)",
            {
                "C": lambda: c.bench_lookup(pfd, n, 1, 4, 8 * ncpus),
                "floor": lambda: per_op(n, floor_percpu),
                "pybpf": lambda: per_op(n, py_percpu),
            },
            [Ratio("pybpf", "floor", 1.3), Ratio("pybpf", "C")],
        ),
        Row(
            "`m[k]` on an MMAPABLE ARRAY",
            {
                "C": lambda: c.bench_lookup(afd, n, 1, 4, 8),
                "pybpf": lambda: per_op(n, py_mmap),
                "mmap().ints": lambda: per_op(n, py_ints),
                "memoryview": lambda: per_op(n, bare_memoryview),
            },
            [Ratio("pybpf", "C", 0.15), Ratio("mmap().ints", "C", 0.15), Ratio("pybpf", "memoryview")],
            note="C: libbpf's syscall lookup; mmap().ints: `ints = m.mmap().ints`, then `ints[k]`; "
            "memoryview: a bare typed memoryview of the mapping, cast by hand",
        ),
    ]


def dict_build(keys: bytes, values: bytes) -> float:
    """Python's own cost of a dict of fresh int pairs decoded from filled
    buffers: the u32 keys and u64 values as the kernel's batch lookup returns
    them (in the map's order, which decides how the dict's inserts hit the cache)."""
    start = time.perf_counter_ns()
    d = dict(zip(memoryview(keys).cast("I").tolist(), memoryview(values).cast("Q").tolist()))
    ns = (time.perf_counter_ns() - start) / len(d)
    assert len(d) * 4 == len(keys)
    return ns


def bulk_rows(stack: ExitStack, c: Any, entries: int) -> list[Row]:
    """Whole-map reads and writes of a full u32 -> u64 HASH."""
    m = _map(stack, pybpf.MapType.HASH, entries, "pybpf_bench_d")
    fd = m.fd

    def py_dump() -> float:
        start = time.perf_counter_ns()
        d = dict(m.items())
        ns = (time.perf_counter_ns() - start) / entries
        assert len(d) == entries
        return ns

    keys = numpy.arange(entries, dtype=numpy.uint32)
    values = keys.astype(numpy.uint64)
    m.update_from(keys, values)
    in_map_order = m.to_numpy()

    def timed(action: Callable[[], Any]) -> float:
        start = time.perf_counter_ns()
        action()
        return (time.perf_counter_ns() - start) / entries

    def py_to_numpy() -> float:
        got: list[Any] = []
        ns = timed(lambda: got.extend(m.to_numpy()))
        assert len(got[0]) == entries
        return ns

    def refilled(measure: Callable[[], float]) -> Callable[[], float]:
        """A read-and-clear side: the map full before (and again after), untimed."""

        def side() -> float:
            m.update_from(keys, values)
            ns = measure()
            m.update_from(keys, values)
            return ns

        return side

    def py_clear() -> float:
        got: list[Any] = []
        ns = timed(lambda: got.extend(m.to_numpy(clear=True)))
        assert len(got[0]) == entries
        return ns

    best_c = {"C": lambda s: min(s["C 8192"], s["C one walk"])}
    return [
        Row(
            f"`keys, values = m.to_numpy()`, {entries:,} entries (per entry)",
            {
                "C 8192": lambda: c.bench_dump(fd, entries, 8, 8192, 0),
                "C one walk": lambda: c.bench_dump(fd, entries, 8, entries, 0),
                "pybpf": py_to_numpy,
            },
            [Ratio("pybpf", "C", 1.15)],
            derived=best_c,
            note="C: the faster of libbpf's batch lookup in chunks of 8192 and in one walk, per round",
        ),
        Row(
            f"`m.update_from(keys, values)` from arrays, {entries:,} entries (per entry)",
            {
                "C": lambda: c.bench_update_batch(fd, entries),
                "pybpf": lambda: timed(lambda: m.update_from(keys, values)),
            },
            [Ratio("pybpf", "C", 1.15)],
            note="C: one bpf_map_update_batch of filled arrays",
        ),
        Row(
            f"read and clear: `m.to_numpy(clear=True)`, {entries:,} entries (per entry)",
            {
                "C 8192": refilled(lambda: c.bench_dump(fd, entries, 8, 8192, 1)),
                "C one walk": refilled(lambda: c.bench_dump(fd, entries, 8, entries, 1)),
                "pybpf": refilled(py_clear),
            },
            [Ratio("pybpf", "C", 1.15)],
            derived=best_c,
            note="C: the faster of libbpf's lookup-and-delete batch in chunks of 8192 and in one walk; "
            "each side refills the map first, untimed",
        ),
        Row(
            f"`dict(m.items())`, {entries:,} entries (per entry)",
            {
                "C": lambda: c.bench_dump(fd, entries, 8, 8192, 0),
                "dict": lambda: dict_build(in_map_order[0].tobytes(), in_map_order[1].tobytes()),
                "pybpf": py_dump,
            },
            [Ratio("pybpf", "floor", 1.0), Ratio("pybpf", "C")],
            derived={"floor": lambda s: s["C"] + s["dict"]},
            note="floor: C's batch lookup plus building the dict from filled buffers",
        ),
    ]


def scale_rows(stack: ExitStack, c: Any, sizes: list[int]) -> list[Row]:
    """Whole-map reads of full u32 -> u64 HASH maps of several sizes."""
    rows = []
    for size in sizes:
        m = _map(stack, pybpf.MapType.HASH, size, f"pybpf_bench_{size}"[:15])
        m.update_from(numpy.arange(size, dtype=numpy.uint32), numpy.arange(size, dtype=numpy.uint64))

        def to_numpy(m: pybpf.Map = m, size: int = size) -> float:
            start = time.perf_counter_ns()
            keys, _ = m.to_numpy()
            ns = (time.perf_counter_ns() - start) / size
            assert len(keys) == size
            return ns

        def to_dict(m: pybpf.Map = m, size: int = size) -> float:
            start = time.perf_counter_ns()
            d = dict(m.items())
            ns = (time.perf_counter_ns() - start) / size
            assert len(d) == size
            return ns

        rows.append(
            Row(
                f"dump of {size:,} entries (per entry)",
                {
                    "C 8192": lambda fd=m.fd, size=size: c.bench_dump(fd, size, 8, 8192, 0),
                    "C one walk": lambda fd=m.fd, size=size: c.bench_dump(fd, size, 8, size, 0),
                    "to_numpy()": to_numpy,
                    "dict(items())": to_dict,
                },
                [Ratio("to_numpy()", "C"), Ratio("dict(items())", "C")],
                derived={"C": lambda s: min(s["C 8192"], s["C one walk"])},
            )
        )
    return rows


MEMORY = """\
import gc, sys, numpy, pybpf
n, how = int(sys.argv[1]), sys.argv[2]
def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024
with pybpf.Map.create(pybpf.MapType.HASH, key_size=4, value_size=8, max_entries=n, name="pybpf_bench_mem",
                      key_type="I", value_type="Q") as m:
    keys, values = numpy.arange(n, dtype=numpy.uint32), numpy.arange(n, dtype=numpy.uint64)
    m.update_from(keys, values)
    del keys, values
    gc.collect()
    before = status("VmRSS")
    open("/proc/self/clear_refs", "w").write("5")  # the peak starts again from here
    result = m.to_numpy() if how == "numpy" else dict(m.items())
    peak, after = status("VmHWM"), status("VmRSS")
    print(peak - before, after - before, len(result[0]) if how == "numpy" else len(result))
"""


def memory_rows(entries: int) -> list[str]:
    """What the process holds at its peak while dumping ``entries`` entries,
    against what the result holds once done (a fresh process per way)."""
    lines = [
        "| dump of " + f"{entries:,}" + " entries | peak while dumping | the result | peak / result |",
        "|---|---|---|---|",
    ]
    for how, name in (("numpy", "`m.to_numpy()`"), ("dict", "`dict(m.items())`")):
        out = subprocess.run(
            [sys.executable, "-c", MEMORY, str(entries), how], capture_output=True, text=True, check=True, cwd="/"
        ).stdout.split()
        peak, result, count = (int(x) for x in out)
        assert count == entries
        lines.append(f"| {name} | {peak / 2**20:,.1f} MiB | {result / 2**20:,.1f} MiB | {peak / result:.2f}x |")
    return lines


def _events_floor(
    open_reader: Callable[[Any], Any], consume: Callable[[Any], int], free: Callable[[Any], None], perf: bool
) -> float:
    """libbpf consuming into pybpf's C batch, one decode of the batch into
    ints, and a call per record of the callback the pybpf side is given: what
    any Python reader with a callback per record pays."""
    batch = Batch(with_cpus=perf)
    ptr = open_reader(batch.c)
    assert ptr != ffi.NULL
    got: list[int] = []
    try:
        start = time.perf_counter_ns()
        consume(ptr)
        n = int(batch.c.count)
        data = memoryview(ffi.buffer(batch.c.data, batch.c.len)).cast("Q")
        # The callbacks are called the fastest way Python has: map() drained by a deque.
        if perf:  # perf records: 12 bytes, stored in 16, and the CPU of each
            deque(map(lambda cpu, value: got.append(value), batch.cpu_list(n), data[::2].tolist()), 0)
        else:
            deque(map(got.append, data.tolist()), 0)
        ns = (time.perf_counter_ns() - start) / n
    finally:
        free(ptr)
        batch.free()
    assert len(got) == n
    return ns


def event_rows(stack: ExitStack, c: Any, producer: Path, records: int) -> list[Row]:
    """Ring and perf buffers consumed into a callback per record."""
    obj = stack.enter_context(pybpf.load(producer))
    ring, perf = obj.maps["bench_ring"], obj.maps["bench_perf"]
    produce, produce_perf = obj.programs["produce"], obj.programs["produce_perf"]

    def fill(program: pybpf.Program) -> int:
        # On one CPU: test_run may move between CPUs during a run, and a perf
        # buffer reads CPU by CPU, so the batch's last record is the newest.
        first, cpus = int(obj.bss["next"]), os.sched_getaffinity(0)
        os.sched_setaffinity(0, {min(cpus)})
        try:
            program.test_run(bytes(64), repeat=records)
        finally:
            os.sched_setaffinity(0, cpus)
        assert obj.bss["dropped"] == 0
        return first

    def c_ring() -> float:
        return float(c.bench_events(ring.fd, produce.fd, records, 0, int(obj.bss["next"])))

    def c_perf() -> float:
        return float(c.bench_events(perf.fd, produce_perf.fd, records, PERF_PAGES, int(obj.bss["next"])))

    def py_ring() -> float:
        got: list[int] = []
        with pybpf.RingBuffer(ring, got.append, event_type="Q") as rb:
            first = fill(produce)
            start = time.perf_counter_ns()
            rb.consume()
            ns = (time.perf_counter_ns() - start) / records
        assert len(got) == records and got[-1] == first + records - 1
        return ns

    def py_perf() -> float:
        got: list[int] = []
        with pybpf.PerfBuffer(perf, lambda cpu, value: got.append(value), pages=PERF_PAGES, event_type="Q") as pb:
            first = fill(produce_perf)
            start = time.perf_counter_ns()
            pb.consume()
            ns = (time.perf_counter_ns() - start) / records
        assert sorted(got) == list(range(first, first + records)) and pb.lost == 0
        return ns

    def floor_ring() -> float:
        collect = lib.pybpf_ring_collect_fn

        def open_reader(batch: Any) -> Any:
            ptr = lib.ring_buffer__new(ring.fd, collect, batch, ffi.NULL)
            fill(produce)
            return ptr

        return _events_floor(open_reader, lib.ring_buffer__consume, lib.ring_buffer__free, perf=False)

    def floor_perf() -> float:
        collect, lost = lib.pybpf_perf_collect_fn, lib.pybpf_perf_lost_fn

        def open_reader(batch: Any) -> Any:
            ptr = lib.perf_buffer__new(perf.fd, PERF_PAGES, collect, lost, batch, ffi.NULL)
            fill(produce_perf)
            return ptr

        return _events_floor(open_reader, lib.perf_buffer__consume, lib.perf_buffer__free, perf=True)

    # The ring batch readers stay open from round to round, as a tool's
    # reader does; like C's callback, theirs keeps a summary, not the records.
    seen: list[tuple[int, int]] = []

    def summarize(values: Any) -> None:
        seen.append((len(values), int(values[-1])))

    def batch_side(reader: Any, program: pybpf.Program) -> Callable[[], float]:
        def side() -> float:
            seen.clear()
            first = fill(program)
            start = time.perf_counter_ns()
            reader.consume()
            ns = (time.perf_counter_ns() - start) / records
            assert sum(n for n, _ in seen) == records
            assert max(last for _, last in seen) == first + records - 1
            return ns

        return side

    ring_batch = {
        form: stack.enter_context(pybpf.RingBuffer(ring, summarize, event_type="Q", batch=form))  # type: ignore[arg-type]
        for form in ("numpy", "memoryview")
    }

    def perf_batch_side(form: str) -> Callable[[], float]:
        # A perf buffer owns the map's per-CPU slots while it is open, and the
        # other sides open their own: this one opens per round, and is warmed
        # by one untimed fill and consume, as a running tool's reader is.
        def side() -> float:
            with pybpf.PerfBuffer(
                perf,
                lambda cpus, values: summarize(values),
                pages=PERF_PAGES,
                event_type="Q",
                batch=form,  # type: ignore[arg-type]
            ) as reader:
                batch_side(reader, produce_perf)()
                return batch_side(reader, produce_perf)()

        return side

    note = (
        "floor: libbpf consuming into pybpf's C batch, one decode of it into ints, "
        "and a call of the same callback per record"
    )
    return [
        Row(
            f"RingBuffer, callback per record ({records:,} records)",
            {"C": c_ring, "floor": floor_ring, "pybpf": py_ring},
            [Ratio("pybpf", "floor", 1.2), Ratio("pybpf", "C")],
            note=note,
        ),
        Row(
            f"PerfBuffer, callback per record ({records:,} records)",
            {"C": c_perf, "floor": floor_perf, "pybpf": py_perf},
            [Ratio("pybpf", "floor", 1.2), Ratio("pybpf", "C")],
            note=note,
        ),
        Row(
            f"RingBuffer, `batch=` arrays ({records:,} records, per record)",
            {
                "C": c_ring,
                "pybpf numpy": batch_side(ring_batch["numpy"], produce),
                "pybpf memoryview": batch_side(ring_batch["memoryview"], produce),
            },
            [Ratio("pybpf numpy", "C", 3.0), Ratio("pybpf memoryview", "C", 3.0)],
        ),
        Row(
            f"PerfBuffer, `batch=` arrays ({records:,} records, per record)",
            {
                "C": c_perf,
                "pybpf numpy": perf_batch_side("numpy"),
                "pybpf memoryview": perf_batch_side("memoryview"),
            },
            [Ratio("pybpf numpy", "C", 3.0), Ratio("pybpf memoryview", "C", 3.0)],
        ),
    ]


@contextmanager
def veth_in_netns() -> Iterator[tuple[str, str]]:
    """A namespace holding one end of a veth pair: (namespace, interface)."""
    with pybpf.netns.VethPair() as pair:
        yield pair.ns_a, pair.if_a


def _timed_ms(argv: list[str], netns: str) -> float:
    start = time.perf_counter_ns()
    subprocess.run(["ip", "netns", "exec", netns, *argv], check=True, cwd="/")
    return (time.perf_counter_ns() - start) / 1e6


START_UP = """\
import pybpf, sys
with pybpf.load(sys.argv[1]) as obj:
    obj.programs["xdp_count"].attach_xdp(sys.argv[2]).close()
"""
IMPORT = "import time; t = time.perf_counter(); import pybpf; print((time.perf_counter() - t) * 1e3)"


def start_rows(stack: ExitStack, program: Path) -> list[Row]:
    """Process start to exit: import, load, attach and detach the XDP counter."""
    netns, interface = stack.enter_context(veth_in_netns())
    counter = str(pybpf.shipped("xdp_counter"))

    def import_ms() -> float:
        out = subprocess.run([sys.executable, "-c", IMPORT], capture_output=True, text=True, check=True, cwd="/")
        return float(out.stdout)

    return [
        Row(
            "`import pybpf` (ms)",
            {"pybpf": import_ms},
            [Ratio("pybpf", "budget", 1.0)],
            derived={"budget": lambda s: 40.0},
            note="budget: 40 ms",
        ),
        Row(
            "start, load, attach XDP, detach, exit (ms)",
            {
                "C": lambda: _timed_ms([str(program), counter, "xdp_count", interface], netns),
                "pybpf": lambda: _timed_ms([sys.executable, "-c", START_UP, counter, interface], netns),
                "python": lambda: _timed_ms([sys.executable, "-c", "pass"], netns),
            },
            [Ratio("pybpf", "C", 2.0)],
            note="each side a process run through `ip netns exec`; python: the interpreter alone",
        ),
    ]


def machine() -> str:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in lines if "model name" in line), platform.processor())
    return (
        f"{cpu}, {os.cpu_count()} CPUs (run on {sorted(os.sched_getaffinity(0))}); kernel {platform.release()}; "
        f"Python {platform.python_version()}; cffi {cffi.__version__}; libbpf {pybpf.libbpf_version()}"
    )


def pool_rounds(rows: list[Row], out: Path, groups: set[str], args: argparse.Namespace) -> None:
    """Run the per-call groups again in a fresh process and add its rounds to
    ``rows``: the medians then pool rounds of several address layouts."""
    argv = [sys.executable, str(Path(__file__).resolve()), "--only", ",".join(sorted(groups))]
    argv += ["--rounds", str(args.rounds), "--n", str(args.n), "--cpu", str(args.cpu), "--samples-to", str(out)]
    if args.peers:
        argv.append("--peers")
    print(f"pooling the rounds of another process ({out.stem})", file=sys.stderr, flush=True)
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    pooled = json.loads(out.read_text())
    for row in rows:
        for label, samples in pooled.get(row.name, {}).items():
            row.samples[label] += samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="rounds of alternating blocks (median of their ratios)")
    parser.add_argument("--n", type=int, default=200_000, help="single operations per block")
    parser.add_argument("--entries", type=int, default=1_000_000, help="entries of the dumped map")
    parser.add_argument("--records", type=int, default=1_000_000, help="ring/perf buffer records per block")
    parser.add_argument("--only", default="", help="comma-separated groups: maps,percpu,bulk,events,start,scale")
    parser.add_argument("--peers", action="store_true", help="add the peers `make bench-peers` installed")
    parser.add_argument("--scale", default="10000,100000,1000000,4000000", help="map sizes of the scale rows")
    parser.add_argument("--markdown", type=Path, help="also write the results into this file, below its results mark")
    parser.add_argument(
        "--processes",
        type=int,
        default=3,
        help="run the per-call groups (maps, percpu) in this many processes and pool their rounds: "
        "each process's code and data land at other addresses, which moves a per-call ratio by a few percent",
    )
    parser.add_argument("--samples-to", type=Path, help=argparse.SUPPRESS)  # a pooled run's child writes here
    parser.add_argument(
        "--cpu",
        type=int,
        default=max(os.sched_getaffinity(0)),
        help="run on this CPU only, peers and start-up processes too (-1: wherever the scheduler likes); "
        "by default the highest, away from CPU 0's interrupts",
    )
    args = parser.parse_args()
    if args.cpu >= 0:
        # One CPU: a side's block is not split between CPUs with different
        # caches and loads, which made the per-call rows drift by ~5%.
        os.sched_setaffinity(0, {args.cpu})
    groups = set(filter(None, args.only.split(","))) or {"maps", "percpu", "bulk", "events", "start", "scale"}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        c, program = build_baseline(Path(tmp))
        producer = build_producer(Path(tmp)) if groups & {"percpu", "events"} else Path()
        rows: list[Row] = []
        if "maps" in groups:
            rows += map_rows(stack, c, args.n, Path(tmp) if args.peers else None)
        if "percpu" in groups:
            rows += percpu_rows(stack, c, args.n, producer)
        if "bulk" in groups:
            rows += bulk_rows(stack, c, args.entries)
        if "events" in groups:
            rows += event_rows(stack, c, producer, args.records)
        if "start" in groups:
            rows += start_rows(stack, program)
        sizes = [int(size) for size in args.scale.split(",")]
        if "scale" in groups:
            rows += scale_rows(stack, c, sizes)
        run(rows, args.rounds, progress=lambda line: print(line, file=sys.stderr, flush=True))
        if args.samples_to:
            args.samples_to.write_text(json.dumps({row.name: row.samples for row in rows}))
            return 0
        per_call = groups & {"maps", "percpu"}
        for child in range(1, args.processes if per_call else 1):
            pool_rounds(rows, Path(tmp) / f"samples{child}.json", per_call, args)
    table, held = report(rows)
    if "scale" in groups:
        table += "\n\n" + "\n".join(memory_rows(max(sizes)))
    notes = "\n".join(f"- {row.name}: {row.note}" for row in rows if row.note)
    command = " ".join(["python", "bench/bench.py", *sys.argv[1:]])
    text = f"{table}\n\n{notes}\n\nMachine: {machine()}.  Command: `{command}`.\n"
    print(text)
    if args.markdown:
        head, _, _ = args.markdown.read_text().partition(RESULTS_MARK) if args.markdown.exists() else ("", "", "")
        args.markdown.write_text(f"{head}{RESULTS_MARK}\n\n{text}")
    print("every target held" if held else "some targets are not met (marked **over**)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
