"""examples/, run as their users would: a project with its own BPF C, built
by pybpf's setuptools hook, installed into a fresh virtual environment (from
PyPI what a user would get there, pybpf from a wheel built from this tree),
run, and tested with its own tests through pybpf's pytest plugin; and
docs/porting.md's execsnoop port."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import venv
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.kernel

ROOT = Path(__file__).resolve().parent.parent
GETPPID = {"x86_64": 110, "aarch64": 173}


def _run(*command: str | Path, cwd: Path) -> str:
    done = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"
    return done.stdout


@dataclass(frozen=True)
class Installed:
    """syscall-census installed in a fresh venv, with pytest beside it."""

    venv: Path
    project: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"


def _on_the_host(test: Callable[..., None]) -> Callable[..., None]:
    """The census tests run where getppid's number is known, outside VM guests."""
    test = pytest.mark.skipif(platform.machine() not in GETPPID, reason="getppid number unknown here")(test)
    return pytest.mark.skipif(
        bool(os.environ.get("PYBPF_VM_KERNEL")), reason="installs from PyPI and boots VMs: the host runs it"
    )(test)


@pytest.fixture(scope="module")
def census(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The project built with pybpf's hook and installed as a user would:
    pybpf (with its vm extra) from a wheel of this tree, the rest (pytest,
    virtme-ng) from PyPI."""
    tmp_path = tmp_path_factory.mktemp("census")
    wheels = tmp_path / "wheels"
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", wheels, ROOT, cwd=tmp_path)
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    project = tmp_path / "syscall-census"  # a copy: building writes build/ and egg-info beside the sources
    shutil.copytree(ROOT / "examples" / "syscall-census", project)
    # The isolated build gets pybpf (its hook) from the wheel, as it would from an index.
    _run(
        python,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "--find-links",
        wheels,
        "-w",
        wheels,
        project,
        cwd=tmp_path,
    )
    (built,) = wheels.glob("syscall_census-*.whl")
    assert "syscall_census/bpf/census.bpf.o" in zipfile.ZipFile(built).namelist()
    _run(python, "-m", "pip", "install", "--quiet", "--find-links", wheels, built, "pybpf[vm]", "pytest", cwd=tmp_path)
    return Installed(env, project)


@_on_the_host
def test_syscall_census_builds_installs_and_runs(census: Installed, tmp_path: Path) -> None:
    out = _run(
        census.venv / "bin" / "syscall-census",
        "--json",
        "--",
        census.python,
        "-c",
        "import os\nfor _ in range(7):\n    os.getppid()",
        cwd=tmp_path,
    )
    counts = json.loads(out)
    assert counts[str(GETPPID[platform.machine()])] == 7
    assert sum(counts.values()) > 7  # the interpreter's own start-up is counted too


@_on_the_host
def test_syscall_census_tests_pass_through_the_plugin(census: Installed, tmp_path: Path) -> None:
    """Its own tests, through pybpf's pytest plugin: installed with pybpf,
    nothing configured."""
    tested = subprocess.run(
        [census.python, "-m", "pytest", "-p", "no:cacheprovider", "-v", census.project / "tests"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYBPF_REQUIRE_KERNEL": "1"},
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "plugins: pybpf-" in tested.stdout and " 2 passed" in tested.stdout, tested.stdout


@_on_the_host
def test_syscall_census_tests_pass_in_a_debian_kernel_through_pybpf_vm(vm_ready: None, census: Installed) -> None:
    """The same tests in a VM booting Debian's 6.12, with the venv's own
    ``pybpf vm``: what a user's CI runs on another kernel."""
    done = subprocess.run(
        [census.venv / "bin" / "pybpf", "vm", "--kernels", "6.12", "--", census.python, "-m", "pytest", "-v", "tests"],
        cwd=census.project,
        capture_output=True,
        text=True,
        timeout=1200,
        env={**os.environ, "PYBPF_REQUIRE_KERNEL": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (row,) = [line for line in done.stdout.splitlines() if line.startswith("6.12 (")]
    assert row.split()[2:6] == ["ok", "2", "0", "0"], done.stdout


def test_execsnoop_port_reports_an_exec_with_its_arguments(tmp_path: Path, tracefs: str) -> None:
    """docs/porting.md's worked port, run as its user would: compiled on the
    spot, then one JSON line for an exec of this process's child."""
    shutil.copytree(ROOT / "examples" / "execsnoop", tmp_path / "execsnoop")
    command = [sys.executable, str(tmp_path / "execsnoop" / "execsnoop.py"), "--ppid", str(os.getpid())]
    with subprocess.Popen(
        [*command, "--duration", "3"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as tool:
        assert tool.stderr is not None
        seen = [tool.stderr.readline()]  # clang's warnings, if any, come first
        while seen[-1] and not seen[-1].startswith("Tracing execve()"):
            seen.append(tool.stderr.readline())
        assert seen[-1].startswith("Tracing execve()"), "".join(seen)
        subprocess.run(["/bin/true", "first", "second arg", ""], check=True)
        out, err = tool.communicate(timeout=60)
    assert tool.returncode == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["argv"] for e in events] == [["/bin/true", "first", "second arg", ""]]
    assert events[0]["ppid"] == os.getpid() and events[0]["uid"] == os.getuid()
