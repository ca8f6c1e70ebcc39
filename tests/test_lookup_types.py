"""The lookup map types from both sides: Python writes, a shipped BPF program
looks the entry up with bpf_map_lookup_elem (BPF_PROG_TEST_RUN), Python reads
what it found."""

from __future__ import annotations

import ipaddress
import json
import struct
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pybpf
from pybpf import MapType

import packets

pytestmark = pytest.mark.kernel

# struct map_probe in bpf_progs/map_probe.bpf.c
PROBE = struct.Struct("=IIIIQQ")
XDP_DROP, XDP_PASS = 1, 2


def _name() -> str:
    return f"t_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def probes() -> Iterator[pybpf.BPFObject]:
    with pybpf.load(pybpf.shipped("map_probe")) as obj:
        yield obj


def probe(obj: pybpf.BPFObject, map_name: str, key: int, inner_key: int = 0) -> tuple[int, int, int]:
    """Run probe_<map_name> on key: (found, value, cpu) as the program saw them."""
    result = obj.programs[f"probe_{map_name}"].test_run(PROBE.pack(key, inner_key, 7, 7, 7, 0))
    assert result.retval == XDP_PASS
    _, _, found, cpu, value, _ = PROBE.unpack(result.data_out)
    return found, value, cpu


@pytest.mark.parametrize("name", ["array", "hash", "lru_hash"])
def test_plain_types_seen_by_bpf(probes: pybpf.BPFObject, name: str) -> None:
    m = probes.maps[name]
    m[3] = 0xDEADBEEF12
    assert probe(probes, name, 3)[:2] == (1, 0xDEADBEEF12)
    m[3] = 5
    assert probe(probes, name, 3)[:2] == (1, 5)
    if m.type == MapType.ARRAY:
        assert probe(probes, name, 4)[:2] == (1, 0)  # array elements always exist
        assert probe(probes, name, 16)[:2] == (0, 0)  # past max_entries
        m[3] = 0
    else:
        assert probe(probes, name, 4)[:2] == (0, 0)
        del m[3]
        assert probe(probes, name, 3)[:2] == (0, 0)


@pytest.mark.parametrize("name", ["percpu_array", "percpu_hash", "lru_percpu_hash"])
def test_percpu_types_seen_by_bpf(probes: pybpf.BPFObject, name: str) -> None:
    m = probes.maps[name]
    ncpus = pybpf.possible_cpus()
    m[2] = [1000 + cpu for cpu in range(ncpus)]
    found, value, cpu = probe(probes, name, 2)
    assert found == 1 and value == 1000 + cpu  # the program reads its own CPU's slot
    m[2] = 9  # one value for every CPU
    assert probe(probes, name, 2)[:2] == (1, 9)
    if not m.type.is_array:
        assert probe(probes, name, 5)[:2] == (0, 0)


# -- LPM_TRIE ----------------------------------------------------------------------------

V4, V6 = ipaddress.ip_network, ipaddress.ip_address


def _ipv4_packet(src: str) -> bytes:
    return packets.udp4(src, sport=0, dport=0)


def _ipv6_packet(src: str) -> bytes:
    return packets.udp6(src, sport=0, dport=0)


@pytest.fixture
def xdp_filter() -> Iterator[pybpf.BPFObject]:
    with pybpf.load(pybpf.shipped("xdp_filter")) as obj:
        yield obj


