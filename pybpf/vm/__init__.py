"""Run a command, typically a test suite, on other kernels: Debian's kernel
packages, kernels built here, or an image of one's own, each booted with
virtme-ng on this machine's userland (``pip install 'pybpf[vm]'``, and
qemu-system).

    pybpf vm --kernels 6.1,6.12,7.3 -- pytest tests/
    pybpf vm --kernel ~/linux/arch/x86/boot/bzImage -- pytest -k xdp tests/
    pytest --pybpf-kernels=6.1,7.3 tests/          # the same, from pytest

A kernel name is a Debian series ("6.12": the newest of that series in
Debian's suites, from the mirror this machine's apt sources name), the name
of a kernel built by ``pybpf vm build-kernel``, or a path to an image.
``docs/testing.md`` is the guide.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from pybpf.vm.debian import fetch, is_series
from pybpf.vm.guests import GuestRun, accelerator, boot, run_in_guest
from pybpf.vm.images import CACHE, Kernel
from pybpf.vm.matrix import KernelResult, print_matrix, run_matrix, write_junit

__all__ = [
    "CACHE",
    "GuestRun",
    "Kernel",
    "KernelResult",
    "accelerator",
    "boot",
    "print_matrix",
    "progress",
    "resolve",
    "run",
    "run_in_guest",
    "run_matrix",
    "write_junit",
]


def resolve(name: str, *, refresh: bool = False, log: Callable[[str], object] = print) -> Kernel:
    """The kernel ``name`` names (see the module docstring), downloaded or
    found in the cache."""
    if "/" in name or Path(name).is_file():
        return Kernel.from_image(name)
    if is_series(name):
        return fetch(name, refresh=refresh, log=log)
    from pybpf.vm.build import built_kernel

    built = built_kernel(name)
    if built is None:
        raise LookupError(
            f"no kernel {name!r}: not a Debian series (6.12), not a kernel built by `pybpf vm build-kernel`, "
            "not a path to an image"
        )
    return built


def progress(line: str) -> None:
    """A line of a run's progress, on stderr at once."""
    print(line, file=sys.stderr, flush=True)


def run(
    kernels: Sequence[str],
    command: Sequence[str],
    *,
    jobs: int = 2,
    junit_dir: Path | None = None,
    accel: str = "auto",
    memory: str = "2G",
    timeout: float = 3600,
    refresh: bool = False,
    keep: bool = False,
    out: TextIO = sys.stdout,
) -> int:
    """``pybpf vm``: run ``command`` in each of ``kernels`` (names, see
    :func:`resolve`), print the matrix to ``out`` (and, with one kernel,
    the command's output as it comes), write JUnit XML to
    ``junit_dir``; 0 if it succeeded in every kernel, else 1.  A guest's
    directory (its output, console log, JUnit XML) is kept when it failed,
    or with ``keep``."""
    if not kernels:
        raise ValueError("no kernels to run on")
    if not command:
        raise ValueError("no command to run")
    resolved = [resolve(name, refresh=refresh, log=progress) for name in kernels]
    machine = accelerator() if accel == "auto" else accel
    names = ", ".join(k.name for k in resolved)
    progress(f"pybpf vm: {' '.join(command)} in {names} ({machine}, {jobs} at a time)")

    def done(result: KernelResult) -> None:
        progress(
            f"pybpf vm: {result.kernel.name}: {'ok' if result.ok else 'FAILED'} in {result.run.seconds / 60:.1f} min"
        )

    def echo(text: str) -> None:
        out.write(text)
        out.flush()

    # One guest's output is shown as it comes; several guests' would interleave.
    one = len(resolved) == 1
    results = run_matrix(
        resolved,
        command,
        jobs=jobs,
        on_done=done,
        accel=machine,
        memory=memory,
        timeout=timeout,
        echo=echo if one else None,
    )
    print_matrix(results, out, echoed=one)
    for result in results:
        if junit_dir is not None:
            write_junit(result, junit_dir)
        if result.ok and not keep:
            shutil.rmtree(result.run.share, ignore_errors=True)
    for base in {r.run.share.parent for r in results}:
        if base.exists() and not any(base.iterdir()):
            base.rmdir()
    return 0 if all(r.ok for r in results) else 1
