"""``pybpf progs``, ``maps``, ``links`` and ``map dump``, run as a user runs
them, checked against what this process loaded and against bpftool."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

import pybpf
from pybpf.netns import VethPair

from tool_runs import run_tool

pytestmark = pytest.mark.kernel


def _json_lines(*args: str) -> list[dict[str, Any]]:
    done = run_tool([*args, "--json"])
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def _bpftool(*args: str) -> Any:
    return json.loads(subprocess.run(["bpftool", "-j", *args], capture_output=True, text=True, check=True).stdout)


def _by_id(records: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {r["id"]: r for r in records}


def test_progs_and_maps_agree_with_bpftool_and_name_holders_and_pins(bpffs: Path) -> None:
    with pybpf.load(pybpf.shipped("xdp_counter")) as obj:
        prog_id = obj.programs["xdp_count"].info().id
        map_id = obj.maps["src_stats"].info().id
        obj.maps["proto_stats"].pin(bpffs / "proto_stats")
        pinned_id = obj.maps["proto_stats"].info().id

        progs = _by_id(_json_lines("progs"))
        maps = _by_id(_json_lines("maps"))
        expected_prog = _bpftool("prog", "show", "id", str(prog_id))
        expected_map = _bpftool("map", "show", "id", str(map_id))

    prog = progs[prog_id]
    assert (prog["name"], prog["tag"], prog["type"]) == (
        expected_prog["name"],
        expected_prog["tag"],
        expected_prog["type"],
    )
    assert sorted(prog["map_ids"]) == sorted(expected_prog["map_ids"])
    assert {"pid": os.getpid(), "comm": Path("/proc/self/comm").read_text().strip()} in prog["pids"]
    found = maps[map_id]
    assert (found["name"], found["type"], found["key_size"], found["value_size"], found["max_entries"]) == (
        expected_map["name"],
        expected_map["type"],
        expected_map["bytes_key"],
        expected_map["bytes_value"],
        expected_map["max_entries"],
    )
    assert maps[pinned_id]["pinned"] == [str(bpffs / "proto_stats")]
    assert maps[map_id]["pinned"] == []


def test_links_show_their_target(veth: VethPair) -> None:
    with pybpf.load(pybpf.shipped("xdp_counter")) as obj:
        with veth.inside(veth.ns_a):
            link = obj.programs["xdp_count"].attach_xdp(veth.if_a)
            ifindex = socket.if_nametoindex(veth.if_a)
        with link:
            link_id = link.info().id
            prog_id = obj.programs["xdp_count"].info().id
            links = _by_id(_json_lines("links"))
            table = run_tool(["links"]).stdout
    found = links[link_id]
    assert found["type"] == "xdp" and found["prog_id"] == prog_id
    assert found["target"]["ifindex"] == str(ifindex)
    assert any(h["pid"] == os.getpid() for h in found["pids"])
    assert f"ifindex={ifindex}" in table


def _formatted(entry: dict[str, Any]) -> tuple[Any, Any]:
    """bpftool's BTF-formatted key and value (per-CPU values as a list)."""
    shown = entry["formatted"]
    if "values" in shown:
        return shown["key"], [v["value"] for v in shown["values"]]
    return shown["key"], shown["value"]


def test_map_dump_agrees_with_bpftool(bpffs: Path) -> None:
    with pybpf.load(pybpf.shipped("syscount")) as counts_obj, pybpf.load(pybpf.shipped("xdp_counter")) as xdp:
        counts = counts_obj.maps["counts"]
        for pid, nr, n in ((1, 2, 3), (7, 9, 11), (2**32 - 1, 0, 2**64 - 1)):
            counts[counts.key_type(pid=pid, nr=nr)] = n
        sources = xdp.maps["src_stats"]
        key = sources.key_type()
        key.addr[10:16] = [0xFF, 0xFF, 10, 0, 0, 1]
        sources[key] = sources.value_type(packets=5, bytes=600)
        slots = xdp.maps["proto_stats"]
        slots[1] = [slots.value_type(packets=cpu + 1, bytes=100 * cpu) for cpu in range(pybpf.possible_cpus())]
        sources.pin(bpffs / "sources")

        for bpf_map in (counts, sources, slots):
            map_id = str(bpf_map.info().id)
            ours = [(r["key"], r["value"]) for r in _json_lines("map", "dump", map_id)]
            theirs = [_formatted(entry) for entry in _bpftool("map", "dump", "id", map_id)]
            assert sorted(map(json.dumps, ours)) == sorted(map(json.dumps, theirs))
        by_pin = _json_lines("map", "dump", str(bpffs / "sources"))
        assert by_pin == [{"key": {"addr": [0] * 10 + [255, 255, 10, 0, 0, 1]}, "value": {"packets": 5, "bytes": 600}}]


@pytest.mark.host_only("an error message")
def test_map_dump_of_a_missing_map_is_one_line() -> None:
    done = run_tool(["map", "dump", str(2**32 - 2)])
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "map id 4294967294" in done.stderr
    done = run_tool(["map", "dump", "/sys/fs/bpf/pybpf-no-such-pin"])
    assert done.returncode == 1 and "pybpf-no-such-pin" in done.stderr