def test_lpm_filter_longest_prefix_decides(xdp_filter: pybpf.BPFObject) -> None:
    rules = xdp_filter.maps["rules_v4"]
    assert isinstance(rules, pybpf.LPMTrie)
    rules[V4("10.0.0.0/8")] = (1, 0, 0)  # drop
    rules[V4("10.1.0.0/16")] = (0, 0, 0)  # but pass this part of it
    prog = xdp_filter.programs["xdp_filter"]
    assert prog.test_run(_ipv4_packet("10.1.2.3"), repeat=3).retval == XDP_PASS
    assert prog.test_run(_ipv4_packet("10.200.0.1"), repeat=2).retval == XDP_DROP
    assert prog.test_run(_ipv4_packet("11.0.0.1")).retval == XDP_PASS
    assert rules[V4("10.1.0.0/16")].hits == 3
    assert rules[V4("10.0.0.0/8")].hits == 2
    # Python's lookups are the kernel's: the longest stored prefix containing the key.
    assert rules[V6("10.1.9.9")].hits == 3
    assert rules["10.77.0.1"].hits == 2
    assert V6("11.0.0.1") not in rules
    assert V4("10.1.0.0/24") in rules  # inside 10.1.0.0/16
    assert V4("10.0.0.0/7") not in rules  # wider than every stored prefix
    assert sorted(rules, key=str) == [V4("10.0.0.0/8"), V4("10.1.0.0/16")]
    assert sum(xdp_filter.maps["verdicts"][0]) == 1
    assert sum(xdp_filter.maps["verdicts"][1]) == 3
    assert sum(xdp_filter.maps["verdicts"][2]) == 2
    del rules[V4("10.1.0.0/16")]
    assert prog.test_run(_ipv4_packet("10.1.2.3")).retval == XDP_DROP
    with pytest.raises(KeyError):
        del rules[V4("10.1.0.0/16")]


def test_lpm_ipv6_and_bad_keys(xdp_filter: pybpf.BPFObject) -> None:
    rules = xdp_filter.maps["rules_v6"]
    rules["2001:db8::/32"] = {"action": 1}
    rules[(48, V6("2001:db8:1::"))] = {"action": 0}
    prog = xdp_filter.programs["xdp_filter"]
    assert prog.test_run(_ipv6_packet("2001:db8:2::5")).retval == XDP_DROP
    assert prog.test_run(_ipv6_packet("2001:db8:1::5")).retval == XDP_PASS
    assert rules[V6("2001:db8:1::5")].hits == 1
    assert dict((str(k), v.hits) for k, v in rules.items()) == {"2001:db8::/32": 1, "2001:db8:1::/48": 1}
    with pytest.raises(ValueError, match="hold 16 bytes of data, not 4"):
        rules[V4("10.0.0.0/8")] = {"action": 1}
    with pytest.raises(ValueError, match="prefix length must be 0..128"):
        rules[(129, bytes(16))] = {"action": 1}
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6"):
        rules["not an address"] = {"action": 1}
    with pytest.raises(ValueError, match="has host bits set"):
        rules["2001:db8::1/32"] = {"action": 1}


def test_lpm_create_adds_no_prealloc_and_bpftool_agrees(bpffs: Path) -> None:
    with pybpf.Map.create(MapType.LPM_TRIE, key_size=8, value_size=4, max_entries=16, name=_name()) as m:
        assert isinstance(m, pybpf.LPMTrie)
        assert m.flags & pybpf.MapFlags.NO_PREALLOC
        m.set_types(value_type="I")
        m["192.168.0.0/16"] = 1
        m["192.168.1.0/24"] = 2
        assert m["192.168.1.1"] == 2 and m["192.168.2.1"] == 1
        assert m.key_type.__name__ == "lpm_key"
        path = f"{bpffs}/{m.name}"
        m.pin(path)
        try:
            out = subprocess.run(["bpftool", "map", "dump", "pinned", path, "-j"], capture_output=True, check=True)
        finally:
            subprocess.run(["rm", "-f", path], check=True)
    dumped = {}
    for entry in json.loads(out.stdout):
        raw = bytes(int(b, 16) for b in entry["key"])
        value = int.from_bytes(bytes(int(b, 16) for b in entry["value"]), "little")
        dumped[ipaddress.ip_network((raw[4:], int.from_bytes(raw[:4], "little")))] = value
    assert dumped == {V4("192.168.0.0/16"): 1, V4("192.168.1.0/24"): 2}


