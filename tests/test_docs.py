"""The runnable examples in docs/ run (on the real kernel)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.kernel


def test_maps_md_examples_run(capsys: pytest.CaptureFixture[str], bpffs: Path) -> None:
    text = (ROOT / "docs" / "maps.md").read_text()
    # Examples naming an object file of the reader's own are shown, not run.
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if ".bpf.o" not in b]
    assert len(blocks) >= 5
    for block in blocks:
        exec(compile("import pybpf\n" + block, "docs/maps.md", "exec"), {})
    out = capsys.readouterr().out
    assert "[(1, 11), (2, 20)] 2" in out and "9 0" in out and "True False" in out
    for expected in (
        "True [0]",
        "AF_XDP frame received",
        "True [2]",
        "DevMapValue(ifindex=1, prog_id=0)",
        "CpuMapValue(qsize=256, prog_id=0)",
        "41 7",
        "500 Q 21",
        "100 True",
        "ex_info True",
        "4 0 7",
        "array keeps 7",
        "2 [2, 3]",
        "Map REUSEPORT_SOCKARRAY True",
    ):
        assert expected in out


def test_programs_md_examples_run(capsys: pytest.CaptureFixture[str]) -> None:
    """Each example prints what its comment says; those marked `# needs: X`
    run where ``pybpf.features.X()`` allows them."""
    import pybpf

    text = (ROOT / "docs" / "programs.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 7
    for block in blocks:
        needs = re.match(r"# needs: (\w+)\n", block)
        if needs and not getattr(pybpf.features, needs.group(1))():
            continue
        exec(compile("import pybpf\n" + block, "docs/programs.md", "exec"), {})
        printed = capsys.readouterr().out.splitlines()
        expected = [line[2:] for line in block.splitlines() if line.startswith("# ") and not line.startswith("# needs")]
        assert printed == expected, block
