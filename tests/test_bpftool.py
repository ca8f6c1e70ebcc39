"""Cross-checks with an independent client: bpftool reads what pybpf wrote, and
pybpf reads what bpftool wrote."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import pybpf
from pybpf import MapType

pytestmark = pytest.mark.kernel


@pytest.fixture(autouse=True)
def _bpftool() -> None:
    if shutil.which("bpftool") is None:
        pytest.fail("bpftool is not installed (scripts/install-deps.sh installs it)")


def _dump(path: Path) -> list[dict]:  # type: ignore[type-arg]
    out = subprocess.run(
        ["bpftool", "map", "dump", "pinned", str(path), "-j"], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def _bytes(hexes: list[str]) -> bytes:
    return bytes(int(h, 16) for h in hexes)


def _le(value: int, size: int) -> list[str]:
    return [str(b) for b in value.to_bytes(size, sys.byteorder)]


def test_bpftool_reads_pybpf_hash(bpffs: Path) -> None:
    with pybpf.Map.create(
        MapType.HASH, key_size=4, value_size=8, max_entries=32, name="pybpf_xc_h", key_type="I", value_type="Q"
    ) as m:
        expected = {i: i * 1000 + 7 for i in range(10)}
        m.update(expected)
        m.pin(bpffs / "h")
    dumped = {
        int.from_bytes(_bytes(e["key"]), sys.byteorder): int.from_bytes(_bytes(e["value"]), sys.byteorder)
        for e in _dump(bpffs / "h")
    }
    assert dumped == expected


def test_bpftool_reads_pybpf_percpu_array(bpffs: Path) -> None:
    ncpus = pybpf.possible_cpus()
    with pybpf.Map.create(
        MapType.PERCPU_ARRAY, key_size=4, value_size=4, max_entries=3, name="pybpf_xc_pa", key_type="I", value_type="I"
    ) as m:
        m[1] = [10 + cpu for cpu in range(ncpus)]
        m.pin(bpffs / "pa")
    entries = {int.from_bytes(_bytes(e["key"]), sys.byteorder): e for e in _dump(bpffs / "pa")}
    per_cpu = {v["cpu"]: int.from_bytes(_bytes(v["value"]), sys.byteorder) for v in entries[1]["values"]}
    assert per_cpu == {cpu: 10 + cpu for cpu in range(ncpus)}


def test_bpftool_formats_pybpf_btf_struct(test_objects: dict[str, Path], bpffs: Path) -> None:
    with pybpf.load(test_objects["typed_maps"]) as obj:
        m = obj.maps["h_struct"]
        m[(1, 2)] = {"a": 3, "b": 4, "c": 5, "tag": b"ab"}
        m.pin(bpffs / "hs")
    (entry,) = _dump(bpffs / "hs")
    assert entry["formatted"] == {"key": {"pid": 1, "nr": 2}, "value": {"a": 3, "b": 4, "c": 5, "tag": "ab"}}


def test_bpftool_formats_pybpf_bitfields(test_objects: dict[str, Path], bpffs: Path) -> None:
    with pybpf.load(test_objects["typed_maps"]) as obj:
        m = obj.maps["arr_bits"]
        m[1] = {"kind": 5, "delta": -7, "wide": 0xABCDE, "tag": 9, "big": 1 << 39, "on": True, "shade": -1}
        entry = m[1]
        entry.lo, entry.hi = 0x55, 0x1AB
        m[1] = entry
        m.pin(bpffs / "bits")
    formatted = _dump(bpffs / "bits")[1]["formatted"]["value"]
    # bpftool prints a bitfield's raw bits in hex: -7 in 5 bits is 0x19, -1 in 3 bits is 0x7.
    assert formatted == {
        "kind": "0x5",
        "delta": "0x19",
        "wide": "0xabcde",
        "tag": 9,
        "big": "0x8000000000",
        "on": "0x1",
        "shade": "0x7",
        "": {"raw": 0x55 | 0x1AB << 7, "": {"lo": "0x55", "hi": "0x1ab"}},
    }


@pytest.mark.parametrize("kind", ["hash", "lru_hash", "percpu_hash"])
def test_pybpf_reads_bpftool_map(bpffs: Path, kind: str) -> None:
    path = bpffs / kind
    subprocess.run(
        [
            "bpftool",
            "map",
            "create",
            str(path),
            "type",
            kind,
            "key",
            "4",
            "value",
            "8",
            "entries",
            "16",
            "name",
            "pybpf_xc_bt",
        ],
        check=True,
    )
    for k in (1, 2, 3):
        subprocess.run(
            ["bpftool", "map", "update", "pinned", str(path), "key", *_le(k, 4), "value", *_le(k * 111, 8)], check=True
        )
    with pybpf.Map.from_pinned(path, key_type="I", value_type="Q") as m:
        assert m.type is MapType[kind.upper()] and m.name == "pybpf_xc_bt"
        got = dict(m.items())
    if kind == "percpu_hash":
        assert got == {k: [k * 111] * pybpf.possible_cpus() for k in (1, 2, 3)}
    else:
        assert got == {k: k * 111 for k in (1, 2, 3)}


def test_map_id_matches_bpftool() -> None:
    with pybpf.Map.create(MapType.ARRAY, key_size=4, value_size=4, max_entries=1, name="pybpf_xc_id") as m:
        shown = json.loads(
            subprocess.run(
                ["bpftool", "map", "show", "id", str(m.id), "-j"], check=True, capture_output=True, text=True
            ).stdout
        )
        assert shown["name"] == "pybpf_xc_id" and shown["type"] == "array"


def _dump_id(m: pybpf.Map) -> dict[int, bytes]:
    """bpftool's view of a map by id: key (as an int) -> value bytes; empty slots left out."""
    out = subprocess.run(["bpftool", "-j", "map", "dump", "id", str(m.id)], check=True, capture_output=True, text=True)
    return {
        int.from_bytes(_bytes(e["key"]), sys.byteorder): _bytes(e["value"])
        for e in json.loads(out.stdout)
        if isinstance(e.get("value"), list)
    }


