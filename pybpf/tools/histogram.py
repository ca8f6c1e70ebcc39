"""Log2 histograms as the latency tools keep them (``bpf_progs/log2_hist.h``:
slot s counts values in [2^s, 2^(s+1)), and 0 in slot 0), drawn in the
terminal the way BCC draws them, or as JSON buckets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["as_json", "buckets", "delta", "render"]

BAR_WIDTH = 40


def _bounds(slot: int) -> tuple[int, int]:
    return (0 if slot == 0 else 1 << slot), (1 << (slot + 1)) - 1


def buckets(slots: Mapping[int, int]) -> list[dict[str, int]]:
    """``[{"low", "high", "count"}]`` from slot 0 to the last non-empty slot."""
    last = max((slot for slot, count in slots.items() if count), default=-1)
    return [{"low": low, "high": high, "count": slots.get(s, 0)} for s in range(last + 1) for low, high in [_bounds(s)]]


def delta(now: Mapping[int, int], before: Mapping[int, int]) -> dict[int, int]:
    """What each slot counted since ``before`` (the maps are never cleared,
    so that no increment is lost between a read and a reset)."""
    return {slot: count - before.get(slot, 0) for slot, count in now.items()}


def render(slots: Mapping[int, int], unit: str) -> str:
    """The histogram as BCC prints it: one row per slot, with a bar."""
    rows = buckets(slots)
    if not rows:
        return f"{unit:>16} : count     distribution\n(no events)"
    peak = max(row["count"] for row in rows) or 1
    width = max(10, len(str(rows[-1]["high"])))
    lines = [f"{unit:>{width * 2 + 4}} : count     distribution"]
    for row in rows:
        bar = "*" * (row["count"] * BAR_WIDTH // peak)
        lines.append(f"{row['low']:>{width}} -> {row['high']:<{width}} : {row['count']:<9} |{bar:<{BAR_WIDTH}}|")
    return "\n".join(lines)


def as_json(slots: Mapping[int, int], unit: str, **extra: Any) -> dict[str, Any]:
    """The histogram as a JSON-ready object."""
    return {**extra, "unit": unit, "total": sum(slots.values()), "buckets": buckets(slots)}
