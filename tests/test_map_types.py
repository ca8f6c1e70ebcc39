"""Types travel with maps: ``Map.create`` hands the key and value types to
the kernel as BTF, so bpftool shows fields and every later handle decodes
the same way; a map nobody typed follows one rule; integers wider than 8
bytes read as ints; BTF kinds are named in errors."""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import pybpf
from pybpf import MapType

pytestmark = pytest.mark.kernel


class Flow(ctypes.Structure):
    _fields_ = [
        ("packets", ctypes.c_uint64),
        ("port", ctypes.c_uint16),
        ("proto", ctypes.c_uint8, 4),
        ("version", ctypes.c_uint8, 4),
        ("seen", ctypes.c_bool),
        ("name", ctypes.c_char * 8),
        ("hist", ctypes.c_uint32 * 3),
    ]


def _name(tag: str) -> str:
    return f"t{os.getpid() % 100000}{tag}"[:15]


def _bpftool_dump(map_id: int) -> list[dict[str, object]]:
    out = subprocess.run(["bpftool", "map", "dump", "id", str(map_id), "-j"], check=True, capture_output=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


@pytest.fixture
def flows() -> Iterator[pybpf.Map]:
    with pybpf.Map.create(
        MapType.HASH,
        key_size=4,
        value_size=ctypes.sizeof(Flow),
        max_entries=8,
        name=_name("flows"),
        key_type="I",
        value_type=Flow,
    ) as m:
        m[7] = Flow(packets=3, port=443, proto=6, version=4, seen=True, name=b"web", hist=(1, 2, 3))
        yield m


def test_bpftool_shows_the_fields(flows: pybpf.Map) -> None:
    (entry,) = _bpftool_dump(flows.id)
    formatted = entry["formatted"]
    assert isinstance(formatted, dict)
    assert formatted["key"] == 7
    value = formatted["value"]
    assert isinstance(value, dict)
    assert (value["packets"], value["port"], value["seen"], value["name"], value["hist"]) == (
        3,
        443,
        True,
        "web",
        [1, 2, 3],
    )
    assert int(str(value["proto"]), 16) == 6 and int(str(value["version"]), 16) == 4


def test_every_later_handle_decodes_the_same(flows: pybpf.Map, bpffs: Path) -> None:
    expected = (3, 443, 6, 4, True, b"web", (1, 2, 3))
    with pybpf.Map.from_id(flows.id) as again:
        value = again[7]
        assert list(again) == [7]
        assert value._astuple() == expected and type(value).__name__ == "Flow"
    flows.pin(bpffs / "flows")
    with pybpf.Map.from_pinned(bpffs / "flows") as pinned:
        assert pinned[7]._astuple() == expected
        pinned[8] = {"packets": 1, "name": "dns"}  # a str into char[8], NUL-padded
    assert flows[8].name == b"dns"
    with pybpf.Map.create(
        MapType.ARRAY_OF_MAPS, key_size=4, value_size=4, max_entries=2, name=_name("outer"), inner_map=flows
    ) as outer:
        outer[1] = flows
        with outer[1] as inner:
            assert inner[7]._astuple() == expected


def test_untyped_maps_read_back_what_was_written(bpffs: Path) -> None:
    with pybpf.Map.create(MapType.HASH, key_size=4, value_size=8, max_entries=8, name=_name("plain")) as m:
        m[5] = 55
        assert m[5] == 55 and list(m) == [5] and dict(m.items()) == {5: 55}
        with pybpf.Map.from_id(m.id) as again:
            assert again[5] == 55
        assert _bpftool_dump(m.id)[0]["formatted"] == {"key": 5, "value": 55}
    with pybpf.Map.create(MapType.HASH, key_size=2, value_size=12, max_entries=8, name=_name("raw")) as raw:
        raw[0xBEEF] = b"twelve bytes"
        assert raw[0xBEEF] == b"twelve bytes" and list(raw) == [0xBEEF]
        with pytest.raises(ValueError, match="12 bytes"):
            raw[1] = b"short"


def test_wide_integers_read_as_ints(test_objects: dict[str, Path]) -> None:
    with pybpf.load(test_objects["skeleton_config"]) as obj:
        assert obj.data["big_signed"] == -5
        obj.programs["check_config"].test_run(bytes(70))
        assert obj.data["big_signed"] == -6
        wide = obj.bss["wide_stats"]
        assert wide.total == 70 << 64 and wide.packets == 1
        obj.data["big_signed"] = -(1 << 100)
        assert obj.data["big_signed"] == -(1 << 100)
        with pytest.raises(ValueError, match="does not fit"):
            obj.data["big_signed"] = 1 << 127
        wide_type = obj.btf_type("struct wide")
        with pybpf.Map.create(
            MapType.ARRAY,
            key_size=4,
            value_size=ctypes.sizeof(wide_type),
            max_entries=1,
            name=_name("wide"),
            value_type=wide_type,
        ) as m:
            m[0] = {"total": (1 << 120) + 1, "packets": 2}
            with pybpf.Map.from_id(m.id) as again:
                assert again[0].total == (1 << 120) + 1 and again[0].packets == 2


def test_btf_kinds_are_named(test_objects: dict[str, Path]) -> None:
    with pybpf.BPFObject.open(test_objects["skeleton_config"]) as obj:
        with pytest.raises(ValueError, match=r"\(function\) has no value representation"):
            obj.btf_type("func check_config")
