"""The pytest plugin (entry point ``pytest11``: active wherever pybpf is
installed): fixtures, the ``kernel`` and ``requires_feature`` markers, and
the leak guard.  ``pybpf.testing``'s docstring is the user's guide.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pybpf.testing.access import need_kernel
from pybpf.testing.requirements import check_requirements

# pybpf itself is imported by the hooks and fixtures that use it: pytest
# loads this plugin in every run where pybpf is installed.
if TYPE_CHECKING:
    from pybpf import BPFObject
    from pybpf.netns import NetNamespace, VethPair
    from pybpf.testing.cgroups import Cgroup
    from pybpf.testing.leaks import Snapshot

MARKERS = (
    "kernel(min=None): needs root and a kernel with BPF, at least version min ('6.6'); skips without "
    "(fails with PYBPF_REQUIRE_KERNEL=1)",
    "requires_feature(name, min=None): needs a kernel feature probed by pybpf.features "
    "(pybpf.testing.FEATURES, or module:NAME); see pybpf.testing",
    "allow_leaks(reason): the pybpf leak guard does not check this test",
    "host_only(reason): the kernel does not change its outcome: deselected inside pybpf vm guests",
)
_SNAPSHOT: pytest.StashKey[Snapshot] = pytest.StashKey()
_LAST: pytest.StashKey[Snapshot] = pytest.StashKey()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pybpf")
    group.addoption(
        "--pybpf-no-leak-guard",
        action="store_true",
        help="do not check what each test leaves behind (BPF objects, pins, namespaces, cgroups, fds)",
    )
    group.addoption(
        "--pybpf-kernels",
        metavar="KERNELS",
        help="run this pytest command in VMs instead, one per kernel (comma-separated Debian series such as "
        "6.1,7.3, names of kernels built by `pybpf vm build-kernel`, or image paths): pybpf vm",
    )
    parser.addini("pybpf_leak_guard", "check what each test leaves behind (default: true)", type="bool", default=True)


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """With ``--pybpf-kernels``: this same command, in a VM per kernel."""
    kernels = config.getoption("pybpf_kernels")
    if not kernels or os.environ.get("PYBPF_VM_KERNEL"):  # inside a guest (addopts): run here
        return None
    from pybpf import vm

    args, skip = [], False
    for arg in config.invocation_params.args:
        if skip:
            skip = False
        elif arg == "--pybpf-kernels":
            skip = True
        elif not arg.startswith("--pybpf-kernels="):
            args.append(str(arg))
    try:
        return vm.run(kernels.split(","), [sys.executable, "-m", "pytest", *args])
    except (LookupError, OSError, RuntimeError, ValueError) as exc:  # a kernel not found, virtme-ng missing
        print(f"pytest --pybpf-kernels: {exc}", file=sys.stderr)
        return int(pytest.ExitCode.USAGE_ERROR)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Inside a ``pybpf vm`` guest, leave out the ``host_only`` tests."""
    if not os.environ.get("PYBPF_VM_KERNEL"):
        return
    dropped = [item for item in items if item.get_closest_marker("host_only") is not None]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item.get_closest_marker("host_only") is None]


def _guarded(item: pytest.Item) -> bool:
    config = item.config
    if config.getoption("pybpf_no_leak_guard") or not config.getini("pybpf_leak_guard"):
        return False
    return item.get_closest_marker("allow_leaks") is None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    yield  # the fixtures, then the snapshot: what they hold is not the test's
    if _guarded(item):
        from pybpf.testing.leaks import Snapshot

        snapshot = Snapshot.take(item.session.stash.get(_LAST, None))
        item.stash[_SNAPSHOT] = item.session.stash[_LAST] = snapshot
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
    yield
    before = item.stash.get(_SNAPSHOT, None)
    if before is None:  # setup failed or skipped, or not guarded
        return None
    from pybpf.testing.leaks import leaks_since, remove_leaks

    leaks = leaks_since(before)
    if leaks:
        failed = remove_leaks(leaks)
        lines = "\n".join(f"  - {leak}" for leak in leaks)
        removed = "pins, namespaces and cgroups among them were removed"
        if failed:
            removed += "; these were not: " + "; ".join(failed)
        pytest.fail(
            f"pybpf leak guard: {item.nodeid} left behind:\n{lines}\n({removed}; "
            "@pytest.mark.allow_leaks(reason) exempts a test)",
            pytrace=False,
        )
    return None


