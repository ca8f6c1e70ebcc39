"""What the running kernel supports, probed once and cached.

The library's errors and the test suite ask here instead of guessing from
the kernel version: distributions backport features, and configurations
(lockdown, missing modules) take them away.
"""

from __future__ import annotations

import functools
import os
import re

from pybpf._errors import check
from pybpf._ffi import ffi, lib
from pybpf._types import MapType, ProgType

__all__ = ["kernel_release", "kernel_version", "map_type", "program_type"]


@functools.lru_cache(maxsize=None)
def map_type(kind: MapType) -> bool:
    """Whether the kernel can create maps of type ``kind`` (libbpf's probe)."""
    return bool(check(lib.libbpf_probe_bpf_map_type(int(kind), ffi.NULL), f"probe map type {kind.name}"))


@functools.lru_cache(maxsize=None)
def program_type(kind: ProgType) -> bool:
    """Whether the kernel can load programs of type ``kind`` (libbpf's probe)."""
    return bool(check(lib.libbpf_probe_bpf_prog_type(int(kind), ffi.NULL), f"probe program type {kind.name}"))


def kernel_release() -> str:
    """``uname -r`` of the running kernel."""
    return os.uname().release


def kernel_version() -> tuple[int, int]:
    """(major, minor) of the running kernel."""
    match = re.match(r"(\d+)\.(\d+)", kernel_release())
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)
