"""pybpf.features: probes of the running kernel, checked against what the
kernel version says it must have."""

from __future__ import annotations

import pytest

import pybpf
from pybpf import features

pytestmark = pytest.mark.kernel

BPF_FUNC_MAP_LOOKUP_ELEM, BPF_FUNC_OVERRIDE_RETURN = 1, 58


def test_program_and_map_types() -> None:
    assert features.program_type(pybpf.ProgType.XDP) and features.map_type(pybpf.MapType.HASH)
    assert bool(features.program_type(pybpf.ProgType.NETFILTER)) == (features.kernel_version() >= (6, 4))


def test_helpers() -> None:
    assert features.helper(pybpf.ProgType.XDP, BPF_FUNC_MAP_LOOKUP_ELEM)
    assert not features.helper(pybpf.ProgType.XDP, BPF_FUNC_OVERRIDE_RETURN)  # kprobes only


def test_attach_types() -> None:
    assert features.attach_type(pybpf.AttachType.CGROUP_INET_INGRESS)
    assert features.attach_type(pybpf.AttachType.SK_MSG_VERDICT)
    assert features.attach_type(pybpf.AttachType.TCX_INGRESS) == (features.kernel_version() >= (6, 6))
    assert not features.attach_type(200)


def test_support_answers_say_why() -> None:
    for probe in (features.trampolines, features.kprobes):
        support = probe()
        assert bool(support) == support.ok
        assert support.ok or support.reason
