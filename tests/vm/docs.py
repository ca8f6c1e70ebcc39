"""The docs the project's kernel matrix writes, from ``pybpf vm``'s JUnit
XML (``make vm-test``, ``make program-types``; see the Makefile):

    python tests/vm/docs.py matrix DIR          # docs/kernel-matrix.md
    python tests/vm/docs.py program-types DIR   # docs/program-types.md

DIR holds one JUnit file per kernel (``pybpf vm --junit-dir``), each with
the ``pybpf_vm_*`` properties that name the kernel, and for program types
``host.xml`` from the same tests on the running kernel.
"""

from __future__ import annotations

import collections
import datetime
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))  # program_types
from pybpf.vm.guests import vng  # noqa: E402
from pybpf.vm.matrix import read_junit  # noqa: E402

import program_types  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
MATRIX = ROOT / "docs" / "kernel-matrix.md"
PROGRAM_TYPES = ROOT / "docs" / "program-types.md"
KERNELS = ("6.1", "6.12", "7.3")  # the matrix, in its order


@dataclass
class Result:
    """One kernel's (or the host's) run of the suite, from its JUnit file."""

    name: str
    release: str
    origin: str
    minutes: float
    ok: bool
    outcomes: dict[str, tuple[str, str]]

    @classmethod
    def read(cls, path: Path) -> Result:
        root = ET.parse(path).getroot()
        facts = {
            prop.get("name", "").removeprefix("pybpf_vm_"): prop.get("value", "")
            for prop in root.iter("property")
            if prop.get("name", "").startswith("pybpf_vm_")
        }
        outcomes = read_junit(path)
        ok = facts.get("exit_status", "0") == "0" and bool(outcomes)
        return cls(
            facts.get("kernel", path.stem),
            facts.get("release", os.uname().release),  # host.xml: pytest's own, on the running kernel
            facts.get("origin", "(running)"),
            float(facts.get("minutes", "0")),
            ok,
            outcomes,
        )

    @property
    def series(self) -> str:
        return ".".join(self.release.split(".")[:2])

    def total(self, outcome: str) -> int:
        return sum(1 for got, _ in self.outcomes.values() if got == outcome)

    def failed(self) -> int:
        """Failed tests; a run that failed without any (it crashed, timed out) counts one."""
        return self.total("failed") or (0 if self.ok else 1)

    @property
    def modules(self) -> dict[str, collections.Counter[str]]:
        out: dict[str, collections.Counter[str]] = {}
        for test, (outcome, _) in self.outcomes.items():
            out.setdefault(test.split("::")[0], collections.Counter())[outcome] += 1
        return out

    @property
    def skips(self) -> list[tuple[str, str]]:
        return [(test, why) for test, (outcome, why) in self.outcomes.items() if outcome == "skipped"]


def render(results: list[Result]) -> str:
    """docs/kernel-matrix.md: the kernels, per-module counts, every skip reason."""
    version = subprocess.run([vng(), "--version"], capture_output=True, text=True).stdout.strip()
    lines = [
        "# Kernel matrix",
        "",
        f"Written by `make vm-test` (`pybpf vm`, then tests/vm/docs.py) on {datetime.date.today()}: each Debian",
        f"kernel booted with {version} under qemu software emulation (1 vCPU) and ran the test suite with",
        "`PYBPF_REQUIRE_KERNEL=1`, three guests at once on two cores.  The tests marked `host_only` (their outcome",
        "does not depend on the kernel) run on the host only.  Counts are passed / failed / skipped.",
        "",
        "| kernel | Debian package version | passed | failed | skipped | minutes |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.release} | {r.origin.removeprefix('Debian ')} | {r.total('passed')} | {r.failed()}"
            f" | {r.total('skipped')} | {r.minutes:.1f} |"
        )
    lines += ["", "## Per test module", "", "| module | " + " | ".join(r.series for r in results) + " |"]
    lines.append("|---|" + "---|" * len(results))
    for module in sorted({m for r in results for m in r.modules}):
        cells = []
        for r in results:
            c = r.modules.get(module, collections.Counter())
            cells.append(f"{c['passed']} / {c['failed']} / {c['skipped']}")
        lines.append(f"| {module} | " + " | ".join(cells) + " |")
    lines += ["", "## Skips", ""]
    skips = [(r.series, test, reason) for r in results for test, reason in r.skips]
    lines += [f"- {series}: `{test}`: {reason}" for series, test, reason in skips] or ["None."]
    return "\n".join(lines) + "\n"


