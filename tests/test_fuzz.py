"""A seeded slice of the fuzzing campaign (``make fuzz`` runs 20,000 cases):
mutated shipped and test objects, each opened, loaded and read in a forked
child inside a memory cgroup, must end in success or a pybpf error, never in
another exception, a crash or a hang."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from emulation import EMULATED

pytestmark = pytest.mark.kernel

SUPPORT = Path(__file__).resolve().parent / "support"


# VM guests under emulation run a smaller slice, each kernel its own (seeded
# by its release): the matrix covers 60 cases in the time of 20.
CASES = 20 if EMULATED else 500
SEED = zlib.crc32(platform.release().encode()) % 10_000 if EMULATED else 13


def test_a_seeded_slice_of_mutated_objects_finds_no_defect(test_objects: dict[str, Path], tmp_path: Path) -> None:
    objects = next(iter(test_objects.values())).parent
    proc = subprocess.run(
        [sys.executable, "-m", "fuzz", "--seed", str(SEED), "--cases", str(CASES), "--objects", str(objects)],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONPATH": str(SUPPORT)},
        cwd=tmp_path,
    )
    report = json.loads(proc.stdout)
    assert report["defects"] == [], f"seed {SEED}: " + json.dumps(report["defects"], indent=1)
    assert proc.returncode == 0, proc.stderr
    assert report["cases"] == CASES
    outcomes = report["outcomes"]
    # Both ends are reached: some mutations still load, most are refused.
    assert outcomes["clean"] > 0 and outcomes["refused"] > 0, outcomes
    assert CASES < 500 or set(report["by_strategy"]) == {
        "bit-flips",
        "btf-cycle",
        "btf-records",
        "code",
        "header",
        "map-sizes",
        "relocations",
        "strings",
        "truncate",
    }
