"""One command across several kernels: guests run two at a time, each
result read back (pytest's JUnit XML when the command is pytest), a
kernel x result matrix printed, JUnit XML written per kernel.
"""

from __future__ import annotations

import concurrent.futures
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from pybpf.vm.guests import CONSOLE_MARK, GuestRun, run_in_guest, stop_all
from pybpf.vm.images import Kernel

__all__ = ["KernelResult", "is_pytest", "print_matrix", "run_matrix", "write_junit"]


@dataclass
class KernelResult:
    """A command's run in one kernel, with pytest's per-test outcomes if it was pytest."""

    run: GuestRun
    outcomes: dict[str, tuple[str, str]] = field(default_factory=dict)
    """test id -> (passed | failed | skipped, skip reason)"""

    @property
    def kernel(self) -> Kernel:
        """The kernel it ran in."""
        return self.run.kernel

    @property
    def ok(self) -> bool:
        """The command exited 0 (and pytest, if it was pytest, ran something)."""
        return self.run.ok and (not self.junit_file.exists() or bool(self.outcomes))

    @property
    def junit_file(self) -> Path:
        """Where pytest wrote its JUnit XML in the guest's share."""
        return self.run.share / "junit.xml"

    def count(self, outcome: str) -> int:
        """How many tests ended ``outcome`` (passed, failed, skipped)."""
        return sum(1 for got, _ in self.outcomes.values() if got == outcome)

    def skips(self) -> list[tuple[str, str]]:
        """(test id, reason) of each skipped test."""
        return [(test, why) for test, (outcome, why) in self.outcomes.items() if outcome == "skipped"]

    def failures(self) -> list[str]:
        """The ids of the tests that failed."""
        return [test for test, (outcome, _) in self.outcomes.items() if outcome == "failed"]


def is_pytest(command: Sequence[str]) -> bool:
    """Whether ``command`` runs pytest (``pytest ...``, ``python -m pytest ...``)."""
    if not command:
        return False
    if Path(command[0]).name in ("pytest", "py.test"):
        return True
    return len(command) >= 3 and command[1] == "-m" and command[2] == "pytest"


def _with_junit(command: Sequence[str], share: Path) -> list[str]:
    if not is_pytest(command):
        return list(command)
    # The guest's root is read-only: no cache; results where the host reads them.
    return [*command, "-p", "no:cacheprovider", f"--junitxml={share / 'junit.xml'}"]


def _test_id(classname: str, name: str) -> str:
    """pytest's node id from JUnit's classname and name: ``tests.test_x.TestY``
    and ``runTest`` give ``tests/test_x.py::TestY::runTest``."""
    parts = classname.split(".")
    for i, part in enumerate(parts):
        if part.startswith("test_") or part.endswith("_test"):
            return "::".join(["/".join(parts[: i + 1]) + ".py", *parts[i + 1 :], name])
    return f"{classname}::{name}"


def read_junit(path: Path) -> dict[str, tuple[str, str]]:
    """test id -> (outcome, skip reason) from pytest's JUnit XML."""
    outcomes: dict[str, tuple[str, str]] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        test = _test_id(case.get("classname", "?"), case.get("name", "?"))
        skipped = case.find("skipped")
        if skipped is not None:
            outcomes[test] = ("skipped", skipped.get("message", ""))
        elif case.find("failure") is not None or case.find("error") is not None:
            outcomes[test] = ("failed", "")
        else:
            outcomes.setdefault(test, ("passed", ""))
    return outcomes


