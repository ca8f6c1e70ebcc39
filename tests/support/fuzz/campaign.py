"""Run mutated objects through pybpf, each case in a forked child.

A child joins a memory cgroup, then opens the object (with a
``max_map_bytes`` bound), reads its maps' types and globals, loads it,
reads a few entries of every map, and closes it.  It reports its outcome on
a pipe:

* ``clean``: everything worked; ``refused``: a ``pybpf.BPFError`` (the
  library's error family) said why;
* ``escaped``: any other exception (a defect);
* ``crashed``: the child died by a signal or without a report (a defect);
* ``hung``: it passed the time limit and was killed (a defect).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import selectors
import signal
import subprocess
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pybpf

from fuzz.mutations import Base, Case, mutate
from memory_cgroup import memory_limited

DEFECTS = ("escaped", "crashed", "hung")
# Generous for the campaign, far below what a damaged 2^31-entry map asks.
MAX_MAP_BYTES = 64 << 20


@dataclass
class Report:
    """What a campaign found: outcomes by name and by strategy, and each defect."""

    cases: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    by_strategy: dict[str, Counter[str]] = field(default_factory=dict)
    defects: list[dict[str, object]] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, case: Case, outcome: str, detail: str) -> None:
        self.cases += 1
        self.outcomes[outcome] += 1
        self.by_strategy.setdefault(case.strategy, Counter())[outcome] += 1
        if outcome in DEFECTS:
            self.defects.append(
                {
                    "case": case.number,
                    "base": case.base,
                    "strategy": case.strategy,
                    "outcome": outcome,
                    "detail": detail,
                }
            )

    def as_dict(self) -> dict[str, object]:
        return {
            "cases": self.cases,
            "seconds": round(self.seconds, 1),
            "outcomes": {k: self.outcomes[k] for k in ("clean", "refused", *DEFECTS)},
            "by_strategy": {k: dict(v) for k, v in sorted(self.by_strategy.items())},
            "defects": self.defects,
        }


def _exercise(path: str, pin_root: str) -> None:
    """What a user does with an object: everything that parses its contents."""
    with pybpf.BPFObject.open(path, pin_root=pin_root, max_map_bytes=MAX_MAP_BYTES) as obj:
        for section in (obj.rodata, obj.data, obj.bss):
            for name in list(section):
                _ = section.get(name)
        for m in obj.maps.values():
            _ = m.declared_bytes
        obj.load()
        for m in obj.maps.values():
            try:
                if isinstance(m, pybpf.Map):
                    _ = list(itertools.islice(m.items(), 4))
            except pybpf.BPFError:
                pass  # a map that cannot be listed says so: a refusal, not a defect
        for section in (obj.rodata, obj.data, obj.bss):
            for name in list(section):
                _ = section.get(name)


def _child(case: Case, directory: str, procs: Path, report_fd: int) -> None:
    outcome, detail = "clean", ""
    try:
        procs.write_text(str(os.getpid()))
        logging.disable(logging.CRITICAL)
        path = os.path.join(directory, f"case-{case.number}.bpf.o")
        with open(path, "wb") as f:
            f.write(case.data)
        _exercise(path, os.path.join(directory, "pins"))
    except pybpf.BPFError as exc:
        outcome, detail = "refused", f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    except BaseException as exc:  # noqa: BLE001 - every other exception is the finding
        outcome = "escaped"
        detail = "".join(traceback.format_exception(exc))[-2000:]
    os.write(report_fd, json.dumps({"outcome": outcome, "detail": detail}).encode())
    os._exit(0)


@dataclass
class _Running:
    case: Case
    pid: int
    pidfd: int
    report: int
    deadline: float


def _finish(run: _Running, timed_out: bool) -> tuple[str, str]:
    if timed_out:
        os.kill(run.pid, signal.SIGKILL)
    _, status = os.waitpid(run.pid, 0)
    chunks = []
    while chunk := os.read(run.report, 65536):
        chunks.append(chunk)
    os.close(run.report)
    os.close(run.pidfd)
    if timed_out:
        return "hung", "killed after the time limit"
    if not chunks:
        return "crashed", f"died with status {status} (signal {os.WTERMSIG(status) if os.WIFSIGNALED(status) else '-'})"
    result = json.loads(b"".join(chunks))
    return str(result["outcome"]), str(result["detail"])


@contextmanager
def _private_bpffs() -> Iterator[str]:
    """A bpffs instance of the campaign's own: pins of mutated objects vanish with it."""
    directory = tempfile.mkdtemp(prefix="pybpf-fuzz-")
    pins = os.path.join(directory, "pins")
    os.mkdir(pins)
    subprocess.run(["mount", "-t", "bpf", "bpf", pins], check=True)
    try:
        yield directory
    finally:
        subprocess.run(["umount", pins], check=True)
        for name in os.listdir(directory):
            if name != "pins":
                os.unlink(os.path.join(directory, name))
        os.rmdir(pins)
        os.rmdir(directory)


def run(
    corpus: list[Base],
    *,
    seed: int,
    cases: int,
    start: int = 0,
    jobs: int = 2,
    timeout: float = 30.0,
    memory_limit: int = 1 << 30,
) -> Report:
    """Run cases ``start .. start+cases-1`` of ``seed``, ``jobs`` at a time."""
    report = Report()
    began = time.monotonic()
    numbers = iter(range(start, start + cases))
    running: dict[int, _Running] = {}
    selector = selectors.DefaultSelector()
    with memory_limited(memory_limit) as procs, _private_bpffs() as directory:
        while True:
            while len(running) < jobs and (number := next(numbers, None)) is not None:
                case = mutate(corpus, seed, number)
                read_end, write_end = os.pipe()
                pid = os.fork()
                if pid == 0:
                    os.close(read_end)
                    _child(case, directory, procs, write_end)
                os.close(write_end)
                pidfd = os.pidfd_open(pid)
                running[pidfd] = _Running(case, pid, pidfd, read_end, time.monotonic() + timeout)
                selector.register(pidfd, selectors.EVENT_READ)
            if not running:
                break
            wait = max(0.0, min(r.deadline for r in running.values()) - time.monotonic())
            ready = {key.fd for key, _ in selector.select(wait)}
            now = time.monotonic()
            for pidfd in [fd for fd, r in running.items() if fd in ready or r.deadline <= now]:
                run_ = running.pop(pidfd)
                selector.unregister(pidfd)
                outcome, detail = _finish(run_, timed_out=pidfd not in ready)
                report.add(run_.case, outcome, detail)
                path = os.path.join(directory, f"case-{run_.case.number}.bpf.o")
                if os.path.exists(path):
                    os.unlink(path)
    report.seconds = time.monotonic() - began
    return report