def _outcomes(result: Result, tests: tuple[str, ...]) -> list[tuple[str, str]]:
    """(outcome, skip reason without the kernel release) of each test of a type."""
    suffix = f" ({result.release})"
    return [
        (outcome, why.removesuffix(suffix))
        for test, (outcome, why) in result.outcomes.items()
        if any(test.startswith(prefix) for prefix in tests)
    ]


def _type_cell(result: Result, row: Any, reasons: dict[str, int]) -> str:
    """One type on one kernel: attached (+test_run), partly, skipped with a reason, or failed."""
    outcomes = _outcomes(result, row.tests)
    kinds = {outcome for outcome, _ in outcomes}
    if not outcomes:  # the lirc kernel runs the LIRC_MODE2 tests alone: it is built for them
        return "-" if result.name == "lirc" else "**not run**"
    if "failed" in kinds:
        return "**failed**"
    numbers = [reasons.setdefault(why, len(reasons) + 1) for outcome, why in outcomes if outcome == "skipped"]
    notes = "".join(f" [{number}]" for number in sorted(set(numbers)))
    if "passed" not in kinds:
        return f"skipped{notes}"
    cell = "attached" if not notes else f"attached (some tests skipped{notes})"
    if row.test_run:
        runs = {outcome for outcome, _ in _outcomes(result, row.test_run)}
        cell += " +test_run" if runs == {"passed"} else f" (test_run {'/'.join(sorted(runs)) or 'not run'})"
    return cell


def render_program_types(results: list[Result]) -> str:
    """docs/program-types.md: per program type and kernel, what the suite showed."""
    lines = [
        "# Program types",
        "",
        f"Written by `make program-types` (`pybpf vm`, then tests/vm/docs.py) on {datetime.date.today()}: the tests",
        "named in tests/support/program_types.py, run on the host and in each VM kernel.  Every type has a shipped",
        "program that calls `bpf_map_lookup_elem` on a map it shares with Python.  **attached** means its",
        "tests loaded it, attached it the way the kernel attaches it, triggered it for real and checked what",
        "it recorded; **+test_run** that its `BPF_PROG_TEST_RUN` test passed too.  The last kernel is built",
        "here for LIRC_MODE2 (`make vm-lirc-kernel`: BPF's core and rc-core) and runs only its tests (-).",
        "",
        "| type | program | attach | " + " | ".join(r.release for r in results) + " |",
        "|---|---|---|" + "---|" * len(results),
    ]
    reasons: dict[str, int] = {}
    for name, row in program_types.TYPES.items():
        cells = [_type_cell(r, row, reasons) for r in results]
        lines.append(f"| {name} | {row.programs} | {row.attach} | " + " | ".join(cells) + " |")
    lines += ["", "Skip reasons:", ""]
    lines += [f"{number}. {why}" for why, number in reasons.items()] or ["None."]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("matrix", "program-types"):
        print(__doc__, file=sys.stderr)
        return 2
    kind, directory = argv[0], Path(argv[1])
    results = [Result.read(path) for path in sorted(directory.glob("*.xml")) if path.stem != "host"]
    order = {name: index for index, name in enumerate((*KERNELS, "lirc"))}
    results.sort(key=lambda r: order.get(r.name, len(order)))
    if kind == "matrix":
        MATRIX.write_text(render(results))
        print(f"wrote {MATRIX.relative_to(ROOT)}")
    else:
        host = Result.read(directory / "host.xml")
        PROGRAM_TYPES.write_text(render_program_types([host, *results]))
        print(f"wrote {PROGRAM_TYPES.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
