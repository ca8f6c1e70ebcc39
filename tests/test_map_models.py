"""Maps against Python models (hypothesis stateful tests): random sequences
of writes with every update flag, reads, deletes, batch writes, batch reads
and read-and-clear, each checked against the kernel's documented semantics.

* HASH, ARRAY and their per-CPU twins: exactly a dict (arrays: fixed keys
  that read 0, cannot be deleted, say E2BIG past the end);
* LRU_HASH: by its invariants (never more than max_entries, a key just
  written is there with its value, what is there holds its last value);
* LPM_TRIE: against a longest-prefix reference;
* QUEUE and STACK: a deque, full and empty included.

``PYBPF_MODEL_EXAMPLES`` sets the examples per model (``make fuzz`` raises
it; VM guests under emulation, ``PYBPF_VM_ACCEL=tcg``, lower it).
"""

from __future__ import annotations

import ipaddress
import os
import uuid
from collections import deque
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import pybpf
from pybpf import EXIST, NOEXIST, MapType

from emulation import EMULATED

pytestmark = pytest.mark.kernel

# 8 models: 2,400 examples on the host; a slice under emulation.
EXAMPLES = int(os.environ.get("PYBPF_MODEL_EXAMPLES", "20" if EMULATED else "300"))
SETTINGS = settings(
    max_examples=EXAMPLES, stateful_step_count=40, deadline=None, suppress_health_check=list(HealthCheck)
)
CAPACITY = 8
KEYS = st.integers(0, 11)  # more keys than the capacity: full maps are reached
VALUES = st.integers(0, 2**64 - 1)
FLAGS = st.sampled_from([0, NOEXIST, EXIST])


def _create(kind: MapType, **extra: Any) -> Any:
    return pybpf.Map.create(
        kind,
        key_size=4,
        value_size=8,
        max_entries=CAPACITY,
        name=f"model_{uuid.uuid4().hex[:8]}",
        key_type="I",
        value_type="Q",
        **extra,
    )


class KeyedModel(RuleBasedStateMachine):
    """A HASH or ARRAY map (or a per-CPU one) and the dict it must equal."""

    kind = MapType.HASH

    def __init__(self) -> None:
        super().__init__()
        self.map = _create(self.kind)
        self.array = self.kind.is_array
        self.ncpus = pybpf.possible_cpus() if self.kind.is_percpu else 0
        self.model: dict[int, Any] = {k: self._value(0) for k in range(CAPACITY)} if self.array else {}

    def _value(self, v: int) -> Any:
        return [v] * self.ncpus if self.ncpus else v

    def teardown(self) -> None:
        self.map.close()

    def _expect(self, key: int, flags: int) -> type[Exception] | None:
        """The error the kernel gives for writing ``key`` with ``flags``, if any."""
        exists = key in self.model
        if self.array and key >= CAPACITY:
            return pybpf.BPFValueError  # E2BIG
        if flags == NOEXIST and exists:
            return pybpf.BPFFileExistsError
        if flags == EXIST and not exists:
            return pybpf.BPFKeyError
        if not exists and len(self.model) >= CAPACITY:
            return pybpf.BPFValueError  # E2BIG: full
        return None

    @rule(key=KEYS, value=VALUES, flags=FLAGS)
    def write(self, key: int, value: int, flags: int) -> None:
        error = self._expect(key, flags)
        if error is None:
            self.map.set(key, self._value(value), flags=flags)
            self.model[key] = self._value(value)
        else:
            with pytest.raises(error):
                self.map.set(key, self._value(value), flags=flags)

    @rule(key=KEYS)
    def read(self, key: int) -> None:
        if key in self.model:
            assert self.map[key] == self.model[key]
        else:
            with pytest.raises(KeyError):
                self.map[key]
        assert (key in self.map) == (key in self.model)

    @rule(key=KEYS)
    def delete(self, key: int) -> None:
        if self.array:
            with pytest.raises((pybpf.BPFValueError, KeyError)):  # EINVAL; E2BIG past the end
                del self.map[key]
        elif key in self.model:
            del self.map[key]
            del self.model[key]
        else:
            with pytest.raises(KeyError):
                del self.map[key]

    @rule(entries=st.dictionaries(st.integers(0, CAPACITY - 1), VALUES, max_size=CAPACITY))
    def write_batch(self, entries: dict[int, int]) -> None:
        room = CAPACITY - len(self.model)
        new = [k for k in entries if k not in self.model]
        if len(new) > room:
            return  # the failing key depends on the kernel's order: covered one at a time
        batch = {k: self._value(v) for k, v in entries.items()}
        assert self.map.update_from(batch) == len(batch)
        self.model.update(batch)

    @precondition(lambda self: not self.array)
    @rule()
    def pop_all(self) -> None:
        assert self.map.pop_all() == self.model
        self.model.clear()

    @invariant()
    def same_entries(self) -> None:
        assert dict(self.map.items()) == self.model
        assert len(self.map) == len(self.model)


class HashModel(KeyedModel):
    kind = MapType.HASH


class ArrayModel(KeyedModel):
    kind = MapType.ARRAY


