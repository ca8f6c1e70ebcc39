"""What the kernel says about maps: ``MapInfo`` of one map, ``maps()`` for all
of them, and the number of possible CPUs that sizes per-CPU values."""

from __future__ import annotations

from pybpf._core.enums import MapType
from pybpf._core.errors import check
from pybpf._core.ffi import ffi, lib
from pybpf._core.ids import walk_ids
from pybpf._core.public import public

TYPE_CHECKING = False  # typing's own, without importing typing: start-up time (issue 17)
if TYPE_CHECKING:
    from typing import Any

    from pybpf._core.reports import MapInfo

__all__ = ["map_info", "map_type", "maps", "possible_cpus"]

_ncpus: int | None = None


@public
def possible_cpus() -> int:
    """The number of possible CPUs: the number of slots of a per-CPU value."""
    global _ncpus
    if _ncpus is None:
        _ncpus = check(lib.libbpf_num_possible_cpus(), "count possible CPUs")
    return _ncpus


def info_of(info: Any) -> MapInfo:
    """A ``MapInfo`` of the kernel's ``struct bpf_map_info``."""
    from pybpf._core.reports import MapInfo  # here, not at import: typing.NamedTuple (start-up time)

    return MapInfo(
        id=info.id,
        name=ffi.string(info.name).decode(errors="replace"),
        type=map_type(info.type),
        key_size=info.key_size,
        value_size=info.value_size,
        max_entries=info.max_entries,
        flags=info.map_flags,
        btf_id=info.btf_id,
        btf_key_type_id=info.btf_key_type_id,
        btf_value_type_id=info.btf_value_type_id,
        map_extra=info.map_extra,
    )


def map_info(fd: int, what: str) -> Any:
    """The kernel's ``struct bpf_map_info`` of a map fd."""
    info = ffi.new("struct bpf_map_info *")
    size = ffi.new("__u32 *", ffi.sizeof("struct bpf_map_info"))
    check(lib.bpf_obj_get_info_by_fd(fd, info, size), f"read info of {what}")
    return info


def map_type(value: int) -> MapType:
    """The ``MapType`` of a kernel value (UNSPEC for a type newer than pybpf)."""
    try:
        return MapType(value)
    except ValueError:
        return MapType.UNSPEC


@public
def maps() -> list[MapInfo]:
    """Every map in the kernel (all processes), by id: what ``bpftool map list`` shows.

    Maps that go away while this runs are skipped.
    """
    return [info_of(map_info(fd, f"map id {map_id}")) for map_id, fd in walk_ids("map")]
