"""Pre-load settings, as libbpf's C API offers them to real tools, each
tested with a program that needs it: a profiler whose stack map is sized at
run time, an freplace program and an fexit program aimed at another loaded
program, a map reused from outside the object; and what load and attach
errors say (libbpf's own cause, the right ``attach_*`` call)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import pybpf
from pybpf import MapType, ProgType

pytestmark = pytest.mark.kernel

XDP_ABORTED, XDP_DROP, XDP_PASS = 0, 1, 2
GETPPID = {"x86_64": 110, "aarch64": 173}
PACKET = bytes(60)


def _name(tag: str) -> str:
    return f"s{os.getpid() % 100000}{tag}"[:15]


# -- maps -------------------------------------------------------------------------------


def test_profiler_stack_map_sized_at_run_time(test_objects: dict[str, Path]) -> None:
    """The stack map declares no value size, as real profilers do: without
    the setter the kernel refuses it; with it, samples carry stacks."""
    depth = int(Path("/proc/sys/kernel/perf_event_max_stack").read_text())
    with pybpf.BPFObject.open(test_objects["stack_profile"]) as obj:
        with pytest.raises(ValueError, match="stacks"):
            obj.load()
    with pybpf.BPFObject.open(test_objects["stack_profile"]) as obj:
        stacks = obj.maps["stacks"]
        assert stacks.value_size == 0
        stacks.value_size = depth * 8
        assert stacks.value_size == depth * 8
        obj.rodata["target_tgid"] = os.getpid()
        obj.load()
        assert stacks.info().value_size == depth * 8
        prog = obj.programs["sample_stack"]
        with prog.attach_perf_event(
            pybpf.PerfEventType.SOFTWARE, pybpf.SoftwareEvent.TASK_CLOCK, pid=os.getpid(), sample_period=200_000
        ):
            deadline = time.monotonic() + 0.5
            while time.monotonic() < deadline:
                pass
        samples = dict(obj.maps["samples"].items())
        stack_ids = [k for k in samples if k >= 0]
        assert stack_ids, f"no stack recorded: {samples}"
        frames = stacks[stack_ids[0]]
        assert 0 < len(frames) <= depth and all(isinstance(f, int) and f for f in frames)
        with pytest.raises(ValueError, match="before load"):
            stacks.value_size = 8


def test_map_setters_reach_the_kernel(test_objects: dict[str, Path]) -> None:
    with pybpf.BPFObject.open(test_objects["typed_maps"]) as obj:
        name, m = next((n, m) for n, m in obj.maps.items() if m.type == MapType.HASH)
        m.max_entries = 77
        m.flags = pybpf.MapFlags.NO_PREALLOC
        m.numa_node = 0
        assert (m.max_entries, m.flags, m.numa_node) == (77, pybpf.MapFlags.NO_PREALLOC, 0)
        with pytest.raises(ValueError, match="not a 32-bit"):
            m.key_size = -1
        obj.load()
        info = m.info()
        assert (info.max_entries, info.flags) == (77, pybpf.MapFlags.NO_PREALLOC)
        for setting, value in (("key_size", 8), ("max_entries", 1), ("map_extra", 3), ("type", MapType.ARRAY)):
            with pytest.raises(ValueError, match="before load"):
                setattr(m, setting, value)
        assert name in obj.maps


def test_type_setter_turns_a_ring_buffer_into_a_perf_buffer(test_objects: dict[str, Path]) -> None:
    """libbpf-tools' fallback for kernels without RINGBUF: the same map
    becomes a PERF_EVENT_ARRAY, and the view becomes that family's class."""
    with pybpf.BPFObject.open(test_objects["ringbuf_events"]) as obj:
        name = next(n for n, m in obj.maps.items() if m.type == MapType.RINGBUF)
        ring = obj.maps[name]
        ring.type = MapType.PERF_EVENT_ARRAY
        ring.key_size = ring.value_size = 4
        ring.max_entries = 0  # libbpf: one per possible CPU
        assert isinstance(ring, pybpf.FdArray) and ring is obj.maps[name]
        for prog in obj.programs.values():
            prog.autoload = False  # they call bpf_ringbuf_*: a perf array is not theirs
        obj.load()
        info = ring.info()
        assert (info.type, info.key_size, info.value_size) == (MapType.PERF_EVENT_ARRAY, 4, 4)
        assert info.max_entries == pybpf.possible_cpus()


