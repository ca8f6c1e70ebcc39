"""BPF iterators (bpf_progs/task_iter.bpf.c): a task iterator that lists the
processes Python put in its map, read through IterLink."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import pybpf

pytestmark = pytest.mark.kernel


def _comm(pid: int) -> str:
    return Path(f"/proc/{pid}/comm").read_text().strip()


def test_task_iterator_lists_the_watched_processes() -> None:
    # The child prints once it runs: only then has exec set its comm, which
    # Popen's return does not guarantee (the kernel may close the exec status
    # pipe before renaming the task).
    code = "import time; print('up', flush=True); time.sleep(60)"
    sleeper = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    me = os.getpid()
    try:
        assert sleeper.stdout is not None and sleeper.stdout.readline() == "up\n"
        expected = {f"{me} {_comm(me)} 7", f"{sleeper.pid} {_comm(sleeper.pid)} 9"}
        with pybpf.load(pybpf.shipped("task_iter")) as obj:
            notes = obj.maps["notes"]
            notes[me] = 7
            notes[sleeper.pid] = 9
            with obj.programs["list_watched"].attach_iter() as it:
                first = it.lines()
                del notes[sleeper.pid]
                second = it.lines()  # each read is a new pass over the tasks
    finally:
        sleeper.kill()
        sleeper.communicate()
    assert sorted(first) == sorted(expected)
    assert second == [f"{me} {_comm(me)} 7"]
    with pytest.raises(ValueError, match="closed"):
        it.read()
