"""Handle lifetimes on the real kernel: close() racing calls in flight on other
threads, forked children that must leave their parent's attachments alone,
and the map-type registry seen from a fresh interpreter."""

from __future__ import annotations

import ctypes
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

import pybpf
from pybpf import MapType

from emulation import EMULATED

pytestmark = pytest.mark.kernel

SUPPORT = Path(__file__).resolve().parent / "support"
TRIALS = 2000  # per race; each trial is bounded in time as well
TRIAL_BUDGET = 6.0 if EMULATED else 30.0  # seconds per race test, whatever the machine
# Trials that must fit in the budget (a third of it for a poll race): emulated
# guests sharing two cores run some five a second.
MIN_TRIALS = 10 if EMULATED else 200
MIN_POLL_TRIALS = 5 if EMULATED else 100
SENTINEL = 0x5EED5EED  # what the second map holds: a call on the wrong fd would see it


@pytest.fixture(autouse=True)
def _fine_grained_switching() -> Iterator[None]:
    """Switch threads every microsecond, so that close() lands inside calls."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


class _Value(ctypes.Structure):
    """A struct value: writes of it take the codec path, not the integer fast path."""

    _fields_ = [("v", ctypes.c_uint64)]


def _hash(name: str, *, value_type: Any = "Q") -> Any:
    return pybpf.Map.create(
        MapType.HASH,
        key_size=4,
        value_size=8,
        max_entries=64,
        name=f"{name}_{uuid.uuid4().hex[:6]}",
        key_type="I",
        value_type=value_type,
    )


def _saw_sentinel(result: object) -> bool:
    if isinstance(result, dict):
        return SENTINEL in result.values()
    if isinstance(result, list):
        return SENTINEL in result
    return result == SENTINEL or getattr(result, "v", None) == SENTINEL


def _until_closed(
    op: Callable[[], object],
    errors: list[BaseException],
    started: threading.Event,
    check: Callable[[object], None] = lambda result: None,
) -> None:
    """A worker thread: ``op()`` in a loop (each result to ``check``) until
    it fails with "closed"; any other exception is kept in ``errors``."""
    started.set()
    try:
        while True:
            check(op())
    except pybpf.BPFValueError as exc:
        if "is closed" not in str(exc):
            errors.append(exc)
    except BaseException as exc:  # anything else is a defect
        errors.append(exc)


def _keep_if_sentinel(saw: list[object], result: object) -> None:
    if _saw_sentinel(result):
        saw.append(result)


def _race(op: Callable[[Any], object], *, value_type: Any = "Q") -> None:
    """Trials until TRIALS or the time budget.  In each, ``op(victim)`` runs
    in a loop on another thread while the main thread closes the victim and
    at once creates a second map, which usually gets the victim's fd number.
    The worker must end with "closed" (never another error), never see the
    second map's value, and the second map must be untouched."""
    end = time.monotonic() + TRIAL_BUDGET
    done = 0
    while done < TRIALS and time.monotonic() < end:
        victim = _hash("victim", value_type=value_type)
        victim.update_from({k: value_type(v=k) if value_type is _Value else k for k in range(1, 33)})
        errors: list[BaseException] = []
        saw: list[object] = []
        started = threading.Event()

        check = partial(_keep_if_sentinel, saw)
        thread = threading.Thread(target=_until_closed, args=(partial(op, victim), errors, started, check))
        thread.start()
        started.wait()
        spin_until = time.perf_counter() + random.uniform(0, 200e-6)
        while time.perf_counter() < spin_until:
            pass
        victim.close()
        with _hash("second") as second:  # created after the close: the fd number is free again
            second[1] = SENTINEL
            thread.join(10)
            assert not thread.is_alive(), "a call in flight did not return after close()"
            assert dict(second.items()) == {1: SENTINEL}, "a call on the closed map reached the second map"
        assert not errors, errors[:3]
        assert not saw, "a read on the closed map returned the second map's value"
        done += 1
    assert done >= MIN_TRIALS, f"only {done} trials ran in {TRIAL_BUDGET} s"


def test_close_races_a_fast_path_read() -> None:
    _race(lambda m: m.get(1))


def test_close_races_a_codec_path_write() -> None:
    def write(m: Any) -> None:
        m[2] = _Value(v=7)

    _race(write, value_type=_Value)


def test_close_races_a_delete() -> None:
    _race(lambda m: m.pop(1, None))


def test_close_races_an_iteration() -> None:
    def walk(m: Any) -> list[int]:
        m._batch = False  # GET_NEXT_KEY, one syscall per key
        return list(m)

    _race(walk)


def test_close_races_a_batch_dump() -> None:
    _race(lambda m: dict(m.items()))


def test_close_races_pop_all() -> None:
    _race(lambda m: m.pop_all())


def _ring(name: str) -> Any:
    return pybpf.Map.create(MapType.RINGBUF, key_size=0, value_size=0, max_entries=4096, name=name)


