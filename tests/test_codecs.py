"""Codecs, enums and the error funnel: no kernel needed."""

from __future__ import annotations

import ctypes
import errno
import struct
import sys
from pathlib import Path

import pytest

import pybpf
from pybpf._codecs.btf import BTF
from pybpf._codecs.codec import codec_for_ctype
from pybpf._core.errors import check, error_for
from pybpf._core.ffi import lib

pytestmark = pytest.mark.host_only("codecs, headers and imports: user space alone")


def test_int_codec_roundtrip_and_range() -> None:
    codec = pybpf.IntCodec(4, signed=False)
    assert codec.encode(7) == (7).to_bytes(4, sys.byteorder)
    assert codec.decode(codec.encode(0xFFFFFFFF)) == 0xFFFFFFFF
    with pytest.raises(ValueError, match="does not fit a uint32_t"):
        codec.encode(1 << 32)
    with pytest.raises(ValueError, match="must be 4 bytes, got 3"):
        codec.encode(b"abc")
    signed = pybpf.IntCodec(2, signed=True)
    assert signed.decode(signed.encode(-2)) == -2


def test_int_codec_decode_many() -> None:
    codec = pybpf.IntCodec(8, signed=False)
    data = b"".join(i.to_bytes(8, "little") for i in range(5))
    assert codec.decode_many(data, 5, 8) == [0, 1, 2, 3, 4]
    narrow = pybpf.IntCodec(4, signed=False)
    strided = b"".join(i.to_bytes(4, "little") + b"\xee" * 4 for i in range(3))
    assert narrow.decode_many(strided, 3, 8) == [0, 1, 2]


def test_percpu_codec_stride_and_broadcast() -> None:
    codec = pybpf.PerCPUCodec(pybpf.IntCodec(4, signed=False), ncpus=3)
    assert codec.stride == 8 and codec.size == 24
    assert codec.decode(codec.encode([1, 2, 3])) == [1, 2, 3]
    assert codec.decode(codec.encode(9)) == [9, 9, 9]
    with pytest.raises(ValueError, match="needs 3 items"):
        codec.encode([1, 2])


def test_ctypes_codec_struct_forms() -> None:
    class Pair(ctypes.Structure):
        _fields_ = [("a", ctypes.c_uint32), ("b", ctypes.c_uint64)]

    codec = codec_for_ctype(Pair, "value")
    assert isinstance(codec, pybpf.CtypesCodec) and codec.size == 16
    by_tuple = codec.encode((1, 2))
    assert codec.encode({"a": 1, "b": 2}) == by_tuple == codec.encode(Pair(1, 2))
    decoded = codec.decode(by_tuple)
    assert (decoded.a, decoded.b) == (1, 2)
    with pytest.raises(ValueError, match="cannot encode"):
        codec.encode((1, 2, 3))


def test_flat_int_structs_pack_as_ctypes_lays_them_out() -> None:
    class Mixed(ctypes.Structure):
        _fields_ = [("a", ctypes.c_uint8), ("b", ctypes.c_int64), ("c", ctypes.c_uint16), ("d", ctypes.c_int32)]

    class Packed(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("a", ctypes.c_uint8), ("b", ctypes.c_uint32)]

    for ctype, fields in ((Mixed, (0xFF, -(1 << 63), 0xFFFF, -1)), (Packed, (1, 0xFFFFFFFF))):
        codec = codec_for_ctype(ctype, "key")
        assert codec.packer is not None
        assert codec.encode(fields) == bytes(ctype(*fields))
    mixed = codec_for_ctype(Mixed, "key")
    assert mixed.encode((1,)) == bytes(Mixed(1))  # fewer fields: the rest are zero, as in C
    with pytest.raises(ValueError, match=r"key\.c: 65536 does not fit its uint16"):
        mixed.encode((1, 2, 1 << 16, 4))  # what pack refuses, the field-by-field check names

    class Bits(ctypes.Structure):
        _fields_ = [("a", ctypes.c_uint32, 3), ("b", ctypes.c_uint32)]

    class Nested(ctypes.Structure):
        _fields_ = [("a", ctypes.c_uint32 * 2)]

    class Flags(ctypes.Structure):
        _fields_ = [("a", ctypes.c_bool)]

    assert all(codec_for_ctype(t, "key").packer is None for t in (Bits, Nested, Flags))


