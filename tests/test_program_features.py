"""Program features around the attach calls: what the kernel reports
(info, run statistics), settings made before load (type, expected attach
type, log level), programs and links opened from pins, atomic link updates,
and BPF-to-BPF calls."""

from __future__ import annotations

import gc
import json
import logging
import subprocess
from pathlib import Path

import pytest

import pybpf
from pybpf.netns import VethPair
from pybpf.testing import Cgroup

import packets

pytestmark = pytest.mark.kernel


def _bpftool(*args: str) -> object:
    return json.loads(subprocess.run(["bpftool", "-j", *args], capture_output=True, text=True, check=True).stdout)


def test_info_matches_bpftool_and_counts_runs_with_stats() -> None:
    with pybpf.load(pybpf.shipped("xdp_counter")) as obj:
        prog = obj.programs["xdp_count"]
        info = prog.info()
        shown = _bpftool("prog", "show", "id", str(info.id))
        assert isinstance(shown, dict)
        assert (info.tag, info.name, info.type) == (shown["tag"], shown["name"], pybpf.ProgType.XDP)
        assert obj.maps["proto_stats"].id in info.map_ids
        assert info.verified_instructions > 0 and info.translated_size > 0
        frame = packets.udp4()
        with pybpf.enable_stats() as stats:
            before = prog.info().run_count
            prog.test_run(frame, repeat=10)
            after = prog.info()
        assert stats.closed
        assert after.run_count - before == 10 and after.run_time_ns > 0
        prog.test_run(frame, repeat=5)  # not counted once the session is closed
        assert prog.info().run_count == after.run_count


def test_stats_session_leak_warns() -> None:
    session = pybpf.enable_stats()
    with pytest.warns(ResourceWarning, match="enable_stats"):
        del session
        gc.collect()


def test_type_and_expected_attach_type_set_before_load(cgroup: Cgroup) -> None:
    with pybpf.BPFObject.open(pybpf.shipped("tc_hooks")) as obj:
        prog = obj.programs["classify_udp"]
        assert prog.type == pybpf.ProgType.SCHED_CLS
        prog.type = pybpf.ProgType.SCHED_ACT
        obj.programs["act_on_udp"].autoload = False
        obj.load()
        assert prog.type == pybpf.ProgType.SCHED_ACT == prog.info().type
        with pytest.raises(ValueError, match="before load"):
            prog.type = pybpf.ProgType.SCHED_CLS
    with pybpf.BPFObject.open(pybpf.shipped("cgroup_hooks")) as obj:
        prog = obj.programs["check_egress"]
        assert prog.expected_attach_type == pybpf.AttachType.CGROUP_INET_EGRESS
        prog.expected_attach_type = pybpf.AttachType.CGROUP_INET_INGRESS
        obj.load()
        with prog.attach_cgroup(cgroup):  # at the hook the program was verified for
            shown = _bpftool("cgroup", "show", str(cgroup))
            assert isinstance(shown, list)
            assert [entry["attach_type"] for entry in shown] == ["cgroup_inet_ingress"]


def test_log_level_logs_the_verifier_of_an_accepted_program(caplog: pytest.LogCaptureFixture) -> None:
    with pybpf.BPFObject.open(pybpf.shipped("xdp_counter")) as obj:
        prog = obj.programs["xdp_count"]
        assert prog.log_level == 0
        prog.log_level = 1
        with caplog.at_level(logging.DEBUG, logger="pybpf.libbpf"):
            obj.load()
    assert any("processed" in record.getMessage() and "insns" in record.getMessage() for record in caplog.records)


def test_program_from_pin_and_from_id(bpffs: Path, veth: VethPair) -> None:
    with pybpf.load(pybpf.shipped("xdp_counter")) as obj:
        prog = obj.programs["xdp_count"]
        prog.pin(bpffs / "prog")
        prog_id = prog.id
    # the object is closed: the pin keeps the program loaded
    with pybpf.Program.from_pinned(bpffs / "prog") as pinned, pybpf.Program.from_id(prog_id) as by_id:
        assert pinned.id == by_id.id == prog_id
        assert (pinned.name, pinned.type) == ("xdp_count", pybpf.ProgType.XDP)
        assert pinned.test_run(packets.udp4()).retval == 2  # XDP_PASS
        with veth.inside(veth.ns_a):
            link = pinned.attach_xdp(veth.if_a)  # the kernel's own attach call: no object needed
        with link:
            assert veth.xdp_attached(veth.ns_a, veth.if_a)
        with pytest.raises(ValueError, match="opened from the kernel"):
            pinned.attach()
    assert pinned.closed
    pinned.close()  # idempotent
    with pytest.raises(ValueError, match="is closed"):
        pinned.fd
    leaked = pybpf.Program.from_pinned(bpffs / "prog")
    with pytest.warns(ResourceWarning, match="xdp_count"):
        del leaked
        gc.collect()
    with pytest.raises(FileNotFoundError):
        pybpf.Program.from_pinned(bpffs / "missing")
    with pybpf.load(pybpf.shipped("xdp_counter")) as obj:
        obj.maps["proto_stats"].pin(bpffs / "map")
    with pytest.raises(ValueError, match="is a map, not a program"):
        pybpf.Program.from_pinned(bpffs / "map")


def test_link_from_pin_info_and_atomic_update(bpffs: Path, veth: VethPair) -> None:
    with pybpf.load(pybpf.shipped("xdp_counter")) as first, pybpf.load(pybpf.shipped("xdp_counter")) as second:
        old, new = first.programs["xdp_count"], second.programs["xdp_count"]
        with veth.inside(veth.ns_a):
            link = old.attach_xdp(veth.if_a)
        info = link.info()
        assert (info.type, info.prog_id) == (pybpf.LinkType.XDP, old.id)
        link.pin(bpffs / "link")
        link.close()  # the pin keeps it attached
        assert veth.xdp_attached(veth.ns_a, veth.if_a)
        with pybpf.Link.from_pinned(bpffs / "link") as pinned:
            assert pinned.info().prog_id == old.id
            pinned.update(new)  # no moment without a program on the interface
            assert pinned.info().prog_id == new.id
        with pytest.raises(ValueError, match="is a map, not a link"):
            first.maps["proto_stats"].pin(bpffs / "map")
            pybpf.Link.from_pinned(bpffs / "map")
        (bpffs / "link").unlink()  # no pin, no handle: detached
        assert not veth.xdp_attached(veth.ns_a, veth.if_a)


def test_global_and_static_functions(test_objects: dict[str, Path]) -> None:
    with pybpf.load(test_objects["global_funcs"]) as obj:
        frame = packets.udp4(payload=b"x" * 10)
        prog = obj.programs["by_length"]
        assert prog.test_run(frame).retval == 2  # XDP_PASS: no verdict for this length
        obj.maps["verdicts"][len(frame)] = 1  # XDP_DROP
        assert prog.test_run(frame, repeat=3).retval == 1
        assert obj.bss["calls"] == 4
