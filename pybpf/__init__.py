"""pybpf: load, attach and inspect eBPF programs and maps from Python, over libbpf.

import pybpf

with pybpf.load(pybpf.shipped("xdp_counter")) as obj:
    with obj.programs["xdp_count"].attach_xdp("eth0"):
        ...
        print(obj.maps["proto_stats"][0])   # one value per possible CPU
"""

from types import FunctionType
from typing import TYPE_CHECKING, Any

from pybpf import features
from pybpf._attach.cgroup import cgroup_kinds
from pybpf._attach.link import IterLink, Link, LinkInfo, links
from pybpf._attach.marks import Mark, StaleAttachment, stale_attachments
from pybpf._attach.netfilter import NfHook
from pybpf._attach.socket import SockmapKind
from pybpf._attach.tc import TcDirection, TcMode
from pybpf._codecs.btf import BTF, Record
from pybpf._codecs.codec import BytesCodec, Codec, CtypesCodec, FdCodec, IntCodec, LPMKey, PerCPUCodec
from pybpf._core.enums import (
    ANY,
    EXIST,
    F_LOCK,
    NOEXIST,
    AttachType,
    LinkType,
    MapFlags,
    MapType,
    PerfEventType,
    ProgType,
    SoftwareEvent,
    UpdateFlags,
)
from pybpf._core.errors import (
    BPFError,
    BPFFileExistsError,
    BPFFileNotFoundError,
    BPFIndexError,
    BPFKeyError,
    BPFPermissionError,
    BPFValueError,
    NotSupportedError,
    VerifierError,
)
from pybpf._core.ffi import libbpf_version
from pybpf._core.ids import Holder, holders, pins
from pybpf._core.mounts import (
    bpffs_mounted,
    cgroup2_root,
    mount_bpffs,
    mount_securityfs,
    mount_tracefs,
    tracefs_mounted,
    unmount,
)
from pybpf._events.perfbuf import PerfBuffer
from pybpf._events.ringbuf import RingBuffer
from pybpf._events.tracepipe import PrintkLine, TracePipe, trace_pipe
from pybpf._events.xsk import XskBindMode, XskSocket
from pybpf._maps.base import MapBase
from pybpf._maps.fdmaps import FdArray, ProgArray, SockMap, socket_cookie
from pybpf._maps.info import MapInfo, maps, possible_cpus
from pybpf._maps.keyless import BloomFilter, KeylessMap, QueueMap
from pybpf._maps.lpm import LPMTrie
from pybpf._maps.map import Map
from pybpf._maps.mapinmap import MapOfMaps
from pybpf._maps.mmap import MappedArray
from pybpf._maps.redirect import CpuMap, CpuMapValue, DevMap, DevMapValue
from pybpf._maps.stacks import BuildIdFrame, StackTraceMap
from pybpf._maps.storage import LocalStorage
from pybpf._maps.structops import StructOpsMap
from pybpf._object.data import GlobalData
from pybpf._object.object import BPFObject, load
from pybpf._object.program import Program, ProgramInfo, TestRunResult, XdpMode, programs
from pybpf._object.shipped import shipped, shipped_names
from pybpf._object.stats import StatsSession, enable_stats

if TYPE_CHECKING:
    from pybpf.build.compiler import CompileError
    from pybpf.build.compiler import compile as compile  # noqa: A004  # public; see below

__version__ = "0.1.0"

__all__ = [
    "ANY",
    "AttachType",
    "BPFError",
    "BPFFileExistsError",
    "BPFFileNotFoundError",
    "BPFIndexError",
    "BPFKeyError",
    "BPFObject",
    "BPFPermissionError",
    "BPFValueError",
    "BTF",
    "CompileError",
    "BloomFilter",
    "BuildIdFrame",
    "BytesCodec",
    "Codec",
    "CpuMap",
    "CpuMapValue",
    "CtypesCodec",
    "DevMap",
    "DevMapValue",
    "EXIST",
    "F_LOCK",
    "FdArray",
    "FdCodec",
    "GlobalData",
    "Holder",
    "IntCodec",
    "LPMKey",
    "LocalStorage",
    "LPMTrie",
    "IterLink",
    "KeylessMap",
    "Link",
    "LinkInfo",
    "LinkType",
    "Map",
    "MapBase",
    "MapFlags",
    "MapInfo",
    "MapOfMaps",
    "MapType",
    "Mark",
    "MappedArray",
    "NOEXIST",
    "NfHook",
    "NotSupportedError",
    "PerCPUCodec",
    "PerfBuffer",
    "PrintkLine",
    "PerfEventType",
    "ProgArray",
    "ProgType",
    "QueueMap",
    "Program",
    "ProgramInfo",
    "Record",
    "RingBuffer",
    "SockMap",
    "SockmapKind",
    "SoftwareEvent",
    "StackTraceMap",
    "StatsSession",
    "StructOpsMap",
    "TracePipe",
    "StaleAttachment",
    "TcDirection",
    "TcMode",
    "TestRunResult",
    "UpdateFlags",
    "VerifierError",
    "XdpMode",
    "XskBindMode",
    "XskSocket",
    "enable_stats",
    "features",
    "bpffs_mounted",
    "cgroup2_root",
    "cgroup_kinds",
    "holders",
    "libbpf_version",
    "links",
    "load",
    "maps",
    "mount_bpffs",
    "mount_securityfs",
    "mount_tracefs",
    "pins",
    "possible_cpus",
    "programs",
    "shipped",
    "shipped_names",
    "stale_attachments",
    "socket_cookie",
    "trace_pipe",
    "tracefs_mounted",
    "unmount",
]

# pybpf.compile is public but not in __all__: a star import would hide the
# builtin compile().

# Public classes and functions show as pybpf.X (reprs, help(), docs), not as
# the private module that defines them.
for _name in __all__:
    _obj = globals().get(_name)
    if isinstance(_obj, (type, FunctionType)) and _obj.__module__.startswith("pybpf._"):
        _obj.__module__ = "pybpf"
del _name, _obj

# Imported on first use: the compiler brings subprocess, hashlib and tempfile,
# which loading and attaching never need.
_LAZY = {"compile": "pybpf.build.compiler", "CompileError": "pybpf.build.compiler"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pybpf' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
