"""``pybpf vm`` and ``pytest --pybpf-kernels``, run as their users run them:
real guests booting a Debian kernel (the newest 6.12, downloaded and cached
once) on this machine's userland."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pybpf import vm

from tool_runs import PYBPF

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(bool(os.environ.get("PYBPF_VM_KERNEL")), reason="inside a guest: no VM in a VM"),
]

SERIES = "6.12"


@pytest.fixture(scope="module")
def debian_kernel(vm_ready: None) -> vm.Kernel:
    return vm.resolve(SERIES, log=lambda line: None)


def _properties(path: Path) -> dict[str, str]:
    return {p.get("name", ""): p.get("value", "") for p in ET.parse(path).getroot().iter("property")}


def test_a_failing_command_fails_the_run_and_names_the_kernel(tmp_path: Path, debian_kernel: vm.Kernel) -> None:
    """An image given by path: booted with the modules beside it; the
    command's output (as it comes: one kernel), its status and the kernel
    it ran in come back; it found /usr/bin and the virtual environment on
    the cached share."""
    junit = tmp_path / "junit"
    venv = Path(sys.prefix).resolve()
    command = [
        "sh",
        "-c",
        'echo "in $PYBPF_VM_KERNEL on $(uname -r) with $PYBPF_VM_ACCEL"; '
        f"grep -F -e ' /usr/bin /usr/bin ' -e ' {venv} {venv} ' /proc/self/mountinfo; exit 3",
    ]
    done = subprocess.run(
        [PYBPF, "vm", "--kernel", str(debian_kernel.image), "--junit-dir", str(junit), "--", *command],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    (row,) = [line for line in done.stdout.splitlines() if line.startswith(f"{debian_kernel.image} (")]
    assert "FAILED" in row.split(), done.stdout
    assert f"--- {debian_kernel.image} ({debian_kernel.release}) failed: exit status 3; logs in " in done.stdout
    accel = vm.accelerator()
    said = f"in {debian_kernel.image} on {debian_kernel.release} with {accel}"
    assert done.stdout.count(said) == 1, done.stdout  # shown as it came (one kernel), not again with the failure
    assert done.stdout.index(said) < done.stdout.index(row), done.stdout
    # The system's programs and the virtual environment are read through the guest's page cache.
    mounts = [line.split() for line in done.stdout.splitlines() if " - 9p " in line]
    assert sorted(fields[4] for fields in mounts) == sorted(["/usr/bin", str(venv)]), done.stdout
    for fields in mounts:
        fstype, source, options = fields[fields.index("-") + 1 :][:3]
        assert fields[5].startswith("ro,") and (fstype, source) == ("9p", "pybpf-ro"), fields
        assert "cache=" in options, fields
    (report,) = junit.glob("*.xml")
    assert _properties(report)["pybpf_vm_exit_status"] == "3"
    assert ET.parse(report).getroot().find("testsuite/testcase/failure") is not None
    kept = Path(done.stdout.split("logs in ")[1].split()[0])
    assert (kept / "output.log").exists()  # a failed guest's directory stays for its logs
    shutil.rmtree(kept.parent)


def test_pytest_runs_itself_in_a_guest_with_pybpf_kernels(pytester: pytest.Pytester, debian_kernel: vm.Kernel) -> None:
    """``pytest --pybpf-kernels=6.12``: the same pytest command, in the
    guest; its tests' counts in the matrix; the plugin works in there."""
    pytester.makepyfile(
        """
        import os, pytest

        @pytest.mark.kernel
        def test_in_the_guest(bpf_object):
            import pybpf
            assert os.environ["PYBPF_VM_KERNEL"] == "6.12"
            assert os.uname().release == os.environ["EXPECTED_RELEASE"]
            bpf_object(pybpf.shipped("xdp_counter"))

        @pytest.mark.kernel(min="999.0")
        def test_skipped(): pass
        """
    )
    pytester.chdir()
    env = {**os.environ, "EXPECTED_RELEASE": debian_kernel.release, "PYBPF_REQUIRE_KERNEL": "1"}
    env["PYBPF_KERNEL_CACHE"] = str(vm.CACHE)  # pytester gives the inner run a HOME of its own
    done = subprocess.run(
        [sys.executable, "-m", "pytest", f"--pybpf-kernels={SERIES}", "-p", "no:randomly", "-q"],
        capture_output=True,
        text=True,
        timeout=1200,
        env=env,
        cwd=pytester.path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (row,) = [line for line in done.stdout.splitlines() if line.startswith(f"{SERIES} ({debian_kernel.release})")]
    assert row.split()[2:6] == ["ok", "1", "0", "1"], row


def test_a_kernel_it_cannot_find_is_one_line(tmp_path: Path) -> None:
    for kernel, said in (
        (["--kernels", "pybpf-nosuch"], "pybpf vm: no kernel 'pybpf-nosuch': not a Debian series (6.12)"),
        (["--kernel", "/etc/hostname"], "pybpf vm: /etc/hostname is not an x86 kernel image (bzImage)"),
    ):
        done = subprocess.run([PYBPF, "vm", *kernel, "--", "true"], capture_output=True, text=True, timeout=120)
        assert done.returncode == 1 and done.stderr.startswith(said) and len(done.stderr.splitlines()) == 1


@pytest.mark.host_only("a kernel's configuration: user space alone")
def test_build_kernel_options_all_or_core() -> None:
    """What a kernel built here is configured with (the build itself takes
    20 minutes: CI builds the `lirc` kernel with `--bpf core`)."""
    from pybpf.vm.build import BPF_CORE_OPTIONS, BPF_OPTIONS, UNUSED_OPTIONS, _options

    core = _options(["BPF_LIRC_MODE2", "RC_MAP=n"], "core")
    assert core == [*UNUSED_OPTIONS, *BPF_CORE_OPTIONS, "BPF_LIRC_MODE2=y", "RC_MAP=n"]
    assert "NETFILTER=y" not in core and "NETFILTER=y" in _options([], "all")
    assert _options([], "all") == [*UNUSED_OPTIONS, *BPF_OPTIONS]
    assert set(BPF_CORE_OPTIONS) <= set(BPF_OPTIONS)
    done = subprocess.run(
        [PYBPF, "vm", "build-kernel", "--series", "6.12", "--bpf", "some"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "--bpf: invalid choice: 'some'" in done.stderr
