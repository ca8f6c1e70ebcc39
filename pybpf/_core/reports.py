"""What the kernel reports about its objects and runs, as named tuples: a
map's info (``MapInfo``), a program's (``ProgramInfo``), a link's
(``LinkInfo``), a process holding one (``Holder``), and a test run's result
(``TestRunResult``).

This module does not postpone its annotations (no ``from __future__ import
annotations``), so they stay valid at run time on Python 3.9 (``Union``, not
``|``): ``typing.NamedTuple`` compiles each field's annotation that is a
string, and the first ``compile()`` of a process costs about 3 ms (CPython
creates its AST types then), a tenth of what loading a program imports.
"""

from typing import Any, NamedTuple, Union

from pybpf._core.attach_enums import LinkType
from pybpf._core.enums import MapType, ProgType
from pybpf._core.public import public

__all__ = ["Holder", "LinkInfo", "MapInfo", "ProgramInfo", "TestRunResult"]


@public
class MapInfo(NamedTuple):
    """The kernel's description of a live map (``struct bpf_map_info``)."""

    id: int
    name: str
    type: MapType
    key_size: int
    value_size: int
    max_entries: int
    flags: int
    btf_id: int
    """The id of the map's BTF object (0: none); ``btf_key_type_id`` and
    ``btf_value_type_id`` are type ids in it."""
    btf_key_type_id: int
    btf_value_type_id: int
    map_extra: int = 0
    """The type's extra parameter (BLOOM_FILTER: hash functions; 0 before 5.16)."""


@public
class ProgramInfo(NamedTuple):
    """What the kernel reports about a loaded program (``Program.info()``)."""

    id: int
    name: str
    type: Union[ProgType, int]
    tag: str
    """The hash of the program's instructions, as ``bpftool prog`` shows it."""
    run_count: int
    """Runs counted while ``pybpf.enable_stats()`` was on."""
    run_time_ns: int
    """Time spent in those runs."""
    verified_instructions: int
    """Instructions the verifier processed (0 before 5.16)."""
    map_ids: tuple[int, ...]
    translated_size: int
    """Bytes of the translated (xlated) program."""
    jited_size: int
    load_time_ns: int
    """When it was loaded, in nanoseconds since boot."""


@public
class LinkInfo(NamedTuple):
    """What the kernel reports about a link (``Link.info()``, ``pybpf.links()``)."""

    id: int
    type: Union[LinkType, int]
    prog_id: int
    """The id of the program it attaches (``Program.from_id`` opens it)."""
    target: dict[str, str]
    """Where it attaches, as the kernel's fdinfo of the link says it, by
    link type: ``ifindex`` (XDP, tcx, netkit), ``cgroup_id`` and
    ``attach_type`` (cgroups), ``tp_name`` (raw tracepoints),
    ``target_obj_id`` and ``target_btf_id`` (tracing) ... (empty without procfs)."""


@public
class Holder(NamedTuple):
    """A process holding a BPF object through an fd (bpftool's ``pids``)."""

    pid: int
    comm: str


@public
class TestRunResult(NamedTuple):
    """What ``Program.test_run`` got back from ``BPF_PROG_TEST_RUN``."""

    retval: int
    """The program's return value (e.g. an XDP action)."""
    data_out: bytes
    """The packet as the program left it."""
    duration: int
    """Average run time per repetition, in nanoseconds."""
    ctx_out: Any = None
    """The context as the program left it: bytes, or an instance of the type
    of the ``ctx`` passed in (None without one)."""
