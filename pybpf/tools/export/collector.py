"""The programs a configuration names, loaded and attached, and their maps
read at each scrape into prometheus_client metric families.

Counters and gauges: one sample per distinct label set (entries that share
one are summed), the value's field or the integer value, per-CPU values
summed.  Histograms: a key field holds the log2 slot (slot ``s`` counts
values ``v`` with ``2**s <= v < 2**(s+1)``, and 0 counts in slot 0, as
BCC's histograms do); its bucket bound is ``(2**(s+1) - 1) * bucket_unit``;
the other key fields are labels.  A histogram has its ``_count`` and no
``_sum``: a map of log2 slots keeps no sum of the values.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

import pybpf
from pybpf.tools.export.config import Config, ConfigError, MetricSpec, ProgramSpec
from pybpf.tools.export.labels import decoder_for, field_reader

__all__ = ["MapCollector", "loaded_programs"]


def _open(spec: ProgramSpec) -> pybpf.BPFObject:
    if "/" in spec.object or spec.object.endswith(".o"):
        return pybpf.BPFObject.open(spec.object)
    if spec.object not in pybpf.shipped_names():
        raise ConfigError(f"{spec.where}: programs.{spec.name}.object: no shipped program {spec.object!r}")
    return pybpf.BPFObject.open(pybpf.shipped(spec.object))


@contextlib.contextmanager
def loaded_programs(config: Config) -> Iterator[dict[str, pybpf.BPFObject]]:
    """Every program of ``config`` loaded and attached, by its name; closed
    (so detached) at the end of the block."""
    from pybpf import netns

    with contextlib.ExitStack() as stack:
        objects: dict[str, pybpf.BPFObject] = {}
        for spec in config.programs:
            obj = stack.enter_context(_open(spec))
            where = f"{spec.where}: programs.{spec.name}"
            for name, value in spec.rodata.items():
                if name not in obj.rodata:
                    raise ConfigError(f"{where}.rodata: no variable {name!r} (has: {sorted(obj.rodata)})")
                obj.rodata[name] = value
            for attach in spec.attach or ():
                if attach.program not in obj.programs:
                    raise ConfigError(f"{where}.attach: no program {attach.program!r} (has: {sorted(obj.programs)})")
            obj.load()
            if spec.attach is None:
                obj.attach()
            for attach in spec.attach or ():
                inside = contextlib.nullcontext() if attach.netns is None else netns.inside(attach.netns)
                with inside:
                    obj.programs[attach.program].attach_xdp(attach.xdp, mode=attach.mode)  # type: ignore[arg-type]
            objects[spec.name] = obj
        yield objects


Reader = Callable[[bytes], Any]


def _field_layout(ctype: Any, path: str) -> tuple[int, Any] | None:
    """(offset, ctype) of the field at ``path`` of a key or value type
    (None where it has no byte layout of its own: a bitfield)."""
    offset = 0
    for name in path.split(".") if path else []:
        if name in getattr(ctype, "_bitfields_", {}) or not hasattr(ctype, "_fields_"):
            return None
        types = dict(ctype._fields_)
        if name not in types:
            raise AttributeError(name)
        offset += getattr(ctype, name).offset
        ctype = types[name]
    return offset, ctype


def _raw_reader(ctype: Any, path: str, slow: Callable[[Any], Any]) -> Reader:
    """Read the field at ``path`` straight from an entry's bytes: integers
    and byte arrays by their offset, anything else by decoding the entry."""
    layout = _field_layout(ctype, path)
    if layout is not None:
        offset, ftype = layout
        size = ctypes.sizeof(ftype)
        code = getattr(ftype, "_type_", None)
        if isinstance(code, str) and code in "bBhHiIlLqQ" and not hasattr(ftype, "_btf_int_"):
            signed = code.islower()
            return lambda raw: int.from_bytes(raw[offset : offset + size], "little", signed=signed)
        octets = (ctypes.c_ubyte, ctypes.c_byte, ctypes.c_char)
        if isinstance(ftype, type) and issubclass(ftype, ctypes.Array) and getattr(ftype, "_type_", None) in octets:
            return lambda raw: raw[offset : offset + size]
    read = field_reader(path)
    return lambda raw: read(slow(raw))


@dataclass
class _Series:
    """One metric of the configuration, bound to a raw view of its map."""

    spec: MetricSpec
    map_id: int
    labels: list[tuple[Reader, Callable[[Any], str]]]
    value: Callable[[Any], float]
    bucket: Reader | None
    # The last scrape's labels of each key, and label dicts of each label set:
    # series rarely change between scrapes, decoding them is most of the work.
    labels_of: dict[bytes, tuple[str, ...]] = field(default_factory=dict)
    label_dicts: dict[tuple[str, ...], dict[str, str]] = field(default_factory=dict)

    def labelsets(self, entries: list[tuple[bytes, Any]]) -> list[tuple[str, ...]]:
        """The label set of each entry, decoded for keys the last scrape did not see."""
        known, seen, labels = self.labels_of, {}, self.labels
        out = []
        if len(labels) == 1:  # the common shape, without a loop per key
            [(read, decode)] = labels
            for key, _ in entries:
                labelset = known.get(key)
                if labelset is None:
                    labelset = (decode(read(key)),)
                seen[key] = labelset
                out.append(labelset)
        else:
            for key, _ in entries:
                labelset = known.get(key)
                if labelset is None:
                    labelset = tuple([decode(read(key)) for read, decode in labels])
                seen[key] = labelset
                out.append(labelset)
        self.labels_of = seen  # only what is in the map now: memory stays bounded by it
        return out

    def label_dict(self, labelset: tuple[str, ...], names: list[str]) -> dict[str, str]:
        """``{name: value}`` of a label set, shared by the scrapes that see it."""
        found = self.label_dicts.get(labelset)
        if found is None:
            found = self.label_dicts[labelset] = dict(zip(names, labelset))
        return found


class MapCollector(Collector):
    """A prometheus_client collector of the configured maps, read at each
    scrape.  Maps are read as bytes (a second handle on each) and the fields
    the metrics use are taken by offset: no decoded object per entry."""

    def __init__(self, config: Config, objects: dict[str, pybpf.BPFObject]) -> None:
        self.series: list[_Series] = []
        self.maps: dict[int, pybpf.Map] = {}  # a bytes view of each map, by id: read once per scrape
        try:
            for spec in config.metrics:
                self.series.append(self._bind(spec, objects[spec.program]))
        except BaseException:
            self.close()
            raise

    def _bind(self, spec: MetricSpec, obj: pybpf.BPFObject) -> _Series:
        if spec.map not in obj.maps:
            raise ConfigError(f"{spec.where}: map: {spec.program!r} has no map {spec.map!r} (has: {sorted(obj.maps)})")
        typed = obj.maps[spec.map]
        key_type, value_type = typed.key_type, typed.value_type
        fields = [(label.key, key_type, f"labels[{i}].key") for i, label in enumerate(spec.labels)]
        fields += [(spec.bucket or "", key_type, "bucket"), (spec.value or "", value_type, "value")]
        for path, of, what in fields:
            try:
                _field_layout(of, path)
            except AttributeError:
                raise ConfigError(f"{spec.where}: {what}: map {spec.map!r} has no field {path!r}") from None
        if typed.id not in self.maps:
            self.maps[typed.id] = pybpf.Map.from_id(
                typed.id, key_type=ctypes.c_ubyte * typed.key_size, value_type=ctypes.c_ubyte * typed.value_size
            )
        key_codec, value_codec = typed.key_codec, typed.value_codec
        labels = [(_raw_reader(key_type, label.key, key_codec.decode), decoder_for(label)) for label in spec.labels]
        bucket = _raw_reader(key_type, spec.bucket, key_codec.decode) if spec.bucket is not None else None
        inner = getattr(value_codec, "inner", value_codec)  # per-CPU: one CPU's codec
        value: Callable[[Any], Any] = _raw_reader(value_type, spec.value or "", inner.decode)
        if typed.type.is_percpu:
            one = value
            value = lambda values: sum(one(v) for v in values)  # noqa: E731  # per-CPU values summed
        return _Series(spec, typed.id, labels, value, bucket)

    def close(self) -> None:
        """Release the collector's handles on the maps."""
        for bpf_map in self.maps.values():
            bpf_map.close()

    def collect(self) -> Iterator[Metric]:
        """Each metric, read from its map now (each map read once per scrape).

        The cyclic garbage collector is paused meanwhile: a scrape allocates
        hundreds of thousands of tuples, dicts and samples, none in a cycle,
        which would otherwise set off full collections that rescan the label
        caches (a third of a cold scrape of 100,000 series)."""
        paused = gc.isenabled()
        gc.disable()
        try:
            entries: dict[int, list[tuple[bytes, Any]]] = {}
            for series in self.series:
                if series.map_id not in entries:
                    entries[series.map_id] = list(self.maps[series.map_id].items())
                yield self._family(series, entries[series.map_id])
        finally:
            if paused:
                gc.enable()

    @staticmethod
    def _family(series: _Series, entries: list[tuple[bytes, Any]]) -> Metric:
        spec = series.spec
        names = [label.name for label in spec.labels]
        value, bucket = series.value, series.bucket
        labelsets = series.labelsets(entries)
        if bucket is None:
            sums: dict[tuple[str, ...], Any] = {}
            for labelset, (_, raw) in zip(labelsets, entries):
                sums[labelset] = sums.get(labelset, 0) + value(raw)
            family: Any = (CounterMetricFamily if spec.type == "counter" else GaugeMetricFamily)(
                spec.name, spec.help, labels=names
            )
            sample, label_dict = family.name + ("_total" if spec.type == "counter" else ""), series.label_dict
            if len(series.label_dicts) > 2 * len(sums):  # label sets gone from the map
                series.label_dicts = {}
            # What add_metric appends, without its call per series (a scrape may have 100,000).
            family.samples = [Sample(sample, label_dict(ls, names), total) for ls, total in sums.items()]
            return family  # type: ignore[no-any-return]
        slots: dict[tuple[str, ...], dict[int, float]] = {}
        for labelset, (key, raw) in zip(labelsets, entries):
            per_slot = slots.setdefault(labelset, {})
            slot = bucket(key)
            per_slot[slot] = per_slot.get(slot, 0) + value(raw)
        histogram = HistogramMetricFamily(spec.name, spec.help, labels=names)
        for labelset, per_slot in slots.items():
            buckets = _buckets(per_slot, spec.bucket_unit)
            histogram.add_metric(list(labelset), buckets, sum_value=None)
            # The count, which add_metric gives only with a sum: a log2 map keeps no sum.
            histogram.samples.append(Sample(spec.name + "_count", dict(zip(names, labelset)), buckets[-1][1]))
        return histogram


def _buckets(per_slot: dict[int, float], unit: float) -> list[tuple[str, float]]:
    """Cumulative ``(le, count)`` buckets of log2 slot counts, ending with +Inf."""
    out: list[tuple[str, float]] = []
    running = 0.0
    for slot in range(max(per_slot) + 1 if per_slot else 0):
        running += per_slot.get(slot, 0)
        bound = (2 ** (slot + 1) - 1) * unit  # 15 digits: 1.5e-05, not 1.4999999999999999e-05; 2**40-1 exactly
        out.append((repr(float(f"{bound:.15g}")), running))
    out.append(("+Inf", running))
    return out