def test_bloom_filter_map_extra(test_objects: dict[str, Path]) -> None:
    with pybpf.BPFObject.open(test_objects["sections"]) as obj:
        bloom = obj.maps["seen_values"]
        bloom.map_extra = 3
        obj.load()
        assert bloom.info().map_extra == 3 == bloom.map_extra


def test_reuse_fd_shares_a_map_with_the_object(test_objects: dict[str, Path]) -> None:
    """The object's program reads a map created outside it."""
    with pybpf.Map.create(
        MapType.HASH, key_size=4, value_size=4, max_entries=16, name=_name("v"), key_type="I", value_type="I"
    ) as shared:
        shared[len(PACKET)] = XDP_DROP
        with pybpf.BPFObject.open(test_objects["global_funcs"]) as obj:
            obj.maps["verdicts"].reuse_fd(shared)
            obj.load()
            assert obj.maps["verdicts"].id == shared.id
            assert obj.programs["by_length"].test_run(PACKET).retval == XDP_DROP
            shared[len(PACKET)] = XDP_PASS
            assert obj.programs["by_length"].test_run(PACKET).retval == XDP_PASS
        assert shared[len(PACKET)] == XDP_PASS  # the object's close left it alone
    null = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
    try:
        with pybpf.BPFObject.open(test_objects["global_funcs"]) as obj:
            with pytest.raises(ValueError, match="not a map"):
                obj.maps["verdicts"].reuse_fd(null)
    finally:
        os.close(null)


# -- programs -------------------------------------------------------------------------


def test_program_flags_reach_the_kernel(test_objects: dict[str, Path]) -> None:
    with pybpf.BPFObject.open(test_objects["global_funcs"]) as obj:
        prog = obj.programs["by_length"]
        prog.flags = 1 << 30  # no such BPF_F_* flag
        assert prog.flags == 1 << 30
        with pytest.raises(ValueError, match="by_length"):
            obj.load()


def test_log_buffer_keeps_the_verifier_log(test_objects: dict[str, Path]) -> None:
    with pybpf.BPFObject.open(test_objects["global_funcs"]) as obj:
        prog = obj.programs["by_length"]
        prog.set_log_buffer(1 << 20)
        assert prog.log_level == 1
        obj.load()
        assert "processed" in prog.verifier_log and "insns" in prog.verifier_log
        with pytest.raises(ValueError, match="before load"):
            prog.set_log_buffer(1 << 20)


def _count_child_getppid(obj: pybpf.BPFObject, calls: int) -> tuple[int, list[str]]:
    """Load ``obj`` to count a child's getppid calls, attach it with
    ``obj.attach()`` while the child runs: the count, the attached programs."""
    code = f"import os, sys\nsys.stdin.readline()\nfor _ in range({calls}):\n    os.getppid()\n"
    with subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, text=True) as child:
        obj.rodata["target_tgid"] = child.pid
        obj.rodata["target_nr"] = GETPPID[platform.machine()]
        obj.load()
        links = obj.attach()
        attached = [link.program.name for link in links if link.program is not None]
        child.communicate("go\n", timeout=60)
        for link in links:
            link.close()
    assert child.returncode == 0
    return int(obj.maps["calls"][0]), attached


@pytest.mark.skipif(platform.machine() not in GETPPID, reason="getppid number unknown on this architecture")
def test_object_attach_is_the_skeletons(test_objects: dict[str, Path]) -> None:
    """attach() attaches what the sections say, skips what they cannot
    (xdp, bare uprobe/usdt) and what autoattach turns off."""
    with pybpf.BPFObject.open(test_objects["sections"]) as obj:
        assert _count_child_getppid(obj, 37) == (37, ["count_calls"])
    with pybpf.BPFObject.open(test_objects["sections"]) as obj:
        obj.programs["count_calls"].autoattach = False
        assert _count_child_getppid(obj, 5) == (0, [])


