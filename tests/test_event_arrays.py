"""Ring and perf buffers in batch mode: every record of a read as one array
(numpy or memoryview), from BPF programs run on the real kernel."""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pybpf

pytestmark = pytest.mark.kernel

PACKET = bytes(64)


@pytest.fixture
def ring_obj(test_objects: dict[str, Path]) -> Iterator[pybpf.BPFObject]:
    with pybpf.load(test_objects["ringbuf_events"]) as o:
        o.maps["settings"][0] = (1000, b"pybpf")
        yield o


@pytest.fixture
def perf_obj(test_objects: dict[str, Path]) -> Iterator[pybpf.BPFObject]:
    with pybpf.load(test_objects["perf_events"]) as o:
        yield o


def test_ring_records_as_one_structured_array(ring_obj: pybpf.BPFObject) -> None:
    arrays: list[Any] = []
    with pybpf.RingBuffer(ring_obj.maps["events"], arrays.append, event_type="struct event", batch="numpy") as rb:
        ring_obj.programs["emit"].test_run(PACKET, repeat=50_000)
        assert rb.consume() == 50_000
    records = np.concatenate(arrays)
    assert len(arrays) < 10  # whole batches, not a call per record
    assert records.dtype.names is not None and {"seq", "cpu", "pkt_len", "tag"} <= set(records.dtype.names)
    assert records["seq"].tolist() == list(range(1000, 51_000))
    assert set(records["pkt_len"].tolist()) == {len(PACKET)} and set(records["tag"].tolist()) == {b"pybpf"}
    assert ring_obj.bss["dropped"] == 0


def test_ring_records_as_memoryviews(ring_obj: pybpf.BPFObject) -> None:
    views: list[memoryview] = []
    with pybpf.RingBuffer(ring_obj.maps["events"], views.append, event_type="struct event", batch="memoryview") as rb:
        ring_obj.programs["emit"].test_run(PACKET, repeat=3)
        rb.consume()
    (view,) = views
    assert view.shape == (3, 24)  # one row of the record's bytes each
    event = ring_obj.btf_type("struct event")
    assert [event.from_buffer_copy(view, i * 24).seq for i in range(3)] == [1000, 1001, 1002]
    ints: list[memoryview] = []
    with pybpf.RingBuffer(ring_obj.maps["other"], ints.append, event_type="Q", batch="memoryview") as rb:
        ring_obj.programs["emit_other"].test_run(PACKET, repeat=4)
        assert rb.consume() == 4
    assert ints[0].format == "Q" and ints[0].tolist() == [2000] * 4
    with pybpf.RingBuffer(ring_obj.maps["other"], event_type="Q", batch="numpy") as rb:  # no callback: events()
        ring_obj.programs["emit_other"].test_run(PACKET, repeat=2)
        (queued,) = list(rb.events(timeout=1))
    assert queued.dtype == np.uint64 and queued.tolist() == [2000, 2000]


class _Narrow(ctypes.Structure):
    _fields_ = [("seq", ctypes.c_uint64)]


def test_ring_records_of_another_size_are_kept_in_the_error(ring_obj: pybpf.BPFObject) -> None:
    arrays: list[Any] = []
    with pybpf.RingBuffer(ring_obj.maps["events"], arrays.append, event_type=_Narrow, batch="numpy") as rb:
        ring_obj.programs["emit"].test_run(PACKET, repeat=2)
        with pytest.raises(ValueError, match="2 records of another size than the event type's 8 bytes") as caught:
            rb.consume()
    records = caught.value.records  # type: ignore[attr-defined]
    assert [int.from_bytes(r[:8], sys.byteorder) for r in records] == [1000, 1001] and len(records[0]) == 24
    assert arrays == []


def test_batch_needs_an_event_type_and_a_known_form(ring_obj: pybpf.BPFObject, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="needs an event_type"):
        pybpf.RingBuffer(ring_obj.maps["events"], batch="numpy")
    with pytest.raises(ValueError, match="'numpy' or 'memoryview'"):
        pybpf.RingBuffer(ring_obj.maps["events"], event_type="Q", batch="list")  # type: ignore[arg-type]
    monkeypatch.setitem(sys.modules, "numpy", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install pybpf\[numpy\]"):
        pybpf.RingBuffer(ring_obj.maps["events"], event_type="Q", batch="numpy")


def test_perf_records_and_cpus_as_arrays(perf_obj: pybpf.BPFObject) -> None:
    got: list[tuple[Any, Any]] = []
    with pybpf.PerfBuffer(
        perf_obj.maps["samples"],
        lambda cpus, records: got.append((cpus, records)),
        pages=256,
        event_type="struct perf_sample",
        batch="numpy",
    ) as pb:
        perf_obj.programs["emit"].test_run(bytes(64), repeat=20_000)
        assert pb.consume() == 20_000
    cpus = np.concatenate([c for c, _ in got])
    records = np.concatenate([r for _, r in got])
    assert cpus.dtype == np.intc and (cpus == records["cpu"]).all()  # the program writes its CPU
    assert sorted(records["seq"].tolist()) == list(range(20_000))
    assert set(records["magic"].tolist()) == {0x5A5A5A5A}


@pytest.mark.usefixtures("one_cpu")
def test_perf_batches_report_losses_apart(perf_obj: pybpf.BPFObject) -> None:
    seqs: list[list[int]] = []
    losses: list[int] = []
    with pybpf.PerfBuffer(
        perf_obj.maps["samples"],
        lambda cpus, records: seqs.extend(row[:8] for row in records.tolist()),
        pages=1,
        event_type="struct perf_sample",
        lost=lambda cpu, count: losses.append(count),
        batch="memoryview",
    ) as pb:
        perf_obj.programs["emit"].test_run(bytes(64), repeat=2000)  # one page: most are dropped
        pb.poll(timeout=1)
        perf_obj.programs["emit"].test_run(bytes(64), repeat=1)  # with room, the drops are reported
        pb.poll(timeout=0)
        dropped = perf_obj.bss["send_errors"]
    assert dropped > 0 and pb.lost == dropped == sum(losses)
    values = [int.from_bytes(bytes(row), sys.byteorder) for row in seqs]
    assert len(values) + dropped == 2001 and values == sorted(values) and values[-1] == 2000
