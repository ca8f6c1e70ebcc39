"""Run a command on other kernels, each booted in a VM on this machine's userland.

    pybpf vm --kernels 6.1,6.12,7.3 -- pytest tests/
    pybpf vm --kernel ./bzImage --junit-dir results -- pytest -x tests/
    pybpf vm --kernels 6.12 --shell
    pybpf vm build-kernel --series 6.12 --enable BPF_LIRC_MODE2,RC_CORE,LIRC,RC_LOOPBACK --name lirc

A kernel is a Debian series (the newest of it in Debian's suites, from the
mirror this machine's apt sources name; downloaded once and cached), the
name of a kernel built by ``pybpf vm build-kernel``, or (``--kernel``) a
path to an image.  Guests boot with virtme-ng, under KVM where it can run
guests and qemu's software emulation elsewhere, two at a time; the command
runs as root, in this directory.  With one kernel its output is shown as
it comes.  Prints a kernel x result matrix; exits 1 if the command failed
in any kernel (the end of its output is shown when there were several).
When the command is pytest, its JUnit XML gives per-test counts;
``--junit-dir`` keeps one file per kernel.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pybpf.tools.options import subcommand

__all__ = ["register", "run_vm"]


def register(commands: Any) -> None:
    """Add ``vm`` (and ``vm build-kernel``) to the ``pybpf`` command."""
    parser = subcommand(commands, "vm", help="run a command (a test suite) on other kernels, in VMs", doc=__doc__)
    add_vm_options(parser)
    parser.add_argument("--shell", action="store_true", help="boot the (first) kernel with a shell instead")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    parser.set_defaults(run=_main)


def add_vm_options(parser: argparse.ArgumentParser) -> None:
    """The options of a run: kernels, guests at a time, results, the machine."""
    parser.add_argument(
        "--kernels", default="", help="comma-separated: Debian series (6.1,6.12,7.3) or names of built kernels"
    )
    parser.add_argument(
        "--kernel", action="append", default=[], metavar="PATH", help="a kernel image to boot (repeatable)"
    )
    parser.add_argument("-j", "--jobs", type=int, default=2, help="guests at once (default: 2)")
    parser.add_argument("--junit-dir", type=Path, help="write JUnit XML here, one file per kernel")
    parser.add_argument(
        "--accel", choices=("auto", "kvm", "tcg"), default="auto", help="KVM, or qemu's software emulation"
    )
    parser.add_argument("--memory", default="2G", help="guest memory (default: 2G)")
    parser.add_argument("--timeout", type=float, default=60, help="minutes a guest may take (default: 60)")
    parser.add_argument("--refresh", action="store_true", help="look for newer Debian kernels than the cached ones")
    parser.add_argument("--keep", action="store_true", help="keep every guest's directory (failed ones are kept)")


def _main(args: argparse.Namespace) -> int:
    if args.command[:1] == ["build-kernel"]:
        return build_kernel(args.command[1:])
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    try:
        return run_vm(args, command)
    except KeyboardInterrupt:  # the guests are stopped: a run cut short did not pass
        print("pybpf vm: interrupted; the guests were stopped", file=sys.stderr)
        return 1
    except (LookupError, OSError, RuntimeError, ValueError) as exc:  # a kernel not found, a tool missing
        print(f"pybpf vm: {exc}", file=sys.stderr)
        return 1


def run_vm(args: argparse.Namespace, command: list[str]) -> int:
    """Resolve the kernels ``args`` name and run ``command`` in each (``pybpf.vm.run``)."""
    from pybpf import vm

    names = [name for name in args.kernels.split(",") if name] + list(args.kernel)
    if not names:
        raise SystemExit("pybpf vm: name the kernels: --kernels 6.1,6.12 or --kernel PATH")
    if getattr(args, "shell", False):
        kernel = vm.resolve(names[0], refresh=args.refresh)
        return vm.boot(kernel, accel=vm.accelerator() if args.accel == "auto" else args.accel, memory=args.memory)
    if not command:
        raise SystemExit("pybpf vm: give the command to run after --, e.g. pybpf vm --kernels 6.12 -- pytest tests/")
    return vm.run(
        names,
        command,
        jobs=args.jobs,
        junit_dir=args.junit_dir,
        accel=args.accel,
        memory=args.memory,
        timeout=args.timeout * 60,
        refresh=args.refresh,
        keep=args.keep,
    )


def build_kernel(argv: list[str]) -> int:
    """``pybpf vm build-kernel``: build a kernel from Debian's source (``pybpf.vm.build``)."""
    from pybpf.vm import progress
    from pybpf.vm.build import __doc__ as doc
    from pybpf.vm.build import build_kernel as build

    parser = argparse.ArgumentParser(
        prog="pybpf vm build-kernel", description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--series", required=True, help="the Debian linux-source series to build (6.12)")
    parser.add_argument(
        "--enable", default="", help="comma-separated Kconfig symbols to set =y (or SYMBOL=value), beyond BPF's"
    )
    parser.add_argument(
        "--bpf",
        choices=("all", "core"),
        default="all",
        help="BPF options: what every hook needs (all), or only BPF's core, for a kernel that tests "
        "the hook --enable adds (core: a shorter build)",
    )
    parser.add_argument("--name", help="the name to boot it by (pybpf vm --kernels NAME); default: series-hash")
    parser.add_argument("-j", "--jobs", type=int, help="make's jobs (default: the CPUs)")
    args = parser.parse_args(argv)
    try:
        kernel = build(
            args.series, enable=args.enable.split(","), bpf=args.bpf, name=args.name, jobs=args.jobs, log=progress
        )
    except (LookupError, OSError, RuntimeError, ValueError) as exc:  # the error names the step, with make's output
        print(f"pybpf vm build-kernel: {exc}", file=sys.stderr)
        return 1
    print(f"{kernel.name}: {kernel.release} {kernel.image}")
    return 0
