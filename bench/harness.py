"""The benchmark's method: sides timed in alternating blocks, medians of per-round ratios.

A :class:`Row` is one operation measured several ways (``C``, ``floor``,
``pybpf``, a peer ...).  :func:`run` times every side of every row once per
round, in an order that rotates from round to round, so that a slow moment
of the machine falls on every side alike.  A row's ratios are the medians
over the rounds of each round's own ratio, which cancels drift between
rounds that best-of-N numbers from separate runs do not.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

__all__ = ["Ratio", "Row", "report", "run"]

Measure = Callable[[], float]


@dataclass(frozen=True)
class Ratio:
    """``numerator / denominator`` of a row's sides, with the target it must
    stay under (``None``: shown, not judged)."""

    numerator: str
    denominator: str
    target: float | None = None


@dataclass
class Row:
    """One operation: ``sides`` map a label to a function that times one block
    and returns nanoseconds per operation; ``derived`` sides are computed from
    the others of the same round (a floor made of two measured parts)."""

    name: str
    sides: dict[str, Measure]
    ratios: Sequence[Ratio]
    derived: dict[str, Callable[[dict[str, float]], float]] = field(default_factory=dict)
    samples: dict[str, list[float]] = field(default_factory=dict)
    note: str = ""

    def round_values(self, index: int) -> dict[str, float]:
        """Every side's nanoseconds of round ``index``, derived sides included."""
        values = {label: times[index] for label, times in self.samples.items()}
        for label, derive in self.derived.items():
            values[label] = derive(values)
        return values

    def median_ns(self, label: str) -> float:
        """The median over the rounds of one side's nanoseconds per operation."""
        rounds = len(next(iter(self.samples.values())))
        return statistics.median(self.round_values(i)[label] for i in range(rounds))

    def median_ratio(self, ratio: Ratio) -> float:
        """The median over the rounds of that round's ratio."""
        rounds = len(next(iter(self.samples.values())))
        per_round = []
        for i in range(rounds):
            values = self.round_values(i)
            per_round.append(values[ratio.numerator] / values[ratio.denominator])
        return statistics.median(per_round)


def run(rows: Sequence[Row], rounds: int, progress: Callable[[str], None] = lambda line: None) -> None:
    """Time every side of every row ``rounds`` times, alternating."""
    for row in rows:
        row.samples = {label: [] for label in row.sides}
    for index in range(rounds):
        for row in rows:
            labels = list(row.sides)
            shift = index % len(labels)
            for label in labels[shift:] + labels[:shift]:
                ns = row.sides[label]()
                if ns < 0:
                    raise RuntimeError(f"{row.name}: side {label} failed: errno {-ns:.0f}")
                row.samples[label].append(ns)
        progress(f"round {index + 1}/{rounds} done")


def report(rows: Sequence[Row]) -> tuple[str, bool]:
    """The results as a Markdown table, and whether every target held."""
    lines = [
        "| operation | ns per operation (median) | ratio (median of rounds) | target | |",
        "|---|---|---|---|---|",
    ]
    every = True
    for row in rows:
        labels = [*row.sides, *row.derived]
        times = ", ".join(f"{label} {row.median_ns(label):,.1f}" for label in labels)
        for i, ratio in enumerate(row.ratios):
            value = row.median_ratio(ratio)
            verdict = ""
            if ratio.target is not None:
                held = value <= ratio.target
                every &= held
                verdict = "ok" if held else "**over**"
            lines.append(
                f"| {row.name if i == 0 else ''} | {times if i == 0 else ''} "
                f"| {ratio.numerator} / {ratio.denominator} = {value:.3f}x "
                f"| {f'<= {ratio.target}x' if ratio.target is not None else '-'} | {verdict} |"
            )
    return "\n".join(lines), every
