"""What the kernel holds, as bpftool lists it: ``pybpf progs``, ``pybpf
maps``, ``pybpf links``, each with the bpffs files that pin it and the
processes that hold it, and ``pybpf map dump``, a map's entries decoded
through its BTF.

    pybpf progs                 # every loaded program
    pybpf maps --json           # one JSON object per map
    pybpf links
    pybpf map dump 42           # by id
    pybpf map dump /sys/fs/bpf/counts --json
"""

from __future__ import annotations

import argparse
import ctypes
import json
from collections.abc import Callable, Iterable
from enum import Enum
from typing import Any, Literal

import pybpf
from pybpf.tools.options import Column, Printer, add_output, subcommand

__all__ = ["json_value", "register"]


def json_value(value: Any) -> Any:
    """A decoded key or value as JSON builtins: records as objects (a
    ``char[]`` field as its text), arrays as lists, bytes (an untyped key or
    value) as a list of numbers, enums by name."""
    if isinstance(value, pybpf.Record):
        fields = ((name, getattr(value, name)) for name in value._members_)
        return {name: f.decode(errors="replace") if isinstance(f, bytes) else json_value(f) for name, f in fields}
    if isinstance(value, (ctypes.Array, list, tuple)):
        return [json_value(item) for item in value]
    if isinstance(value, (bytes, bytearray)):
        return list(value)
    if isinstance(value, Enum):
        return value.name
    return value


def _listing(
    kind: Literal["map", "prog", "link"],
    infos: Iterable[Any],
    columns: tuple[Column, ...],
    text_of: Callable[[dict[str, Any]], dict[str, str]],
    args: argparse.Namespace,
) -> int:
    """One row per object: its info as the record, with the pins and the
    processes holding it; ``text_of(record)`` gives the table's own cells."""
    pins = pybpf.pins()
    holders = pybpf.holders()
    printer = Printer(columns + (Column("pinned", "PINNED", -20), Column("pids", "PIDS", -1)), as_json=args.json)
    count = 0
    for info in infos:
        pinned, held = pins.get((kind, info.id), []), holders.get((kind, info.id), [])
        record = {**info._asdict(), "type": _enum_name(info.type)}
        record.update(pinned=pinned, pids=[{"pid": h.pid, "comm": h.comm} for h in held])
        text = {"pinned": ",".join(pinned) or "-", "pids": ",".join(f"{h.comm}({h.pid})" for h in held) or "-"}
        printer.row(record, text={**text_of(record), **text})
        count += 1
    if not count and not args.json:
        print(f"no {kind}s loaded")
    return 0


def _enum_name(value: Any) -> str:
    return value.name.lower() if isinstance(value, Enum) else str(value)


def programs(args: argparse.Namespace) -> int:
    """``pybpf progs``: every program loaded in the kernel."""
    columns = (
        Column("id", "ID", 8),
        Column("type", "TYPE", -16),
        Column("name", "NAME", -16),
        Column("tag", "TAG", -16),
        Column("jited_size", "JITED", 7),
        Column("map_ids", "MAPS", -16),
    )
    return _listing(
        "prog", pybpf.programs(), columns, lambda r: {"map_ids": ",".join(map(str, r["map_ids"])) or "-"}, args
    )


def maps(args: argparse.Namespace) -> int:
    """``pybpf maps``: every map in the kernel."""
    columns = (
        Column("id", "ID", 8),
        Column("type", "TYPE", -20),
        Column("name", "NAME", -16),
        Column("key_size", "KEY", 5),
        Column("value_size", "VALUE", 6),
        Column("max_entries", "MAX", 8),
        Column("flags", "FLAGS", 6),
    )
    return _listing("map", pybpf.maps(), columns, lambda r: {"flags": hex(r["flags"])}, args)


def links(args: argparse.Namespace) -> int:
    """``pybpf links``: every BPF link in the kernel."""
    columns = (
        Column("id", "ID", 8),
        Column("type", "TYPE", -14),
        Column("prog_id", "PROG", 8),
        Column("target", "TARGET", -32),
    )

    def target(record: dict[str, Any]) -> dict[str, str]:
        return {"target": " ".join(f"{k}={v}" for k, v in record["target"].items()) or "-"}

    return _listing("link", pybpf.links(), columns, target, args)


def _open_map(target: str) -> pybpf.Map:
    if target.isdigit():
        return pybpf.Map.from_id(int(target))
    return pybpf.Map.from_pinned(target)


def dump(args: argparse.Namespace) -> int:
    """``pybpf map dump``: every entry of a map, decoded through its BTF
    (integers and bytes without it)."""
    with _open_map(args.map) as bpf_map:
        printer = Printer((Column("key_text", "KEY", -24), Column("value_text", "VALUE", -1)), as_json=args.json)
        for key, value in bpf_map.items():
            record = {"key": json_value(key), "value": json_value(value)}
            text = {"key_text": json.dumps(record["key"]), "value_text": json.dumps(record["value"])}
            printer.row(record, text=text)
    return 0


def register(commands: Any) -> None:
    """Add ``progs``, ``maps``, ``links`` and ``map dump`` to the ``pybpf`` command."""
    for name, run, what in (
        ("progs", programs, "every program loaded in the kernel"),
        ("maps", maps, "every map in the kernel"),
        ("links", links, "every BPF link in the kernel"),
    ):
        parser = subcommand(commands, name, help=f"list {what}, with pins and holders", doc=__doc__)
        add_output(parser, per=name[:-1])
        parser.set_defaults(run=run)
    parser = subcommand(commands, "map", help="a map's entries (map dump)", doc=__doc__)
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    dumper = actions.add_parser("dump", help="print every entry, decoded through the map's BTF")
    dumper.add_argument("map", help="the map's id, or the path of its pin")
    add_output(dumper, per="entry")
    dumper.set_defaults(run=dump)
