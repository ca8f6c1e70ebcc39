"""``@requires_kernel_feature(name, min=...)``: the kernel feature a test needs
and the kernel version it came in, probed when the test is set up.

Below the minimum version the test skips.  At or above it, a kernel without
the feature fails the test, unless the probe shows the kernel's configuration
takes it away (ftrace lockdown, kprobes not built, the BPF LSM not enabled at
boot): then it skips with the probe's reason.  conftest's ``_kernel_gate``
applies the marker.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import pybpf
from pybpf.features import Support


@dataclass(frozen=True)
class Feature:
    """How to probe one feature, and the fixtures the probe needs first."""

    probe: Callable[[], Support | bool]
    fixtures: tuple[str, ...] = ()


def _lsm() -> Support:
    trampolines = pybpf.features.trampolines()
    return trampolines if not trampolines else pybpf.features.bpf_lsm()


def _netfilter() -> Support:
    if not pybpf._core.ffi.HAS_NETFILTER:
        major, minor = pybpf.libbpf_version()
        return Support(False, f"netfilter links need libbpf 1.2; this build has {major}.{minor}", forbidden=True)
    return Support(bool(pybpf.features.program_type(pybpf.ProgType.NETFILTER)), "no NETFILTER program type")


def _built_in(kind: pybpf.ProgType, option: str) -> Callable[[], Support]:
    """A program type that a kernel configuration option brings."""

    def probe() -> Support:
        if pybpf.features.program_type(kind):
            return Support(True)
        return Support(False, f"{kind.name} programs: the kernel is built without {option}", forbidden=True)

    return probe


def _kernel_module(name: str, what: str) -> Callable[[], Support]:
    """A probe for a kernel module: loadable (modprobe) or built in."""

    def probe() -> Support:
        if subprocess.run(["modprobe", "-q", name], check=False).returncode == 0:
            return Support(True)
        builtin = Path("/lib/modules") / pybpf.features.kernel_release() / "modules.builtin"
        if builtin.exists() and f"/{name}.ko" in builtin.read_text():
            return Support(True)
        return Support(False, f"{what}: the kernel has no {name} module", forbidden=True)

    return probe


FEATURES = {
    "fentry": Feature(pybpf.features.trampolines),  # and fexit, fmod_ret: BPF trampolines
    "lsm": Feature(_lsm, fixtures=("securityfs",)),
    "kprobes": Feature(pybpf.features.kprobes),
    "cgroup storage": Feature(lambda: pybpf.features.map_type(pybpf.MapType.CGRP_STORAGE)),
    "arena maps": Feature(lambda: pybpf.features.map_type(pybpf.MapType.ARENA)),
    "act_bpf": Feature(_kernel_module("act_bpf", "tc BPF actions")),
    "netfilter programs": Feature(_netfilter),
    "nbd": Feature(_kernel_module("nbd", "the writable nbd_send_request tracepoint")),
    "rc-loopback": Feature(_kernel_module("rc-loopback", "a LIRC device to receive IR on")),
    "lirc programs": Feature(_built_in(pybpf.ProgType.LIRC_MODE2, "CONFIG_BPF_LIRC_MODE2")),
}


def requires_kernel_feature(name: str, *, min: str) -> pytest.MarkDecorator:  # min: as the decorator reads
    """Mark a test as needing the kernel feature ``name`` (a key of FEATURES),
    which came in kernel ``min`` ("5.5")."""
    if name not in FEATURES:
        raise ValueError(f"unknown kernel feature {name!r}: add its probe to FEATURES")
    return pytest.mark.kernel_feature(name, min=min)


def check_feature(name: str, min_kernel: str, request: pytest.FixtureRequest) -> None:
    """Skip or fail the running test as the docstring of this module says."""
    feature = FEATURES[name]
    for fixture in feature.fixtures:
        request.getfixturevalue(fixture)
    support = feature.probe()
    if support:
        return
    release = pybpf.features.kernel_release()
    reason = support.reason if isinstance(support, Support) else "the probe says no"
    if isinstance(support, Support) and support.forbidden:
        pytest.skip(f"{name}: {reason} ({release})")
    needed = tuple(int(part) for part in min_kernel.split("."))
    if pybpf.features.kernel_version() >= needed:
        pytest.fail(f"{name} should work on {release} (it came in {min_kernel}), but it does not: {reason}")
    pytest.skip(f"{name} needs kernel {min_kernel}; this is {release}")