class PerCpuHashModel(KeyedModel):
    kind = MapType.PERCPU_HASH


class PerCpuArrayModel(KeyedModel):
    kind = MapType.PERCPU_ARRAY


class LruModel(RuleBasedStateMachine):
    """An LRU_HASH: it evicts instead of refusing, so only its invariants are exact."""

    def __init__(self) -> None:
        super().__init__()
        self.map = _create(MapType.LRU_HASH)
        self.last: dict[int, int] = {}

    def teardown(self) -> None:
        self.map.close()

    @rule(key=KEYS, value=VALUES)
    def write(self, key: int, value: int) -> None:
        self.map[key] = value
        self.last[key] = value
        assert self.map[key] == value  # a key just written is there

    @rule(key=KEYS)
    def delete(self, key: int) -> None:
        if key in self.map:
            del self.map[key]
        self.last.pop(key, None)

    @invariant()
    def bounded_and_last_written(self) -> None:
        entries = dict(self.map.items())
        assert len(entries) <= CAPACITY
        assert all(self.last.get(k) == v for k, v in entries.items())


PREFIXES = st.builds(
    lambda addr, length: ipaddress.ip_network(f"{ipaddress.IPv4Address(addr)}/{length}", strict=False),
    st.sampled_from([0x0A000000, 0x0A010000, 0x0A010200, 0xC0A80000]),
    st.integers(0, 32),
)
ADDRESSES = st.builds(ipaddress.IPv4Address, st.integers(0x0A000000, 0x0A0103FF) | st.just(0xC0A80101))


class LpmModel(RuleBasedStateMachine):
    """An LPM_TRIE against the longest matching prefix of a dict of networks."""

    def __init__(self) -> None:
        super().__init__()
        self.map = pybpf.Map.create(
            MapType.LPM_TRIE,
            key_size=8,
            value_size=8,
            max_entries=64,
            name=f"lpm_{uuid.uuid4().hex[:8]}",
            value_type="Q",
        )
        self.model: dict[ipaddress.IPv4Network, int] = {}

    def teardown(self) -> None:
        self.map.close()

    @rule(net=PREFIXES, value=VALUES)
    def write(self, net: ipaddress.IPv4Network, value: int) -> None:
        self.map[net] = value
        self.model[net] = value

    @rule(net=PREFIXES)
    def delete(self, net: ipaddress.IPv4Network) -> None:
        if net in self.model:
            del self.map[net]
            del self.model[net]
        else:
            with pytest.raises(KeyError):
                del self.map[net]

    @rule(addr=ADDRESSES)
    def lookup(self, addr: ipaddress.IPv4Address) -> None:
        matches = [net for net in self.model if addr in net]
        if matches:
            assert self.map[addr] == self.model[max(matches, key=lambda n: n.prefixlen)]
        else:
            with pytest.raises(KeyError):
                self.map[addr]

    @invariant()
    def same_prefixes(self) -> None:
        assert dict(self.map.items()) == self.model


class KeylessModel(RuleBasedStateMachine):
    """A QUEUE or STACK against a deque: full refuses (E2BIG) unless EXIST
    pushes out the oldest; empty pops and peeks are IndexErrors."""

    kind = MapType.QUEUE

    def __init__(self) -> None:
        super().__init__()
        self.map = pybpf.QueueMap.create(
            self.kind, key_size=0, value_size=8, max_entries=CAPACITY, name=f"q_{uuid.uuid4().hex[:8]}", value_type="Q"
        )
        self.model: deque[int] = deque()

    def teardown(self) -> None:
        self.map.close()

    @rule(value=VALUES, overwrite=st.booleans())
    def push(self, value: int, overwrite: bool) -> None:
        if len(self.model) == CAPACITY and not overwrite:
            with pytest.raises(pybpf.BPFValueError):
                self.map.push(value)
            return
        self.map.push(value, flags=EXIST if overwrite else 0)
        if len(self.model) == CAPACITY:
            self.model.popleft()  # the oldest goes, for a stack too
        self.model.append(value)

    def _next(self) -> int:
        return self.model[0] if self.kind == MapType.QUEUE else self.model[-1]

    @rule()
    def peek(self) -> None:
        if not self.model:
            with pytest.raises(IndexError):
                self.map.peek()
        else:
            assert self.map.peek() == self._next()

    @rule()
    def pop(self) -> None:
        if not self.model:
            with pytest.raises(IndexError):
                self.map.pop()
            return
        assert self.map.pop() == self._next()
        if self.kind == MapType.QUEUE:
            self.model.popleft()
        else:
            self.model.pop()


class StackModel(KeylessModel):
    kind = MapType.STACK


def _case(machine: type[RuleBasedStateMachine]) -> Any:
    case = machine.TestCase
    case.settings = SETTINGS
    return case


TestHash = _case(HashModel)
TestArray = _case(ArrayModel)
TestPerCpuHash = _case(PerCpuHashModel)
TestPerCpuArray = _case(PerCpuArrayModel)
TestLru = _case(LruModel)
TestLpm = _case(LpmModel)
TestQueue = _case(KeylessModel)
TestStack = _case(StackModel)
