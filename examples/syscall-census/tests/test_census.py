"""syscall-census's own tests, on the real kernel, through pybpf's pytest
plugin (installed with pybpf: nothing to configure).  Each test is checked
by the plugin's leak guard: nothing may stay loaded, attached or pinned."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib.resources import as_file, files

import pytest
from syscall_census import census

GETPPID = {"x86_64": 110, "aarch64": 173}.get(platform.machine())
SEVEN_GETPPIDS = "import os\nfor _ in range(7):\n    os.getppid()"

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(GETPPID is None, reason="getppid's number on this architecture is not known here"),
]


def test_census_counts_a_commands_calls_exactly() -> None:
    status, calls = census([sys.executable, "-c", SEVEN_GETPPIDS])
    assert status == 0
    assert calls[GETPPID] == 7


def test_the_program_counts_only_its_target(bpf_object, cgroup) -> None:  # type: ignore[no-untyped-def]
    """The packaged object, loaded through the plugin's ``bpf_object``
    fixture and aimed at one child in a throwaway cgroup (``cgroup``): the
    same calls of a sibling in that cgroup are not counted."""
    waits = "import sys\nsys.stdin.read(1)\n" + SEVEN_GETPPIDS
    child = cgroup.popen([sys.executable, "-c", waits], stdin=subprocess.PIPE)
    with as_file(files("syscall_census") / "bpf" / "census.bpf.o") as path:
        obj = bpf_object(path, prepare=lambda o: o.rodata.__setitem__("target_tgid", child.pid))
    with obj.programs["count_syscall"].attach():
        sibling = cgroup.run([sys.executable, "-c", SEVEN_GETPPIDS])
        child.communicate(b"x", timeout=120)
    assert (child.returncode, sibling.returncode) == (0, 0)
    assert obj.maps["calls"][GETPPID] == 7
