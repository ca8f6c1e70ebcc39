"""pybpf.testing, the pytest plugin, run as its users run it: inner pytest
sessions in child processes (pytester), whose outcomes and leftovers are
checked here; and its fixtures used directly by this suite."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

import pybpf
from pybpf.netns import NetNamespace, VethPair
from pybpf.testing import Cgroup

pytestmark = pytest.mark.kernel


def _outcomes(result: pytest.RunResult) -> dict[str, int]:
    return {key: value for key, value in result.parseoutcomes().items() if value}


def test_the_leak_guard_fails_a_leaky_test_and_removes_what_it_can(pytester: pytest.Pytester, bpffs: Path) -> None:
    """A test that leaves an attached XDP link, a pin and a namespace fails,
    each named; a clean test beside it passes; the pin and the namespace
    are gone afterwards."""
    tag = uuid.uuid4().hex[:8]
    pin = str(bpffs / f"pybpf-leak-{tag}")  # on a bpffs mounted for the session if none was
    namespace = f"pybpf-leak-{tag}"  # the prefix of its name
    pytester.makepyfile(
        f"""
        import pybpf
        from pybpf.netns import NetNamespace

        KEEP = []

        def test_leaky():
            ns = NetNamespace(prefix={namespace!r}).create()
            obj = pybpf.load(pybpf.shipped("xdp_counter"))
            with ns.inside():
                KEEP.append(obj.programs["xdp_count"].attach_xdp("lo"))
            obj.maps["proto_stats"].pin({pin!r})
            KEEP.append(obj)

        def test_clean(bpf_object, netns, bpffs):
            obj = bpf_object(pybpf.shipped("xdp_counter"))
            with netns.inside():
                link = obj.programs["xdp_count"].attach_xdp("lo")
            link.pin(str(bpffs / "link"))
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-W", "ignore::ResourceWarning")
    assert _outcomes(result) == {"passed": 2, "errors": 1}
    report = result.stdout.str()
    assert "pybpf leak guard: test_the_leak_guard_fails_a_leaky_test_and_removes_what_it_can.py::test_leaky" in report
    for expected in (f"pin {pin}", f"netns {namespace}-", "-> link ", "(XDP, program ", "-> program ", "'xdp_count'"):
        assert expected in report, expected
    assert not os.path.lexists(pin)
    assert not [name for name in os.listdir("/run/netns") if name.startswith(namespace)]


# A namespace made by a live process outside the test's tree: a daemon (forked
# twice, so it is no child of the test) that holds it until its stdin closes.
# It forks before importing pybpf, so that the first process ends at once
# however slowly the import runs (a VM under emulation).
_OTHER_RUN = """
import os, sys
if os.fork():
    os._exit(0)
os.setsid()
from pybpf.netns import NetNamespace
with NetNamespace(prefix="pybpf-lg") as ns:
    print(ns.name, flush=True)
    sys.stdin.read()
"""


def test_the_leak_guard_leaves_another_runs_namespaces_alone() -> None:
    """Two test runs on one machine: a guard claims the namespaces its own
    test (or a child of it) made, never those of another live process,
    which it would otherwise remove from under that run."""
    from pybpf.testing.leaks import Snapshot, leaks_since

    before = Snapshot.take()
    with subprocess.Popen(
        [sys.executable, "-c", _OTHER_RUN], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd="/"
    ) as other:
        assert other.stdout is not None and other.stdin is not None
        try:
            theirs = other.stdout.readline().strip()  # the daemon's, once its namespace exists
            with NetNamespace(prefix="pybpf-lg") as mine:
                found = {leak.what for leak in leaks_since(before, settle=0) if leak.kind == "netns"}
                assert mine.name in found
                assert theirs and os.path.exists(f"/run/netns/{theirs}") and theirs not in found
        finally:
            other.stdin.close()  # the daemon removes its namespace and exits
    assert _gone_soon(f"/run/netns/{theirs}")  # nothing of the other run's is left


def _gone_soon(path: str) -> bool:
    import time

    deadline = time.monotonic() + 5
    while os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not os.path.exists(path)


