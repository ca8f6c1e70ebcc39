"""Maps as arrays: to_numpy(), to_buffers() and update_from(keys, values),
checked against the kernel's own single-entry syscalls."""

from __future__ import annotations

import ctypes
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest

import pybpf
from pybpf import MapType
from pybpf._core.ffi import ffi, lib

pytestmark = pytest.mark.kernel


def _name() -> str:
    return f"t_{uuid.uuid4().hex[:10]}"


def _map(kind: MapType, entries: int = 64, key: str = "I", value: str = "Q", size: int = 8) -> pybpf.Map:
    return pybpf.Map.create(
        kind, key_size=4, value_size=size, max_entries=entries, name=_name(), key_type=key, value_type=value
    )


def _kernel_value(m: pybpf.Map, key: int) -> int:
    """The kernel's answer for one key, through libbpf directly."""
    k, v = ffi.new("unsigned int *", key), ffi.new("unsigned long long *")
    assert lib.bpf_map_lookup_elem(m.fd, k, v) == 0
    return int(v[0])


@pytest.mark.parametrize("kind", [MapType.HASH, MapType.LRU_HASH, MapType.ARRAY])
def test_integer_arrays_round_trip(kind: MapType) -> None:
    with _map(kind, entries=10000 if kind == MapType.LRU_HASH else 5000) as m:  # LRU evicts before it is full
        keys = np.arange(5000, dtype=np.uint32)[::-1].copy()
        values = keys.astype(np.uint64) * 3 + (1 << 40)
        assert m.update_from(keys, values) == 5000
        assert [_kernel_value(m, k) for k in (0, 1234, 4999)] == [1 << 40, 3 * 1234 + (1 << 40), 3 * 4999 + (1 << 40)]
        got_keys, got_values = m.to_numpy()
        assert got_keys.dtype == np.uint32 and got_values.dtype == np.uint64 and len(got_keys) == 5000
        assert sorted(got_keys.tolist()) == list(range(5000))
        assert (got_values == got_keys.astype(np.uint64) * 3 + (1 << 40)).all()
        key_view, value_view = m.to_buffers()
        assert (key_view.format, value_view.format, len(key_view)) == ("I", "Q", 5000)
        assert dict(zip(key_view.tolist(), value_view.tolist())) == dict(m.items())


def test_read_and_clear_takes_every_entry_once() -> None:
    with _map(MapType.HASH, entries=3000) as m:
        m.update_from(np.arange(3000, dtype=np.uint32), np.arange(3000, dtype=np.uint64))
        keys, values = m.to_numpy(clear=True)
        assert sorted(keys.tolist()) == list(range(3000)) and (keys == values).all()
        assert len(m) == 0
        keys, _ = m.to_numpy(clear=True)
        assert len(keys) == 0
    with _map(MapType.ARRAY) as array, pytest.raises(pybpf.NotSupportedError, match="cannot be deleted"):
        array.to_numpy(clear=True)


def test_per_cpu_values_are_rows_of_cpus() -> None:
    ncpus = pybpf.possible_cpus()
    with _map(MapType.PERCPU_HASH, value="I", size=4) as m:
        m[1] = list(range(10, 10 + ncpus))
        keys, values = m.to_numpy()
        assert keys.tolist() == [1] and values.shape == (1, ncpus) and values.dtype == np.uint32
        assert values[0].tolist() == list(range(10, 10 + ncpus))
        # Unpadded 4-byte values are padded to their 8-byte slots.
        m.update_from(np.array([2, 3], dtype=np.uint32), np.array([[7] * ncpus, [8] * ncpus], dtype=np.uint32))
        assert (m[2], m[3]) == ([7] * ncpus, [8] * ncpus)
        with pytest.raises(ValueError, match="per-CPU values"):
            m.update_from(np.array([4], dtype=np.uint32), np.array([1, 2, 3], dtype=np.uint32))
    with _map(MapType.PERCPU_ARRAY, entries=2) as wide:
        wide[1] = 5
        _, values = wide.to_buffers()
        assert values.shape == (2, ncpus) and values.tolist()[1] == [5] * ncpus


