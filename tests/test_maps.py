"""Map semantics of the six foundation map types, on the real kernel."""

from __future__ import annotations

import ctypes
import errno
import struct
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import pybpf
from pybpf import MapType
from pybpf._core.ffi import ffi, lib

pytestmark = pytest.mark.kernel

HASHES = [MapType.HASH, MapType.LRU_HASH, MapType.PERCPU_HASH, MapType.LRU_PERCPU_HASH]
ARRAYS = [MapType.ARRAY, MapType.PERCPU_ARRAY]


def _name() -> str:
    return f"t_{uuid.uuid4().hex[:10]}"


def _create(map_type: MapType, max_entries: int = 64, value: str = "Q") -> pybpf.Map:
    size = ctypes.sizeof(ctypes.c_uint64) if value == "Q" else 4
    return pybpf.Map.create(
        map_type, key_size=4, value_size=size, max_entries=max_entries, name=_name(), key_type="I", value_type=value
    )


@pytest.fixture
def typed(test_objects: dict[str, Path]) -> Iterator[pybpf.BPFObject]:
    with pybpf.load(test_objects["typed_maps"]) as obj:
        yield obj


def _cpus() -> int:
    return pybpf.possible_cpus()


def test_possible_cpus_matches_sysfs() -> None:
    text = Path("/sys/devices/system/cpu/possible").read_text().strip()
    count = 0
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        count += int(hi or lo) - int(lo) + 1
    assert pybpf.possible_cpus() == count


@pytest.mark.parametrize("map_type", HASHES)
def test_hash_missing_key_and_flags(map_type: MapType) -> None:
    with _create(map_type) as m:
        with pytest.raises(KeyError):
            m[1]
        assert m.get(1) is None and 1 not in m
        m.set(1, 10, flags=pybpf.NOEXIST)
        with pytest.raises(FileExistsError) as exc:
            m.set(1, 11, flags=pybpf.NOEXIST)
        assert exc.value.errno == errno.EEXIST
        with pytest.raises(KeyError) as missing:
            m.set(2, 20, flags=pybpf.EXIST)
        assert missing.value.errno == errno.ENOENT
        m.set(1, 12, flags=pybpf.EXIST)
        expected = [12] * _cpus() if map_type.is_percpu else 12
        assert m[1] == expected
        with pytest.raises(ValueError) as lock:
            m.set(1, 13, flags=pybpf.F_LOCK)  # no bpf_spin_lock in the value
        assert lock.value.errno == errno.EINVAL
        del m[1]
        with pytest.raises(KeyError):
            del m[1]
        assert len(m) == 0


@pytest.mark.parametrize("map_type", ARRAYS)
def test_array_semantics(map_type: MapType) -> None:
    with _create(map_type, max_entries=4) as m:
        assert len(m) == 4
        assert list(m) == [0, 1, 2, 3]
        zero = [0] * _cpus() if map_type.is_percpu else 0
        assert m[3] == zero  # every index exists
        with pytest.raises(KeyError):
            m[4]
        with pytest.raises(pybpf.BPFValueError) as delete:
            del m[0]
        assert delete.value.errno == errno.EINVAL and "cannot be deleted" in str(delete.value)
        with pytest.raises(FileExistsError):
            m.set(0, 1, flags=pybpf.NOEXIST)
        with pytest.raises(pybpf.BPFError) as big:
            m[4] = 1
        assert big.value.errno == errno.E2BIG
        m[2] = 5
        m.clear()  # arrays cannot delete: clear() zeroes
        assert m[2] == zero and len(m) == 4


@pytest.mark.parametrize("map_type", [MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_PERCPU_HASH])
def test_percpu_shape(map_type: MapType) -> None:
    ncpus = _cpus()
    with _create(map_type, value="I") as m:  # 4-byte values still take 8-byte slots
        assert m.value_codec.size == 8 * ncpus
        values = list(range(100, 100 + ncpus))
        m[1] = values
        assert m[1] == values
        m[2] = 7
        assert m[2] == [7] * ncpus
        with pytest.raises(ValueError, match=f"needs {ncpus} items"):
            m[3] = [1] * (ncpus + 1)


