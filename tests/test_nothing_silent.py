"""Nothing changed or lost silently (issue 13's findings 1, 2, 5 and part of
4): integers that do not fit their C type, pop_all() that cannot hand back
what it deleted, bad sizes, ids, paths and names, each refused with a clear
error before anything reaches the kernel, and the capability a refusal needs,
named."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pybpf
from pybpf import MapType

from fuzz import elf

pytestmark = pytest.mark.kernel


class Value(ctypes.Structure):
    _fields_ = [
        ("a", ctypes.c_uint32),
        ("b", ctypes.c_uint16),
        ("c", ctypes.c_uint64),
        ("s", ctypes.c_int16),
        ("flag", ctypes.c_bool),
        ("arr", ctypes.c_uint32 * 3),
        ("name", ctypes.c_char * 4),
        ("bits", ctypes.c_uint8, 3),
    ]


class Key(ctypes.Structure):
    _fields_ = [("pid", ctypes.c_uint32), ("nr", ctypes.c_uint32)]


def _map(key_type: Any = "I", value_type: Any = Value, key_size: int = 4) -> Any:
    return pybpf.Map.create(
        MapType.HASH,
        key_size=key_size,
        value_size=ctypes.sizeof(value_type) if not isinstance(value_type, str) else 8,
        max_entries=64,
        name=f"ns_{uuid.uuid4().hex[:8]}",
        key_type=key_type,
        value_type=value_type,
    )


@pytest.fixture
def values() -> Iterator[Any]:
    with _map() as m:
        yield m


@pytest.mark.parametrize(
    ("written", "field", "range_"),
    [
        ({"a": -1}, "value.a", "0..4294967295"),
        ({"b": 70000}, "value.b", "0..65535"),
        ({"c": 2**64}, "value.c", "0..18446744073709551615"),
        ({"s": -32769}, "value.s", "-32768..32767"),
        ({"flag": 2}, "value.flag", "0..1"),
        ({"arr": (1, 2, 2**32)}, r"value.arr\[2\]", "0..4294967295"),
        ({"bits": 8}, "value.bits", "0..7"),
        ((5, 70000), "value.b", "0..65535"),  # positional fields too
    ],
)
def test_an_integer_that_does_not_fit_its_field_is_refused(values: Any, written: Any, field: str, range_: str) -> None:
    with pytest.raises(ValueError, match=rf"{field}: -?\d+ does not fit its .*\({range_}\)"):
        values[1] = written
    assert len(values) == 0  # refused before the syscall: nothing was written


def test_too_many_elements_or_bytes_are_refused(values: Any) -> None:
    with pytest.raises(ValueError, match="4 elements do not fit its array of 3"):
        values[1] = {"arr": (1, 2, 3, 4)}
    with pytest.raises(ValueError, match="5 bytes do not fit its char\\[4\\]"):
        values[1] = {"name": b"abcde"}
    assert len(values) == 0


def test_the_bounds_themselves_fit_and_read_back_exactly(values: Any) -> None:
    values[1] = {"a": 2**32 - 1, "b": 65535, "c": 2**64 - 1, "s": -32768, "flag": 1, "name": b"abcd", "bits": 7}
    got = values[1]
    assert (got.a, got.b, got.c, got.s, got.flag, got.name, got.bits) == (
        2**32 - 1,
        65535,
        2**64 - 1,
        -32768,
        True,
        b"abcd",
        7,
    )
    values[2] = {"name": b"ab"}  # shorter than char[4]: zero-padded, as C would
    assert values[2].name == b"ab"


def test_a_key_that_does_not_fit_names_another_entry_no_more() -> None:
    """pid = 2**32 + 5 used to write the entry of pid 5."""
    with _map(key_type=Key, value_type="Q", key_size=8) as m:
        m[{"pid": 5, "nr": 1}] = 1
        with pytest.raises(ValueError, match=r"key.pid: 4294967301 does not fit its uint32"):
            m[{"pid": 2**32 + 5, "nr": 1}] = 2
        assert [(k.pid, k.nr, v) for k, v in m.items()] == [(5, 1, 1)]  # ctypes keys: not dict keys


def test_btf_records_check_their_fields() -> None:
    """A key built from the object's BTF (struct syscall_key of syscount):
    constructing it, assigning a field, or writing it as a dict."""
    with pybpf.load(pybpf.shipped("syscount")) as obj:
        key_type = obj.btf_type("struct syscall_key")
        with pytest.raises(ValueError, match=r"syscall_key.pid: 4294967301 does not fit its uint32"):
            key_type(pid=2**32 + 5, nr=1)
        key = key_type(pid=5, nr=1)
        with pytest.raises(ValueError, match=r"syscall_key.nr: -1 does not fit its uint32"):
            key.nr = -1
        assert (key.pid, key.nr) == (5, 1)
        counts = obj.maps["counts"]
        with pytest.raises(ValueError, match="pid: 4294967301 does not fit"):
            counts[{"pid": 2**32 + 5, "nr": 1}] = 1
        assert len(counts) == 0


def test_pop_all_refuses_unhashable_keys_before_deleting() -> None:
    with _map(key_type=Key, value_type="Q", key_size=8) as m:
        m.update_from([(Key(pid, 1), pid) for pid in range(1, 6)])
        with pytest.raises(TypeError, match="cannot be dict keys"):
            m.pop_all()
        assert len(m) == 5  # nothing was deleted


def test_pop_all_hands_back_what_it_deleted_when_decoding_fails() -> None:
    with _map(value_type="Q") as m:
        m.update_from({k: k * 10 for k in range(1, 21)})

        def broken(buf: Any, count: int, stride: int) -> list[Any]:
            raise ValueError("a value that does not decode")

        m._vcodec.decode_many = broken  # what a user value type that fails to decode would do
        with pytest.raises(pybpf.BPFValueError, match="deleted 20 entries but could not decode") as exc:
            m.pop_all()
        assert len(m) == 0  # they were deleted ...
        raw = exc.value.entries  # type: ignore[attr-defined]
        assert {int.from_bytes(k, "little"): int.from_bytes(v, "little") for k, v in raw.items()} == {
            k: k * 10 for k in range(1, 21)
        }  # ... and none is lost


def test_sizes_and_ids_that_no_kernel_field_holds_are_value_errors() -> None:
    for kwargs in ({"key_size": -1}, {"max_entries": 2**32}, {"value_size": 2**40}, {"map_extra": -1}):
        args: dict[str, Any] = {"key_size": 4, "value_size": 8, "max_entries": 4, **kwargs}
        with pytest.raises(pybpf.BPFValueError, match="is not a (32|64)-bit unsigned number"):
            pybpf.Map.create(MapType.HASH, **args)
    for bad_id in (-1, 2**40):
        with pytest.raises(pybpf.BPFValueError, match="map_id"):
            pybpf.Map.from_id(bad_id)
        with pytest.raises(pybpf.BPFValueError, match="prog_id"):
            pybpf.Program.from_id(bad_id)


def test_a_nul_in_a_path_is_refused_not_truncated(bpffs: Path) -> None:
    with _map(value_type="Q") as m:
        with pytest.raises(ValueError, match="contains a NUL byte"):
            m.pin(f"{bpffs}/cut\0here")
        assert not (bpffs / "cut").exists()
    with pytest.raises(ValueError, match="contains a NUL byte"):
        pybpf.Map.from_pinned(f"{bpffs}/cut\0here")
    with pytest.raises(ValueError, match="contains a NUL byte"):
        pybpf.BPFObject.open(f"{pybpf.shipped('syscount')}\0.o")
    assert os.listdir(bpffs) == []


@pytest.mark.requires_feature("arena maps", min="6.9")
def test_arena_maps_have_nothing_to_list() -> None:
    """ARENA maps have no keys (key and value size 0): listing them is
    NotSupportedError, not a ZeroDivisionError."""
    with pybpf.Map.create(
        MapType.ARENA, key_size=0, value_size=0, max_entries=1, flags=pybpf.MapFlags.MMAPABLE, name="ns_arena"
    ) as arena:
        for call in (len, lambda m: list(m.items()), list):
            with pytest.raises(pybpf.NotSupportedError, match="has no keys"):
                call(arena)


def test_names_that_are_not_utf8_read_as_surrogate_escapes(tmp_path: Path) -> None:
    """An object whose program and map names are not UTF-8 opens (it is
    never loaded): the names come back with surrogate escapes, find their
    program and map, and encode back to the ELF's own bytes."""
    data = Path(pybpf.shipped("syscount")).read_bytes()
    mutated = data.replace(b"count_syscalls\0", b"count_sysc\xe9lls\0").replace(b"counts\0", b"c\xffunts\0")
    path = tmp_path / "names.bpf.o"
    path.write_bytes(mutated)
    with pybpf.BPFObject.open(path) as obj:
        program = "count_sysc\udce9lls"
        assert list(obj.programs) == [program]
        assert obj.programs[program].name == program
        assert os.fsencode(program) == b"count_sysc\xe9lls"
        assert "c\udcffunts" in obj.maps


