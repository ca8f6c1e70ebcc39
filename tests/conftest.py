"""Fixtures: the kernel gate, compiled test objects, tracefs/bpffs, veth pairs.

Tests marked ``kernel`` need root and a kernel with BPF.  Without them they
skip, with the reason; with ``PYBPF_REQUIRE_KERNEL=1`` they fail instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import pybpf

import objects
from kernel_features import check_feature

ROOT = Path(__file__).resolve().parent.parent
REQUIRE_KERNEL = os.environ.get("PYBPF_REQUIRE_KERNEL") == "1"


def _probe_kernel() -> str | None:
    """None if this process can use BPF, else why not."""
    if os.geteuid() != 0:
        return "not running as root"
    if not Path("/sys/kernel/btf/vmlinux").exists():
        return "the kernel has no BTF (/sys/kernel/btf/vmlinux)"
    try:
        pybpf.Map.create(pybpf.MapType.ARRAY, key_size=4, value_size=4, max_entries=1, name="pybpf_probe").close()
    except pybpf.BPFError as exc:
        return f"cannot create a BPF map: {exc}"
    return None


_KERNEL_REASON = _probe_kernel()


def need_kernel() -> None:
    """Skip (or fail, with PYBPF_REQUIRE_KERNEL=1) unless BPF is usable here."""
    if _KERNEL_REASON:
        message = f"kernel test without a usable kernel: {_KERNEL_REASON}"
        if REQUIRE_KERNEL:
            pytest.fail(f"{message} (PYBPF_REQUIRE_KERNEL=1)")
        pytest.skip(message)


@pytest.fixture(autouse=True)
def _kernel_gate(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("kernel"):
        need_kernel()
    for mark in request.node.iter_markers("kernel_feature"):
        need_kernel()
        check_feature(mark.args[0], mark.kwargs["min"], request)


@pytest.fixture(scope="session")
def test_objects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """tests/bpf/*.bpf.c and tests/helpers/*.c built by tests/support/objects.py:
    name -> object or program (``"typed_maps"``, ``"uprobe_target"``).

    With ``PYBPF_TEST_OBJECTS=DIR`` the ones already built there are used
    instead: the VM runner builds them once on the host, as the shipped
    programs are, so every guest kernel loads the same CO-RE objects.
    """
    need_kernel()
    prebuilt = os.environ.get("PYBPF_TEST_OBJECTS")
    if prebuilt:
        out = Path(prebuilt)
    else:
        out = tmp_path_factory.mktemp("bpf")
        objects.build(out)
    built = {src.name[: -len(".bpf.c")]: out / (src.name[: -len(".c")] + ".o") for src in objects.bpf_sources()}
    built.update({src.stem: out / src.stem for src in objects.helper_sources()})
    missing = [str(path) for path in built.values() if not path.exists()]
    if missing:
        pytest.fail(f"test objects missing: {', '.join(missing)}")
    return built


def _mounted_for_session(mount, path: str) -> Iterator[str]:  # type: ignore[no-untyped-def]
    need_kernel()
    mounted = mount(path)
    try:
        yield path
    finally:
        if mounted:
            subprocess.run(["umount", path], check=False)


@pytest.fixture(scope="session")
def tracefs() -> Iterator[str]:
    """tracefs mounted at /sys/kernel/tracing (unmounted after if we mounted it)."""
    yield from _mounted_for_session(pybpf.mount_tracefs, "/sys/kernel/tracing")


@pytest.fixture(scope="session")
def bpffs() -> Iterator[str]:
    """bpffs mounted at /sys/fs/bpf (unmounted after if we mounted it)."""
    yield from _mounted_for_session(pybpf.mount_bpffs, "/sys/fs/bpf")


@pytest.fixture(scope="session")
def securityfs() -> Iterator[str]:
    """securityfs mounted at /sys/kernel/security (it lists the active LSMs)."""
    yield from _mounted_for_session(pybpf.mount_securityfs, "/sys/kernel/security")


CGROUP2 = Path("/sys/fs/cgroup/unified")  # hybrid layout (the CI host); else the unified one
if not (CGROUP2 / "cgroup.procs").exists():
    CGROUP2 = Path("/sys/fs/cgroup")


@pytest.fixture
def cgroup() -> Iterator[Path]:
    """A fresh cgroup v2 directory, removed after (once its processes left)."""
    need_kernel()
    path = CGROUP2 / f"pybpf-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    try:
        yield path
    finally:
        for _ in range(50):  # a moved child leaves the cgroup once reaped
            try:
                path.rmdir()
                break
            except OSError:
                time.sleep(0.05)


@pytest.fixture
def pin_dir(bpffs: str) -> Iterator[Path]:
    """A fresh directory on bpffs, removed with everything pinned in it."""
    path = Path(bpffs) / f"pybpf-test-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def veth() -> Iterator[pybpf.netns.VethPair]:  # type: ignore[name-defined]
    """Two throwaway network namespaces joined by a veth pair (per test module)."""
    from pybpf.netns import VethPair

    need_kernel()
    with VethPair(prefix="pybpf-t") as pair:
        yield pair
