#!/usr/bin/env python3
"""Where a pybpf call spends its time beyond the bare cffi call: a callgrind
profile of each operation that `make bench` finds over its target.

    make bench-profile    # or: python bench/profiles.py [--n 5000] [--markdown docs/profiles.md]

Each operation runs as a loop of ``n`` and of ``2n`` iterations in a fresh
process under ``valgrind --tool=callgrind``, once written with pybpf's API and
once as its reference (the bare cffi call, or a bare memoryview).  The
difference of the two runs, divided by ``n``, is what one iteration costs,
without the process's start, the import and the map's creation; callgrind
counts the instructions each function executes itself, which repeat exactly
from run to run whatever else the machine does.  What the kernel does in the
syscall is invisible to callgrind and the same on both sides, so the
difference of the two sides is all of pybpf's cost above its reference.

Start-up has a profile of its own: ``python -X importtime`` of ``import
pybpf``, each module's own time summed by where the module comes from, and
the phases of the start-up row (start, import, load, attach, detach) timed
inside the process.

The report lists, per operation, the instructions per iteration of each side
and the functions where the two differ most.  Functions of CPython's
interpreter there (``_PyEval_EvalFrameDefault``, ``slot_*``,
``vectorcall_method``) are the cost of a Python-level ``__contains__`` or
``__setitem__``; those of cffi (``_cffi_f_*``, ``_cffi_to_c_*``) the cost of
its calls.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench import build_producer  # noqa: E402

# docs/profiles.md: --markdown keeps the text above this line and writes the report below it.
RESULTS_MARK = "<!-- results: written by `make bench-profile` -->"

# A map of each kind the operations use; the loop's statement reads `m`, `a`, `s` or `obj`.
SETUP = """\
import os, sys, ctypes
import pybpf
from pybpf._core.ffi import ffi, lib
N = int(sys.argv[1])
tag = os.getpid()
class FlowKey(ctypes.Structure):
    _fields_ = [("pid", ctypes.c_uint32), ("cpu", ctypes.c_uint32)]
m = pybpf.Map.create(pybpf.MapType.HASH, key_size=4, value_size=8, max_entries=64,
                     name=f"pbprof_h{tag}", key_type="I", value_type="Q")
s = pybpf.Map.create(pybpf.MapType.HASH, key_size=8, value_size=8, max_entries=64,
                     name=f"pbprof_s{tag}", key_type=FlowKey, value_type="Q")
a = pybpf.Map.create(pybpf.MapType.ARRAY, key_size=4, value_size=8, max_entries=64,
                     name=f"pbprof_a{tag}", key_type="I", value_type="Q", flags=pybpf.MapFlags.MMAPABLE)
obj = pybpf.load(sys.argv[2])
m[1] = 42
s[(1, 2)] = 42
a[1] = 42
fd, sfd = m.fd, s.fd
k, v = ffi.new("unsigned int *", 1), ffi.new("unsigned long long *")
sk = ffi.new("unsigned int[2]", [1, 2])
lookup, update, delete = lib.bpf_map_lookup_elem, lib.bpf_map_update_elem, lib.bpf_map_delete_elem
mapped = a.mmap()
words = mapped.buffer.cast("Q")
bss = obj.bss
"""

# The loop reads what it uses as locals, as bench.py's closures do: no side pays for globals.
LOOP = """\
def loop(m=m, s=s, a=a, fd=fd, sfd=sfd, k=k, v=v, sk=sk, lookup=lookup, update=update, delete=delete,
         words=words, bss=bss):
    for _ in range(N):
{body}
loop()
words.release()
mapped.close()
for each in (m, s, a, obj):
    each.close()
