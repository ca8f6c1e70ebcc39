"""QUEUE, STACK and BLOOM_FILTER on the real kernel."""

from __future__ import annotations

import uuid
from collections.abc import MutableMapping
from typing import Any

import pytest

import pybpf
from pybpf import MapType

pytestmark = pytest.mark.kernel


def _create(map_type: MapType, max_entries: int = 4, **kw: object) -> Any:
    return pybpf.Map.create(
        map_type,
        key_size=0,
        value_size=8,
        max_entries=max_entries,
        name=f"t_{uuid.uuid4().hex[:10]}",
        value_type="Q",
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(("map_type", "order"), [(MapType.QUEUE, [1, 2, 3]), (MapType.STACK, [3, 2, 1])])
def test_queue_and_stack_order(map_type: MapType, order: list[int]) -> None:
    with _create(map_type) as q:
        assert isinstance(q, pybpf.QueueMap)
        for v in (1, 2, 3):
            q.push(v)
        assert q.peek() == order[0]
        assert [q.pop() for _ in range(3)] == order
        with pytest.raises(IndexError, match="is empty"):
            q.pop()
        with pytest.raises(pybpf.BPFIndexError):
            q.peek()


def test_queue_full_and_exist_drops_oldest() -> None:
    with _create(MapType.QUEUE, max_entries=2) as q:
        q.push(1)
        q.push(2)
        with pytest.raises(ValueError) as exc:
            q.push(3)
        assert exc.value.errno == 7  # E2BIG
        q.push(3, flags=pybpf.EXIST)
        assert q.drain() == [2, 3]
        assert q.drain() == []


def test_keyless_maps_offer_only_their_operations() -> None:
    with _create(MapType.STACK) as q, _create(MapType.BLOOM_FILTER, max_entries=64) as bloom:
        for m in (q, bloom):
            assert isinstance(m, pybpf.KeylessMap) and isinstance(m, pybpf.MapBase)
            assert not isinstance(m, (pybpf.Map, MutableMapping))
            absent = ("items", "keys", "values", "get", "update_from", "pop_all", "__setitem__", "__len__")
            assert not any(hasattr(m, name) for name in absent)
            for use in (lambda k: k[0], len, list):
                with pytest.raises(TypeError):
                    use(m)
            assert m.info().type == m.type  # the handle's operations remain
        with pytest.raises(TypeError):
            q.pop(0)


def test_bloom_filter() -> None:
    with _create(MapType.BLOOM_FILTER, max_entries=1000, map_extra=3) as bloom:
        assert isinstance(bloom, pybpf.BloomFilter)
        for v in range(0, 200, 2):
            bloom.add(v)
        assert all(v in bloom for v in range(0, 200, 2))
        absent = sum(v in bloom for v in range(1, 200, 2))
        assert absent < 20  # false positives only, and few at this size
        with pytest.raises(TypeError):
            bloom[1] = 2  # type: ignore[index]
    with pytest.raises(ValueError):  # the kernel's limit: at most 15 hash functions
        _create(MapType.BLOOM_FILTER, map_extra=16)
