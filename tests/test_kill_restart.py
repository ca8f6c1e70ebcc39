"""Kill and restart (issue 13, finding 3): what a SIGKILLed process leaves
attached, per attach kind, what its restart does with it, and what
``pybpf cleanup`` removes.

BPF links (TCX, XDP, struct_ops links) go with the process.  A cls_bpf or
act_bpf filter, a BPF route and a struct_ops registration made without a link
stay: they carry an owner mark, the restart replaces them instead of adding a
second copy or failing with EEXIST, and ``pybpf cleanup`` removes them.  The
shipped tools unwind on SIGTERM, SIGHUP and SIGINT.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import pybpf
from pybpf.netns import VethPair

import attacher
from tool_runs import links_held, run_tool, start_tool

pytestmark = pytest.mark.kernel

SUPPORT = Path(__file__).resolve().parent / "support"
BIN = Path(sys.executable).parent


class Attacher:
    """A child process that attached one program (tests/support/attacher.py)
    and waits to be killed.  Forked from this one: a process of its own,
    which a SIGKILL ends, without an interpreter to start and pybpf to
    import (seconds each under a VM's emulation)."""

    def __init__(self, kind: str, veth: VethPair | None = None, *, then_exit: bool = False) -> None:
        where = (veth.ns_b, veth.if_b) if veth is not None else ("-", "-")
        ready, said = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never back into pytest
            status = 1
            try:
                os.close(ready)
                obj, _link = attacher.attach(kind, *where)
                os.write(said, b"ready")
                if then_exit:
                    obj.close()
                    status = 0
                else:
                    time.sleep(600)
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(status)
        os.close(said)
        with os.fdopen(ready, "rb") as pipe:
            answer = pipe.read(len(b"ready"))  # or less, once the child ended
        self.pid = pid
        if then_exit:
            self.status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
            assert self.status == 0, f"attacher {kind} failed to close cleanly: status {self.status}"
        elif answer != b"ready":
            self.kill()
            raise AssertionError(f"attacher {kind} failed (its traceback is in the captured stderr)")

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)


def _left_by(pid: int) -> list[pybpf.StaleAttachment]:
    return [s for s in pybpf.stale_attachments() if s.mark.pid == pid]


