"""What a test needs of the kernel: the ``kernel`` and ``requires_feature``
markers, and the features they know by name.

    @pytest.mark.kernel                          # root and BPF
    @pytest.mark.kernel(min="6.6")               # ... on 6.6 or later
    @pytest.mark.requires_feature("fentry")      # probed by pybpf.features
    @pytest.mark.requires_feature("fentry", min="5.10")   # a later minimum

A test on a kernel older than its minimum skips: the kernel cannot do it.
Where the probe shows the kernel's configuration takes a feature away
(ftrace locked down, kprobes not built, a module not shipped) the test
skips with the probe's reason too.  Any other missing feature is a kernel
that should do it and does not: the test skips with that reason, and
fails under ``PYBPF_REQUIRE_KERNEL=1``.

Each feature is a :class:`Feature`: a probe and the kernel version that
brought it.  ``module:NAME`` names any kernel module (loadable or built
in); :func:`register_feature` adds a project's own.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pybpf.testing.access import REQUIRE_KERNEL_ENV, kernel_required, need_kernel

if TYPE_CHECKING:
    from pybpf.features import Support

__all__ = ["FEATURES", "Feature", "check_kernel_marker", "check_requirements", "register_feature"]


@dataclass(frozen=True)
class Feature:
    """How to probe a feature, the kernel version that brought it (``"5.5"``),
    and the fixtures the probe needs first (``"securityfs"``)."""

    probe: Callable[[], Support | bool]
    since: str
    fixtures: tuple[str, ...] = ()


def _support(available: bool, reason: str, *, forbidden: bool = False) -> Support:
    from pybpf.features import Support

    return Support(available, reason, forbidden=forbidden)


def _trampolines() -> Support | bool:
    from pybpf import features

    return features.trampolines()


def _lsm() -> Support | bool:
    from pybpf import features

    trampolines = features.trampolines()
    return trampolines if not trampolines else features.bpf_lsm()


def _kprobes() -> Support | bool:
    from pybpf import features

    return features.kprobes()


def _map_type(name: str) -> Callable[[], Support | bool]:
    def probe() -> Support | bool:
        import pybpf

        return _support(pybpf.features.map_type(pybpf.MapType[name]), f"the kernel has no {name} maps")

    return probe


def _program_type(name: str, option: str) -> Callable[[], Support | bool]:
    """A program type that a kernel configuration option brings: without it, forbidden."""

    def probe() -> Support | bool:
        import pybpf

        if pybpf.features.program_type(pybpf.ProgType[name]):
            return True
        return _support(False, f"{name} programs: the kernel is built without {option}", forbidden=True)

    return probe


def _netfilter() -> Support | bool:
    import pybpf

    if pybpf.libbpf_version() < (1, 2):
        major, minor = pybpf.libbpf_version()
        return _support(False, f"netfilter links need libbpf 1.2; this build has {major}.{minor}", forbidden=True)
    return pybpf.features.program_type(pybpf.ProgType.NETFILTER)


def _struct_ops_links() -> Support | bool:
    from pybpf import features

    return features.struct_ops_links()


def kernel_module(name: str) -> Callable[[], Support | bool]:
    """A probe for a kernel module: loaded by ``modprobe``, or built in.
    A kernel without it is configured so: forbidden."""

    def probe() -> Support | bool:
        from pybpf import features

        if subprocess.run(["modprobe", "-q", name], check=False).returncode == 0:
            return True
        builtin = Path("/lib/modules") / features.kernel_release() / "modules.builtin"
        wanted = name.replace("-", "_")  # modprobe's spelling: either
        if builtin.exists() and any(
            Path(line).name.removesuffix(".ko").replace("-", "_") == wanted for line in builtin.read_text().splitlines()
        ):
            return True
        return _support(False, f"the kernel has no {name} module", forbidden=True)

    return probe


FEATURES: dict[str, Feature] = {
    "fentry": Feature(_trampolines, "5.5"),  # fentry, fexit and freplace: BPF trampolines
    "fmod_ret": Feature(_trampolines, "5.7"),
    "lsm": Feature(_lsm, "5.7", fixtures=("securityfs",)),
    "kprobes": Feature(_kprobes, "4.1"),
    "ringbuf": Feature(_map_type("RINGBUF"), "5.8"),
    "cgroup storage": Feature(_map_type("CGRP_STORAGE"), "6.2"),
    "arena maps": Feature(_map_type("ARENA"), "6.9"),
    "struct_ops links": Feature(_struct_ops_links, "6.4"),
    "netfilter programs": Feature(_netfilter, "6.4"),
    "lirc programs": Feature(_program_type("LIRC_MODE2", "CONFIG_BPF_LIRC_MODE2"), "4.18"),
}


def register_feature(
    name: str, probe: Callable[[], Support | bool], *, since: str, fixtures: tuple[str, ...] = ()
) -> None:
    """Make ``requires_feature(name)`` known: ``probe`` returns a truthy
    value when the kernel has it (a :class:`pybpf.features.Support` with
    ``forbidden=True`` when its configuration takes it away)."""
    _version(since)
    FEATURES[name] = Feature(probe, since, fixtures)


def _version(text: str) -> tuple[int, ...]:
    if not re.fullmatch(r"\d+(\.\d+)*", text):
        raise ValueError(f"a kernel version such as '6.6', not {text!r}")
    return tuple(int(part) for part in text.split("."))


def _feature(name: str) -> Feature:
    if name.startswith("module:"):
        return Feature(kernel_module(name.removeprefix("module:")), "0")
    try:
        return FEATURES[name]
    except KeyError:
        known = ", ".join(sorted(FEATURES))
        raise pytest.UsageError(
            f"requires_feature({name!r}): unknown feature; known: {known}, module:NAME, "
            "or pybpf.testing.register_feature()"
        ) from None


def _release() -> tuple[str, tuple[int, int]]:
    from pybpf import features

    return features.kernel_release(), features.kernel_version()


def check_kernel_marker(mark: pytest.Mark) -> None:
    """``@pytest.mark.kernel`` / ``kernel(min="6.6")``: need BPF, and skip below ``min``."""
    need_kernel()
    minimum = mark.kwargs.get("min")
    if minimum is not None:
        release, version = _release()
        if version < _version(minimum):
            pytest.skip(f"needs kernel {minimum}; this is {release}")


def check_requirements(request: pytest.FixtureRequest) -> None:
    """Apply the running test's ``kernel`` and ``requires_feature`` markers."""
    for mark in request.node.iter_markers("kernel"):
        check_kernel_marker(mark)
    for mark in request.node.iter_markers("requires_feature"):
        if len(mark.args) != 1 or not isinstance(mark.args[0], str):
            raise pytest.UsageError(f"requires_feature takes one feature name, not {mark.args!r}")
        need_kernel()
        _check_feature(mark.args[0], mark.kwargs.get("min"), request)


def _check_feature(name: str, minimum: str | None, request: pytest.FixtureRequest) -> None:
    feature = _feature(name)
    since = minimum or feature.since
    release, version = _release()
    if version < _version(since):
        pytest.skip(f"{name} needs kernel {since}; this is {release}")
    for fixture in feature.fixtures:
        request.getfixturevalue(fixture)
    support = feature.probe()
    if support:
        return
    reason = getattr(support, "reason", "") or "the probe says no"
    if getattr(support, "forbidden", False):
        pytest.skip(f"{name}: {reason} ({release})")
    message = f"{name} should work on {release} (it came in {since}), but it does not: {reason}"
    if kernel_required():
        pytest.fail(f"{message} ({REQUIRE_KERNEL_ENV}=1)", pytrace=False)
    pytest.skip(message)
