"""Cross-checks with an independent client: bpftool reads what pybpf wrote, and
pybpf reads what bpftool wrote."""

from __future__ import annotations

import json
import shutil
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


def test_bpftool_reads_pybpf_hash(pin_dir: Path) -> None:
    with pybpf.Map.create(
        MapType.HASH, key_size=4, value_size=8, max_entries=32, name="pybpf_xc_h", key_type="I", value_type="Q"
    ) as m:
        expected = {i: i * 1000 + 7 for i in range(10)}
        m.update(expected)
        m.pin(pin_dir / "h")
    dumped = {
        int.from_bytes(_bytes(e["key"]), sys.byteorder): int.from_bytes(_bytes(e["value"]), sys.byteorder)
        for e in _dump(pin_dir / "h")
    }
    assert dumped == expected


def test_bpftool_reads_pybpf_percpu_array(pin_dir: Path) -> None:
    ncpus = pybpf.possible_cpus()
    with pybpf.Map.create(
        MapType.PERCPU_ARRAY, key_size=4, value_size=4, max_entries=3, name="pybpf_xc_pa", key_type="I", value_type="I"
    ) as m:
        m[1] = [10 + cpu for cpu in range(ncpus)]
        m.pin(pin_dir / "pa")
    entries = {int.from_bytes(_bytes(e["key"]), sys.byteorder): e for e in _dump(pin_dir / "pa")}
    per_cpu = {v["cpu"]: int.from_bytes(_bytes(v["value"]), sys.byteorder) for v in entries[1]["values"]}
    assert per_cpu == {cpu: 10 + cpu for cpu in range(ncpus)}


def test_bpftool_formats_pybpf_btf_struct(test_objects: dict[str, Path], pin_dir: Path) -> None:
    with pybpf.load(test_objects["typed_maps"]) as obj:
        m = obj.maps["h_struct"]
        m[(1, 2)] = {"a": 3, "b": 4, "c": 5, "tag": b"ab"}
        m.pin(pin_dir / "hs")
    (entry,) = _dump(pin_dir / "hs")
    assert entry["formatted"] == {"key": {"pid": 1, "nr": 2}, "value": {"a": 3, "b": 4, "c": 5, "tag": "ab"}}


@pytest.mark.parametrize("kind", ["hash", "lru_hash", "percpu_hash"])
def test_pybpf_reads_bpftool_map(pin_dir: Path, kind: str) -> None:
    path = pin_dir / kind
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
