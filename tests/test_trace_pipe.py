"""pybpf.trace_pipe(): bpf_printk lines from a program run for real, with
tracefs and tracing_on left as they were."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import pybpf

pytestmark = pytest.mark.kernel


def _says(obj: pybpf.BPFObject, pipe: pybpf.TracePipe, lengths: list[int]) -> list[str]:
    for length in lengths:
        obj.programs["say_length"].test_run(bytes(length))
    got: list[str] = []
    for line in pipe:
        if line.message.startswith("pybpf says"):
            got.append(line.message)
            if len(got) == len(lengths):
                break
    return got


def test_printk_lines_while_tracing_is_switched_on(test_objects: dict[str, Path], tracefs: str) -> None:
    switch = Path(tracefs) / "tracing_on"
    before = switch.read_text().strip()
    switch.write_text("0")  # off: the pipe turns it on only while it is open
    try:
        with pybpf.load(test_objects["sections"]) as obj, pybpf.trace_pipe(timeout=5.0) as pipe:
            assert switch.read_text().strip() == "1"
            assert _says(obj, pipe, [60, 61, 62]) == ["pybpf says 60", "pybpf says 61", "pybpf says 62"]
        assert switch.read_text().strip() == "0" and pipe.closed
        with pytest.raises(ValueError, match="closed"):
            iter(pipe)
    finally:
        switch.write_text(before)


CHILD = textwrap.dedent(
    """
    import subprocess, sys
    import pybpf
    for mount in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing", "/sys/kernel/debug"):
        subprocess.run(["umount", mount], capture_output=True)  # this namespace only; debugfs automounts tracing
    assert not pybpf.tracefs_mounted(), open("/proc/self/mounts").read()
    with pybpf.load(sys.argv[1]) as obj, pybpf.trace_pipe(timeout=5.0) as pipe:
        obj.programs["say_length"].test_run(bytes(77))
        line = next(line for line in pipe if line.message.startswith("pybpf says"))
    print(line.message, line.task, pybpf.tracefs_mounted())
    """
)


def test_a_private_tracefs_mount_is_gone_afterwards(test_objects: dict[str, Path], tmp_path: Path) -> None:
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", sys.executable, "-c", CHILD, str(test_objects["sections"])],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    message, _, rest = done.stdout.strip().rpartition(" ")
    assert rest == "False" and message.startswith("pybpf says 77 ")