def _cleanup() -> str:
    proc = run_tool(["cleanup"])
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _tc_names(veth: VethPair) -> list[str]:
    """The names of the filters on if_b's ingress (cls_bpf and act_bpf alike)."""
    out = subprocess.run(
        ["ip", "netns", "exec", veth.ns_b, "tc", "filter", "show", "dev", veth.if_b, "ingress"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [word for word in out.split() if word.startswith("pybpf:")]


def _routes(veth: VethPair) -> list[str]:
    out = subprocess.run(
        ["ip", "-n", veth.ns_b, "route", "show", "10.209.0.0/24"], capture_output=True, text=True, check=True
    ).stdout
    return [word for word in out.split() if word.startswith("pybpf:")]


def _struct_ops_registered() -> list[str]:
    out = subprocess.run(["bpftool", "-j", "struct_ops", "list"], capture_output=True, text=True, check=True).stdout
    return [entry["name"] for entry in json.loads(out or "[]") if entry["name"] == "pybpf_cc"]


@pytest.fixture
def veth() -> Iterator[VethPair]:
    with VethPair(prefix="pybpf-k") as pair:
        yield pair


PROGRAMS = {"cls_bpf": "classify_udp", "act_bpf": "act_on_udp", "route": "count_out"}


@pytest.mark.parametrize(
    ("kind", "listed"),
    [
        ("cls_bpf", _tc_names),
        pytest.param(
            "act_bpf",
            _tc_names,
            marks=[
                pytest.mark.requires_feature("module:act_bpf", min="4.1"),
                pytest.mark.requires_feature("module:cls_matchall", min="4.8"),
            ],
        ),
        ("route", _routes),
    ],
)
def test_what_the_kernel_keeps_is_replaced_on_restart_and_cleaned_up(
    veth: VethPair, kind: str, listed: Callable[[VethPair], list[str]]
) -> None:
    first = Attacher(kind, veth)
    first.kill()
    names = listed(veth)
    assert len(names) == 1 and names[0].startswith(f"pybpf:{first.pid}:"), names
    (stale,) = _left_by(first.pid)
    assert (stale.netns, stale.mark.program) == (veth.ns_b, PROGRAMS[kind])

    second = Attacher(kind, veth)  # the restart replaces it: no second copy, no EEXIST
    names = listed(veth)
    assert len(names) == 1 and names[0].startswith(f"pybpf:{second.pid}:"), names
    assert _left_by(first.pid) == []
    second.kill()

    report = _cleanup()
    assert f"of exited pybpf process {second.pid}" in report, report
    assert listed(veth) == [] and _left_by(second.pid) == []


def test_a_route_held_by_a_live_process_is_not_taken(veth: VethPair) -> None:
    """Only an exited owner's route is replaced; a live one's is a FileExistsError naming it."""
    holder = Attacher("route", veth)
    try:
        with pybpf.load(pybpf.shipped("lwt_hooks")) as obj, veth.inside(veth.ns_b):
            with pytest.raises(FileExistsError, match=rf"held by pybpf process {holder.pid} \(running\)"):
                obj.programs["count_out"].attach_route("10.209.0.0/24", veth.if_b)
    finally:
        holder.kill()
    _cleanup()
    assert _routes(veth) == []


@pytest.mark.parametrize("kind", ["tcx", "xdp"])
def test_links_go_with_a_killed_process(veth: VethPair, kind: str) -> None:
    if kind == "tcx" and not pybpf.features.attach_type(pybpf.AttachType.TCX_INGRESS):
        pytest.skip(f"no TCX before 6.6 (running {pybpf.features.kernel_release()})")
    attacher = Attacher(kind, veth)
    assert _hook_in_use(veth, kind)
    attacher.kill()
    assert not _hook_in_use(veth, kind)
    assert _left_by(attacher.pid) == []


def _hook_in_use(veth: VethPair, kind: str) -> bool:
    if kind == "xdp":
        return veth.xdp_attached(veth.ns_b, veth.if_b)
    out = subprocess.run(
        ["ip", "netns", "exec", veth.ns_b, "bpftool", "-j", "net", "show", "dev", veth.if_b],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return any(entry.get("tc") for entry in json.loads(out))


def test_struct_ops_goes_with_a_killed_process_where_the_kernel_has_links() -> None:
    """The shipped tcp_cc declares ``.struct_ops``; load() registers it
    through a link where the kernel has them, so a SIGKILL unregisters it.
    Where not (before 6.4), the registration stays, recorded with its owner."""
    attacher = Attacher("struct_ops")
    attacher.kill()
    if pybpf.features.struct_ops_links():
        assert _struct_ops_registered() == [] and _left_by(attacher.pid) == []
    else:
        assert _struct_ops_registered() == ["pybpf_cc"]
        assert [s.where.split()[0] for s in _left_by(attacher.pid)] == ["struct_ops"]
        _cleanup()
        assert _struct_ops_registered() == []


def test_a_struct_ops_registration_without_a_link_is_taken_over_on_restart() -> None:
    """use_link=False: the registration outlives the process (as bpftool
    struct_ops register makes it); the restart takes it over instead of
    failing with FileExistsError; pybpf cleanup unregisters it."""
    first = Attacher("struct_ops_legacy")
    first.kill()
    assert _struct_ops_registered() == ["pybpf_cc"]
    (stale,) = _left_by(first.pid)
    assert stale.where.startswith("struct_ops map ")
    second = Attacher("struct_ops_legacy")
    assert _left_by(first.pid) == [] and _struct_ops_registered() == ["pybpf_cc"]
    second.kill()
    assert f"of exited pybpf process {second.pid}" in _cleanup()
    assert _struct_ops_registered() == []


def test_a_clean_exit_leaves_nothing(veth: VethPair) -> None:
    """close() removes what the kernel would keep, and its records."""
    for kind in ("cls_bpf", "route", "struct_ops_legacy"):
        Attacher(kind, veth, then_exit=True)
    assert _tc_names(veth) == [] and _routes(veth) == [] and _struct_ops_registered() == []
    assert [s for s in pybpf.stale_attachments() if s.where.startswith("struct_ops")] == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_the_xdp_counter_detaches_on_signals(veth: VethPair, signum: int) -> None:
    """Python's default SIGTERM and SIGHUP run no cleanup; the tool's
    handler unwinds it: the counter stops, reports its final counts,
    detaches, and exits 0 (a requested stop, as Ctrl-C is)."""
    proc = start_tool(
        [veth.if_b, "--format", "json", "--interval", "0.2"], command=str(BIN / "pybpf-xdp-counter"), netns=veth.ns_b
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # a report: attached and counting
    assert json.loads(first)
    assert veth.xdp_attached(veth.ns_b, veth.if_b)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert json.loads(out.splitlines()[-1])["final"] is True
    assert not veth.xdp_attached(veth.ns_b, veth.if_b)


def test_syscount_unwinds_on_sigterm() -> None:
    """SIGTERM: the counter detaches, prints its totals and exits 0, through its cleanup."""
    proc = start_tool(["--duration", "60"], command=str(BIN / "pybpf-syscount"))
    deadline = time.monotonic() + 120
    while proc.poll() is None and links_held(proc.pid) == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert proc.poll() is None and links_held(proc.pid) > 0, proc.communicate(timeout=60)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "total" in out