def test_codec_for_format_and_ctype() -> None:
    assert isinstance(codec_for_ctype("I", "key"), pybpf.IntCodec)
    assert codec_for_ctype(ctypes.c_int16, "key").signed  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="one native integer"):
        codec_for_ctype("II", "key")


def test_bytes_codec_takes_ints() -> None:
    codec = pybpf.BytesCodec(4)
    assert codec.encode(1) == (1).to_bytes(4, sys.byteorder)
    assert codec.decode(b"abcd") == b"abcd"
    with pytest.raises(ValueError, match="does not fit"):
        codec.encode(1 << 40)


def test_enums_match_libbpf_headers() -> None:
    # The Python enums are hand-written kernel ABI; the C headers check them.
    assert pybpf.MapType.HASH == lib.BPF_MAP_TYPE_UNSPEC + 1
    for name in ("HASH", "ARRAY", "PERCPU_HASH", "PERCPU_ARRAY", "LRU_HASH", "LRU_PERCPU_HASH"):
        assert getattr(lib, f"BPF_MAP_TYPE_{name}", None) in (None, pybpf.MapType[name])
    assert pybpf.MapFlags.NO_PREALLOC == lib.BPF_F_NO_PREALLOC and pybpf.MapFlags.MMAPABLE == lib.BPF_F_MMAPABLE
    assert pybpf.UpdateFlags.NOEXIST == 1 and pybpf.UpdateFlags.EXIST == 2 and pybpf.UpdateFlags.F_LOCK == 4


def test_errors_are_builtin_twins() -> None:
    assert isinstance(error_for(errno.EPERM, "x"), PermissionError)
    assert isinstance(error_for(errno.ENOENT, "x"), FileNotFoundError)
    assert isinstance(error_for(errno.EEXIST, "x"), FileExistsError)
    assert isinstance(error_for(errno.EINVAL, "x"), ValueError)
    notsupp = error_for(524, "batch lookup")
    assert isinstance(notsupp, pybpf.NotSupportedError) and "ENOTSUPP" in str(notsupp) and "Unknown" not in str(notsupp)
    err = error_for(errno.EPERM, "load program 'p'")
    # This process has every BPF capability: EPERM gets no capability hint (that would not be the cause).
    assert err.errno == errno.EPERM and str(err) == "load program 'p': Operation not permitted"
    with pytest.raises(pybpf.BPFKeyError) as info:
        check(-errno.ENOENT, "look up", enoent=pybpf.BPFKeyError)
    assert isinstance(info.value, KeyError) and isinstance(info.value, OSError)
    assert check(3, "ok") == 3


def test_libbpf_version_gate() -> None:
    assert pybpf.libbpf_version() >= (1, 1)
    assert (lib.PYBPF_LIBBPF_MAJOR, lib.PYBPF_LIBBPF_MINOR) == pybpf.libbpf_version()


def test_cdef_headers_parse_and_cover_every_lib_use() -> None:
    import importlib.util
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("build_ffi", root / "csrc" / "build_ffi.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # parses every csrc/decl/*.h
    used = set()
    for source in (root / "pybpf").rglob("*.py"):
        used |= set(re.findall(r"\blib\.(\w+)", source.read_text()))
    missing = sorted(name for name in used if not hasattr(lib, name))
    assert not missing, f"used but not declared in csrc/decl: {missing}"


def _raw_btf(types: list[tuple[str, int, int, list[int | str]]]) -> bytes:
    """Raw BTF from (name, info, size or type, trailing u32s) per type; names are strings."""
    table = b"\0"
    offsets: dict[str, int] = {"": 0}

    def name(text: int | str) -> int:
        nonlocal table
        if isinstance(text, int):
            return text
        if text not in offsets:
            offsets[text] = len(table)
            table += text.encode() + b"\0"
        return offsets[text]

    body = b"".join(
        struct.pack(f"<{3 + len(extra)}I", name(n), info, size, *map(name, extra)) for n, info, size, extra in types
    )
    header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(body), len(body), len(table))
    return header + body + table


def _info(kind: int, vlen: int = 0, kflag: bool = False) -> int:
    return kflag << 31 | kind << 24 | vlen