@pytest.mark.host_only("pytest options and an ini switch: no kernel call decides them")
def test_allow_leaks_and_the_switches_turn_the_guard_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import os, pytest

        LEFT = []

        @pytest.mark.allow_leaks("keeps an fd for the next test")
        def test_marked():
            LEFT.append(os.open("/dev/null", os.O_RDONLY))

        def test_unmarked():
            LEFT.append(os.open("/dev/null", os.O_RDONLY))
        """
    )
    guarded = pytester.runpytest_subprocess("-p", "no:randomly")
    assert _outcomes(guarded) == {"passed": 2, "errors": 1}
    assert "test_unmarked left behind:\n  - fd " in guarded.stdout.str()
    assert _outcomes(pytester.runpytest_subprocess("-p", "no:randomly", "--pybpf-no-leak-guard")) == {"passed": 2}
    pytester.makeini("[pytest]\npybpf_leak_guard = false\n")
    assert _outcomes(pytester.runpytest_subprocess("-p", "no:randomly")) == {"passed": 2}


@pytest.mark.host_only("made-up features and versions: every kernel gives the same outcomes")
def test_markers_skip_or_fail_as_the_kernel_and_its_configuration_say(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest(
        """
        from pybpf.features import Support
        from pybpf.testing import register_feature

        def broken():
            return Support(False, "the probe failed")

        def configured_out():
            return Support(False, "built without it", forbidden=True)

        register_feature("a broken feature", broken, since="3.0")
        register_feature("a configured-out feature", configured_out, since="3.0")
        """
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.kernel(min="999.1")
        def test_future_kernel(): pass

        @pytest.mark.kernel(min="3.0")
        def test_old_enough(): pass

        @pytest.mark.requires_feature("module:pybpf_no_such_module")
        def test_missing_module(): pass

        @pytest.mark.requires_feature("a configured-out feature")
        def test_configured_out(): pass

        @pytest.mark.requires_feature("a broken feature")
        def test_broken(): pass

        @pytest.mark.requires_feature("a broken feature", min="999.0")
        def test_broken_but_too_new(): pass

        @pytest.mark.requires_feature("no such feature")
        def test_unknown(): pass
        """
    )
    monkeypatch.setenv("PYBPF_REQUIRE_KERNEL", "1")
    strict = pytester.runpytest_subprocess("-p", "no:randomly", "-rsfE")
    text = strict.stdout.str()
    assert "needs kernel 999.1; this is" in text
    assert "the kernel has no pybpf_no_such_module module" in text
    assert "a configured-out feature: built without it" in text
    assert "a broken feature should work on" in text and "(it came in 3.0), but it does not: the probe failed" in text
    assert "requires_feature('no such feature'): unknown feature; known: " in text
    # Only the broken feature fails, in its setup (an error, as the unknown name is).
    assert _outcomes(strict) == {"passed": 1, "skipped": 4, "errors": 2}
    monkeypatch.delenv("PYBPF_REQUIRE_KERNEL")
    assert _outcomes(pytester.runpytest_subprocess("-p", "no:randomly")) == {"passed": 1, "skipped": 5, "errors": 1}


@pytest.mark.host_only("a user without privileges is refused before any kernel feature matters")
def test_without_bpf_kernel_tests_skip_and_fail_when_required() -> None:
    """As an unprivileged user: the reason names the refusal; with
    PYBPF_REQUIRE_KERNEL=1 the same test fails (in its setup: an error)."""
    directory = tempfile.mkdtemp(prefix="pybpf-unprivileged-")
    try:
        os.chmod(directory, 0o755)
        test = Path(directory) / "test_unprivileged.py"
        test.write_text("import pytest\n\n@pytest.mark.kernel\ndef test_needs_bpf():\n    pass\n")
        test.chmod(0o644)
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m", "pytest"]
        command += ["-p", "no:cacheprovider", "-p", "no:randomly", "-rs", str(test)]
        env = {key: value for key, value in os.environ.items() if key != "PYBPF_REQUIRE_KERNEL"}
        skipped = subprocess.run(command, cwd=directory, env=env, capture_output=True, text=True, timeout=300)
        assert "1 skipped" in skipped.stdout, skipped.stdout + skipped.stderr
        assert "needs a kernel with BPF: cannot create a BPF map (not running as root)" in skipped.stdout
        env["PYBPF_REQUIRE_KERNEL"] = "1"
        failed = subprocess.run(command, cwd=directory, env=env, capture_output=True, text=True, timeout=300)
        assert "1 error" in failed.stdout and "(PYBPF_REQUIRE_KERNEL=1)" in failed.stdout, failed.stdout
        assert "warning" not in failed.stdout  # the probe's own refusal is the reason, not a warning
    finally:
        for path in Path(directory).iterdir():
            path.unlink()
        os.rmdir(directory)


