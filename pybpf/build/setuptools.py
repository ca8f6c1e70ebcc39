"""A setuptools hook: compile a package's BPF C at build time and ship the
objects in the wheel, next to the Python code that loads them.

In the project's ``pyproject.toml``::

    [build-system]
    requires = ["setuptools>=64", "pybpf"]
    build-backend = "setuptools.build_meta"

    [tool.pybpf]
    bpf-sources = ["src/mypkg/bpf/*.bpf.c"]   # globs, from the project root
    cflags = ["-Werror"]                       # optional, for clang

``pip install .`` (or ``python -m build``) then compiles each source with
:func:`pybpf.compile` into the built package at the same place:
``mypkg/bpf/counter.bpf.o``, which the code finds with
``importlib.resources.files("mypkg") / "bpf" / "counter.bpf.o"``.  A project
with its own ``setup.py`` may pass ``cmdclass={"build_py": BuildPy}`` instead.
pybpf registers the hook with setuptools (``finalize_distribution_options``),
so a ``[tool.pybpf]`` table is all it takes.
"""

from __future__ import annotations

import glob
import os
import sys
from pathlib import Path
from typing import Any

from setuptools.command.build_py import build_py

from pybpf.build.compiler import CompileError, compile

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["BuildPy", "finalize_options"]


def _settings(root: Path) -> dict[str, Any] | None:
    """The ``[tool.pybpf]`` table of the project at ``root``, or None."""
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return None
    with pyproject.open("rb") as f:
        table = tomllib.load(f).get("tool", {}).get("pybpf")
    return table if isinstance(table, dict) else None


class BuildPy(build_py):  # type: ignore[misc]  # setuptools ships no types here
    """``build_py`` that also compiles the ``[tool.pybpf] bpf-sources`` of the
    project into the built packages."""

    def run(self) -> None:
        super().run()
        root = Path.cwd()
        settings = _settings(root) or {}
        patterns = settings.get("bpf-sources", [])
        if isinstance(patterns, str) or not all(isinstance(p, str) for p in patterns):
            raise SystemExit("[tool.pybpf] bpf-sources: a list of glob patterns, from the project root")
        cflags = [str(flag) for flag in settings.get("cflags", [])]
        sources = sorted({Path(p) for pattern in patterns for p in glob.glob(str(root / pattern), recursive=True)})
        if patterns and not sources:
            raise SystemExit(f"[tool.pybpf] bpf-sources: nothing matches {patterns}")
        for source in sources:
            target = Path(self.build_lib) / self._place_of(source.resolve())
            self.announce(f"pybpf: compiling {source.relative_to(root)} -> {target}", level=2)
            try:
                compile(source, target, cflags=cflags)
            except CompileError as exc:
                raise SystemExit(f"pybpf: cannot compile {source}:\n{exc}") from None

    def _place_of(self, source: Path) -> Path:
        """Where a source's object goes inside the built packages: beside the
        package module that holds the source's directory."""
        best: tuple[int, Path] | None = None
        for package in self.packages or ():
            directory = Path(self.get_package_dir(package)).resolve()
            if source.is_relative_to(directory):
                place = Path(*package.split(".")) / source.relative_to(directory).with_suffix(".o")
                if best is None or len(directory.parts) > best[0]:
                    best = (len(directory.parts), place)
        if best is None:
            raise SystemExit(f"pybpf: {source} is not inside any package of this project")
        return best[1]


def finalize_options(dist: Any) -> None:
    """setuptools' ``finalize_distribution_options`` hook: a project with a
    ``[tool.pybpf]`` table gets :class:`BuildPy` as its ``build_py``."""
    if _settings(Path(os.getcwd())) is None:
        return
    current = dist.cmdclass.get("build_py")
    if current is None or not issubclass(current, BuildPy):
        dist.cmdclass["build_py"] = BuildPy
