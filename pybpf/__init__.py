"""pybpf: load, attach and inspect eBPF programs and maps from Python, over libbpf.

import pybpf

with pybpf.load(pybpf.shipped("xdp_counter")) as obj:
    with obj.programs["xdp_count"].attach_xdp("eth0"):
        ...
        print(obj.maps["proto_stats"][0])   # one value per possible CPU
"""

from pybpf import features
from pybpf._attach_cgroup import cgroup_kinds
from pybpf._attach_netfilter import NfHook
from pybpf._btf import Record
from pybpf._codecs import BytesCodec, Codec, CtypesCodec, FdCodec, IntCodec, LPMKey, PerCPUCodec
from pybpf._data import GlobalData
from pybpf._errors import (
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
from pybpf._fdmaps import FdArray, ProgArray, SockMap, socket_cookie
from pybpf._ffi import libbpf_version
from pybpf._keyless import BloomFilter, QueueMap
from pybpf._link import IterLink, Link, LinkInfo
from pybpf._lpm import LPMTrie
from pybpf._map import Map, MapInfo, maps, possible_cpus
from pybpf._mapinmap import MapOfMaps
from pybpf._mmap import MappedArray
from pybpf._mounts import bpffs_mounted, mount_bpffs, mount_securityfs, mount_tracefs, tracefs_mounted
from pybpf._object import BPFObject, load
from pybpf._perfbuf import PerfBuffer
from pybpf._program import Program, ProgramInfo, TestRunResult
from pybpf._redirect import CpuMap, CpuMapValue, DevMap, DevMapValue
from pybpf._ringbuf import RingBuffer
from pybpf._shipped import shipped, shipped_names
from pybpf._stacks import BuildIdFrame, StackTraceMap
from pybpf._stats import StatsSession, enable_stats
from pybpf._storage import LocalStorage
from pybpf._types import (
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
from pybpf._xsk import XskSocket

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
    "IntCodec",
    "LPMKey",
    "LocalStorage",
    "LPMTrie",
    "IterLink",
    "Link",
    "LinkInfo",
    "LinkType",
    "Map",
    "MapFlags",
    "MapInfo",
    "MapOfMaps",
    "MapType",
    "MappedArray",
    "NOEXIST",
    "NfHook",
    "NotSupportedError",
    "PerCPUCodec",
    "PerfBuffer",
    "PerfEventType",
    "ProgArray",
    "ProgType",
    "QueueMap",
    "Program",
    "ProgramInfo",
    "Record",
    "RingBuffer",
    "SockMap",
    "SoftwareEvent",
    "StackTraceMap",
    "StatsSession",
    "TestRunResult",
    "UpdateFlags",
    "VerifierError",
    "XskSocket",
    "enable_stats",
    "features",
    "bpffs_mounted",
    "cgroup_kinds",
    "libbpf_version",
    "load",
    "maps",
    "mount_bpffs",
    "mount_securityfs",
    "mount_tracefs",
    "possible_cpus",
    "shipped",
    "shipped_names",
    "socket_cookie",
    "tracefs_mounted",
]