"""


@dataclass(frozen=True)
class Operation:
    """One operation: pybpf's statement and its reference's (several lines: `;`)."""

    name: str
    pybpf: str
    reference: str
    reference_name: str = "floor"


OPERATIONS = [
    Operation("`k in m`", "1 in m", "k[0] = 1; lookup(fd, k, v) == 0"),
    Operation("`m[k] = v` update", "m[2] = 42", "k[0] = 2; v[0] = 42; update(fd, k, v, 0)"),
    Operation(
        "`m[k] = v; del m[k]` (per pair)",
        "m[3] = 42; del m[3]",
        "k[0] = 3; v[0] = 42; update(fd, k, v, 0); k[0] = 3; delete(fd, k)",
    ),
    Operation(
        "`m[(pid, cpu)]` lookup, 8-byte struct key", "s[(1, 2)]", "sk[0] = 1; sk[1] = 2; lookup(sfd, sk, v); v[0]"
    ),
    Operation("`m[k]` lookup, u32 -> u64 HASH", "m[1]", "k[0] = 1; lookup(fd, k, v); v[0]"),
    Operation("`m[k]` on an MMAPABLE ARRAY", "a[1]", "words[1]", "memoryview"),
    Operation("`obj.bss[name]` read", "bss['next']", "words[1]", "memoryview"),
]


def _body(statement: str) -> str:
    return "\n".join(f"        {part.strip()}" for part in statement.split(";"))


def self_cost(out: Path) -> dict[str, int]:
    """Instructions each function executed itself, from a callgrind output file."""
    text = subprocess.run(
        ["callgrind_annotate", "--threshold=100", "--show-percs=no", "--inclusive=no", "--auto=no", str(out)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    costs: dict[str, int] = {}
    for line in text.splitlines():
        match = re.match(r"^\s*([\d,]+)\s+(\S.*)$", line)
        if match and ":" in match.group(2):
            name = _function(match.group(2))
            costs[name] = costs.get(name, 0) + int(match.group(1).replace(",", ""))
    return costs


def _function(location: str) -> str:
    """``file:function'level [object]`` as ``function``: callgrind names a
    recursive call (the interpreter entered again from a C slot) with its
    level, counted here with the function."""
    location = re.sub(r"\s*\[.*\]$", "", location)
    return re.sub(r"'\d+$", "", location.rsplit(":", 1)[-1])


def per_iteration(script: Path, producer: Path, n: int, tmp: Path) -> dict[str, float]:
    """Instructions per iteration of each function: the run of 2n less the run of n."""
    runs = []
    for count in (n, 2 * n):
        out = tmp / f"callgrind.{script.stem}.{count}"
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                str(script),
                str(count),
                str(producer),
            ],
            check=True,
            capture_output=True,
            cwd="/",  # the installed package, not the source tree
            env={**os.environ, "PYTHONHASHSEED": "0"},  # dicts probe alike in every run
        )
        runs.append(self_cost(out))
    small, large = runs
    return {name: (large.get(name, 0) - small.get(name, 0)) / n for name in set(small) | set(large)}


@dataclass
class Profile:
    """One operation's two sides, in instructions per iteration per function."""

    operation: Operation
    pybpf: dict[str, float]
    reference: dict[str, float]

    @staticmethod
    def total(side: dict[str, float]) -> float:
        """A side's instructions per iteration, over all functions."""
        return sum(side.values())

    def differences(self, limit: int = 8) -> list[tuple[str, float]]:
        """The functions whose instructions per iteration differ most between the sides."""
        names = set(self.pybpf) | set(self.reference)
        deltas = [(name, self.pybpf.get(name, 0.0) - self.reference.get(name, 0.0)) for name in names]
        deltas = [(name, delta) for name, delta in deltas if abs(delta) >= 1.0]
        return sorted(deltas, key=lambda item: -abs(item[1]))[:limit]


IMPORT_RUNS = 9

# What loading and attaching import: pybpf's own modules are imported on first use.
LOAD_PATH = "import pybpf; pybpf.load"
PHASES = """\
import sys, time
t0 = time.perf_counter()
import pybpf
t1 = time.perf_counter()
load = pybpf.load
t2 = time.perf_counter()
obj = load(sys.argv[1])
t3 = time.perf_counter()
link = obj.programs["xdp_count"].attach_xdp(sys.argv[2])
t4 = time.perf_counter()
link.close()
obj.close()
t5 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)
"""