def _close_during_polls(
    open_reader: Callable[[], Any], timeout: float | None, trials: int, after: Callable[[], None] = lambda: None
) -> None:
    """Trials in which another thread polls a reader in a loop (blocking for
    ever, or not) while the main thread closes it: the poll must return or
    fail with "closed" (never anything else), at once; ``after`` then runs."""
    end = time.monotonic() + TRIAL_BUDGET / 3
    done = 0
    while done < trials and time.monotonic() < end:
        reader = open_reader()
        errors: list[BaseException] = []
        started = threading.Event()

        thread = threading.Thread(target=_until_closed, args=(partial(reader.poll, timeout), errors, started))
        thread.start()
        started.wait()
        reader.close()
        thread.join(10)
        assert not thread.is_alive(), "close() did not end a poll in flight"
        assert not errors, errors[:3]
        after()
        done += 1
    assert done >= MIN_POLL_TRIALS, f"only {done} trials ran in {TRIAL_BUDGET / 3:.0f} s"


@pytest.mark.parametrize("timeout", [None, 0.0, 0.001])
def test_close_races_a_ring_buffer_poll(timeout: float | None) -> None:
    """A ring buffer opened right after each close works, whatever pointer
    the allocator hands it."""
    with _ring("victim_rb") as ring_map, _ring("second_rb") as second_map:

        def second_works() -> None:
            with pybpf.RingBuffer(second_map) as second:
                assert second.poll(0) == 0 and second.consume() == 0

        _close_during_polls(lambda: pybpf.RingBuffer(ring_map), timeout, TRIALS // 2, second_works)


def test_close_races_a_perf_buffer_poll() -> None:
    ncpu = pybpf.possible_cpus()
    with pybpf.Map.create(
        MapType.PERF_EVENT_ARRAY, key_size=4, value_size=4, max_entries=ncpu, name="victim_pb"
    ) as perf_map:
        _close_during_polls(lambda: pybpf.PerfBuffer(perf_map, pages=1), None, TRIALS // 2)


def test_closed_error_says_who_closed() -> None:
    mine, theirs = _hash("mine"), _hash("theirs")
    mine.close()
    closer = threading.Thread(target=theirs.close)
    closer.start()
    closer.join(10)
    with pytest.raises(pybpf.BPFValueError, match=r"is closed$"):
        mine[1] = 1
    with pytest.raises(pybpf.BPFValueError, match="is closed: another thread closed it"):
        theirs[1] = 1


def test_close_inside_a_callback_is_refused_and_named() -> None:
    with _ring("cb_rb") as ring_map:
        reader = pybpf.RingBuffer(ring_map)
        try:
            reader._poller = threading.get_ident()  # as while a callback runs in this thread's poll
            with pytest.raises(RuntimeError, match="inside a callback of its own poll"):
                reader.close()
            reader._poller = None
            other = threading.Thread(target=reader.close)  # from another thread: allowed, waits
            other.start()
            other.join(10)
            assert reader.closed
        finally:
            reader._poller = None
            reader.close()


FORK_MODES = ("exit", "close", "raise")


@pytest.fixture(scope="module")
def fork_scenarios(tracefs: str) -> dict[str, dict[str, Any]]:
    """fork_scenario.py's results for each mode, from one interpreter
    (starting one takes seconds under a VM's emulation)."""
    proc = subprocess.run(
        [sys.executable, str(SUPPORT / "fork_scenario.py"), *FORK_MODES],
        capture_output=True,
        text=True,
        timeout=360,
    )
    assert proc.returncode == 0, proc.stderr
    assert "ResourceWarning" not in proc.stderr
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return {result["mode"]: result for result in results}


@pytest.mark.parametrize("mode", FORK_MODES)
def test_forked_child_leaves_the_parents_attachments(mode: str, fork_scenarios: dict[str, Any]) -> None:
    """XDP, tc, a socket filter, an LWT route and a tracepoint attached by a
    parent stay attached and counting after a child exits, closes everything
    or raises; the parent's close() then removes them, without hanging."""
    result = fork_scenarios[mode]
    assert result["child"] == (1 if mode == "raise" else 0)
    n = 3  # fork_scenario.N per hook; XDP sees the tc and the route traffic: 2 * N
    assert result["counts"] == {"xdp": 2 * n, "tc": n, "route": n, "socket": n, "tracepoint": n}
    assert result["after_close"] == {"xdp": 0, "tc": 0, "route": 0, "socket": 0, "tracepoint": 0}


def test_registry_is_complete_from_the_object_module_alone(tmp_path: Path) -> None:
    """A fresh interpreter that imports only the object module gets the
    family classes for an object's maps."""
    code = (
        "from pybpf._object.object import BPFObject\n"
        "from pybpf._object.shipped import shipped\n"
        "obj = BPFObject.open(shipped('xdp_filter'))\n"
        "import json\n"
        "print(json.dumps({name: type(m).__name__ for name, m in obj.maps.items()}))\n"
        "obj.close()\n"
    )
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    proc = subprocess.run(  # from elsewhere than the checkout: the installed package
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    kinds = json.loads(proc.stdout)
    assert "LPMTrie" in kinds.values(), kinds