def test_lpm_other_key_sizes() -> None:
    with pybpf.Map.create(MapType.LPM_TRIE, key_size=6, value_size=4, max_entries=4, name=_name(), value_type="I") as m:
        m[(12, b"\xab\xc0")] = 7
        assert m[(16, b"\xab\xcd")] == 7
        assert list(m) == [pybpf.LPMKey(12, b"\xab\xc0")]


# -- ARRAY_OF_MAPS / HASH_OF_MAPS ------------------------------------------------------------


def _inner(entries: int = 16, value_size: int = 8) -> pybpf.Map:
    return pybpf.Map.create(
        MapType.ARRAY, key_size=4, value_size=value_size, max_entries=entries, name=_name(), key_type="I"
    )


@pytest.mark.parametrize("name", ["array_of_maps", "hash_of_maps"])
def test_map_in_map_seen_by_bpf(probes: pybpf.BPFObject, name: str) -> None:
    outer = probes.maps[name]
    assert isinstance(outer, pybpf.MapOfMaps)
    with _inner() as inner:
        inner.set_types(value_type="Q")
        inner[2] = 77
        outer[1] = inner
        assert probe(probes, name, 1, 2)[:2] == (2, 77)
        assert probe(probes, name, 1, 3)[:2] == (2, 0)  # an array: index 3 exists, holds 0
        assert probe(probes, name, 1, 16)[:2] == (1, 0)  # outer hit, inner index out of range
        assert probe(probes, name, 0, 2)[:2] == (0, 0)  # empty outer slot
        assert outer.inner_id(1) == inner.id
        with outer[1] as again:  # ids out: a Map opened from the inner map's id
            assert again.id == inner.id
            assert again[2] == 77  # typed by the BTF created with the map
        assert list(outer) == [1] and len(outer) == 1
        with pytest.raises(KeyError):
            outer[0]
        with pytest.raises(ValueError):  # the template is 16 x u64: a mismatch is EINVAL
            with _inner(value_size=4) as wrong:
                outer[2] = wrong
        outer[3] = inner.fd  # an fd works too
        assert sorted(outer) == [1, 3]
        del outer[1]
        del outer[3]
        assert probe(probes, name, 1, 2)[:2] == (0, 0)
        assert len(outer) == 0


def test_array_of_maps_takes_only_flags_any(probes: pybpf.BPFObject) -> None:
    outer = probes.maps["array_of_maps"]
    with _inner() as inner, pytest.raises(ValueError):
        outer.set(0, inner, flags=pybpf.NOEXIST)


def test_inner_map_template_before_load() -> None:
    obj = pybpf.BPFObject.open(pybpf.shipped("map_probe"))
    with obj:
        outer = obj.maps["hash_of_maps"]
        template = outer.inner_map
        assert (template.type, template.key_size, template.value_size, template.max_entries) == (
            MapType.ARRAY,
            4,
            8,
            16,
        )
        with pytest.raises(ValueError, match="set_inner_map"):  # libbpf would crash on it
            template.max_entries = 32
        with _inner(32) as bigger:
            outer.set_inner_map(bigger)
            assert template.closed  # libbpf freed the declared template
            obj.load()
        with _inner(16) as small, _inner(32) as big:
            with pytest.raises(ValueError):
                outer[1] = small
            outer[1] = big
            big.set_types(value_type="Q")
            big[31] = 5
            assert probe(obj, "hash_of_maps", 1, 31)[:2] == (2, 5)
            del outer[1]
        with pytest.raises(ValueError, match="only for an opened object before load"):
            outer.inner_map


def test_create_with_inner_template() -> None:
    with _inner(8) as template:
        with pybpf.Map.create(
            MapType.HASH_OF_MAPS, key_size=4, value_size=4, max_entries=4, name=_name(), inner_map=template
        ) as outer:
            assert isinstance(outer, pybpf.MapOfMaps)
            with _inner(8) as inner:
                outer[7] = inner
                values: list[Any] = list(outer.values())
                try:
                    assert [v.id for v in values] == [inner.id]
                finally:
                    for v in values:
                        v.close()
