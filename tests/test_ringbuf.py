"""Ring buffers on the real kernel: a BPF program submits, Python reads."""

from __future__ import annotations

import asyncio
import ctypes
import gc
import os
import select
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pybpf
from pybpf._core.ffi import HAS_RING_API

pytestmark = pytest.mark.kernel

PACKET = bytes(64)
RECORD = 32  # 8-byte header + the 24-byte struct event, 8-byte aligned


@pytest.fixture
def obj(test_objects: dict[str, Path]) -> Iterator[pybpf.BPFObject]:
    with pybpf.load(test_objects["ringbuf_events"]) as o:
        o.maps["settings"][0] = (1000, b"pybpf")
        yield o


def emit(obj: pybpf.BPFObject, n: int, prog: str = "emit") -> None:
    assert obj.programs[prog].test_run(PACKET, repeat=n).retval == 2  # XDP_PASS


def test_100k_events_in_order_none_lost(obj: pybpf.BPFObject) -> None:
    n = 100_000
    producer = threading.Thread(target=emit, args=(obj, n))
    seen: list[Any] = []
    with pybpf.RingBuffer(obj.maps["events"], event_type="struct event") as rb:
        producer.start()  # test_run releases the GIL: produce and consume at once
        for event in rb.events(timeout=10):
            seen.append(event)
            if len(seen) == n:
                break
        producer.join()
        assert rb.consume() == 0
    assert [e.seq for e in seen] == list(range(1000, 1000 + n))
    assert {e.pkt_len for e in seen} == {len(PACKET)}
    assert {e.tag for e in seen} == {b"pybpf"}
    assert {e.cpu for e in seen} <= set(range(pybpf.possible_cpus()))
    assert obj.bss["dropped"] == 0


def test_callbacks_and_two_rings(obj: pybpf.BPFObject) -> None:
    events: list[Any] = []
    others: list[int] = []
    with pybpf.RingBuffer(obj.maps["events"], events.append, event_type=obj.btf_type("struct event")) as rb:
        rb.add(obj.maps["other"], others.append, event_type="Q")
        emit(obj, 3)
        emit(obj, 2, "emit_other")
        assert rb.poll(timeout=1) == 5
    assert [e.seq for e in events] == [1000, 1001, 1002]
    assert others == [2000, 2000]


def test_bytes_without_event_type(obj: pybpf.BPFObject) -> None:
    with pybpf.RingBuffer(obj.maps["events"]) as rb:
        emit(obj, 1)
        (raw,) = list(rb.events(timeout=0))
    assert isinstance(raw, bytes) and len(raw) == 24
    assert int.from_bytes(raw[:8], "little") == 1000
    assert raw[16:21] == b"pybpf"


def test_callback_exception_stops_poll_and_reraises(obj: pybpf.BPFObject) -> None:
    got: list[int] = []

    def callback(event: Any) -> None:
        got.append(event.seq)
        if len(got) == 3:
            raise RuntimeError("stop here")

    with pybpf.RingBuffer(obj.maps["events"], callback, event_type="struct event") as rb:
        emit(obj, 10)
        with pytest.raises(RuntimeError, match="stop here"):
            rb.poll(timeout=1)
        assert got == [1000, 1001, 1002]
        assert rb.poll(timeout=1) == 7  # the record that raised was consumed
    assert got == list(range(1000, 1010))


def test_small_batches_deliver_everything_in_order(obj: pybpf.BPFObject, monkeypatch: pytest.MonkeyPatch) -> None:
    import pybpf._events.ringbuf

    monkeypatch.setattr(pybpf._events.ringbuf, "_BATCH_BYTES", 100)  # a few records per libbpf call
    got: list[int] = []
    with pybpf.RingBuffer(obj.maps["events"], lambda e: got.append(e.seq), event_type="struct event") as rb:
        emit(obj, 50)
        assert rb.consume() == 50
    assert got == list(range(1000, 1050))


def test_select_on_fileno_then_consume(obj: pybpf.BPFObject) -> None:
    with pybpf.RingBuffer(obj.maps["events"], event_type="struct event") as rb:
        assert select.select([rb], [], [], 0)[0] == []
        emit(obj, 4)
        assert select.select([rb], [], [], 1)[0] == [rb]
        assert rb.consume() == 4
        assert [e.seq for e in rb.events(timeout=0)] == [1000, 1001, 1002, 1003]


def test_asyncio(obj: pybpf.BPFObject) -> None:
    async def main(rb: pybpf.RingBuffer) -> list[int]:
        loop = asyncio.get_running_loop()
        task = loop.run_in_executor(None, emit, obj, 50)
        out = [e.seq async for e in rb.events_async(timeout=0.5)]
        await task
        return out

    with pybpf.RingBuffer(obj.maps["events"], event_type="struct event") as rb:
        assert asyncio.run(main(rb)) == list(range(1000, 1050))
        assert asyncio.run(rb.poll_async(timeout=0.05)) == 0


