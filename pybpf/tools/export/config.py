"""The ``pybpf export`` configuration: which programs to load and attach,
and which of their maps become which metrics.  Read with PyYAML's node
tree, so that every error names the file, the line and the field.

    programs:
      xdp:                          # a name the metrics refer to
        object: xdp_counter         # a shipped program, or a path to a .bpf.o
        rodata: {target_pid: 0}     # constants set before load (optional)
        attach:                     # optional: by default each program attaches by its section
          - {program: xdp_count, xdp: "${interface}", mode: generic, netns: blue}
    metrics:
      - name: pybpf_xdp_packets     # counters get _total
        type: counter               # counter, gauge or histogram
        help: Packets seen by XDP, per protocol
        program: xdp                # optional with one program
        map: proto_stats
        value: packets              # a field of the value (omit for an integer value)
        labels:
          - {name: protocol, key: "", decoder: static, table: {0: ipv4/tcp, 1: ipv4/udp}}
      - name: pybpf_runqueue_latency_seconds
        type: histogram
        map: hist
        bucket: slot                # the key field holding the log2 slot ("" : the key itself)
        bucket_unit: 1.0e-6         # what one unit of the bucket's bound is in the metric's unit

``${name}`` in a string is replaced by ``--var name=value``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "AttachSpec",
    "Config",
    "ConfigError",
    "LabelSpec",
    "MetricSpec",
    "ProgramSpec",
    "load_config",
    "read_config",
]

METRIC_TYPES = ("counter", "gauge", "histogram")
DECODERS = ("integer", "string", "ksym", "ipv4", "ipv6", "inet", "cgroup", "syscall", "static")
_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_VAR = re.compile(r"\$\{(\w+)\}")


class ConfigError(ValueError):
    """A configuration that cannot be used: ``file:line: field: why``."""


@dataclass(frozen=True)
class AttachSpec:
    """One explicit attachment of a program."""

    program: str
    xdp: str
    mode: str = "auto"
    netns: str | None = None


@dataclass(frozen=True)
class ProgramSpec:
    """A BPF object to load, and how to attach its programs."""

    name: str
    object: str
    rodata: Mapping[str, Any] = field(default_factory=dict)
    attach: tuple[AttachSpec, ...] | None = None
    where: str = ""


@dataclass(frozen=True)
class LabelSpec:
    """A label: a key field, decoded."""

    name: str
    key: str
    decoder: str = "integer"
    table: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MetricSpec:
    """A metric served from one map."""

    name: str
    type: str
    help: str
    program: str
    map: str
    value: str | None = None
    labels: tuple[LabelSpec, ...] = ()
    bucket: str | None = None
    bucket_unit: float = 1.0
    where: str = ""


@dataclass(frozen=True)
class Config:
    """A whole configuration."""

    programs: tuple[ProgramSpec, ...]
    metrics: tuple[MetricSpec, ...]


class _Reader:
    """Walks YAML nodes, turning each into a value or a ConfigError that names its line."""

    def __init__(self, source: str, variables: Mapping[str, str]) -> None:
        self.source = source
        self.variables = variables

    def fail(self, node: yaml.Node, where: str, why: str) -> ConfigError:
        return ConfigError(f"{self.source}:{node.start_mark.line + 1}: {where}: {why}")

    def mapping(self, node: yaml.Node, where: str, allowed: tuple[str, ...]) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, where, "expected a mapping")
        out: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if key not in allowed:
                raise self.fail(key_node, f"{where}.{key}", f"unknown field (known: {', '.join(allowed)})")
            out[key] = value_node
        return out

    def sequence(self, node: yaml.Node, where: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, where, "expected a list")
        return list(node.value)

    def text(self, node: yaml.Node, where: str, *, pattern: re.Pattern[str] | None = None) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, where, "expected a string")
        value = str(node.value)

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.variables:
                raise self.fail(node, where, f"${{{name}}} is not set (pass --var {name}=VALUE)")
            return self.variables[name]

        value = _VAR.sub(substitute, value)
        if pattern is not None and not pattern.match(value):
            raise self.fail(node, where, f"{value!r} is not a valid name")
        return value

    def scalar(self, node: yaml.Node, where: str, what: str, convert: Callable[[str], Any]) -> Any:
        text = self.text(node, where)
        try:
            return convert(text)
        except ValueError:
            raise self.fail(node, where, f"{text!r} is not {what}") from None

    def required(self, fields: dict[str, yaml.Node], node: yaml.Node, where: str, name: str) -> yaml.Node:
        if name not in fields:
            raise self.fail(node, where, f"'{name}' is missing")
        return fields[name]


def _program(reader: _Reader, name: str, node: yaml.Node) -> ProgramSpec:
    where = f"programs.{name}"
    fields = reader.mapping(node, where, ("object", "rodata", "attach"))
    obj = reader.text(reader.required(fields, node, where, "object"), f"{where}.object")
    rodata: dict[str, Any] = {}
    if "rodata" in fields:
        if not isinstance(fields["rodata"], yaml.MappingNode):
            raise reader.fail(fields["rodata"], f"{where}.rodata", "expected a mapping of variables to values")
        for key_node, value_node in fields["rodata"].value:
            rodata[str(key_node.value)] = yaml.safe_load(yaml.serialize(value_node))
    attach = None
    if "attach" in fields:
        attach = tuple(
            _attachment(reader, f"{where}.attach[{i}]", item)
            for i, item in enumerate(reader.sequence(fields["attach"], f"{where}.attach"))
        )
    return ProgramSpec(name, obj, rodata, attach, f"{reader.source}:{node.start_mark.line + 1}")


def _attachment(reader: _Reader, where: str, node: yaml.Node) -> AttachSpec:
    fields = reader.mapping(node, where, ("program", "xdp", "mode", "netns"))
    program = reader.text(reader.required(fields, node, where, "program"), f"{where}.program")
    if "xdp" not in fields:
        raise reader.fail(node, where, "say where to attach: 'xdp: INTERFACE' (other programs attach by section)")
    mode = reader.text(fields["mode"], f"{where}.mode") if "mode" in fields else "auto"
    if mode not in ("auto", "native", "generic"):
        raise reader.fail(fields["mode"], f"{where}.mode", f"{mode!r} is not one of auto, native, generic")
    netns = reader.text(fields["netns"], f"{where}.netns") if "netns" in fields else None
    return AttachSpec(program, reader.text(fields["xdp"], f"{where}.xdp"), mode, netns)


def _label(reader: _Reader, where: str, node: yaml.Node) -> LabelSpec:
    fields = reader.mapping(node, where, ("name", "key", "decoder", "table"))
    name = reader.text(reader.required(fields, node, where, "name"), f"{where}.name", pattern=_LABEL_NAME)
    key = reader.text(fields["key"], f"{where}.key") if "key" in fields else ""
    decoder = reader.text(fields["decoder"], f"{where}.decoder") if "decoder" in fields else "integer"
    if decoder not in DECODERS:
        raise reader.fail(fields["decoder"], f"{where}.decoder", f"{decoder!r} is not one of {', '.join(DECODERS)}")
    table: dict[int, str] = {}
    if decoder == "static":
        table_node = reader.required(fields, node, where, "table")
        if not isinstance(table_node, yaml.MappingNode):
            raise reader.fail(table_node, f"{where}.table", "expected a mapping of numbers to names")
        for key_node, value_node in table_node.value:
            number = reader.scalar(key_node, f"{where}.table", "an integer", lambda text: int(text, 0))
            table[number] = reader.text(value_node, f"{where}.table.{number}")
    elif "table" in fields:
        raise reader.fail(fields["table"], f"{where}.table", "only the static decoder takes a table")
    return LabelSpec(name, key, decoder, table)


def _metric(reader: _Reader, where: str, node: yaml.Node, programs: tuple[ProgramSpec, ...]) -> MetricSpec:
    allowed = ("name", "type", "help", "program", "map", "value", "labels", "bucket", "bucket_unit")
    fields = reader.mapping(node, where, allowed)
    name = reader.text(reader.required(fields, node, where, "name"), f"{where}.name", pattern=_METRIC_NAME)
    kind = reader.text(reader.required(fields, node, where, "type"), f"{where}.type")
    if kind not in METRIC_TYPES:
        raise reader.fail(fields["type"], f"{where}.type", f"{kind!r} is not one of {', '.join(METRIC_TYPES)}")
    names = [p.name for p in programs]
    if "program" in fields:
        program = reader.text(fields["program"], f"{where}.program")
        if program not in names:
            raise reader.fail(fields["program"], f"{where}.program", f"no program {program!r} (have: {names})")
    elif len(names) == 1:
        program = names[0]
    else:
        raise reader.fail(node, where, f"'program' is missing (one of {names})")
    labels = tuple(
        _label(reader, f"{where}.labels[{i}]", item)
        for i, item in enumerate(reader.sequence(fields["labels"], f"{where}.labels") if "labels" in fields else [])
    )
    bucket = reader.text(fields["bucket"], f"{where}.bucket") if "bucket" in fields else None
    if (bucket is None) != (kind != "histogram"):
        field_node = fields.get("bucket", node)
        raise reader.fail(field_node, f"{where}.bucket", "a histogram, and only a histogram, names its bucket field")
    unit = (
        reader.scalar(fields["bucket_unit"], f"{where}.bucket_unit", "a number", float)
        if "bucket_unit" in fields
        else 1.0
    )
    return MetricSpec(
        name=name,
        type=kind,
        help=reader.text(fields["help"], f"{where}.help") if "help" in fields else name,
        program=program,
        map=reader.text(reader.required(fields, node, where, "map"), f"{where}.map"),
        value=reader.text(fields["value"], f"{where}.value") if "value" in fields else None,
        labels=labels,
        bucket=bucket,
        bucket_unit=unit,
        where=f"{reader.source}:{node.start_mark.line + 1}",
    )


def load_config(text: str, *, source: str = "<config>", variables: Mapping[str, str] | None = None) -> Config:
    """Parse and check a configuration (``ConfigError`` names the line and field)."""
    reader = _Reader(source, variables or {})
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f"{mark.line + 1}" if mark is not None else "?"
        raise ConfigError(f"{source}:{line}: not YAML: {exc.problem}") from None
    if root is None:
        raise ConfigError(f"{source}: empty configuration")
    top = reader.mapping(root, "(top)", ("programs", "metrics"))
    programs_node = reader.required(top, root, "(top)", "programs")
    if not isinstance(programs_node, yaml.MappingNode) or not programs_node.value:
        raise reader.fail(programs_node, "programs", "expected a mapping of names to programs")
    programs = tuple(_program(reader, str(k.value), v) for k, v in programs_node.value)
    metrics = tuple(
        _metric(reader, f"metrics[{i}]", item, programs)
        for i, item in enumerate(reader.sequence(reader.required(top, root, "(top)", "metrics"), "metrics"))
    )
    seen: set[str] = set()
    for metric in metrics:
        if metric.name in seen:
            raise ConfigError(f"{metric.where}: metrics: {metric.name!r} is defined twice")
        seen.add(metric.name)
    return Config(programs, metrics)


def read_config(path: str, variables: Mapping[str, str] | None = None) -> Config:
    """A configuration from a file, or a shipped one by name (``xdp``, ``syscalls`` ...)."""
    file = Path(path)
    if not file.exists() and "/" not in path and not path.endswith((".yaml", ".yml")):
        file = Path(__file__).parent / "configs" / f"{path}.yaml"
        if not file.exists():
            shipped = sorted(p.stem for p in (Path(__file__).parent / "configs").glob("*.yaml"))
            raise ConfigError(f"{path}: no such file, nor a shipped configuration (shipped: {', '.join(shipped)})")
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror}") from None
    return load_config(text, source=str(file), variables=variables)
