"""Seeded mutations of BPF ELF objects.  Case ``n`` of seed ``s`` is always
the same bytes: ``mutate(corpus, s, n)`` reproduces any finding."""

from __future__ import annotations

import random
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fuzz.elf import Layout, layout

# Words that break parsers: zero, one, signs, the largest sizes and counts.
INTERESTING = (0, 1, 2, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 1 << 20, 1 << 31)
# Kinds whose size/type word names another type by value: typedef, volatile, const, restrict, type_tag.
_REFERRING = {8, 9, 10, 11, 18}
ARRAY = 3


@dataclass(frozen=True)
class Base:
    """An object the campaign mutates: its name, bytes and parsed layout."""

    name: str
    data: bytes
    parts: Layout


@dataclass(frozen=True)
class Case:
    """One mutated object: where it came from and how it was changed."""

    number: int
    base: str
    strategy: str
    data: bytes


def load_corpus(paths: list[Path]) -> list[Base]:
    """Parse the objects to mutate (sorted by name, so cases are stable)."""
    bases = []
    for path in sorted(paths, key=lambda p: p.name):
        data = path.read_bytes()
        bases.append(Base(path.name, data, layout(data)))
    return bases


def _bit_flips(rng: random.Random, base: Base) -> bytes:
    out = bytearray(base.data)
    for _ in range(rng.randint(1, 16)):
        pos = rng.randrange(len(out))
        out[pos] ^= 1 << rng.randrange(8)
    return bytes(out)


def _overwrite(rng: random.Random, data: bytes, start: int, end: int, count: int) -> bytes:
    """``count`` 4-byte words in [start, end) replaced by interesting or random values."""
    out = bytearray(data)
    end = min(end, len(out))
    for _ in range(count):
        if end - start < 4:
            break
        pos = rng.randrange(start, end - 3)
        word = rng.choice(INTERESTING) if rng.random() < 0.7 else rng.getrandbits(32)
        struct.pack_into("<I", out, pos, word)
    return bytes(out)


def _header(rng: random.Random, base: Base) -> bytes:
    """The ELF header or the section header table."""
    shoff = struct.unpack_from("<Q", base.data, 0x28)[0]
    if rng.random() < 0.4 or not 0 < shoff < len(base.data):
        return _overwrite(rng, base.data, 0, 64, rng.randint(1, 3))
    return _overwrite(rng, base.data, shoff, len(base.data), rng.randint(1, 3))


def _btf_records(rng: random.Random, base: Base) -> bytes:
    """Words of BTF type records: names, kinds, counts, sizes, referred ids."""
    if not base.parts.types:
        return _bit_flips(rng, base)
    out = base.data
    for _ in range(rng.randint(1, 3)):
        t = rng.choice(base.parts.types)
        out = _overwrite(rng, out, t.offset, t.offset + 24, 1)
    return out


def _btf_cycle(rng: random.Random, base: Base) -> bytes:
    """A typedef or qualifier pointed back at itself or at what refers to it."""
    referring = [t for t in base.parts.types if t.kind_nr in _REFERRING]
    if not referring:
        return _btf_records(rng, base)
    t = rng.choice(referring)
    target = t
    inner = next((u for u in base.parts.types if u.type_id == t.ref), None)
    if inner is not None and inner.kind_nr in _REFERRING and rng.random() < 0.7:
        target, t = t, inner  # two-step: inner -> t -> inner
    out = bytearray(base.data)
    struct.pack_into("<I", out, t.offset + 8, target.type_id)
    return bytes(out)


def _map_sizes(rng: random.Random, base: Base) -> bytes:
    """Array lengths, which encode a BTF map's max_entries, key and value sizes."""
    arrays = [t for t in base.parts.types if t.kind_nr == ARRAY]
    if not arrays:
        return _btf_records(rng, base)
    out = bytearray(base.data)
    for _ in range(rng.randint(1, 2)):
        t = rng.choice(arrays)
        struct.pack_into("<I", out, t.offset + 12 + 8, rng.choice(INTERESTING))  # btf_array.nelems
    return bytes(out)


def _sections(rng: random.Random, base: Base, prefixes: tuple[str, ...]) -> bytes:
    chosen = [s for s in base.parts.sections if s.name.startswith(prefixes) and s.size >= 4]
    if not chosen:
        return _bit_flips(rng, base)
    sec = rng.choice(chosen)
    return _overwrite(rng, base.data, sec.offset, sec.offset + sec.size, rng.randint(1, 4))


def _relocations(rng: random.Random, base: Base) -> bytes:
    """Relocation entries and the CO-RE records in .BTF.ext."""
    return _sections(rng, base, (".rel", ".BTF.ext"))


def _code(rng: random.Random, base: Base) -> bytes:
    """Instructions and map definitions: the program and data sections."""
    names = tuple(s.name for s in base.parts.sections if s.kind == "SHT_PROGBITS" and not s.name.startswith(".BTF"))
    return _sections(rng, base, names or (".text",))


def _strings(rng: random.Random, base: Base) -> bytes:
    """Bytes of the string tables: names that are not UTF-8, or not terminated."""
    chosen = [s for s in base.parts.sections if s.name in (".strtab", ".BTF") and s.size]
    if not chosen:
        return _bit_flips(rng, base)
    sec = rng.choice(chosen)
    out = bytearray(base.data)
    for _ in range(rng.randint(1, 8)):
        out[sec.offset + rng.randrange(sec.size)] = rng.choice((0, 0x80, 0xC3, 0xE9, 0xFF, 0x2F))
    return bytes(out)


def _truncate(rng: random.Random, base: Base) -> bytes:
    return base.data[: rng.randrange(4, len(base.data))]


STRATEGIES: dict[str, Callable[[random.Random, Base], bytes]] = {
    "bit-flips": _bit_flips,
    "header": _header,
    "btf-records": _btf_records,
    "btf-cycle": _btf_cycle,
    "map-sizes": _map_sizes,
    "relocations": _relocations,
    "code": _code,
    "strings": _strings,
    "truncate": _truncate,
}


def mutate(corpus: list[Base], seed: int, number: int) -> Case:
    """Case ``number`` of the campaign seeded with ``seed``."""
    rng = random.Random(f"{seed}:{number}")
    base = rng.choice(corpus)
    strategy = rng.choice(sorted(STRATEGIES))
    return Case(number, base.name, strategy, STRATEGIES[strategy](rng, base))


__all__ = ["STRATEGIES", "Base", "Case", "load_corpus", "mutate"]