def test_pending_and_consume_one_ring(obj: pybpf.BPFObject) -> None:
    with pybpf.RingBuffer(obj.maps["events"]) as rb:
        rb.add(obj.maps["other"])
        emit(obj, 5)
        emit(obj, 1, "emit_other")
        if not HAS_RING_API:  # built against libbpf < 1.3: a clear refusal instead
            with pytest.raises(pybpf.NotSupportedError, match="needs libbpf >= 1.3"):
                rb.pending()
            return
        assert rb.pending(obj.maps["events"]) == 5 * RECORD
        assert rb.pending(obj.maps["other"]) == 16
        assert rb.pending() == 5 * RECORD + 16
        assert rb.consume(obj.maps["other"]) == 1
        assert rb.pending() == 5 * RECORD
        with pytest.raises(ValueError, match="not polled"):
            rb.pending(obj.maps["settings"])


class _Wide(ctypes.Structure):
    _fields_ = [("seq", ctypes.c_uint64), ("rest", ctypes.c_uint8 * 32)]


class _Narrow(ctypes.Structure):
    _fields_ = [("seq", ctypes.c_uint64)]


def test_records_of_another_size_than_the_type(obj: pybpf.BPFObject) -> None:
    """Shorter: the missing tail reads as zeros; longer: the head decodes
    and the rest is kept; either way the size sent is there."""
    with pybpf.RingBuffer(obj.maps["events"], event_type=_Wide) as rb:
        emit(obj, 1)
        (wide,) = list(rb.events(timeout=1))
    assert wide.seq == 1000 and wide._record_size == 24 and wide._record_tail == b""
    assert bytes(wide.rest)[16:] == bytes(16)  # the 8 bytes past the record's 24 and beyond
    with pybpf.RingBuffer(obj.maps["events"], event_type=_Narrow) as rb:
        emit(obj, 1)
        (narrow,) = list(rb.events(timeout=1))
    assert narrow.seq == 1001 and narrow._record_size == 24
    assert narrow._record_tail[8:] == b"pybpf\0\0\0"  # cpu, pkt_len, then the tag
    with pybpf.RingBuffer(obj.maps["events"], event_type="struct event") as rb:
        emit(obj, 1)
        (exact,) = list(rb.events(timeout=1))
    assert exact._record_size == 24 and exact._record_tail == b""


def test_exec_tracer_partial_records_typed_from_another_btf(
    test_objects: dict[str, Path], tracefs: str, tmp_path: Path
) -> None:
    """An exec tracer submits only the filled part of its struct, whose type
    is not in its own object: it comes from a second object's BTF."""
    argv = ["/bin/true", "a", "bb", "", "ccc"]  # "" is 0 bytes to bpf_probe_read_user_str before 6.x
    with pybpf.BPFObject.open(test_objects["exec_events"]) as tracer:
        tracer.rodata["parent_tgid"] = os.getpid()
        tracer.load()
        with pytest.raises(KeyError, match="struct exec_event"):
            pybpf.RingBuffer(tracer.maps["execs"], event_type="struct exec_event")
        with pybpf.BTF.from_file(test_objects["exec_types"]) as btf:
            event_type = btf.type("struct exec_event")
        with (
            tracer.programs["record_exec"].attach(),
            pybpf.RingBuffer(tracer.maps["execs"], event_type=event_type) as rb,
        ):
            child = subprocess.run(argv, check=True)
            events = list(rb.events(timeout=0.5))
    assert child.returncode == 0 and len(events) == 1
    (event,) = events
    sent = b"".join(arg.encode() + b"\0" for arg in argv)
    assert (event.ppid, event.args_count, event.args_size) == (os.getpid(), len(argv), len(sent))
    assert event._raw("args")[: event.args_size] == sent
    assert event.args == b"/bin/true"  # a char[] field reads up to its first NUL
    assert event._record_size == 32 + len(sent) < ctypes.sizeof(event_type)


def test_bad_input_and_lifetime(obj: pybpf.BPFObject) -> None:
    with pytest.raises(ValueError, match="'settings' is a ARRAY, not a RINGBUF"):
        pybpf.RingBuffer(obj.maps["settings"])
    with pytest.raises(TypeError):
        pybpf.RingBuffer(3)  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="no type named 'struct nope'"):
        pybpf.RingBuffer(obj.maps["events"], event_type="struct nope")
    rb = pybpf.RingBuffer(obj.maps["events"])
    rb.close()
    rb.close()
    assert rb.closed
    with pytest.raises(ValueError, match="closed"):
        rb.poll(0)

    def reenter(_: Any) -> None:
        inner.poll(0)

    with pybpf.RingBuffer(obj.maps["events"], reenter) as inner:
        emit(obj, 1)
        with pytest.raises(RuntimeError, match="already polling"):
            inner.poll(1)


def test_leak_warns(obj: pybpf.BPFObject) -> None:
    rb = pybpf.RingBuffer(obj.maps["events"])
    with pytest.warns(ResourceWarning, match="ring buffer on 'events' was not closed"):
        del rb
        gc.collect()
