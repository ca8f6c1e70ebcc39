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
from pathlib import Path

import pytest

pytestmark = pytest.mark.kernel

ROOT = Path(__file__).resolve().parent.parent
GETPPID = {"x86_64": 110, "aarch64": 173}


def _run(*command: str | Path, cwd: Path) -> str:
    done = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.skipif(platform.machine() not in GETPPID, reason="getppid number unknown on this architecture")
@pytest.mark.skipif(os.environ.get("PYBPF_EMULATED") == "1", reason="installs from PyPI: the host runs it")
def test_syscall_census_builds_installs_and_runs(tmp_path: Path) -> None:
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
    _run(python, "-m", "pip", "install", "--quiet", "--find-links", wheels, built, cwd=tmp_path)
    out = _run(
        env / "bin" / "syscall-census",
        "--json",
        "--",
        python,
        "-c",
        "import os\nfor _ in range(7):\n    os.getppid()",
        cwd=tmp_path,
    )
    counts = json.loads(out)
    assert counts[str(GETPPID[platform.machine()])] == 7
    assert sum(counts.values()) > 7  # the interpreter's own start-up is counted too
    # Its own tests, through pybpf's pytest plugin: installed with pybpf, nothing configured.
    _run(python, "-m", "pip", "install", "--quiet", "pytest", cwd=tmp_path)
    tested = subprocess.run(
        [python, "-m", "pytest", "-p", "no:cacheprovider", "-v", project / "tests"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYBPF_REQUIRE_KERNEL": "1"},
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "plugins: pybpf-" in tested.stdout and " 2 passed" in tested.stdout, tested.stdout


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