def import_profile() -> str:
    """Where the import of what loading and attaching need spends its time
    (``import pybpf`` imports a module when one of its names is first used):
    the median of several runs of ``-X importtime``, each module's own time
    summed by its origin."""

    def own_times(code: str) -> dict[str, int]:
        err = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True, cwd="/"
        ).stderr
        own: dict[str, int] = {}
        for line in err.splitlines():
            match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
            if match:
                own[match.group(2)] = int(match.group(1))
        return own

    at_start = set(own_times("pass"))  # site, encodings ...: the interpreter's start, not the import
    runs = []
    for _ in range(IMPORT_RUNS):
        runs.append({m: us for m, us in own_times(LOAD_PATH).items() if m not in at_start})
    runs.sort(key=lambda own: sum(own.values()))
    own = runs[len(runs) // 2]
    groups: dict[str, int] = {}
    for module, us in own.items():
        top = module.split(".")[0]
        group = "pybpf" if top == "pybpf" else top if top in ("cffi", "_cffi_backend") else "the standard library"
        groups[group] = groups.get(group, 0) + us
    mine = sorted(((us, m) for m, us in own.items() if m.startswith("pybpf")), reverse=True)[:8]
    stdlib = sorted(((us, m) for m, us in own.items() if not m.startswith(("pybpf", "cffi", "_cffi"))), reverse=True)[
        :8
    ]
    lines = [
        f"`{LOAD_PATH}` (what loading and attaching import), the median of {IMPORT_RUNS} runs of "
        f"`python -X importtime`: {sum(own.values()) / 1000:.1f} ms, of which "
        + ", ".join(f"{group} {us / 1000:.1f} ms" for group, us in sorted(groups.items(), key=lambda g: -g[1]))
        + ".",
        "",
        "- pybpf's slowest modules (own time): " + ", ".join(f"`{m}` {us / 1000:.1f} ms" for us, m in mine) + ".",
        "- the standard library's: " + ", ".join(f"`{m}` {us / 1000:.1f} ms" for us, m in stdlib) + ".",
    ]
    return "\n".join(lines)


def start_up_profile() -> str:
    """The start-up row's phases, timed inside the process (medians of 9 runs),
    beside the interpreter's own start."""
    import statistics
    import time

    import pybpf
    import pybpf.netns

    counter = str(pybpf.shipped("xdp_counter"))
    phases: list[list[float]] = []
    bare: list[float] = []
    with pybpf.netns.VethPair(prefix="pbprof") as pair:
        for _ in range(IMPORT_RUNS):
            start = time.perf_counter()
            subprocess.run(["ip", "netns", "exec", pair.ns_a, sys.executable, "-c", "pass"], check=True, cwd="/")
            bare.append(time.perf_counter() - start)
            out = subprocess.run(
                ["ip", "netns", "exec", pair.ns_a, sys.executable, "-c", PHASES, counter, pair.if_a],
                capture_output=True,
                text=True,
                check=True,
                cwd="/",
            ).stdout
            phases.append([float(value) for value in out.split()])
    names = ["`import pybpf`", "the modules loading needs", "load", "attach", "detach and close"]
    medians = [statistics.median(run[i] for run in phases) * 1e3 for i in range(len(names))]
    return (
        f"Start-up, the medians of {IMPORT_RUNS} runs: `python -c pass` through `ip netns exec` "
        f"{statistics.median(bare) * 1e3:.1f} ms; inside the process: "
        + ", ".join(f"{name} {ms:.1f} ms" for name, ms in zip(names, medians))
        + "."
    )


def report(profiles: list[Profile]) -> str:
    lines = [
        "| operation | instructions per iteration | where pybpf's differ from its reference's (per iteration) |",
        "|---|---|---|",
    ]
    for profile in profiles:
        op = profile.operation
        py, ref = profile.total(profile.pybpf), profile.total(profile.reference)
        where = "<br>".join(f"`{name}` {delta:+,.0f}" for name, delta in profile.differences())
        counts = f"pybpf {py:,.0f}, {op.reference_name} {ref:,.0f}: {py - ref:+,.0f} ({py / ref:.2f}x)"
        lines.append(f"| {op.name} | {counts} | {where} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5_000, help="iterations of the shorter run (the other runs 2n)")
    parser.add_argument("--only", default="", help="profile only operations whose name contains this")
    parser.add_argument("--markdown", type=Path, help="also write the report into this file, below its results mark")
    args = parser.parse_args()
    if shutil.which("valgrind") is None or shutil.which("callgrind_annotate") is None:
        print("bench/profiles.py needs valgrind: apt-get install valgrind", file=sys.stderr)
        return 2
    profiles = []
    with tempfile.TemporaryDirectory() as workdir:
        tmp = Path(workdir)
        producer = build_producer(tmp)
        for op in OPERATIONS:
            if args.only and args.only not in op.name:
                continue
            sides = []
            for label, statement in (("pybpf", op.pybpf), ("reference", op.reference)):
                script = tmp / f"{label}_{len(profiles)}.py"
                script.write_text(SETUP + LOOP.format(body=_body(statement)))
                sides.append(per_iteration(script, producer, args.n, tmp))
            profiles.append(Profile(op, *sides))
            print(f"{op.name}: done", file=sys.stderr, flush=True)
    version = subprocess.run(["valgrind", "--version"], capture_output=True, text=True).stdout.strip()
    start = "" if args.only else f"\n\n{import_profile()}\n\n{start_up_profile()}"
    text = (
        f"{report(profiles)}{start}\n\nCommand: `python bench/profiles.py {' '.join(sys.argv[1:])}`; "
        f"{version}; Python {sys.version.split()[0]}; CPU {os.uname().machine}.\n"
    )
    print(text)
    if args.markdown:
        head, _, _ = args.markdown.read_text().partition(RESULTS_MARK) if args.markdown.exists() else ("", "", "")
        args.markdown.write_text(f"{head}{RESULTS_MARK}\n\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