@pytest.fixture(autouse=True)
def _pybpf_requirements(request: pytest.FixtureRequest) -> None:
    """Applies the ``kernel`` and ``requires_feature`` markers."""
    check_requirements(request)


# -- fixtures ----------------------------------------------------------------


def _mounted(mount: Callable[[str], bool], path: str) -> Iterator[str]:
    need_kernel()
    mounted = mount(path)
    try:
        yield path
    finally:
        if mounted:
            subprocess.run(["umount", path], check=False)


@pytest.fixture(scope="session")
def tracefs() -> Iterator[str]:
    """tracefs at /sys/kernel/tracing, mounted for the session if it was not."""
    import pybpf

    yield from _mounted(pybpf.mount_tracefs, "/sys/kernel/tracing")


@pytest.fixture(scope="session")
def securityfs() -> Iterator[str]:
    """securityfs at /sys/kernel/security (where the active LSMs are listed)."""
    import pybpf

    yield from _mounted(pybpf.mount_securityfs, "/sys/kernel/security")


@pytest.fixture(scope="session")
def _pybpf_bpffs_mount() -> Iterator[str]:
    import pybpf

    yield from _mounted(pybpf.mount_bpffs, "/sys/fs/bpf")


@pytest.fixture
def bpffs(_pybpf_bpffs_mount: str) -> Iterator[Path]:
    """A private directory on bpffs to pin under, emptied and removed after the test."""
    path = Path(_pybpf_bpffs_mount) / f"pybpf-test-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def netns() -> Iterator[NetNamespace]:
    """A new network namespace with ``lo`` up: ``with netns.inside():`` runs
    a block in it, ``netns.run([...])`` a command."""
    from pybpf.netns import NetNamespace

    need_kernel()
    with NetNamespace(prefix="pybpf-t") as namespace:
        yield namespace


@pytest.fixture
def veth_pair() -> Iterator[VethPair]:
    """Two new network namespaces joined by a veth pair, addressed in IPv4
    and IPv6 (``pybpf.netns.VethPair``)."""
    from pybpf.netns import VethPair

    need_kernel()
    with VethPair(prefix="pybpf-t") as pair:
        yield pair


@pytest.fixture
def cgroup() -> Iterator[Cgroup]:
    """A new cgroup v2 (``pybpf.testing.Cgroup``); what still runs in it is killed after."""
    from pybpf.testing.cgroups import Cgroup

    need_kernel()
    with Cgroup(prefix="pybpf-t") as group:
        yield group


@pytest.fixture
def bpf_object() -> Iterator[Callable[..., BPFObject]]:
    """``bpf_object(path, prepare=None, **open_options)``: open the object
    (``BPFObject.open``), call ``prepare(obj)`` to set what must be set
    before loading (``.rodata`` constants, map sizes, autoload), load it.
    Every object it made (its programs, maps and links) is closed after
    the test."""
    import pybpf

    need_kernel()
    made: list[BPFObject] = []

    def load(
        path: str | os.PathLike[str], *, prepare: Callable[[BPFObject], object] | None = None, **options: Any
    ) -> BPFObject:
        obj = pybpf.BPFObject.open(path, **options)
        made.append(obj)
        if prepare is not None:
            prepare(obj)
        return obj.load()

    try:
        yield load
    finally:
        for obj in reversed(made):
            obj.close()