def test_bitfields_of_both_btf_encodings() -> None:
    # struct legacy { unsigned a:3; int b:5; unsigned char c; } as BTF without
    # kflag (bit sizes live in INT types), and the same with kflag (in members).
    INT, STRUCT, SIGNED = lib.BTF_KIND_INT, lib.BTF_KIND_STRUCT, lib.BTF_INT_SIGNED
    types: list[tuple[str, int, int, list[int | str]]] = [
        ("unsigned int", _info(INT), 4, [32]),  # 1
        ("", _info(INT), 4, [3]),  # 2: 3 bits
        ("", _info(INT), 4, [SIGNED << 24 | 2 << 16 | 5]),  # 3: signed, 5 bits at int offset 2
        ("unsigned char", _info(INT), 1, [8]),  # 4
        ("legacy", _info(STRUCT, 3), 4, ["a", 2, 0, "b", 3, 1, "c", 4, 16]),  # 5: b at bit 1 + 2
        ("int", _info(INT), 4, [SIGNED << 24 | 32]),  # 6
        ("modern", _info(STRUCT, 3, kflag=True), 4, ["a", 1, 3 << 24 | 0, "b", 6, 5 << 24 | 3, "c", 4, 16]),
    ]
    btf = BTF.from_raw(_raw_btf(types))
    try:
        for name in ("struct legacy", "struct modern"):
            rec = btf.ctype(btf.find(name))
            value = rec(a=5, b=-7, c=0xAB)
            assert bytes(value) == bytes([5 | (-7 & 0x1F) << 3, 0, 0xAB, 0]), name
            assert value._asdict() == {"a": 5, "b": -7, "c": 0xAB}
            assert rec.from_buffer_copy(b"\xff\x00\x01\x00")._astuple() == (7, -1, 1)
            with pytest.raises(TypeError, match="no field 'd'"):
                rec(d=1)
    finally:
        btf.close()


def test_raw_btf_that_is_not_btf_is_an_error() -> None:
    with pytest.raises(pybpf.BPFError) as info:
        BTF.from_raw(b"\0" * 32)
    assert info.value.errno in (errno.EINVAL, errno.EPROTO) and "raw BTF" in str(info.value)


def test_every_public_name_resolves_and_shows_as_pybpfs_own() -> None:
    """pybpf's names are imported on first use; each resolves, and each class
    and function of a private module shows as ``pybpf.X``."""
    import types

    assert set(pybpf.__all__) | {"compile", "CompileError"} == set(pybpf._HOME) | {"features"}
    assert set(dir(pybpf)) >= set(pybpf.__all__)
    for name in [*pybpf.__all__, "compile", "CompileError"]:
        value = getattr(pybpf, name)
        if isinstance(value, (type, types.FunctionType)) and pybpf._HOME[name].startswith("pybpf._"):
            assert value.__module__ == "pybpf", name
            assert value.__name__ == name, name
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        pybpf.nothing_here  # noqa: B018
    # What the type checker reads (the imports under TYPE_CHECKING) is where
    # the names are looked up at run time.
    import ast

    tree = ast.parse(Path(pybpf.__file__).read_text())
    (checking,) = [node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"]
    static = {
        alias.asname or alias.name: node.module
        for node in checking.body
        if isinstance(node, ast.ImportFrom) and node.module not in ("pybpf", "typing")
        for alias in node.names
    }
    assert static == pybpf._HOME


def test_each_map_family_is_imported_for_the_types_it_registers() -> None:
    """A family's module is imported when a map of its types first appears:
    the table that says which module that is agrees with what the classes
    register."""
    import importlib

    from pybpf._maps.base import _FAMILIES, MapBase

    for module in set(_FAMILIES.values()):
        importlib.import_module(f"pybpf._maps.{module}")
    assert MapBase._by_type.keys() == _FAMILIES.keys()
    for kind, module in _FAMILIES.items():
        assert MapBase.class_for(kind) is MapBase._by_type[kind]
        assert sys.modules[f"pybpf._maps.{module}"].__dict__[MapBase._by_type[kind].__name__] is MapBase._by_type[kind]
    assert MapBase.class_for(pybpf.MapType.HASH) is pybpf.Map
