"""Global data as a libbpf skeleton shows it (tests/bpf/skeleton_config.bpf.c):
arrays and struct members written in place, strings and bools, static
variables hidden but reachable, a custom section; each setting checked by
what the program does with it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import pybpf

pytestmark = pytest.mark.kernel

XDP_DROP, XDP_PASS = 1, 2


@pytest.fixture
def config(test_objects: dict[str, Path]) -> Iterator[pybpf.BPFObject]:
    with pybpf.BPFObject.open(test_objects["skeleton_config"]) as obj:
        yield obj


def run(obj: pybpf.BPFObject, length: int) -> int:
    return obj.programs["check_config"].test_run(bytes(length)).retval


def test_listing_is_the_skeletons(config: pybpf.BPFObject) -> None:
    assert list(config.rodata) == ["ports", "label", "verbose"]
    assert list(config.bss) == ["seen", "echoed", "wide_stats"]  # the function's static counter is left out
    assert "check_config.runs" in config.bss and config.bss["check_config.runs"] == 0
    assert config.datasecs == [".rodata", ".data", ".bss", ".data.stats"]
    assert list(config.datasec(".data.stats")) == ["verbose_runs", "matched"]
    with pytest.raises(KeyError, match=r"no data section '\.data\.nope' \(has: .*\.data\.stats"):
        config.datasec(".data.nope")


def test_settings_before_load_reach_the_program(config: pybpf.BPFObject) -> None:
    ports = config.rodata["ports"]
    ports[1] = 80
    ports[-1] = 90
    assert config.rodata["ports"] == [0, 80, 0, 90] and list(ports) == [0, 80, 0, 90]
    config.rodata["label"] = "edge"  # a str, shorter than char[16]
    assert config.rodata["label"] == b"edge".ljust(16, b"\0")
    config.rodata["verbose"] = True
    assert config.rodata["verbose"] is True
    limits = config.data["limits"]
    assert limits.max_len == 1500 and limits.strict is False
    limits.strict = True
    limits.max_len = 100
    limits.ports[2] = 60
    assert config.data["limits"].ports == [0, 0, 60, 0]
    assert config.data["limits"].copy().strict is True  # bool in a struct, as in a variable

    config.load()
    assert run(config, 80) == XDP_PASS
    assert run(config, 60) == XDP_PASS
    assert run(config, 200) == XDP_DROP  # strict, and longer than max_len
    assert config.bss["seen"] == [0, 1, 100, 0]
    assert config.bss["echoed"] == b"edge".ljust(16, b"\0")
    stats = config.datasec(".data.stats")
    assert stats["verbose_runs"] == 3 and stats["matched"] is True
    assert config.bss["check_config.runs"] == 3


def test_after_load_data_is_live_and_rodata_frozen(config: pybpf.BPFObject) -> None:
    ports = config.rodata["ports"]  # a view taken before load stays safe after it
    config.data["limits"].strict = True
    config.data["limits"].max_len = 100
    config.load()
    assert run(config, 200) == XDP_DROP
    config.data["limits"].strict = False  # the running program reads it at once
    assert run(config, 200) == XDP_PASS
    config.data["limits"].ports[0] = 200
    assert run(config, 200) == XDP_PASS and config.bss["seen"][0] == 100
    config.bss["seen"][0] = 7
    assert config.bss["seen"] == [7, 0, 0, 0]
    for write in (lambda: ports.__setitem__(0, 5), lambda: config.rodata.__setitem__("verbose", False)):
        with pytest.raises(ValueError, match="frozen by load"):
            write()
    assert ports == [0, 0, 0, 0]


def test_values_that_do_not_fit(config: pybpf.BPFObject) -> None:
    with pytest.raises(ValueError, match="17 bytes do not fit its char\\[16\\]"):
        config.rodata["label"] = "x" * 17
    with pytest.raises(ValueError, match="70000 does not fit"):
        config.rodata["ports"][0] = 70000
    with pytest.raises(ValueError, match="does not fit"):
        config.data["limits"].strict = 2
    with pytest.raises(IndexError, match="4 elements"):
        config.rodata["ports"][4] = 1
    with pytest.raises(AttributeError, match="no field 'nope'"):
        config.data["limits"].nope = 1
    assert config.rodata["ports"] == [0, 0, 0, 0] and config.data["limits"].strict is False


def test_closed_object_views_fail_cleanly(test_objects: dict[str, Path]) -> None:
    with pybpf.load(test_objects["skeleton_config"]) as obj:
        seen = obj.bss["seen"]
        limits = obj.data["limits"]
    with pytest.raises(ValueError, match="closed"):
        seen[0]
    with pytest.raises(ValueError, match="closed"):
        limits.max_len = 1


def test_integer_globals_after_load_are_memory(config: pybpf.BPFObject) -> None:
    config.rodata["verbose"] = True
    config.load()
    runs, stats = config.bss, config.datasec(".data.stats")
    assert runs["check_config.runs"] == 0 and stats["verbose_runs"] == 0
    run(config, 60)
    assert runs["check_config.runs"] == 1 and stats["verbose_runs"] == 1  # the program's writes, read from memory
    stats["verbose_runs"] = -5  # a memory write the program sees at once
    run(config, 60)
    assert stats["verbose_runs"] == -4
    with pytest.raises(ValueError, match="does not fit"):
        stats["verbose_runs"] = 1 << 31
    with pytest.raises(ValueError, match="does not fit"):
        stats["verbose_runs"] = 1.5
    view = stats.memory("verbose_runs")
    assert view.format == "i" and view[0] == -4
    view[0] = 40
    run(config, 60)
    assert stats["verbose_runs"] == 41 == view[0]
    with pytest.raises(pybpf.NotSupportedError, match="not an aligned integer"):
        config.bss.memory("seen")  # an array
    config.close()
    with pytest.raises(ValueError, match="released"):
        view[0]
    with pytest.raises(ValueError, match="closed"):
        stats["verbose_runs"]


def test_a_view_still_in_use_does_not_stop_close(test_objects: dict[str, Path]) -> None:
    obj = pybpf.load(test_objects["skeleton_config"])
    stats = obj.datasec(".data.stats")
    alias = memoryview(stats.memory("verbose_runs"))  # a view of the caller's own
    with pytest.warns(ResourceWarning, match="still in use"):
        obj.close()
    assert obj.closed and alias[0] == 0  # the mapping stayed for it: no dangling memory
    alias.release()