@pytest.mark.parametrize(
    ("program", "call"),
    [
        ("pass_all", "attach_xdp(interface)"),
        ("bare_uprobe", "attach_uprobe(binary, symbol)"),
        ("bare_usdt", "attach_usdt(binary, provider, name)"),
    ],
)
def test_attach_by_section_names_the_call_that_takes_a_target(
    test_objects: dict[str, Path], program: str, call: str
) -> None:
    with pybpf.load(test_objects["sections"]) as obj:
        with pytest.raises(pybpf.NotSupportedError) as caught:
            obj.programs[program].attach()
    assert call in str(caught.value) and program in str(caught.value)


@pytest.mark.parametrize(
    ("program", "cause", "error"),
    [
        ("untyped", "missing BPF prog type, check ELF section name 'pybpf_unknown_section'", ValueError),
        ("missing_function", "failed to find kernel BTF type ID of 'pybpf_no_such_kernel_function'", OSError),
    ],
)
def test_load_errors_keep_libbpfs_cause(
    test_objects: dict[str, Path], program: str, cause: str, error: type[Exception]
) -> None:
    """libbpf's own explanation is in the message; no probe hint is added
    for a refusal the kernel never saw (this host blocks trampolines, which
    is not why these fail)."""
    with pybpf.BPFObject.open(test_objects["sections"]) as obj:
        obj.programs[program].autoload = True
        with pytest.raises(error) as caught:
            obj.load()
    message = str(caught.value)
    assert message.splitlines()[0].startswith(f"load program '{program}' of 'sections'")
    assert cause in message
    assert "ftrace" not in message and "ulimit" not in message and "created successfully" not in message


# -- programs that hook other BPF programs -----------------------------------------------


@pytest.fixture
def target(test_objects: dict[str, Path]) -> Iterator[pybpf.Program]:
    with pybpf.load(test_objects["global_funcs"]) as obj:
        yield obj.programs["by_length"]


def test_freplace_without_a_target_says_so(test_objects: dict[str, Path]) -> None:
    with pybpf.BPFObject.open(test_objects["prog_hooks"]) as obj:
        obj.programs["verdict_override"].autoload = True
        with pytest.raises(ValueError, match="set_attach_target") as caught:
            obj.load()
    assert "ftrace" not in str(caught.value)


@pytest.mark.requires_feature("fentry", min="5.10")
def test_freplace_replaces_a_global_function(test_objects: dict[str, Path], target: pybpf.Program) -> None:
    assert target.test_run(PACKET).retval == XDP_PASS
    with pybpf.BPFObject.open(test_objects["prog_hooks"]) as ext:
        prog = ext.programs["verdict_override"]
        prog.autoload = True
        prog.set_attach_target("verdict_for_length", target)
        assert prog.type == ProgType.EXT and prog.attach_target == "verdict_for_length"
        ext.load()
        ext.maps["overrides"][0] = XDP_DROP
        with prog.attach():
            assert [target.test_run(PACKET).retval for _ in range(3)] == [XDP_DROP] * 3
            assert ext.bss["replaced_calls"] == 3
        assert target.test_run(PACKET).retval == XDP_PASS  # the original is back
        with prog.attach_freplace(target, "verdict_for_length"):
            assert target.test_run(PACKET).retval == XDP_DROP
        assert ext.bss["replaced_calls"] == 4


@pytest.mark.requires_feature("fentry", min="5.10")
def test_fexit_on_a_bpf_program(test_objects: dict[str, Path], target: pybpf.Program) -> None:
    with pybpf.BPFObject.open(test_objects["prog_hooks"]) as obj:
        prog = obj.programs["watch_verdict"]
        prog.autoload = True
        prog.set_attach_target("verdict_for_length", target.fd)
        obj.load()
        links = obj.attach()
        assert [link.program.name for link in links] == ["watch_verdict"]
        target.test_run(PACKET)
        target.test_run(bytes(100))
        for link in links:
            link.close()
        target.test_run(bytes(80))  # detached: not seen
        assert dict(obj.maps["seen"].items()) == {60: XDP_PASS, 100: XDP_PASS}
