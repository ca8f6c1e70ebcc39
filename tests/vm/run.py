"""The VM kernel matrix: boot Debian kernels with virtme-ng under qemu and run
the test suite inside each.

    make vm-test                      # every kernel of the matrix
    make vm-test KERNELS="6.1 7.3"    # a subset
    make vm-shell KERNEL=6.12         # an interactive guest
    python tests/vm/run.py --kernels 6.12 -- -k sockmap   # pytest arguments after --

The guests run under software emulation (``--disable-kvm``: this machine's
/dev/kvm cannot run ordinary guests) with one vCPU, which TCG runs faster
than two.  A guest sees the host filesystem read-only and runs the suite with
the package installed in the host's ``.venv``; JUnit XML and the exit status
come back through a writable share.  Prints kernel x passed/failed/skipped,
writes docs/kernel-matrix.md, and exits non-zero on any failure.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import datetime
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent / "support"))  # program_types
import kernels  # noqa: E402 - these directories are not packages

import program_types  # noqa: E402

ROOT = kernels.ROOT
VENV_BIN = ROOT / ".venv" / "bin"
GUEST = Path(__file__).resolve().parent / "guest.sh"
MATRIX = ROOT / "docs" / "kernel-matrix.md"
PROGRAM_TYPES = ROOT / "docs" / "program-types.md"
VNG_OPTIONS = ["--disable-kvm", "--cpus", "1", "--memory", "2G"]
TIMEOUT = 30 * 60  # seconds per kernel: the suite takes about two minutes under TCG


@dataclass
class Result:
    """One kernel's run: counts per test module, skip reasons, failures."""

    kernel: kernels.Kernel
    seconds: float = 0.0
    rc: int | None = None  # the guest's pytest exit status (None: it never wrote one)
    modules: dict[str, collections.Counter[str]] = field(default_factory=dict)
    skips: list[tuple[str, str]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    outcomes: dict[str, tuple[str, str]] = field(default_factory=dict)  # test id -> (outcome, skip reason)
    log: str = ""

    def total(self, outcome: str) -> int:
        return sum(counts[outcome] for counts in self.modules.values())

    def failed(self) -> int:
        """Failed tests; a run that failed without any (it crashed, timed out) counts one."""
        return self.total("failed") or (0 if self.ok else 1)

    @property
    def ok(self) -> bool:
        return self.rc == 0 and not self.failures and self.total("passed") > 0


def vng() -> str:
    """The virtme-ng front end installed in the project's venv (``make vm-deps``)."""
    path = VENV_BIN / "vng"
    if not path.exists():
        raise SystemExit("virtme-ng is not installed in .venv: run `make vm-deps` (or `make vm-test`)")
    return str(path)


def _env() -> dict[str, str]:
    # vng starts virtme-run by name, and depmod lives in /sbin.
    return {**os.environ, "PATH": f"{VENV_BIN}:/usr/sbin:/sbin:{os.environ.get('PATH', '')}"}


def boot(kernel: kernels.Kernel, *, command: str | None, share: Path | None, log: Path | None) -> None:
    """Boot ``kernel``; run ``command`` in it and power off, or give a shell."""
    cmd = [vng(), "--run", str(kernel.vmlinuz), *VNG_OPTIONS]
    if share is not None:
        cmd += ["--rwdir", str(share)]
    if command is not None:
        cmd += ["--exec", command]
    if log is None:
        subprocess.run(cmd, env=_env(), check=False)
        return
    with log.open("w") as out:
        try:
            subprocess.run(cmd, env=_env(), stdout=out, stderr=subprocess.STDOUT, timeout=TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            out.write(f"\nvm: timed out after {TIMEOUT} s\n")


def build_test_objects(out: Path) -> None:
    """tests/bpf/*.bpf.c and tests/helpers/*.c built once on the host, like
    the shipped programs: the guests load these CO-RE objects as they are (a
    guest kernel's own vmlinux.h may lack types or not compile)."""
    subprocess.run(
        [sys.executable, str(ROOT / "tests" / "support" / "objects.py"), str(out)],
        check=True,
        stderr=subprocess.DEVNULL,
    )


def run_suite(kernel: kernels.Kernel, objects: Path, pytest_args: list[str]) -> Result:
    """Boot ``kernel`` and run the suite in it."""
    share = Path(tempfile.mkdtemp(prefix=f"pybpf-vm-{kernel.series}-"))
    shutil.copytree(objects, share / "objects")  # the share is visible in the guest for sure
    start = time.monotonic()
    boot(kernel, command=" ".join(_guest_command(share, pytest_args)), share=share, log=share / "console.log")
    return _collect(Result(kernel, seconds=time.monotonic() - start), share)


def run_host(objects: Path, pytest_args: list[str]) -> Result:
    """Run the same suite, the same way, on the running kernel."""
    share = Path(tempfile.mkdtemp(prefix="pybpf-vm-host-"))
    shutil.copytree(objects, share / "objects")
    host = kernels.Kernel(series="host", release=os.uname().release, version="(running)", tree=Path("/"))
    start = time.monotonic()
    subprocess.run(_guest_command(share, pytest_args), check=False)
    return _collect(Result(host, seconds=time.monotonic() - start), share)


def _guest_command(share: Path, pytest_args: list[str]) -> list[str]:
    return ["env", f"PYBPF_TEST_OBJECTS={share / 'objects'}", "sh", str(GUEST), str(ROOT), str(share), *pytest_args]


def _collect(result: Result, share: Path) -> Result:
    """Read what guest.sh left in ``share``; remove it unless the run failed."""
    rc = share / "rc"
    result.rc = int(rc.read_text()) if rc.exists() else None
    junit = share / "junit.xml"
    if junit.exists():
        _read_junit(junit, result)
    log = share / "pytest.log" if (share / "pytest.log").exists() else share / "console.log"
    result.log = log.read_text(errors="replace")
    if result.ok:
        shutil.rmtree(share)
    else:
        print(f"vm {result.kernel.series}: logs kept in {share}", file=sys.stderr)
    return result


def _module(classname: str) -> str:
    parts = classname.split(".")
    for i, part in enumerate(parts):
        if part.startswith("test_"):
            return "/".join(parts[: i + 1]) + ".py"
    return classname


def _read_junit(path: Path, result: Result) -> None:
    for case in ET.parse(path).getroot().iter("testcase"):
        module = _module(case.get("classname", "?"))
        test = f"{module}::{case.get('name')}"
        counts = result.modules.setdefault(module, collections.Counter())
        skipped = case.find("skipped")
        if skipped is not None:
            counts["skipped"] += 1
            result.skips.append((test, skipped.get("message", "")))
            result.outcomes[test] = ("skipped", skipped.get("message", ""))
        elif case.find("failure") is not None or case.find("error") is not None:
            counts["failed"] += 1
            result.failures.append(test)
            result.outcomes[test] = ("failed", "")
        else:
            counts["passed"] += 1
            result.outcomes[test] = ("passed", "")


def render(results: list[Result]) -> str:
    """docs/kernel-matrix.md: the kernels, per-module counts, every skip reason."""
    version = subprocess.run([vng(), "--version"], capture_output=True, text=True, env=_env()).stdout.strip()
    lines = [
        "# Kernel matrix",
        "",
        f"Written by `make vm-test` (tests/vm/run.py) on {datetime.date.today()}: each Debian kernel booted with",
        f"{version} under qemu software emulation (1 vCPU) and ran the test suite with `PYBPF_REQUIRE_KERNEL=1`.",
        "Counts are passed / failed / skipped.",
        "",
        "| kernel | Debian package version | passed | failed | skipped | minutes |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in results:
        k = r.kernel
        lines.append(
            f"| {k.release} | {k.version} | {r.total('passed')} | {r.failed()} | {r.total('skipped')}"
            f" | {r.seconds / 60:.1f} |"
        )
    lines += ["", "## Per test module", "", "| module | " + " | ".join(r.kernel.series for r in results) + " |"]
    lines.append("|---|" + "---|" * len(results))
    for module in sorted({m for r in results for m in r.modules}):
        cells = []
        for r in results:
            c = r.modules.get(module, collections.Counter())
            cells.append(f"{c['passed']} / {c['failed']} / {c['skipped']}")
        lines.append(f"| {module} | " + " | ".join(cells) + " |")
    lines += ["", "## Skips", ""]
    skips = [(r.kernel.series, test, reason) for r in results for test, reason in r.skips]
    lines += [f"- {series}: `{test}`: {reason}" for series, test, reason in skips] or ["None."]
    return "\n".join(lines) + "\n"


def _outcomes(result: Result, tests: tuple[str, ...]) -> list[tuple[str, str]]:
    """(outcome, skip reason without the kernel release) of each test of a type."""
    suffix = f" ({result.kernel.release})"
    return [
        (outcome, why.removesuffix(suffix))
        for test, (outcome, why) in result.outcomes.items()
        if any(test.startswith(prefix) for prefix in tests)
    ]


def _type_cell(result: Result, row: Any, reasons: dict[str, int]) -> str:
    """One type on one kernel: attached (+test_run), partly, skipped with a reason, or failed."""
    outcomes = _outcomes(result, row.tests)
    kinds = {outcome for outcome, _ in outcomes}
    if not outcomes:
        return "**not run**"
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
        f"Written by `make program-types` (tests/vm/run.py --program-types) on {datetime.date.today()}: the tests",
        "named in tests/support/program_types.py, run on the host and in each VM kernel.  Every type has a shipped",
        "program that calls `bpf_map_lookup_elem` on a map it shares with Python.  **attached** means its",
        "tests loaded it, attached it the way the kernel attaches it, triggered it for real and checked what",
        "it recorded; **+test_run** that its `BPF_PROG_TEST_RUN` test passed too.",
        "",
        "| type | program | attach | " + " | ".join(r.kernel.release for r in results) + " |",
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--kernels", default=" ".join(kernels.DEFAULT), help="kernel series, space separated")
    parser.add_argument("--shell", metavar="KERNEL", help="boot this kernel with an interactive shell")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="guests booted at once")
    parser.add_argument("--no-matrix", action="store_true", help="do not rewrite docs/kernel-matrix.md")
    parser.add_argument(
        "--program-types",
        action="store_true",
        help="run the program-type tests on the host and the kernels; write docs/program-types.md",
    )
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest in the guests (after --)")
    args = parser.parse_args(argv)
    if args.shell:
        boot(kernels.fetch(args.shell), command=None, share=None, log=None)
        return 0
    series = args.kernels.split()
    pytest_args = list(args.pytest_args)
    if args.program_types:
        pytest_args += program_types.modules()
    fetched = [kernels.fetch(s) for s in series]  # one at a time: they share the apt cache
    with tempfile.TemporaryDirectory(prefix="pybpf-vm-objects-") as objects:
        build_test_objects(Path(objects))
        host = [run_host(Path(objects), pytest_args)] if args.program_types else []
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            results = host + list(pool.map(lambda k: run_suite(k, Path(objects), pytest_args), fetched))
    print(f"{'kernel':<28}{'passed':>8}{'failed':>8}{'skipped':>9}{'min':>6}")
    for r in results:
        print(
            f"{r.kernel.release:<28}{r.total('passed'):>8}{r.failed():>8}{r.total('skipped'):>9}{r.seconds / 60:>6.1f}"
        )
        for test, reason in r.skips:
            print(f"  skipped {test}: {reason}")
        if not r.ok:
            print(f"--- {r.kernel.release}: rc={r.rc}, failed: {', '.join(r.failures) or '(no results)'}")
            print("\n".join(r.log.splitlines()[-40:]))
    if not args.no_matrix and not pytest_args and series == list(kernels.DEFAULT):
        MATRIX.write_text(render(results))
        print(f"wrote {MATRIX.relative_to(ROOT)}")
    if args.program_types and not args.pytest_args and series == list(kernels.DEFAULT):
        PROGRAM_TYPES.write_text(render_program_types(results))
        print(f"wrote {PROGRAM_TYPES.relative_to(ROOT)}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
