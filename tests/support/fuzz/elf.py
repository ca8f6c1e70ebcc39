"""Where the parts of a BPF ELF object lie: sections (pyelftools) and the
type records inside ``.BTF``, so mutations can aim at headers, BTF and
relocations rather than only at random bytes."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from elftools.elf.elffile import ELFFile

# Bytes that follow a btf_type record, by kind: (fixed, per vlen entry).
_TRAILER = {
    1: (4, 0),  # INT
    3: (12, 0),  # ARRAY
    4: (0, 12),  # STRUCT
    5: (0, 12),  # UNION
    6: (0, 8),  # ENUM
    13: (0, 8),  # FUNC_PROTO
    14: (4, 0),  # VAR
    15: (0, 12),  # DATASEC
    17: (4, 0),  # DECL_TAG
    19: (0, 12),  # ENUM64
}
TYPEDEF = 8


@dataclass(frozen=True)
class Section:
    """One ELF section: its name, file offset and size."""

    name: str
    offset: int
    size: int
    kind: str


@dataclass(frozen=True)
class BTFType:
    """One BTF type record: its id, kind, name and where it lies in the file."""

    type_id: int
    kind: str
    kind_nr: int
    name: str
    offset: int  # file offset of the 12-byte btf_type
    ref: int  # the size/type word
    vlen: int
    entries: tuple[tuple[str, int, int], ...] = ()  # members or section variables: (name, type, offset word)


@dataclass(frozen=True)
class Layout:
    """An object's sections and BTF types."""

    sections: list[Section]
    types: list[BTFType]

    def section(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)

    def named(self, name: str, kind_nr: int) -> BTFType | None:
        return next((t for t in self.types if t.name == name and t.kind_nr == kind_nr), None)


_KINDS = (
    "void int ptr array struct union enum fwd typedef volatile const restrict func func_proto var datasec float "
    "decl_tag type_tag enum64"
).split()


def layout(data: bytes) -> Layout:
    """Parse the sections, and the BTF type records if the object has BTF."""
    elf = ELFFile(io.BytesIO(data))
    sections = [
        Section(s.name, s["sh_offset"], s["sh_size"], s["sh_type"])
        for s in elf.iter_sections()
        if s["sh_type"] != "SHT_NULL"
    ]
    btf = next((s for s in sections if s.name == ".BTF"), None)
    return Layout(sections, _btf_types(data, btf) if btf else [])


def _btf_types(data: bytes, sec: Section) -> list[BTFType]:
    magic, _version, _flags, hdr_len, type_off, type_len, str_off, _str_len = struct.unpack_from(
        "<HBBIIIII", data, sec.offset
    )
    if magic != 0xEB9F:
        return []
    base = sec.offset + hdr_len
    strings = base + str_off
    pos, end = base + type_off, base + type_off + type_len
    types: list[BTFType] = []
    while pos + 12 <= end:
        name_off, info, ref = struct.unpack_from("<III", data, pos)
        kind_nr, vlen = (info >> 24) & 0x1F, info & 0xFFFF
        name_end = data.find(b"\0", strings + name_off)
        name = data[strings + name_off : name_end].decode(errors="replace")
        kind = _KINDS[kind_nr] if kind_nr < len(_KINDS) else f"kind{kind_nr}"
        entries = ()
        if kind_nr in (4, 5, 15):  # struct, union, datasec: (name_off or type, type, offset) triples
            entries = tuple(
                _entry(data, strings, kind_nr, *struct.unpack_from("<III", data, pos + 12 + 12 * i))
                for i in range(vlen)
            )
        types.append(BTFType(len(types) + 1, kind, kind_nr, name, pos, ref, vlen, entries))
        fixed, per = _TRAILER.get(kind_nr, (0, 0))
        pos += 12 + fixed + per * vlen
    return types


def _entry(data: bytes, strings: int, kind_nr: int, first: int, second: int, third: int) -> tuple[str, int, int]:
    if kind_nr == 15:  # datasec: (var type, offset, size)
        return ("", first, second)
    name = data[strings + first : data.find(b"\0", strings + first)].decode(errors="replace")
    return (name, second, third)


def _type(parts: Layout, type_id: int) -> BTFType:
    return parts.types[type_id - 1]


def set_max_entries(data: bytes, map_name: str, entries: int) -> bytes:
    """Declare ``entries`` as the max_entries of the BTF-defined map
    ``map_name`` (``__uint(max_entries, N)`` is a pointer to an array of N)."""
    parts = layout(data)
    var = next(t for t in parts.types if t.kind == "var" and t.name == map_name)
    definition = _type(parts, var.ref)
    member = next(type_id for name, type_id, _ in definition.entries if name == "max_entries")
    array = _type(parts, _type(parts, member).ref)
    out = bytearray(data)
    struct.pack_into("<I", out, array.offset + 12 + 8, entries)  # btf_array.nelems
    return bytes(out)


def widen_variable(data: bytes, name: str) -> bytes:
    """Give global variable ``name`` the object's largest struct as its type,
    so that in BTF it reaches past the end of its data section."""
    parts = layout(data)
    var = next(t for t in parts.types if t.kind == "var" and t.name == name)
    widest = max((t for t in parts.types if t.kind == "struct"), key=lambda t: t.ref)
    out = bytearray(data)
    struct.pack_into("<I", out, var.offset + 8, widest.type_id)
    return bytes(out)


def set_section_type(data: bytes, name: str, sh_type: int) -> bytes:
    """Give section ``name`` another type in the section header table."""
    elf = ELFFile(io.BytesIO(data))
    index = next(i for i, s in enumerate(elf.iter_sections()) if s.name == name)
    out = bytearray(data)
    struct.pack_into("<I", out, elf["e_shoff"] + index * elf["e_shentsize"] + 4, sh_type)
    return bytes(out)


def typedef_cycle(data: bytes, first: str, second: str) -> bytes:
    """Point typedef ``second`` back at typedef ``first`` (which already names
    it, as ``__be16`` names ``__u16``): a one-word change that makes a cycle."""
    parts = layout(data)
    a, b = parts.named(first, TYPEDEF), parts.named(second, TYPEDEF)
    if a is None or b is None:
        raise LookupError(f"no typedefs {first} and {second} in this object")
    out = bytearray(data)
    struct.pack_into("<I", out, b.offset + 8, a.type_id)
    return bytes(out)
