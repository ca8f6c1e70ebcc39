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


# -- per-symbol probes -------------------------------------------------------------------


def test_tracepoint_exists() -> None:
    assert features.tracepoint_exists("sched", "sched_switch")
    missing = features.tracepoint_exists("sched", "pybpf_nope")
    assert not missing and "no tracepoint 'pybpf_nope' in 'sched'" in missing.reason
    assert "no tracepoint category 'pybpf_nope'" in features.tracepoint_exists("pybpf_nope", "x").reason
    assert not features.tracepoint_exists("..", "sched")


def test_kprobe_exists() -> None:
    built = features.kprobes()
    present = features.kprobe_exists("do_sys_openat2")
    if not built:  # this host: the probe's reason, not a guess about the function
        assert not present and present.reason == built.reason and present.forbidden
        return
    assert present
    missing = features.kprobe_exists("pybpf_no_such_function")
    assert not missing and "no function 'pybpf_no_such_function'" in missing.reason


def test_fentry_can_attach() -> None:
    missing = features.fentry_can_attach("pybpf_no_such_function")
    assert not missing and "BTF has no function" in missing.reason
    present = features.fentry_can_attach("do_sys_openat2")
    allowed = features.trampolines()
    assert bool(present) == bool(allowed)
    if not allowed:
        assert present.reason == allowed.reason


def test_kfunc_exists() -> None:
    assert features.kfunc_exists("tcp_reno_ssthresh")  # a congestion-control kfunc since 5.13
    missing = features.kfunc_exists("pybpf_no_such_kfunc")
    assert not missing and "pybpf_no_such_kfunc" in missing.reason
    plain = features.kfunc_exists("schedule")  # a kernel function, not a kfunc
    if features._kfuncs()[1]:  # the kernel's BTF tags kfuncs: an exact answer
        assert not plain
    else:
        assert plain and "does not tag kfuncs" in plain.reason
