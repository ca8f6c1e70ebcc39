"""Whether this process can use BPF at all, and what a test does when it cannot.

Probed once per process: root (or the capabilities), a kernel with BTF, and
a map the kernel agrees to create.  Without them a kernel test skips with
the reason; with ``PYBPF_REQUIRE_KERNEL=1`` (CI, a VM run) it fails, so
that a machine that lost its privileges cannot pass by skipping.
"""

from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path

import pytest

__all__ = ["REQUIRE_KERNEL_ENV", "kernel_required", "kernel_unusable", "need_kernel"]

REQUIRE_KERNEL_ENV = "PYBPF_REQUIRE_KERNEL"


def kernel_required() -> bool:
    """Whether skips for lack of a kernel must fail (``PYBPF_REQUIRE_KERNEL=1``)."""
    return os.environ.get(REQUIRE_KERNEL_ENV) == "1"


@functools.cache
def kernel_unusable() -> str | None:
    """None if this process can load BPF, else why not (for a skip reason)."""
    import pybpf

    if not Path("/sys/kernel/btf/vmlinux").exists():
        return "the kernel has no BTF (/sys/kernel/btf/vmlinux)"
    try:
        with warnings.catch_warnings():  # "created without BTF": the refusal below says it all
            warnings.simplefilter("ignore")
            pybpf.Map.create(pybpf.MapType.ARRAY, key_size=4, value_size=4, max_entries=1, name="pybpf_probe").close()
    except pybpf.BPFError as exc:
        who = "" if os.geteuid() == 0 else " (not running as root)"
        return f"cannot create a BPF map{who}: {exc}"
    return None


def need_kernel() -> None:
    """Skip the running test (fail it under ``PYBPF_REQUIRE_KERNEL=1``) unless BPF is usable here."""
    reason = kernel_unusable()
    if reason is None:
        return
    message = f"needs a kernel with BPF: {reason}"
    if kernel_required():
        pytest.fail(f"{message} ({REQUIRE_KERNEL_ENV}=1)", pytrace=False)
    pytest.skip(message)
