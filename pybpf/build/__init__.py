"""Building BPF C: ``pybpf.compile`` (also ``pybpf build`` on the command
line) and a setuptools hook that compiles a package's BPF sources at build
time and ships the objects (:mod:`pybpf.build.setuptools`)."""

from __future__ import annotations

from pybpf.build.compiler import CompileError, compile, vmlinux_header

__all__ = ["CompileError", "compile", "vmlinux_header"]