def run_matrix(
    kernels: Sequence[Kernel],
    command: Sequence[str],
    *,
    jobs: int = 2,
    workdir: Path | None = None,
    on_done: Callable[[KernelResult], object] | None = None,
    **guest_options: object,
) -> list[KernelResult]:
    """Run ``command`` in each kernel, ``jobs`` guests at a time; results in
    the kernels' order.  Each guest's share is a directory under
    ``workdir`` (default: a new temporary one), kept for the logs."""
    base = workdir or Path(tempfile.mkdtemp(prefix="pybpf-vm-"))

    def one(index: int, kernel: Kernel) -> KernelResult:
        share = base / f"{index}-{Path(kernel.name).name}"
        run = run_in_guest(kernel, _with_junit(command, share), share=share, **guest_options)  # type: ignore[arg-type]
        result = KernelResult(run)
        if result.junit_file.exists():
            try:
                result.outcomes = read_junit(result.junit_file)
            except ET.ParseError:
                pass  # cut short: the status says what happened
        if on_done is not None:
            on_done(result)
        return result

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        futures = [pool.submit(one, index, kernel) for index, kernel in enumerate(kernels)]
        return [future.result() for future in futures]
    except BaseException:  # Ctrl-C, SIGTERM: stop the guests before waiting for their threads
        stop_all()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def print_matrix(results: Sequence[KernelResult], out: TextIO, *, tail: int = 40, echoed: bool = False) -> None:
    """The kernel x result table; then, for each failed kernel, what failed
    and the last ``tail`` lines of its output (of its console log only, if
    the output was ``echoed`` as it came)."""
    names = [
        r.kernel.name if r.kernel.name == r.kernel.release else f"{r.kernel.name} ({r.kernel.release})" for r in results
    ]
    width = max([len("kernel"), *map(len, names)]) + 2
    out.write(f"{'kernel':<{width}}{'result':<8}{'passed':>8}{'failed':>8}{'skipped':>9}{'min':>7}\n")
    for name, r in zip(names, results):
        verdict = "ok" if r.ok else "FAILED"
        counts = f"{r.count('passed'):>8}{r.count('failed'):>8}{r.count('skipped'):>9}" if r.outcomes else f"{'':>25}"
        out.write(f"{name:<{width}}{verdict:<8}{counts}{r.run.seconds / 60:>7.1f}\n")
    for r in results:
        if r.ok:
            continue
        status = "no exit status (crashed, hung or did not boot)" if r.run.rc is None else f"exit status {r.run.rc}"
        out.write(f"\n--- {r.kernel.name} ({r.kernel.release}) failed: {status}; logs in {r.run.share}\n")
        for test in r.failures():
            out.write(f"  failed: {test}\n")
        text = r.run.output.partition(CONSOLE_MARK)[2] if echoed else r.run.output
        if text and tail > 0:
            out.write("\n".join(text.splitlines()[-tail:]) + "\n")


def write_junit(result: KernelResult, directory: Path) -> Path:
    """``<directory>/<kernel>.xml``: pytest's own report, or for any other
    command one test case, the command; each suite carries the kernel in
    its name and, as properties, the kernel's name, release and origin,
    the guest's minutes and its exit status."""
    directory.mkdir(parents=True, exist_ok=True)
    name = Path(result.kernel.name).name
    path = directory / f"{name}.xml"
    if result.outcomes:
        root = ET.parse(result.junit_file).getroot()
        suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    else:
        case = ET.Element("testcase", classname="pybpf.vm", name=name, time=f"{result.run.seconds:.1f}")
        if not result.ok:
            failure = ET.SubElement(case, "failure", message=f"exit status {result.run.rc}")
            failure.text = "\n".join(result.run.output.splitlines()[-200:])
        ET.SubElement(case, "system-out").text = result.run.output
        suite = ET.Element("testsuite", name="pybpf vm", tests="1", failures=str(int(not result.ok)))
        suite.append(case)
        suites = [suite]
    for suite in suites:
        suite.set("name", f"{suite.get('name', 'pytest')} [{result.kernel.release}]")
        suite.set("hostname", result.kernel.release)
        properties = suite.find("properties")
        if properties is None:
            properties = ET.Element("properties")
            suite.insert(0, properties)
        facts = {
            "kernel": result.kernel.name,
            "release": result.kernel.release,
            "origin": result.kernel.origin,
            "minutes": f"{result.run.seconds / 60:.1f}",
            "exit_status": str(result.run.rc),
        }
        for key, value in facts.items():
            ET.SubElement(properties, "property", name=f"pybpf_vm_{key}", value=value)
    wrapper = ET.Element("testsuites")
    wrapper.extend(suites)
    ET.ElementTree(wrapper).write(path, encoding="utf-8", xml_declaration=True)
    return path