@pytest.mark.parametrize("value", ["b", "H", "i", "Q", "q"])
def test_percpu_integer_lookup_widths_and_threads(value: str) -> None:
    ncpus, size = _cpus(), struct.calcsize(value)
    with pybpf.Map.create(
        MapType.PERCPU_HASH, key_size=2, value_size=size, max_entries=64, name=_name(), key_type="H", value_type=value
    ) as m:
        signed = value.islower()
        low, high = (-(1 << (8 * size - 1)), (1 << (8 * size - 1)) - 1) if signed else (0, (1 << (8 * size)) - 1)
        m[1] = [low if cpu % 2 else high for cpu in range(ncpus)]
        assert m[1] == [low if cpu % 2 else high for cpu in range(ncpus)]
        with pytest.raises(KeyError, match="no key 2"):
            m[2]
        with pytest.raises(ValueError, match="does not fit"):
            m[1 << 16]

        wrong: list[tuple[int, list[int]]] = []

        def reader(key: int) -> None:  # each thread reads its own key through its own buffer
            for _ in range(2000):
                got = m[key]
                if got != [key] * ncpus:
                    wrong.append((key, got))

        for key in range(10, 18):
            m[key] = key
        threads = [threading.Thread(target=reader, args=(key,)) for key in range(10, 18)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert wrong == []
    with pytest.raises(ValueError, match="is closed"):
        m[1]


def test_lru_evicts_instead_of_failing() -> None:
    with _create(MapType.LRU_HASH, max_entries=8) as lru, _create(MapType.HASH, max_entries=8) as full:
        for i in range(200):
            lru[i] = i
        assert 0 < len(lru) <= 8
        assert lru[199] == 199  # the newest entry survives
        for i in range(8):
            full[i] = i
        with pytest.raises(pybpf.BPFError) as exc:
            full[100] = 1
        assert exc.value.errno == errno.E2BIG


@pytest.mark.parametrize("map_type", HASHES + ARRAYS)
def test_batch_and_single_paths_agree(map_type: MapType) -> None:
    with _create(map_type, max_entries=500) as m:
        for i in range(0, 500, 3):
            m[i] = i * 7
        batch = dict(m.items())
        m._batch = False  # the GET_NEXT_KEY fallback
        single = dict(m.items())
        assert batch == single
        assert sorted(m.keys()) == sorted(batch)
        assert len(batch) == (500 if map_type.is_array else len(range(0, 500, 3)))
        m._batch = True
        m.clear()
        assert len(m) == (500 if map_type.is_array else 0)


def test_batch_grows_past_a_full_bucket() -> None:
    # 1-entry batches must grow when a hash bucket holds several entries.
    with _create(MapType.HASH, max_entries=4096) as m:
        for i in range(4096):
            m[i] = i
        from pybpf._maps import bulk

        old = bulk._BATCH_CHUNK
        bulk._BATCH_CHUNK = 1
        try:
            assert dict(m.items()) == {i: i for i in range(4096)}
        finally:
            bulk._BATCH_CHUNK = old


@pytest.mark.parametrize("batch", [True, False])
def test_iteration_is_bounded_under_concurrent_deletes(batch: bool) -> None:
    with _create(MapType.HASH, max_entries=2000) as m:
        m._batch = batch
        stop = threading.Event()

        def churn() -> None:
            with pybpf.Map.from_id(m.id) as other:
                while not stop.is_set():
                    for k in range(0, 2000, 5):
                        other.pop(k, None)
                        other[k] = 0

        for i in range(2000):
            m[i] = i
        worker = threading.Thread(target=churn)
        worker.start()
        try:
            for _ in range(5):
                keys = list(m)
                assert len(keys) <= 2000
                items = list(m.items())
                assert len(items) <= 2000
        finally:
            stop.set()
            worker.join()


def test_int_fast_path_edges() -> None:
    with _create(MapType.HASH) as m:
        m[0xFFFFFFFF] = (1 << 64) - 1  # the lookup sentinel as a real value
        assert m[0xFFFFFFFF] == (1 << 64) - 1
        with pytest.raises(ValueError, match="does not fit"):
            m[1 << 32] = 1
        with pytest.raises(ValueError, match="does not fit"):
            m[-1]
        with pytest.raises(ValueError, match="does not fit"):
            m[1] = 1 << 64
        # `in` and `del` take the same path: present, absent, out of range, not an int.
        assert 0xFFFFFFFF in m and 7 not in m and True not in m
        with pytest.raises(ValueError, match="does not fit"):
            (1 << 32) in m  # noqa: B015
        with pytest.raises(ValueError, match="does not fit"):
            -1 in m  # noqa: B015
        with pytest.raises(ValueError, match="not an integer"):
            1.5 in m  # noqa: B015
        m[True] = 3
        assert True in m and m[1] == 3
        del m[True]
        assert 1 not in m
        with pytest.raises(KeyError):
            del m[1]
        with pytest.raises(ValueError, match="does not fit"):
            del m[1 << 32]
    with pybpf.Map.create(
        MapType.ARRAY, key_size=4, value_size=4, max_entries=2, name=_name(), key_type="I", value_type="i"
    ) as signed:
        signed[0] = -1
        assert signed[0] == -1
        signed[1] = -(1 << 31)
        assert signed[1] == -(1 << 31)


class _Flow(ctypes.Structure):
    _fields_ = [("pid", ctypes.c_uint32), ("cpu", ctypes.c_uint16)]


@pytest.mark.parametrize("value", ["Q", "q"])
def test_struct_key_fast_path_edges(value: str) -> None:
    with pybpf.Map.create(
        MapType.HASH, key_size=8, value_size=8, max_entries=8, name=_name(), key_type=_Flow, value_type=value
    ) as m:
        sentinel = (1 << 64) - 1 if value == "Q" else -(1 << 63)
        m[(1, 2)] = sentinel  # the helper's error sentinel as a real value
        assert m[(1, 2)] == sentinel
        m[_Flow(3, 4)] = 5
        assert m[(3, 4)] == 5 and m[_Flow(3, 4)] == 5 and m[{"pid": 3, "cpu": 4}] == 5
        m[(6,)] = 7  # the missing field is zero, as in C
        assert m[(6, 0)] == 7
        with pytest.raises(KeyError, match=r"no key \(9, 9\)"):
            m[(9, 9)]
        with pytest.raises(ValueError, match=r"key\.cpu: 65536 does not fit its uint16"):
            m[(1, 1 << 16)]
        with pytest.raises(ValueError, match="cannot encode .1.5, 2. as key of type _Flow"):
            m[(1.5, 2)]
    with pytest.raises(ValueError, match="is closed"):
        m[(1, 2)]


def test_wrong_sizes_rejected_before_the_syscall() -> None:
    with pybpf.Map.create(MapType.HASH, key_size=8, value_size=16, max_entries=4, name=_name()) as m:
        with pytest.raises(ValueError, match="key must be 8 bytes, got 3"):
            m[b"abc"] = bytes(16)
        with pytest.raises(ValueError, match="value must be 16 bytes, got 2"):
            m[bytes(8)] = b"xx"
        m[bytes(8)] = bytes(range(16))
        assert m[bytes(8)] == bytes(range(16))
    with pytest.raises(ValueError, match="is 8 bytes, the map's keys are 4"):
        pybpf.Map.create(MapType.HASH, key_size=4, value_size=8, max_entries=4, name=_name(), key_type="Q")


def test_use_after_close_is_an_error() -> None:
    m = _create(MapType.HASH)
    m.close()
    m.close()  # idempotent
    assert m.closed
    for op in (
        lambda: m[1],
        lambda: m.__setitem__(1, 2),
        lambda: m.__delitem__(1),
        lambda: 1 in m,
        lambda: len(m),
        lambda: list(m),
        lambda: m.fd,
    ):
        with pytest.raises(ValueError, match="is closed"):
            op()


def test_leaked_map_warns() -> None:
    m = _create(MapType.HASH)
    with pytest.warns(ResourceWarning, match="was not closed"):
        del m
        import gc

        gc.collect()


def test_btf_typed_values(typed: pybpf.BPFObject) -> None:
    pairs = typed.maps["h_struct"]
    pair_type = pairs.value_codec.ctype  # type: ignore[attr-defined]
    assert ctypes.sizeof(pair_type) == 24 and [f[0] for f in pair_type._fields_][:3] == ["a", "b", "_pad2"]
    pairs[(1, 2)] = {"a": 5, "b": 6, "c": 1 << 40, "tag": b"abc"}
    got = pairs[(1, 2)]
    assert (got.a, got.b, got.c, got.tag) == (5, 6, 1 << 40, b"abc")
    assert got._asdict() == {"a": 5, "b": 6, "c": 1 << 40, "tag": b"abc"}
    (key,) = list(pairs)
    assert (key.pid, key.nr) == (1, 2) and key == (1, 2)
    assert dict(pairs.items()) == {key: got}  # decoded keys hash by content
    signed = typed.maps["arr_s32"]
    signed[1] = -3
    assert signed[1] == -3
    assert isinstance(typed.maps["pch_u32"].value_codec, pybpf.PerCPUCodec)


def test_bpf_side_sees_python_writes(test_objects: dict[str, Path]) -> None:
    obj = pybpf.BPFObject.open(test_objects["typed_maps"])
    with obj:
        obj.rodata["magic"] = 0xC0FFEE
        assert obj.rodata["magic"] == 0xC0FFEE
        obj.load()
        with pytest.raises(pybpf.BPFValueError, match="frozen"):
            obj.rodata["magic"] = 1
        maps = obj.maps
        maps["h_u64"][7] = 77
        maps["h_struct"][(1, 2)] = (0, 0, 99, b"")
        maps["arr_pair"][3] = (33, 0, 0, b"x")
        maps["pca_u64"][1] = 11  # every CPU
        maps["lru_u64"][5] = 55
        assert obj.programs["read_maps"].test_run(bytes(64)).retval == 2  # XDP_PASS
        result = maps["result"]
        assert [result[i] for i in range(6)] == [77, 99, 33, 11, 0xC0FFEE, 55]
        del maps["h_u64"][7]
        obj.programs["read_maps"].test_run(bytes(64))
        assert result[0] == (1 << 64) - 1  # the program saw the key disappear


def test_bitfields_agree_with_the_compiled_program(typed: pybpf.BPFObject) -> None:
    bits = typed.maps["arr_bits"]
    rec = bits.value_type
    assert ctypes.sizeof(rec) == 16
    assert rec._members_ == ("kind", "delta", "wide", "tag", "big", "on", "shade", "raw", "lo", "hi")
    # Written by Python, read and rewritten field by field by clang-compiled code.
    bits[0] = {"kind": 5, "delta": -7, "wide": 0xABCDE, "tag": 0x12, "big": (1 << 40) - 2, "on": True, "shade": -2}
    entry = bits[0]
    entry.lo, entry.hi = 100, 300
    bits[0] = entry
    assert typed.programs["flip_bits"].test_run(bytes(64)).retval == 2  # XDP_PASS: both entries found
    out = bits[1]
    assert out._asdict() == {
        "kind": 6,
        "delta": 7,
        "wide": (0xABCDE * 2) & 0xFFFFF,  # C truncates to the field's 20 bits
        "tag": 0xED,
        "big": (1 << 40) - 1,
        "on": False,
        "shade": 1,  # SHADE_LIT
        "raw": (300 & 0x7F) | 100 << 7,
        "lo": 300 & 0x7F,
        "hi": 100,
    }
    assert out.on is False and isinstance(out.delta, int)
    # Neighbouring bits are untouched by a write; values that do not fit raise.
    out.delta = -16
    assert (out.kind, out.delta, out.wide) == (6, -16, (0xABCDE * 2) & 0xFFFFF)
    with pytest.raises(ValueError, match="3-bit field"):
        out.kind = 8
    with pytest.raises(ValueError, match=r"-16\.\.15"):
        out.delta = 16
    assert rec(out.kind, out.delta) == rec(kind=6, delta=-16)


def test_data_sections_are_shared_with_the_kernel_after_load(test_objects: dict[str, Path]) -> None:
    with pybpf.load(test_objects["typed_maps"]) as obj:
        run = obj.programs["read_maps"]
        run.test_run(bytes(64))
        assert obj.bss["runs"] == 1  # the program's write, read from mapped memory
        obj.data["bump"] = 5  # the running program reads it at once
        run.test_run(bytes(64), repeat=3)
        assert obj.bss["runs"] == 16 and obj.data["bump"] == 5
        obj.bss["runs"] = 0
        run.test_run(bytes(64))
        assert obj.bss["runs"] == 5
        assert obj.rodata["magic"] == 0  # frozen: mapped read-only
        with obj.maps["typed_ma.bss"].mmap() as view:
            assert view.readonly is False and len(view) == 1
        with obj.maps["typed_ma.rodata"].mmap() as rodata:
            assert rodata.readonly is True
            with pytest.raises(ValueError, match="frozen"):
                rodata[0] = bytes(rodata.buffer)


class _Rec(ctypes.Structure):
    _fields_ = [("a", ctypes.c_uint32), ("b", ctypes.c_uint16), ("c", ctypes.c_uint32)]  # 12 B: stride 16


def test_mmapable_array_without_syscalls() -> None:
    with pybpf.Map.create(
        MapType.ARRAY,
        key_size=4,
        value_size=12,
        max_entries=5,
        flags=pybpf.MapFlags.MMAPABLE,
        key_type="I",
        value_type=_Rec,
    ) as m:
        with m.mmap() as view:
            assert len(view) == 5 and view.stride == 16 and len(view.buffer) == 80
            view[2] = (7, 8, 9)
            got = m[2]  # one lookup syscall
            assert (got.a, got.b, got.c) == (7, 8, 9)
            m[3] = (1, 2, 3)  # a syscall write, seen in memory
            assert (view[3].a, view[3].b, view[3].c) == (1, 2, 3)
            live = view.at(4)
            live.c = 44
            assert m[4].c == 44
            assert [r.a for r in view[1:4]] == [0, 7, 1]
            with pytest.raises(IndexError):
                view[5]
            with pytest.raises(pybpf.NotSupportedError, match="not integers"):
                view.ints
            with pytest.raises(ValueError, match="release"):
                view.close()  # `live` still points into the mapping
            del live
        assert repr(view).endswith("closed>")
        with pytest.raises(ValueError, match="closed"):
            view[0]
    with _create(MapType.ARRAY) as plain, pytest.raises(pybpf.NotSupportedError, match="MMAPABLE"):
        plain.mmap()


@pytest.mark.parametrize("value", ["B", "h", "I", "Q", "q"])
def test_mmapable_integer_array_subscript_is_memory(value: str) -> None:
    size = struct.calcsize(value)
    with pybpf.Map.create(
        MapType.ARRAY,
        key_size=4,
        value_size=size,
        max_entries=6,
        flags=pybpf.MapFlags.MMAPABLE,
        name=_name(),
        key_type="I",
        value_type=value,
    ) as m:
        top = (1 << (8 * size - 1)) - 1 if value.islower() else (1 << (8 * size)) - 1
        key, got = ffi.new("unsigned int *", 5), ffi.new("unsigned long long *")
        m[5] = top  # a memory write, which the kernel's own lookup sees
        assert lib.bpf_map_lookup_elem(m.fd, key, got) == 0
        assert ffi.buffer(got, size)[:] == struct.pack("=" + value, top)
        m.set(4, 3)  # a syscall write, which the mapped read sees
        assert (m[4], m[5], m[0]) == (3, top, 0)
        assert list(m.values()) == [0, 0, 0, 0, 3, top]
        with pytest.raises(ValueError, match="does not fit"):
            m[1] = top + 1
        with pytest.raises(ValueError, match="does not fit"):
            m[-1]  # not the last element, as a memoryview would read
        with pytest.raises(KeyError, match="no key 6"):
            m[6]
        with pytest.raises(ValueError, match="does not fit"):
            m[1.0]
        assert m[True] == 0 and m[0] == 0
        with m.mmap() as mapped:
            ints = mapped.ints  # the typed view: element k is ints[k]
            assert ints.tolist() == [0, 0, 0, 0, 3, top]
            ints[2] = 9
            assert m[2] == 9
            with pytest.raises(ValueError):
                ints[2] = top + 1
            ints.release()
    with pytest.raises(ValueError, match="is closed"):
        m[4]
    with pytest.raises(ValueError, match="is closed"):
        m[4] = 1


def test_max_entries_before_load_only(test_objects: dict[str, Path]) -> None:
    with pybpf.BPFObject.open(test_objects["typed_maps"]) as obj:
        m = obj.maps["h_u64"]
        m.max_entries = 1000
        with pytest.raises(ValueError, match="not loaded yet"):
            m[1]
        obj.load()
        assert m.max_entries == 1000
        with pytest.raises(ValueError, match="before load"):
            m.max_entries = 5


def test_pin_and_from_pinned(bpffs: Path) -> None:
    with _create(MapType.HASH) as m:
        m[3] = 30
        m.pin(bpffs / "m")
    with pybpf.Map.from_pinned(bpffs / "m", key_type="I", value_type="Q") as again:
        assert again[3] == 30 and again.type is MapType.HASH
    with pytest.raises(FileNotFoundError):
        pybpf.Map.from_pinned(bpffs / "missing")
    with _create(MapType.HASH) as m, pytest.raises(ValueError, match="not on a bpffs"):
        m.pin("/tmp/not-bpffs-pin")


def test_from_id_decodes_through_kernel_btf(typed: pybpf.BPFObject) -> None:
    typed.maps["h_struct"][(4, 5)] = (1, 2, 3, b"t")
    with pybpf.Map.from_id(typed.maps["h_struct"].id) as m:
        value = m[(4, 5)]
        assert (value.a, value.b, value.c) == (1, 2, 3)


def test_caller_types_override_btf(typed: pybpf.BPFObject) -> None:
    m = typed.maps["h_u64"]
    m[3] = 0x0102030405060708
    m.set_types(value_type=ctypes.c_uint8 * 8)
    assert m[3] == (0x0102030405060708).to_bytes(8, sys.byteorder)  # unsigned char[8]: bytes
    m.set_types(value_type="q")
    assert m[3] == 0x0102030405060708
    with pytest.raises(ValueError, match="is 4 bytes"):
        m.set_types(key_type="I", value_type="I")


def test_closed_map_never_reaches_a_reused_fd() -> None:
    m = _create(MapType.HASH)
    m[1] = 1
    m.close()
    with _create(MapType.HASH) as other:  # likely gets the same fd number
        other[1] = 2
        with pytest.raises(ValueError, match="is closed"):
            m[1]
        with pytest.raises(ValueError, match="is closed"):
            m[1] = 3
        with pytest.raises(ValueError, match="is closed"):
            del m[1]
        assert other[1] == 2


def test_create_flags_reach_the_kernel() -> None:
    with pybpf.Map.create(
        MapType.HASH, key_size=4, value_size=8, max_entries=8, name=_name(), flags=pybpf.MapFlags.NO_PREALLOC
    ) as m:
        assert m.flags == pybpf.MapFlags.NO_PREALLOC
        m[1] = b"\0" * 8
    with pytest.raises(ValueError) as exc:  # arrays are always preallocated
        pybpf.Map.create(MapType.ARRAY, key_size=4, value_size=8, max_entries=8, flags=pybpf.MapFlags.NO_PREALLOC)
    assert exc.value.errno == errno.EINVAL and "create map" in str(exc.value)


# -- pop_all / update_from ------------------------------------------------------------------


@pytest.mark.parametrize("map_type", HASHES)
def test_update_from_and_pop_all(map_type: MapType) -> None:
    n = 5000
    with _create(map_type, max_entries=2 * n) as m:  # room to spare: LRU maps evict early when full
        assert m.update_from({k: k * 3 for k in range(n)}) == n
        assert m[4999] == (4999 * 3 if not map_type.is_percpu else [4999 * 3] * pybpf.possible_cpus())
        with pytest.raises(FileExistsError):
            m.update_from([(1, 1)], flags=pybpf.NOEXIST)
        with pytest.raises(KeyError):
            m.update_from([(n + 10, 1)], flags=pybpf.EXIST)
        got = m.pop_all()
        assert len(got) == n and len(m) == 0
        if map_type.is_percpu:
            assert got[7] == [21] * pybpf.possible_cpus()
        else:
            assert got == {k: k * 3 for k in range(n)}
        assert m.pop_all() == {}


def test_update_from_array_and_pop_all_refused() -> None:
    with _create(MapType.ARRAY, max_entries=8) as m:
        assert m.update_from((i, i + 100) for i in range(8)) == 8
        assert list(m.values()) == [i + 100 for i in range(8)]
        with pytest.raises(ValueError, match="index out of range"):
            m.update_from([(8, 1)])
        with pytest.raises(pybpf.NotSupportedError, match="cannot be deleted"):
            m.pop_all()


def test_pop_all_and_update_from_without_batch_ops() -> None:
    # LPM tries have no batch operations: both fall back to one key at a time.
    with pybpf.Map.create(
        MapType.LPM_TRIE, key_size=8, value_size=4, max_entries=64, name=_name(), value_type="I"
    ) as m:
        assert m.update_from({f"10.{i}.0.0/16": i for i in range(40)}) == 40
        got = m.pop_all()
        assert {str(k): v for k, v in got.items()} == {f"10.{i}.0.0/16": i for i in range(40)}
        assert len(m) == 0
