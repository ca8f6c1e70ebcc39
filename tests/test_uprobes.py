"""uprobes and uretprobes (bpf_progs/user_hooks.bpf.c) on a function of a
helper program the tests build (tests/helpers/uprobe_target.c)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pybpf

pytestmark = pytest.mark.kernel

CALLS = 50
SYMBOL = "pybpf_target_add"


@pytest.fixture
def user_hooks() -> Iterator[pybpf.BPFObject]:
    with pybpf.load(pybpf.shipped("user_hooks")) as obj:
        yield obj


def run_target(target: Path, record: pybpf.Map, attach: Any) -> tuple[Any, int]:
    """Start the helper, attach (``attach(pid)`` returns links), let it make
    CALLS calls, and return what the programs recorded and the sum it printed."""
    child = subprocess.Popen([str(target), str(CALLS)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        record[child.pid] = {}
        links = attach(child.pid)
        try:
            out, _ = child.communicate(b"go\n", timeout=60)
        finally:
            for link in links:
                link.close()
        assert child.returncode == 0
        return record.pop(child.pid), int(out)
    finally:
        child.kill()
        child.wait()


def test_uprobe_and_uretprobe_see_every_call_by_symbol(
    user_hooks: pybpf.BPFObject, test_objects: dict[str, Path]
) -> None:
    target = test_objects["uprobe_target"]
    progs = user_hooks.programs

    def attach(pid: int) -> list[pybpf.Link]:
        return [
            progs["on_call"].attach_uprobe(target, SYMBOL, pid=pid),
            progs["on_return"].attach_uprobe(target, SYMBOL, pid=pid, retprobe=True),
        ]

    seen, printed = run_target(target, user_hooks.maps["calls"], attach)
    assert (seen.calls, seen.returns) == (CALLS, CALLS)
    assert seen.arg_sum == sum(range(CALLS))
    assert seen.ret_sum == printed == sum(i + 1000 for i in range(CALLS))


def test_uprobe_by_file_offset_and_for_every_process(
    user_hooks: pybpf.BPFObject, test_objects: dict[str, Path]
) -> None:
    """An offset instead of a name (what `nm` plus the section layout give),
    and pid=None: the probe fires in any process; the map picks the child."""
    target = test_objects["uprobe_target"]
    offset = _file_offset(target, SYMBOL)
    seen, _ = run_target(
        target, user_hooks.maps["calls"], lambda pid: [user_hooks.programs["on_call"].attach_uprobe(target, offset)]
    )
    assert seen.calls == CALLS and seen.arg_sum == sum(range(CALLS))


def test_uprobe_errors_name_what_is_missing(user_hooks: pybpf.BPFObject, test_objects: dict[str, Path]) -> None:
    prog = user_hooks.programs["on_call"]
    with pytest.raises(FileNotFoundError, match="no file '/nonexistent/bin'"):
        prog.attach_uprobe("/nonexistent/bin", SYMBOL)
    with pytest.raises(pybpf.BPFError, match="no_such_symbol"):
        prog.attach_uprobe(test_objects["uprobe_target"], "no_such_symbol")


def test_uprobe_in_a_shared_library_by_name(user_hooks: pybpf.BPFObject) -> None:
    """A bare library name is resolved as the dynamic linker would."""
    with user_hooks.programs["on_call"].attach_uprobe("libc.so.6", "getpid", pid=1) as link:
        assert link.fd >= 0


def _file_offset(binary: Path, symbol: str) -> int:
    """The file offset of ``symbol``: its address, less its section's
    address, plus the section's file offset (readelf, an independent reader)."""
    symbols = subprocess.run(["readelf", "-Ws", str(binary)], capture_output=True, text=True, check=True).stdout
    value, index = next((int(f[1], 16), int(f[6])) for f in map(str.split, symbols.splitlines()) if f[-1:] == [symbol])
    sections = subprocess.run(["readelf", "-WS", str(binary)], capture_output=True, text=True, check=True).stdout
    for line in sections.splitlines():
        head, _, rest = line.partition("]")
        if head.strip().lstrip("[").strip() == str(index):
            fields = rest.split()
            addr, off = int(fields[2], 16), int(fields[3], 16)
            return value - addr + off
    raise AssertionError(f"section {index} of {symbol} not found")
