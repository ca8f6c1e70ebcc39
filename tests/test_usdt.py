"""USDT probes (tests/bpf/usdt_probes.bpf.c) on a helper program with
``<sys/sdt.h>`` probes (tests/helpers/usdt_target.c): arguments read in BPF,
by ``attach_usdt`` and by a full ``SEC("usdt/...")`` section."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import pybpf

pytestmark = pytest.mark.kernel

TICKS = 25


@pytest.fixture
def probes(test_objects: dict[str, Path]) -> Iterator[pybpf.BPFObject]:
    with pybpf.load(test_objects["usdt_probes"]) as obj:
        yield obj


def _run(target: Path, attach: object) -> int:
    """Start the helper, attach (``attach(pid)`` returns links), let it fire; its pid."""
    child = subprocess.Popen([str(target), str(TICKS)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        links = attach(child.pid)  # type: ignore[operator]
        try:
            child.communicate(b"go\n", timeout=60)
        finally:
            for link in links:
                link.close()
        assert child.returncode == 0
        return child.pid
    finally:
        child.kill()
        child.wait()


def test_attach_usdt_reads_the_probe_arguments(probes: pybpf.BPFObject, test_objects: dict[str, Path]) -> None:
    target = test_objects["usdt_target"]
    pid = _run(
        target, lambda pid: [probes.programs["on_tick"].attach_usdt(target, "pybpf", "tick", pid=pid, cookie=77)]
    )
    totals = probes.maps["totals"][pid]
    expected_sum = TICKS * (TICKS + 1) // 2
    assert (totals.ticks, totals.sum_i, totals.sum_v, totals.cookie) == (TICKS, expected_sum, 10 * expected_sum, 77)
    assert totals.done == 0  # not attached


def test_a_full_usdt_section_attaches_by_itself(
    probes: pybpf.BPFObject, test_objects: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = test_objects["usdt_target"]
    monkeypatch.setenv("PATH", f"{target.parent}{os.pathsep}{os.environ.get('PATH', '')}")  # libbpf looks it up there
    prog = probes.programs["on_done"]
    assert prog.attaches_by_section and not probes.programs["on_tick"].attaches_by_section
    pid = _run(target, lambda pid: probes.attach())
    assert probes.maps["totals"][pid].done == TICKS


def test_usdt_errors_name_the_probe(probes: pybpf.BPFObject, test_objects: dict[str, Path]) -> None:
    prog = probes.programs["on_tick"]
    with pytest.raises(pybpf.NotSupportedError, match=r"use attach_usdt\(binary, provider, name\)"):
        prog.attach()
    with pytest.raises(FileNotFoundError, match="no file"):
        prog.attach_usdt("/nonexistent/pybpf-usdt", "pybpf", "tick")
    with pytest.raises(FileNotFoundError, match="has no USDT probe pybpf:nope") as caught:
        prog.attach_usdt(test_objects["usdt_target"], "pybpf", "nope")
    assert "nope" in str(caught.value)
