"""setuptools' ``finalize_distribution_options`` hook of pybpf, kept outside
the ``pybpf`` package so that every setuptools build in an environment with
pybpf installed does not import pybpf (and libbpf): only a project with a
``[tool.pybpf]`` table in its pyproject.toml loads
:mod:`pybpf.build.setuptools`, whose ``BuildPy`` compiles its BPF sources."""

from __future__ import annotations

import os
from typing import Any


def finalize_options(dist: Any) -> None:
    """Give a project with ``[tool.pybpf]`` pybpf's ``build_py``."""
    try:
        with open(os.path.join(os.getcwd(), "pyproject.toml"), "rb") as f:
            if b"[tool.pybpf]" not in f.read():
                return
    except OSError:
        return
    from pybpf.build.setuptools import finalize_options as finalize

    finalize(dist)