def test_struct_keys_and_values_are_structured_arrays(test_objects: dict[str, Path]) -> None:
    with pybpf.load(test_objects["typed_maps"]) as obj:
        m = obj.maps["h_struct"]
        for i in range(5):
            m[(i, i + 1)] = (i, 2 * i, 1 << 40, b"t")
        keys, values = m.to_numpy()
        assert keys.dtype.names == ("pid", "nr") and {"a", "b", "c", "tag"} <= set(values.dtype.names or ())
        expected = {(k.pid, k.nr): (v.a, v.b, v.c) for k, v in m.items()}
        got = {(int(k["pid"]), int(k["nr"])): (int(v["a"]), int(v["b"]), int(v["c"])) for k, v in zip(keys, values)}
        assert got == expected and len(got) == 5
        m.clear()
        assert m.update_from(keys, values) == 5  # structured arrays write back as they were read
        assert m[(3, 4)].b == 6 and m[(3, 4)].tag == b"t"
        # Bitfields have no numpy dtype: raw items of the struct's size.
        _, bits = obj.maps["arr_bits"].to_numpy()
        assert bits.dtype == np.dtype((np.void, ctypes.sizeof(obj.maps["arr_bits"].value_type))) and len(bits) == 2


def test_writes_refuse_what_they_would_reinterpret() -> None:
    with _map(MapType.HASH, entries=4) as m:
        with pytest.raises(ValueError, match="keys are uint32_t, got items of format"):
            m.update_from(np.arange(3, dtype=np.int64), np.arange(3, dtype=np.uint64))
        with pytest.raises(ValueError, match="values are uint64_t"):
            m.update_from(np.arange(3, dtype=np.uint32), np.arange(3, dtype=np.int64))
        with pytest.raises(ValueError, match="3 keys but 2 values"):
            m.update_from(np.arange(3, dtype=np.uint32), np.arange(2, dtype=np.uint64))
        with pytest.raises(ValueError, match="C-contiguous"):
            m.update_from(np.arange(6, dtype=np.uint32)[::2], np.arange(3, dtype=np.uint64))
        assert len(m) == 0  # nothing was written by a refused call
        # Raw bytes in the map's layout are taken as they are.
        assert m.update_from(bytes(4) + (1).to_bytes(4, sys.byteorder), bytes(8) + (9).to_bytes(8, sys.byteorder)) == 2
        assert m[1] == 9
        # A full map: the entries before the failing one are written, the error names the key.
        with pytest.raises(pybpf.BPFError, match="key 12"):
            m.update_from(np.arange(10, 20, dtype=np.uint32), np.arange(10, dtype=np.uint64))
        assert len(m) == 4


def test_maps_without_batch_operations_read_into_arrays() -> None:
    with pybpf.Map.create(
        MapType.LPM_TRIE, key_size=8, value_size=8, max_entries=8, name=_name(), value_type=ctypes.c_uint64
    ) as trie:
        trie["10.0.0.0/8"] = 1
        trie["10.1.0.0/16"] = 2
        keys, values = trie.to_numpy()
        assert sorted(values.tolist()) == [1, 2] and keys.dtype.names == ("prefixlen", "data")
        keys, values = trie.to_numpy(clear=True)
        assert len(values) == 2 and len(trie) == 0


def test_without_numpy_the_buffers_still_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "numpy", None)  # as if not installed
    with _map(MapType.HASH) as m:
        m[7] = 70
        with pytest.raises(ImportError, match=r"pip install pybpf\[numpy\]"):
            m.to_numpy()
        keys, values = m.to_buffers()
        assert (keys.tolist(), values.tolist()) == ([7], [70])
