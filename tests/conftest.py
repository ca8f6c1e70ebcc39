"""The project's fixtures, beside pybpf.testing's (the plugin pybpf
installs: netns, veth_pair, bpffs, cgroup, tracefs, securityfs, bpf_object,
the ``kernel`` and ``requires_feature`` markers, and the leak guard): the
compiled test objects, a veth pair shared by a test module, and ``one_cpu``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import pybpf
from pybpf.testing import need_kernel

import objects

ROOT = Path(__file__).resolve().parent.parent
pytest_plugins = ["pytester"]  # tests/test_testing_plugin.py runs inner sessions


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


@pytest.fixture(scope="module")
def veth() -> Iterator[pybpf.netns.VethPair]:  # type: ignore[name-defined]
    """Two throwaway network namespaces joined by a veth pair, shared by a
    test module (the plugin's ``veth_pair`` makes one per test)."""
    from pybpf.netns import VethPair

    need_kernel()
    with VethPair(prefix="pybpf-t") as pair:
        yield pair


@pytest.fixture(scope="session")
def vm_ready() -> None:
    """What ``pybpf vm`` boots guests with (``make vm-install``): virtme-ng
    beside this interpreter and qemu; the tests that boot VMs skip without."""
    import shutil

    from pybpf.vm.guests import vng

    try:
        vng()
    except FileNotFoundError as e:
        pytest.skip(f"{e} (make vm-install)")
    if shutil.which("qemu-system-x86_64") is None:
        pytest.skip("qemu-system-x86_64 is not installed (make vm-install)")


@pytest.fixture
def one_cpu() -> Iterator[None]:
    """Run on one CPU: the kernel reports a perf buffer CPU's losses with its next record."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(before)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)