def test_walking_map_ids_names_cap_sys_admin(tmp_path: Path) -> None:
    """With CAP_BPF but without CAP_SYS_ADMIN (dropped by setpriv from
    util-linux), pybpf.maps() names the capability the kernel wants."""
    code = "import pybpf\ntry:\n    pybpf.maps()\nexcept PermissionError as exc:\n    print(exc)\n"
    proc = subprocess.run(
        ["setpriv", "--bounding-set=-sys_admin", "--inh-caps=-sys_admin", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "walking the kernel's map ids needs CAP_SYS_ADMIN" in proc.stdout, proc.stdout
    assert "CAP_BPF" not in proc.stdout


def _edited(tmp_path: Path, name: str, edit: Any) -> Path:
    path = tmp_path / f"{name}-edited.bpf.o"
    path.write_bytes(edit(Path(pybpf.shipped(name)).read_bytes()))
    return path


def test_a_btf_typedef_cycle_is_refused_at_open(tmp_path: Path) -> None:
    """``__u16`` pointed back at ``__be16``: libbpf's load would spin forever
    (libbpf/libbpf#688); open refuses it and names the chain.  In a child
    with a timeout, so that a regression fails instead of hanging the suite."""
    path = _edited(tmp_path, "xdp_counter", lambda data: elf.typedef_cycle(data, "__be16", "__u16"))
    code = "import sys, pybpf\ntry:\n    pybpf.load(sys.argv[1])\nexcept pybpf.BPFValueError as exc:\n    print(exc)\n"
    proc = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert "typedef __be16 -> typedef __u16 -> typedef __be16" in proc.stdout, proc.stdout
    assert "loop forever" in proc.stdout


def test_max_map_bytes_refuses_a_huge_map_before_the_kernel_allocates_it(tmp_path: Path) -> None:
    """An ELF declaring a 2^31-entry per-CPU array (which made the kernel
    allocate until the OOM killer struck) is refused at open with the limit
    given, and a map enlarged after open is refused at load."""
    path = _edited(tmp_path, "xdp_counter", lambda data: elf.set_max_entries(data, "proto_stats", 1 << 31))
    with pytest.raises(pybpf.BPFValueError, match=r"over max_map_bytes=1073741824 \(largest: map 'proto_stats'"):
        pybpf.BPFObject.open(path, max_map_bytes=1 << 30)
    with pybpf.BPFObject.open(pybpf.shipped("xdp_counter"), max_map_bytes=1 << 20) as obj:
        declared = obj.maps["proto_stats"].declared_bytes
        assert declared == obj.maps["proto_stats"].max_entries * (4 + 16 * pybpf.possible_cpus())
        obj.maps["src_stats"].max_entries = 1 << 24
        with pytest.raises(pybpf.BPFValueError, match=r"load object 'xdp_counter': its maps declare \d+ bytes"):
            obj.load()
        assert not obj.loaded
    with pytest.raises(pybpf.BPFValueError, match="max_map_bytes -1 is not a 64-bit unsigned number"):
        pybpf.BPFObject.open(path, max_map_bytes=-1)


def test_a_variable_outside_its_section_is_refused(tmp_path: Path) -> None:
    """BTF that places a global past its section's end: a clear error, not struct.error."""
    path = _edited(tmp_path, "syscount", lambda data: elf.widen_variable(data, "target_pid"))
    with pybpf.BPFObject.open(path) as obj:
        outside = r"BTF places 'target_pid' at bytes 0\.\.\d+, outside the section's 22 bytes"  # 4 + 16 + 1 + 1
        with pytest.raises(pybpf.BPFValueError, match=outside):
            obj.rodata["target_pid"]
        with pytest.raises(pybpf.BPFValueError, match="outside the section's 22 bytes"):
            obj.rodata["target_pid"] = 1


def test_a_damaged_file_is_not_a_missing_file(tmp_path: Path) -> None:
    """A present object without a symbol table: libbpf's ENOENT becomes a
    ValueError that says the object is damaged, with libbpf's reason."""
    path = _edited(tmp_path, "syscount", lambda data: elf.set_section_type(data, ".symtab", 1))
    with pytest.raises(pybpf.BPFValueError, match="the object is damaged") as caught:
        pybpf.BPFObject.open(path)
    assert not isinstance(caught.value, FileNotFoundError)
    assert "couldn't find symbol table" in str(caught.value)


def test_a_struct_ops_value_reads_at_the_kernels_size() -> None:
    """load() turns a STRUCT_OPS value into the kernel's larger wrapper
    struct: reads are sized by it (they overran a heap buffer by 64 bytes)."""
    with pybpf.load(pybpf.shipped("tcp_cc")) as obj:
        ops = obj.maps["pybpf_cc"]
        assert ops.value_size == ops.info().value_size > 192
        [(key, value)] = ops.items()
        assert len(value) == ops.value_size


def _run_as(setpriv: list[str], code: str, cwd: Path) -> str:
    """Run ``code`` in a child with the capabilities setpriv (util-linux) leaves it; its output."""
    proc = subprocess.run(
        ["setpriv", *setpriv, sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=cwd
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _without(*caps: str) -> list[str]:
    dropped = ",".join(f"-{cap}" for cap in caps)
    return [f"--bounding-set={dropped}", f"--inh-caps={dropped}"]


_LOAD = (
    "import sys, pybpf\n"
    "try:\n    pybpf.load(pybpf.shipped(sys.argv[1]))\n"
    "except pybpf.BPFError as e:\n    print(type(e).__name__, e)\n"
)


@pytest.mark.parametrize(
    ("dropped", "shipped", "error", "named"),
    [
        ("net_admin", "xdp_counter", "BPFPermissionError", "loading XDP programs needs CAP_NET_ADMIN"),
        ("perfmon", "syscount", "BPFPermissionError", "loading TRACEPOINT programs needs CAP_PERFMON"),
        (
            "perfmon",
            "xdp_counter",
            "VerifierError",
            "pointer arithmetic (and comparing or storing pointers) needs CAP_PERFMON",
        ),
    ],
)
def test_a_refusal_names_the_capability_this_process_lacks(
    tmp_path: Path, dropped: str, shipped: str, error: str, named: str
) -> None:
    """With CAP_BPF but without CAP_NET_ADMIN or CAP_PERFMON (and without
    CAP_SYS_ADMIN, which stands in for both): the capability is named, the
    kernel is not said to lack the program type, libbpf's ulimit advice is
    left out."""
    code = _LOAD.replace("sys.argv[1]", repr(shipped))
    out = _run_as(_without(dropped, "sys_admin"), code, tmp_path)
    assert out.startswith(error), out
    assert f"{named} (or CAP_SYS_ADMIN), which this process lacks" in out, out
    assert "this kernel has no" not in out and "ulimit" not in out, out


def test_a_probe_refused_for_a_capability_is_not_a_missing_feature(tmp_path: Path) -> None:
    code = (
        "import pybpf\n"
        "support = pybpf.features.program_type(pybpf.ProgType.XDP)\n"
        "print(bool(support), support.forbidden, support.reason)\n"
    )
    out = _run_as(_without("net_admin", "sys_admin"), code, tmp_path)
    assert out.startswith("False True loading XDP programs needs CAP_NET_ADMIN"), out


def test_tracefs_that_cannot_be_read_is_not_tracefs_missing(tracefs: str, tmp_path: Path) -> None:
    """tracefs is 0700 root's: a user with CAP_BPF and CAP_PERFMON alone is told so."""
    code = (
        "import pybpf\n"
        "with pybpf.load(pybpf.shipped('syscount')) as obj:\n"
        "    try:\n"
        "        obj.programs['count_syscalls'].attach_tracepoint('raw_syscalls', 'sys_enter')\n"
        "    except pybpf.BPFError as e:\n"
        "        print(type(e).__name__, e)\n"
    )
    nobody = [
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=+bpf,+perfmon",
        "--ambient-caps=+bpf,+perfmon",
    ]
    tmp_path.chmod(0o755)
    out = _run_as(nobody, code, tmp_path)
    assert out.startswith("BPFPermissionError tracefs is mounted at "), out
    assert "but this process cannot read it (mode 700)" in out and "not mounted" not in out
