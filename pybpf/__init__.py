"""pybpf: load, attach and inspect eBPF programs and maps from Python, over libbpf.

import pybpf

with pybpf.load(pybpf.shipped("xdp_counter")) as obj:
    with obj.programs["xdp_count"].attach_xdp("eth0"):
        ...
        print(obj.maps["proto_stats"][0])   # one value per possible CPU
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing's own, without importing typing: start-up time (issue 17)
if TYPE_CHECKING:
    from typing import Any

    from pybpf import features
    from pybpf._attach.cgroup import cgroup_kinds
    from pybpf._attach.link import IterLink, Link, links
    from pybpf._attach.marks import Mark, StaleAttachment, stale_attachments
    from pybpf._attach.modes import SockmapKind, TcDirection, TcMode, XdpMode
    from pybpf._attach.netfilter import NfHook
    from pybpf._codecs.btf import BTF, Record
    from pybpf._codecs.codec import BytesCodec, Codec, CtypesCodec, FdCodec, IntCodec, PerCPUCodec
    from pybpf._codecs.lpm import LPMKey
    from pybpf._core.attach_enums import AttachType, LinkType, PerfEventType, SoftwareEvent
    from pybpf._core.enums import ANY, EXIST, F_LOCK, NOEXIST, MapFlags, MapType, ProgType, UpdateFlags
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
    from pybpf._core.ids import holders, pins
    from pybpf._core.mounts import (
        bpffs_mounted,
        cgroup2_root,
        mount_bpffs,
        mount_securityfs,
        mount_tracefs,
        tracefs_mounted,
        unmount,
    )
    from pybpf._core.reports import Holder, LinkInfo, MapInfo, ProgramInfo, TestRunResult
    from pybpf._events.perfbuf import PerfBuffer
    from pybpf._events.ringbuf import RingBuffer
    from pybpf._events.tracepipe import PrintkLine, TracePipe, trace_pipe
    from pybpf._events.xsk import XskBindMode, XskSocket
    from pybpf._maps.base import MapBase
    from pybpf._maps.fdmaps import FdArray, ProgArray, SockMap, socket_cookie
    from pybpf._maps.info import maps, possible_cpus
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
    from pybpf._object.program import Program, programs
    from pybpf._object.shipped import shipped, shipped_names
    from pybpf._object.stats import StatsSession, enable_stats
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

# Where each public name is defined.  pybpf imports a module when one of its
# names is first used (PEP 562), so that a script pays only for what it uses:
# loading and attaching an XDP program never imports the event readers, the
# map families it has no map of, the probes or the compiler (which brings
# subprocess, hashlib and tempfile).
_HOMES: dict[str, tuple[str, ...]] = {
    "pybpf._attach.cgroup": ("cgroup_kinds",),
    "pybpf._attach.link": ("IterLink", "Link", "links"),
    "pybpf._attach.marks": ("Mark", "StaleAttachment", "stale_attachments"),
    "pybpf._attach.netfilter": ("NfHook",),
    "pybpf._attach.modes": ("SockmapKind", "TcDirection", "TcMode", "XdpMode"),
    "pybpf._codecs.btf": ("BTF", "Record"),
    "pybpf._codecs.codec": ("BytesCodec", "Codec", "CtypesCodec", "FdCodec", "IntCodec", "PerCPUCodec"),
    "pybpf._codecs.lpm": ("LPMKey",),
    "pybpf._core.attach_enums": ("AttachType", "LinkType", "PerfEventType", "SoftwareEvent"),
    "pybpf._core.enums": ("ANY", "EXIST", "F_LOCK", "NOEXIST", "MapFlags", "MapType", "ProgType", "UpdateFlags"),
    "pybpf._core.errors": (
        "BPFError",
        "BPFFileExistsError",
        "BPFFileNotFoundError",
        "BPFIndexError",
        "BPFKeyError",
        "BPFPermissionError",
        "BPFValueError",
        "NotSupportedError",
        "VerifierError",
    ),
    "pybpf._core.ffi": ("libbpf_version",),
    "pybpf._core.ids": ("holders", "pins"),
    "pybpf._core.reports": ("Holder", "LinkInfo", "MapInfo", "ProgramInfo", "TestRunResult"),
    "pybpf._core.mounts": (
        "bpffs_mounted",
        "cgroup2_root",
        "mount_bpffs",
        "mount_securityfs",
        "mount_tracefs",
        "tracefs_mounted",
        "unmount",
    ),
    "pybpf._events.perfbuf": ("PerfBuffer",),
    "pybpf._events.ringbuf": ("RingBuffer",),
    "pybpf._events.tracepipe": ("PrintkLine", "TracePipe", "trace_pipe"),
    "pybpf._events.xsk": ("XskBindMode", "XskSocket"),
    "pybpf._maps.base": ("MapBase",),
    "pybpf._maps.fdmaps": ("FdArray", "ProgArray", "SockMap", "socket_cookie"),
    "pybpf._maps.info": ("maps", "possible_cpus"),
    "pybpf._maps.keyless": ("BloomFilter", "KeylessMap", "QueueMap"),
    "pybpf._maps.lpm": ("LPMTrie",),
    "pybpf._maps.map": ("Map",),
    "pybpf._maps.mapinmap": ("MapOfMaps",),
    "pybpf._maps.mmap": ("MappedArray",),
    "pybpf._maps.redirect": ("CpuMap", "CpuMapValue", "DevMap", "DevMapValue"),
    "pybpf._maps.stacks": ("BuildIdFrame", "StackTraceMap"),
    "pybpf._maps.storage": ("LocalStorage",),
    "pybpf._maps.structops": ("StructOpsMap",),
    "pybpf._object.data": ("GlobalData",),
    "pybpf._object.object": ("BPFObject", "load"),
    "pybpf._object.program": ("Program", "programs"),
    "pybpf._object.shipped": ("shipped", "shipped_names"),
    "pybpf._object.stats": ("StatsSession", "enable_stats"),
    "pybpf.build.compiler": ("compile", "CompileError"),
}
_HOME = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    if name == "features":  # a submodule: importing it sets the attribute
        __import__("pybpf.features")
        return globals()["features"]
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'pybpf' has no attribute {name!r}")
    value = getattr(__import__(module, fromlist=[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME, "features"})