@pytest.mark.host_only("each fixture's kernel objects are made and checked by the tests below, in every kernel")
def test_fixtures_leave_nothing_behind(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """What each fixture made, recorded by the inner tests, is gone once they end."""
    record = tmp_path / "made.json"
    pytester.makepyfile(
        f"""
        import json, os, subprocess, sys
        import pybpf

        MADE = {{}}

        def test_uses_them(netns, veth_pair, bpffs, cgroup, bpf_object):
            obj = bpf_object(pybpf.shipped("xdp_counter"))
            obj.maps["proto_stats"].pin(str(bpffs / "stats"))
            sleeper = cgroup.popen(["sleep", "600"])
            MADE.update(netns=netns.name, veth=[veth_pair.ns_a, veth_pair.ns_b], bpffs=str(bpffs),
                        cgroup=str(cgroup), sleeper=sleeper.pid, map=obj.maps["proto_stats"].id)
            with open({str(record)!r}, "w") as f:
                json.dump(MADE, f)
        """
    )
    assert _outcomes(pytester.runpytest_subprocess("-p", "no:randomly")) == {"passed": 1}
    made = json.loads(record.read_text())
    for name in (made["netns"], *made["veth"]):
        assert not os.path.exists(f"/run/netns/{name}")
    assert not os.path.exists(made["bpffs"])
    assert not os.path.exists(made["cgroup"])
    assert not os.path.exists(f"/proc/{made['sleeper']}") or "Z" in Path(f"/proc/{made['sleeper']}/stat").read_text()
    assert made["map"] not in {info.id for info in pybpf.maps()}


def test_netns_is_empty_and_runs_code_inside(netns: NetNamespace) -> None:
    shown = netns.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    assert [line.split(":")[1].strip() for line in shown.splitlines()] == ["lo"]
    outside = os.stat("/proc/thread-self/ns/net").st_ino
    with netns.inside():
        assert os.stat("/proc/thread-self/ns/net").st_ino != outside
        with socket.socket() as server:
            server.bind(("127.0.0.1", 0))  # lo is up
    assert os.stat("/proc/thread-self/ns/net").st_ino == outside


@pytest.mark.parametrize("family", [socket.AF_INET, socket.AF_INET6])
def test_veth_pair_carries_ipv4_and_ipv6(veth_pair: VethPair, family: socket.AddressFamily) -> None:
    a, b = (veth_pair.addr_a, veth_pair.addr_b) if family == socket.AF_INET else (veth_pair.addr6_a, veth_pair.addr6_b)
    with veth_pair.inside(veth_pair.ns_b):
        receiver = socket.socket(family, socket.SOCK_DGRAM)
    with receiver:
        receiver.bind((b, 0))
        receiver.settimeout(10)
        with veth_pair.inside(veth_pair.ns_a), socket.socket(family, socket.SOCK_DGRAM) as sender:
            sender.sendto(b"ping", (b, receiver.getsockname()[1]))
        data, source = receiver.recvfrom(16)
    assert (data, source[0]) == (b"ping", a)


def test_bpffs_is_a_private_directory_on_bpffs(bpffs: Path) -> None:
    assert pybpf.bpffs_mounted(str(bpffs)) and list(bpffs.iterdir()) == []


def test_cgroup_runs_a_child_inside(cgroup: Cgroup) -> None:
    relative = "/" + str(cgroup.path.relative_to(pybpf.cgroup2_root() or "/"))
    shown = cgroup.run(["cat", "/proc/self/cgroup"], capture_output=True, text=True, check=True).stdout
    assert f"0::{relative}\n" in shown
    child = cgroup.popen(["sleep", "600"])
    try:
        assert cgroup.pids() == [child.pid]
    finally:
        child.kill()
        child.wait()


def test_bpf_object_prepares_before_loading(bpf_object, test_objects: dict[str, Path]) -> None:  # type: ignore[no-untyped-def]
    seen: list[bool] = []
    obj = bpf_object(test_objects["global_funcs"], prepare=lambda o: seen.append(o.loaded))
    assert seen == [False] and obj.loaded