def _u(data: bytes) -> int:
    return int.from_bytes(data, sys.byteorder)


@pytest.mark.parametrize("map_type", [MapType.LRU_HASH, MapType.ARRAY])
def test_bpftool_reads_second_of_hash_and_array_families(map_type: MapType) -> None:
    with pybpf.Map.create(map_type, key_size=4, value_size=8, max_entries=8, key_type="I", value_type="Q") as m:
        m.update_from({1: 11, 5: 55})
        dumped = {k: _u(v) for k, v in _dump_id(m).items()}
    expected = {1: 11, 5: 55} if map_type == MapType.LRU_HASH else {i: {1: 11, 5: 55}.get(i, 0) for i in range(8)}
    assert dumped == expected


@pytest.mark.parametrize("map_type", [MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS])
def test_bpftool_reads_pybpf_map_in_map(map_type: MapType) -> None:
    with (
        pybpf.Map.create(MapType.ARRAY, key_size=4, value_size=8, max_entries=2) as inner,
        pybpf.Map.create(map_type, key_size=4, value_size=4, max_entries=4, key_type="I", inner_map=inner) as outer,
    ):
        outer[3] = inner
        assert {k: _u(v) for k, v in _dump_id(outer).items()} == {3: inner.id} == {3: outer.inner_id(3)}


@pytest.mark.parametrize("map_type", [MapType.SOCKMAP, MapType.SOCKHASH])
def test_bpftool_reads_pybpf_socket_maps(map_type: MapType) -> None:
    with (
        pybpf.Map.create(map_type, key_size=4, value_size=8, max_entries=4, key_type="I") as m,
        socket.create_server(("127.0.0.1", 0)) as listener,
    ):
        m[2] = listener
        assert {k: _u(v) for k, v in _dump_id(m).items()} == {2: pybpf.socket_cookie(listener)} == dict(m.items())


def test_bpftool_reads_pybpf_redirect_maps() -> None:
    with (
        pybpf.Map.create(MapType.DEVMAP, key_size=4, value_size=8, max_entries=4) as ports,
        pybpf.Map.create(MapType.CPUMAP, key_size=4, value_size=8, max_entries=pybpf.possible_cpus()) as cpus,
    ):
        ports[1] = "lo"
        cpus[0] = 128
        assert {k: (_u(v[:4]), _u(v[4:])) for k, v in _dump_id(ports).items()} == {1: (1, 0)}
        assert {k: (_u(v[:4]), _u(v[4:])) for k, v in _dump_id(cpus).items()} == {0: (128, 0)}
        assert dict(ports.items()) == {1: pybpf.DevMapValue(1, 0)} and cpus[0] == pybpf.CpuMapValue(128, 0)
