"""What a script pays before its program runs (issue 17, docs/benchmarks.md):
``import pybpf`` imports nothing heavy, the way to a loaded and attached XDP
program imports only what loading and attaching need, and each hook
family's attach methods are imported on their first use."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import pybpf
from pybpf._attach.hooks import MIXINS

# Never on the way to a loaded, attached program: typing (about a quarter of
# that way's imports when it was), re, threading, the NamedTuple reports,
# the enums of attachments, every hook family but XDP's, global variables
# and memory-mapped maps (the XDP counter has neither).
NOT_ON_THE_WAY = [
    "typing",
    "re",
    "threading",
    "mmap",
    "pybpf._core.reports",
    "pybpf._core.attach_enums",
    "pybpf._object.data",
    "pybpf._maps.mmap",
    *MIXINS,
]


def _run(code: str, *argv: str, netns: str | None = None, cwd: Path) -> list[str]:
    command = [sys.executable, "-c", code, *argv]
    if netns is not None:
        command = ["ip", "netns", "exec", netns, *command]
    return subprocess.run(command, capture_output=True, text=True, check=True, cwd=cwd).stdout.splitlines()


@pytest.mark.host_only("imports: user space alone")
def test_import_leaves_the_heavy_modules_for_when_they_are_used(tmp_path: Path) -> None:
    # What `import pybpf` must not pull in; each is imported by the call
    # that needs it.  Run outside the source tree.
    code = (
        "import sys, pybpf\n"
        "heavy = ['subprocess', 'tempfile', 'socket', 'logging', 'pathlib', 'hashlib', 'asyncio', 'ipaddress']\n"
        "print([m for m in heavy if m in sys.modules])\n"
        "print(sorted(m for m in sys.modules if m.startswith('pybpf.')))\n"
        # What loading and attaching need is there once pybpf.load is; the
        # event readers, the probes, the owner marks of netlink attachments,
        # the map families and the compiler wait for their first use.
        "pybpf.load\n"
        "later = ['pybpf.features', 'pybpf._attach.marks', 'pybpf._object.stats', 'pybpf.build.compiler']\n"
        "later += [m for m in pybpf._HOMES if m.startswith('pybpf._events.')]\n"
        "later += [f'pybpf._maps.{m}' for m in set(pybpf._maps.base._FAMILIES.values())]\n"
        f"later += {NOT_ON_THE_WAY!r}\n"
        "print([m for m in later if m in sys.modules])\n"
        "pybpf.CompileError, pybpf.compile\n"
        "print('subprocess' in sys.modules)\n"
    )
    assert _run(code, cwd=tmp_path) == ["[]", "[]", "[]", "True"]


@pytest.mark.kernel
def test_loading_and_attaching_xdp_imports_only_what_they_need(veth: pybpf.netns.VethPair, tmp_path: Path) -> None:
    """The benchmark's start-up row, with what it imported: none of the
    above, until asked (``info()`` needs the reports and the link types; a
    program's ``attach_tc`` its hook family)."""
    code = (
        "import sys, pybpf\n"
        "with pybpf.load(sys.argv[1]) as obj:\n"
        "    prog = obj.programs['xdp_count']\n"
        "    with prog.attach_xdp(sys.argv[2]) as link:\n"
        f"        print([m for m in {NOT_ON_THE_WAY!r} if m in sys.modules])\n"
        "        print(link.info().type.name)\n"
        "    print(prog.attach_tc.__qualname__, 'pybpf._attach.tc' in sys.modules)\n"
        "    try:\n"
        "        prog.attach_nothing\n"
        "    except AttributeError as e:\n"
        "        print(e)\n"
    )
    out = _run(code, str(pybpf.shipped("xdp_counter")), veth.if_a, netns=veth.ns_a, cwd=tmp_path)
    assert out == ["[]", "XDP", "TcAttach.attach_tc True", "'Program' object has no attribute 'attach_nothing'"]


@pytest.mark.host_only("imports: user space alone")
def test_each_hook_family_is_imported_on_the_first_use_of_its_methods(tmp_path: Path) -> None:
    # In a fresh process: from the class (help(), documentation tools), and
    # dir() lists every hook before any is imported.
    code = (
        "import sys, pybpf\n"
        "print(*(n for n in dir(pybpf.Program) if n.startswith('attach_')))\n"
        "print('pybpf._attach.tc' in sys.modules)\n"
        "method = pybpf.Program.attach_tc\n"
        "print('pybpf._attach.tc' in sys.modules, method.__qualname__, 'pybpf._attach.trace' in sys.modules)\n"
    )
    listed, *rest = _run(code, cwd=tmp_path)
    assert set(listed.split()) >= {name for _, names in MIXINS.values() for name in names if name.startswith("attach_")}
    assert rest == ["False", "True TcAttach.attach_tc False"]
    # A misspelt hook is Python's own error, with its suggestion (3.10+).
    done = subprocess.run(
        [sys.executable, "-c", "import pybpf; pybpf.Program.attach_tcx"], capture_output=True, text=True, cwd=tmp_path
    )
    missing = "AttributeError: type object 'Program' has no attribute 'attach_tcx'"
    if sys.version_info >= (3, 10):
        missing += ". Did you mean: 'attach_tc'?"
    assert done.returncode == 1 and done.stderr.splitlines()[-1] == missing
    # The table names exactly what each mixin defines, and Program finds each.
    for module, (class_name, names) in MIXINS.items():
        mixin = getattr(importlib.import_module(module), class_name)
        assert sorted(names) == sorted(key for key in vars(mixin) if not key.startswith("__")), module
        for name in names:
            assert getattr(pybpf.Program, name) is getattr(mixin, name)
    with pytest.raises(AttributeError, match="type object 'Program' has no attribute 'attach_nothing'"):
        pybpf.Program.attach_nothing  # type: ignore[attr-defined]
