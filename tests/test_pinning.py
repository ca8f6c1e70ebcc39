"""Pinning: pin/unpin, pin-by-name under a pin root with reuse of a compatible
pinned map, a clear error for an incompatible one; Map.info() and pybpf.maps()."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest

import pybpf
from pybpf import MapType

pytestmark = pytest.mark.kernel


def test_pin_by_name_shares_the_map_between_loads(test_objects: dict[str, Path], bpffs: Path) -> None:
    path = bpffs / "shared_counts"
    with pybpf.load(test_objects["pinned_maps"], pin_root=bpffs) as first:
        shared = first.maps["shared_counts"]
        assert path.exists() and shared.pin_path == str(path)
        assert first.maps["private_counts"].pin_path is None
        shared[1] = 10
        with pybpf.load(test_objects["pinned_maps"], pin_root=bpffs) as second:
            again = second.maps["shared_counts"]
            assert again.id == shared.id and again[1] == 10  # the pinned map, reused
            again[2] = 20
        assert shared[2] == 20
        shown = json.loads(
            subprocess.run(
                ["bpftool", "-j", "map", "show", "pinned", str(path)], capture_output=True, check=True
            ).stdout
        )
        assert shown["id"] == shared.id and shown["name"] == "shared_counts"
    # The pin outlives the objects; a new load finds the data.
    with pybpf.load(test_objects["pinned_maps"], pin_root=bpffs) as third:
        assert dict(third.maps["shared_counts"].items()) == {1: 10, 2: 20}
        third.maps["shared_counts"].unpin()
        assert not path.exists()
        with pytest.raises(FileNotFoundError):
            third.maps["shared_counts"].unpin()


def test_incompatible_pinned_map_fails_the_load_clearly(test_objects: dict[str, Path], bpffs: Path) -> None:
    with pybpf.Map.create(MapType.HASH, key_size=4, value_size=4, max_entries=32, name="shared_counts") as other:
        other.pin(bpffs / "shared_counts")  # value size 4, not 8
    with pytest.raises(ValueError, match="does not match the object's declaration") as exc:
        pybpf.load(test_objects["pinned_maps"], pin_root=bpffs)
    assert str(bpffs / "shared_counts") in str(exc.value)


def test_set_pin_path_before_load(test_objects: dict[str, Path], bpffs: Path) -> None:
    target = bpffs / "mine"
    obj = pybpf.BPFObject.open(test_objects["pinned_maps"], pin_root=bpffs)
    with obj:
        obj.maps["private_counts"].set_pin_path(target)
        obj.load()
        assert target.exists() and obj.maps["private_counts"].pin_path == str(target)
        with pytest.raises(ValueError, match="before load"):
            obj.maps["private_counts"].set_pin_path(None)
        obj.maps["private_counts"].unpin()
        assert not target.exists()


def test_pin_root_must_be_on_bpffs(test_objects: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not on a bpffs"):
        pybpf.BPFObject.open(test_objects["pinned_maps"], pin_root=tmp_path)


def test_pin_and_unpin_own_map(bpffs: Path) -> None:
    with pybpf.Map.create(MapType.ARRAY, key_size=4, value_size=8, max_entries=2, name="own_pin") as m:
        m.pin(bpffs / "own")
        assert m.pin_path == str(bpffs / "own")
        with pybpf.Map.from_pinned(bpffs / "own") as same:
            assert same.id == m.id
        m.unpin()
        assert m.pin_path is None and not (bpffs / "own").exists()
        with pytest.raises(ValueError, match="not pinned"):
            m.unpin()


def test_info_and_listing_all_maps() -> None:
    name = f"i_{uuid.uuid4().hex[:8]}"
    with pybpf.Map.create(
        MapType.LRU_HASH, key_size=4, value_size=16, max_entries=77, name=name, flags=pybpf.MapFlags.NO_COMMON_LRU
    ) as m:
        info = m.info()
        # A per-CPU LRU list gets max_entries rounded up to a multiple of the possible CPUs.
        ncpus = pybpf.possible_cpus()
        rounded = -(-77 // ncpus) * ncpus
        assert (info.name, info.type, info.key_size, info.value_size, info.max_entries) == (
            name,
            MapType.LRU_HASH,
            4,
            16,
            rounded,
        )
        assert m.max_entries == rounded
        assert info.flags == pybpf.MapFlags.NO_COMMON_LRU and info.id == m.id and info.btf_id != 0
        listed = {i.id: i for i in pybpf.maps()}
        assert listed[m.id] == info
        bpftool = json.loads(subprocess.run(["bpftool", "-j", "map", "list"], capture_output=True, check=True).stdout)
        assert m.id in {entry["id"] for entry in bpftool}
        map_id = m.id
    assert map_id not in {i.id for i in pybpf.maps()}
