"""PerfBuffer on a PERF_EVENT_ARRAY: records from a BPF program (test_run)
arrive in order per CPU, and a full buffer's drops are reported exactly."""

from __future__ import annotations

import ctypes
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pybpf

pytestmark = pytest.mark.kernel

MAGIC = 0x5A5A5A5A


@pytest.fixture
def obj(test_objects: dict[str, Path]) -> Iterator[pybpf.BPFObject]:
    with pybpf.load(test_objects["perf_events"]) as loaded:
        yield loaded


def _emit(obj: pybpf.BPFObject, n: int) -> None:
    obj.programs["emit"].test_run(bytes(64), repeat=n)


def test_records_arrive_in_order_with_their_cpu(obj: pybpf.BPFObject) -> None:
    n = 20_000
    with pybpf.PerfBuffer(obj.maps["samples"], pages=256, event_type="struct perf_sample") as pb:
        assert pb.buffers == pybpf.possible_cpus()
        _emit(obj, n)
        got = list(pb.events(timeout=0.5))
        assert pb.lost == 0 and obj.bss["send_errors"] == 0
    # Each CPU's buffer is in order; the emitter may move between CPUs, so only per CPU.
    assert sorted(s.seq for _, s in got) == list(range(n))
    for cpu in {cpu for cpu, _ in got}:
        seqs = [s.seq for c, s in got if c == cpu]
        assert seqs == sorted(seqs)
    assert all(s.magic == MAGIC and s.cpu == cpu for cpu, s in got)


@pytest.mark.usefixtures("one_cpu")
@pytest.mark.parametrize("reader", ["callback", "events"])
def test_full_buffer_reports_exact_losses(obj: pybpf.BPFObject, reader: str) -> None:
    log: list[tuple[str, int]] = []  # records and loss reports, in delivery order
    with pybpf.PerfBuffer(
        obj.maps["samples"],
        (lambda cpu, s: log.append(("seq", s.seq))) if reader == "callback" else None,
        pages=1,
        event_type="struct perf_sample",
        lost=lambda cpu, count: log.append(("lost", count)),
    ) as pb:
        _emit(obj, 2000)  # one page holds ~128 records: most are dropped
        if reader == "events":
            log.extend(("seq", s.seq) for _, s in pb.events(timeout=0.5))
        pb.poll(timeout=1)
        _emit(obj, 1)  # with room again, the kernel reports the drops first
        if reader == "events":
            log.extend(("seq", s.seq) for _, s in pb.events(timeout=0.5))
        pb.poll(timeout=0)
        dropped = obj.bss["send_errors"]
    seen = [value for kind, value in log if kind == "seq"]
    assert dropped > 0
    assert pb.lost == dropped == sum(value for kind, value in log if kind == "lost")
    assert sum(pb.lost_by_cpu.values()) == dropped
    assert len(seen) + dropped == 2001
    assert seen == sorted(seen) and seen[-1] == 2000  # the last one came through
    if reader == "callback":  # the report is delivered in sequence: before record 2000
        assert log[-2:] == [("lost", dropped), ("seq", 2000)]


@pytest.mark.parametrize("batch", [None, "memoryview"])
def test_records_of_several_cpus_in_one_read_keep_their_cpu(obj: pybpf.BPFObject, batch: str | None) -> None:
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        pytest.skip("needs two CPUs to send from")
    pairs: list[tuple[int, int]] = []  # (the CPU the reader names, the CPU the program wrote)

    def on_batch(batch_cpus: Any, records: Any) -> None:
        pairs.extend(zip(batch_cpus.tolist(), (int.from_bytes(row[8:12], "little") for row in records.tolist())))

    with pybpf.PerfBuffer(
        obj.maps["samples"],
        on_batch if batch else (lambda cpu, s: pairs.append((cpu, s.cpu))),
        pages=64,
        event_type="struct perf_sample",
        batch=batch,  # type: ignore[arg-type]
    ) as pb:
        try:
            for cpu, n in ((cpus[0], 300), (cpus[1], 200), (cpus[0], 100)):
                os.sched_setaffinity(0, {cpu})
                _emit(obj, n)
        finally:
            os.sched_setaffinity(0, cpus)
        assert pb.consume() == 600  # one read of both CPUs' buffers
    assert all(named == wrote for named, wrote in pairs)
    assert sorted(Counter(named for named, _ in pairs).items()) == [(cpus[0], 400), (cpus[1], 200)]


