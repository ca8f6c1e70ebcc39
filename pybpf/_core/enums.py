"""Kernel enums and flags of maps and programs (values from the kernel's uapi
``linux/bpf.h``); those of attachments are in :mod:`pybpf._core.attach_enums`.

They are written out here rather than read from the C headers because the
headers Debian ships can be older than the running kernel; the values are
kernel ABI and never change.
"""

from __future__ import annotations

import enum

from pybpf._core.public import public

__all__ = [
    "ANY",
    "EXIST",
    "F_LOCK",
    "NOEXIST",
    "MapFlags",
    "MapType",
    "ProgType",
    "UpdateFlags",
]


@public
class MapType(enum.IntEnum):
    """``enum bpf_map_type``."""

    UNSPEC = 0
    HASH = 1
    ARRAY = 2
    PROG_ARRAY = 3
    PERF_EVENT_ARRAY = 4
    PERCPU_HASH = 5
    PERCPU_ARRAY = 6
    STACK_TRACE = 7
    CGROUP_ARRAY = 8
    LRU_HASH = 9
    LRU_PERCPU_HASH = 10
    LPM_TRIE = 11
    ARRAY_OF_MAPS = 12
    HASH_OF_MAPS = 13
    DEVMAP = 14
    SOCKMAP = 15
    CPUMAP = 16
    XSKMAP = 17
    SOCKHASH = 18
    CGROUP_STORAGE = 19
    REUSEPORT_SOCKARRAY = 20
    PERCPU_CGROUP_STORAGE = 21
    QUEUE = 22
    STACK = 23
    SK_STORAGE = 24
    DEVMAP_HASH = 25
    STRUCT_OPS = 26
    RINGBUF = 27
    INODE_STORAGE = 28
    TASK_STORAGE = 29
    BLOOM_FILTER = 30
    USER_RINGBUF = 31
    CGRP_STORAGE = 32
    ARENA = 33

    @property
    def is_percpu(self) -> bool:
        """Whether a value holds one slot per possible CPU."""
        return self in _PERCPU

    @property
    def is_array(self) -> bool:
        """Whether keys are indexes 0..max_entries-1 that always exist."""
        return self in (MapType.ARRAY, MapType.PERCPU_ARRAY)


_PERCPU = frozenset({MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_PERCPU_HASH, MapType.PERCPU_CGROUP_STORAGE})


@public
class ProgType(enum.IntEnum):
    """``enum bpf_prog_type``."""

    UNSPEC = 0
    SOCKET_FILTER = 1
    KPROBE = 2
    SCHED_CLS = 3
    SCHED_ACT = 4
    TRACEPOINT = 5
    XDP = 6
    PERF_EVENT = 7
    CGROUP_SKB = 8
    CGROUP_SOCK = 9
    LWT_IN = 10
    LWT_OUT = 11
    LWT_XMIT = 12
    SOCK_OPS = 13
    SK_SKB = 14
    CGROUP_DEVICE = 15
    SK_MSG = 16
    RAW_TRACEPOINT = 17
    CGROUP_SOCK_ADDR = 18
    LWT_SEG6LOCAL = 19
    LIRC_MODE2 = 20
    SK_REUSEPORT = 21
    FLOW_DISSECTOR = 22
    CGROUP_SYSCTL = 23
    RAW_TRACEPOINT_WRITABLE = 24
    CGROUP_SOCKOPT = 25
    TRACING = 26
    STRUCT_OPS = 27
    EXT = 28
    LSM = 29
    SK_LOOKUP = 30
    SYSCALL = 31
    NETFILTER = 32


@public
class MapFlags(enum.IntFlag):
    """Map creation flags (``BPF_F_*``), for ``Map.create(..., flags=)``."""

    NO_PREALLOC = 1 << 0
    NO_COMMON_LRU = 1 << 1
    NUMA_NODE = 1 << 2
    RDONLY = 1 << 3
    WRONLY = 1 << 4
    STACK_BUILD_ID = 1 << 5
    ZERO_SEED = 1 << 6
    RDONLY_PROG = 1 << 7
    WRONLY_PROG = 1 << 8
    CLONE = 1 << 9
    MMAPABLE = 1 << 10
    PRESERVE_ELEMS = 1 << 11
    INNER_MAP = 1 << 12
    LINK = 1 << 13  # STRUCT_OPS: registered by a BPF link, which ends with its last fd (6.4)


@public
class UpdateFlags(enum.IntFlag):
    """Flags of a map update (``BPF_ANY`` ...), as ``Map.set(..., flags=)`` takes them."""

    ANY = 0
    """Create the entry or replace it."""
    NOEXIST = 1
    """Create only: an existing key raises ``FileExistsError`` (EEXIST)."""
    EXIST = 2
    """Replace only: a missing key raises ``KeyError`` (ENOENT)."""
    F_LOCK = 4
    """Update under the value's ``bpf_spin_lock`` (EINVAL if it has none)."""


ANY = UpdateFlags.ANY
NOEXIST = UpdateFlags.NOEXIST
EXIST = UpdateFlags.EXIST
F_LOCK = UpdateFlags.F_LOCK