def test_callback_exception_loses_nothing(obj: pybpf.BPFObject) -> None:
    seen: list[int] = []

    def callback(cpu: int, sample: object) -> None:
        seq = sample.seq  # type: ignore[attr-defined]
        seen.append(seq)
        if seq == 3:
            raise RuntimeError("stop at 3")

    with pybpf.PerfBuffer(obj.maps["samples"], callback, pages=8, event_type="struct perf_sample") as pb:
        _emit(obj, 10)
        with pytest.raises(RuntimeError, match="stop at 3"):
            pb.poll(timeout=1)
        assert seen == [0, 1, 2, 3]
        pb.consume()
    assert seen == list(range(10))


@pytest.mark.usefixtures("one_cpu")
def test_callback_exception_after_a_loss_loses_nothing_and_counts_once(obj: pybpf.BPFObject) -> None:
    log: list[tuple[str, int]] = []

    def callback(cpu: int, sample: object) -> None:
        seq = sample.seq  # type: ignore[attr-defined]
        log.append(("seq", seq))
        if seq == 2001:
            raise RuntimeError("stop at 2001")

    with pybpf.PerfBuffer(
        obj.maps["samples"],
        callback,
        pages=1,
        event_type="struct perf_sample",
        lost=lambda cpu, count: log.append(("lost", count)),
    ) as pb:
        _emit(obj, 2000)  # one page: most are dropped
        pb.poll(timeout=1)
        log.clear()
        _emit(obj, 4)  # one batch: the report of the drops, then records 2000-2003
        with pytest.raises(RuntimeError, match="stop at 2001"):
            pb.poll(timeout=1)
        dropped = obj.bss["send_errors"]
        assert log == [("lost", dropped), ("seq", 2000), ("seq", 2001)]
        assert pb.consume() == 2  # the rest, after the record that raised
        assert pb.lost == dropped == sum(pb.lost_by_cpu.values())
    assert log[3:] == [("seq", 2002), ("seq", 2003)]


def test_records_shorter_than_the_type_read_zero_padded(obj: pybpf.BPFObject) -> None:
    got: list[Any] = []
    with pybpf.PerfBuffer(obj.maps["samples"], lambda cpu, raw: got.append(raw), event_type=ctypes.c_uint8 * 21) as pb:
        _emit(obj, 3)  # 20-byte records (16 sent, perf's padding): one byte short of the type
        assert pb.poll(timeout=1) == 3
    assert [len(event) for event in got] == [21] * 3 and all(event[20] == 0 for event in got)


def test_raw_records_and_errors(obj: pybpf.BPFObject) -> None:
    samples = obj.maps["samples"]
    assert isinstance(samples, pybpf.FdArray)
    with pytest.raises(TypeError):  # no user-space lookup: a write-only FdArray
        samples[0]
    with pybpf.PerfBuffer(samples) as pb:
        _emit(obj, 1)
        ((cpu, raw),) = list(pb.events(timeout=0.5))
        # 16 bytes sent; perf pads the record to 8 bytes with its 4-byte size
        assert len(raw) == 20 and int.from_bytes(raw[12:16], "little") == MAGIC
    assert pb.closed
    with pytest.raises(ValueError, match="closed"):
        pb.poll(0)
    with pytest.raises(ValueError, match="power of two"):
        pybpf.PerfBuffer(samples, pages=3)
    with pytest.raises(ValueError, match="not a PERF_EVENT_ARRAY"):
        pybpf.PerfBuffer(obj.maps["perf_eve.bss"])
