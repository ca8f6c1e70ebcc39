"""The tracers of the ``pybpf`` command, run as subprocesses against real
activity of known shape, their ``--json`` output checked."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import pybpf

from emulation import EMULATED
from tool_runs import PYBPF, ToolRun, run_tool

pytestmark = pytest.mark.kernel

GETPPID = {"x86_64": 110, "aarch64": 173, "riscv64": 173, "s390x": 64, "ppc64le": 64}

# A child that waits for a line on stdin, then runs the code given to it.
WAITER = "import os, sys, time\nsys.stdin.readline()\n"


def _waiting_child(code: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", WAITER + code], stdin=subprocess.PIPE, text=True)


def _go(child: subprocess.Popen[str]) -> int:
    assert child.stdin is not None
    child.stdin.write("go\n")
    child.stdin.close()
    return child.wait(timeout=60)


def test_execsnoop_shows_an_exec_with_its_arguments() -> None:
    marker = f"pybpf-exec-{uuid.uuid4().hex[:8]}"
    run = ToolRun(["execsnoop", "--json"], links=4)
    subprocess.run(["/bin/echo", marker, "two words", ""], check=True, capture_output=True)
    with pytest.raises(FileNotFoundError):
        subprocess.run([f"/nonexistent/{marker}", "x"])
    many = [f"{marker}-{i}" for i in range(40)]
    subprocess.run(["/bin/true", *many], check=True)
    records, err = run.records()
    assert f"execsnoop: {len(records)} execs" in err

    echo = [r for r in records if r["argv"][:2] == ["/bin/echo", marker]]
    assert len(echo) == 1, records
    assert echo[0]["argv"] == ["/bin/echo", marker, "two words", ""]
    assert echo[0]["ret"] == 0 and echo[0]["comm"] == "echo" and echo[0]["ppid"] == os.getpid()
    assert not echo[0]["args_truncated"]
    failed = [r for r in records if r["argv"] == [f"/nonexistent/{marker}", "x"]]
    assert failed and all(r["ret"] == -2 for r in failed)  # ENOENT, sent with its arguments
    long = [r for r in records if r["argv"][:2] == ["/bin/true", many[0]]]
    assert len(long) == 1 and long[0]["args_truncated"]  # 41 arguments: 32 kept, the cut said
    assert long[0]["argv"] == ["/bin/true", *many[:31]]


def test_execsnoop_table_and_comm_filter() -> None:
    """The table, filtered in BPF to execs by a command that is not running."""
    run = ToolRun(["execsnoop", "--comm", "no-such-comm-x"], links=4)
    subprocess.run(["/bin/true"], check=True)
    out, err = run.stop()
    assert run.proc.returncode == 0, err
    assert len(out.splitlines()) == 1 and out.split() == ["PCOMM", "PID", "PPID", "UID", "RET", "ARGS"]
    assert "execsnoop: 0 execs" in err


def test_a_stop_the_moment_links_exist_still_drains_and_reports() -> None:
    """Attached means reading: the ring buffer's reader exists before the
    links, so an exec between the attach and a Ctrl-C that follows at once
    is printed, and so are the header and the total."""
    marker = f"pybpf-exec-{uuid.uuid4().hex[:8]}"
    run = ToolRun(["execsnoop"], links=4, every=0)
    subprocess.run(["/bin/true", marker], check=True)
    out, err = run.stop(settle=0)
    assert run.proc.returncode == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["PCOMM", "PID", "PPID", "UID", "RET", "ARGS"], out
    assert [line for line in lines if line.endswith(f"/bin/true {marker}")], out
    assert "execsnoop: " in err


@pytest.mark.parametrize("tool, links", [("runqlat", 3), ("syscount", 1)])
def test_a_report_stopped_the_moment_it_attaches_still_prints_its_total(tool: str, links: int) -> None:
    run = ToolRun([tool, "--json"], links=links, every=0)
    out, err = run.stop(settle=0)
    assert run.proc.returncode == 0, err
    assert [json.loads(line)["kind"] for line in out.splitlines()] == ["total"], out


def test_opensnoop_shows_opens_of_one_process(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    made = tmp_path / "made"
    child = _waiting_child(
        f"""
try:
    open({str(missing)!r})
except FileNotFoundError:
    pass
fd = os.open({str(made)!r}, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
print(fd, flush=True)
"""
    )
    run = ToolRun(["opensnoop", "--json", "--pid", str(child.pid)], links=4)
    assert _go(child) == 0
    records, err = run.records()
    assert {r["pid"] for r in records} == {child.pid}  # filtered in BPF
    by_path = {r["path"]: r for r in records}
    assert by_path[str(missing)]["err"] == 2 and by_path[str(missing)]["errno"] == "ENOENT"
    assert by_path[str(missing)]["fd"] == -1
    opened = by_path[str(made)]
    assert opened["err"] == 0 and opened["fd"] >= 3
    assert opened["flags"] & (os.O_ACCMODE | os.O_CREAT | os.O_TRUNC) == os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    assert f"opensnoop: {len(records)} opens" in err


def test_opensnoop_failed_only(tmp_path: Path) -> None:
    child = _waiting_child(
        f"open({str(tmp_path)!r} + '/a', 'w').close()\ntry:\n    open({str(tmp_path)!r} + '/b')\n"
        "except OSError:\n    pass\n"
    )
    run = ToolRun(["opensnoop", "--json", "--failed", "--pid", str(child.pid)], links=4)
    assert _go(child) == 0
    records, _ = run.records()
    paths = [r["path"] for r in records]
    assert f"{tmp_path}/b" in paths and f"{tmp_path}/a" not in paths
    assert all(r["err"] for r in records)


def test_exitsnoop_shows_codes_signals_and_age() -> None:
    run = ToolRun(["exitsnoop", "--json"], links=1)
    code = subprocess.Popen(["sh", "-c", "sleep 0.3; exit 7"])
    killed = subprocess.Popen(["sleep", "30"])
    code.wait(timeout=60)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=60)
    records, err = run.records()
    by_pid = {r["pid"]: r for r in records}
    assert by_pid[code.pid]["code"] == 7 and by_pid[code.pid]["ppid"] == os.getpid()
    assert 0.3 <= by_pid[code.pid]["age_s"] < 30
    assert by_pid[killed.pid]["signal"] == "SIGKILL" and by_pid[killed.pid]["core"] is False
    assert by_pid[killed.pid]["comm"] == "sleep"
    assert f"exitsnoop: {len(records)} exits" in err


def test_exitsnoop_threads_and_process_ends() -> None:
    """A process whose three threads exit: one event, or four with --threads."""
    code = "import threading\nts = [threading.Thread(target=lambda: None) for _ in range(3)]\n"
    code += "[t.start() for t in ts]\n[t.join() for t in ts]\n"
    for extra, expected in (([], 1), (["--threads"], 4)):
        child = _waiting_child(code)
        run = ToolRun(["exitsnoop", "--json", "--pid", str(child.pid), *extra], links=1)
        assert _go(child) == 0
        records, _ = run.records()
        assert len(records) == expected, records
        assert {r["pid"] for r in records} == {child.pid}


@pytest.mark.skipif(platform.machine() not in GETPPID, reason="getppid's number unknown on this architecture")
def test_syscount_counts_a_process_exactly() -> None:
    k = 1234
    child = _waiting_child(f"for _ in range({k}):\n    os.getppid()\n")
    run = ToolRun(["syscount", "--json", "--pid", str(child.pid)], links=1)
    assert _go(child) == 0
    records, _ = run.records()
    total = records[-1]
    assert total["kind"] == "total"
    rows = {row["syscall"]: row for row in total["rows"]}
    assert rows["getppid"]["count"] == k and rows["getppid"]["nr"] == GETPPID[platform.machine()]


def test_syscount_per_process_and_interval() -> None:
    k = 500
    comm = f"pybpf-{uuid.uuid4().hex[:8]}"  # its own name, set before it says ready
    code = f"open('/proc/self/comm', 'w').write({comm!r})\nprint('ready', flush=True)\nsys.stdin.readline()\n"
    code += f"for _ in range({k}):\n    os.getppid()\ntime.sleep(1.5)\n"
    child = subprocess.Popen(
        [sys.executable, "-c", "import os, sys, time\n" + code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline() == "ready\n"
    run = ToolRun(["syscount", "--json", "--by-process", "--interval", "0.5", "--comm", comm], links=1)
    assert _go(child) == 0
    child.stdout.close()
    time.sleep(1.2)  # intervals pass after it exited: its name must last into the total
    records, _ = run.records()
    intervals = [r for r in records if r["kind"] == "interval"]
    assert len(intervals) >= 2
    ours = sum(row["count"] for r in intervals for row in r["rows"] if row["pid"] == child.pid)
    [total] = records[-1]["rows"]  # filtered in BPF: only the child
    assert total["pid"] == child.pid and total["comm"] == comm
    assert total["count"] >= k + 2 and total["count"] >= ours  # the intervals' counts add up to the total


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_signals_stop_a_tracer_with_its_totals(signum: int) -> None:
    """Stopped by a signal: its totals, status 0, and tracefs as it found it
    (mounted for its run if it was not)."""
    mounted = pybpf.tracefs_mounted()
    run = ToolRun(["execsnoop", "--json"], links=4)
    subprocess.run(["/bin/true"], check=True)
    records, err = run.records(signum)  # exit status 0, checked there
    assert "execsnoop:" in err and any(r["argv"] == ["/bin/true"] for r in records)
    assert pybpf.tracefs_mounted() == mounted


def test_duration_ends_a_tracer() -> None:
    done = run_tool(["exitsnoop", "--duration", "0.5"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("PCOMM")


def test_without_privileges_one_line_names_the_capability() -> None:
    done = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", PYBPF, "exitsnoop"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",
    )
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pybpf exitsnoop: "), done.stderr
    assert "CAP_" in lines[0]


@pytest.mark.host_only("the command's help and names")
def test_python_dash_m_and_help() -> None:
    done = subprocess.run([sys.executable, "-m", "pybpf", "--help"], capture_output=True, text=True, cwd="/")
    assert done.returncode == 0
    for command in ("execsnoop", "opensnoop", "exitsnoop", "syscount", "xdp-count", "progs", "maps", "links", "map"):
        assert command in done.stdout
        helped = run_tool([command, "--help"])
        assert helped.returncode == 0 and "usage: pybpf" in helped.stdout


def test_runqlat_counts_a_process_wakeups() -> None:
    """50 sleeps: at least 50 wakeups of that one process reach the
    histogram, in a bucket that fits a run-queue wait (under a second)."""
    child = _waiting_child("for _ in range(50):\n    time.sleep(0.002)\n")
    run = ToolRun(["runqlat", "--json", "--pid", str(child.pid)], links=3)
    assert _go(child) == 0
    records, _ = run.records()
    total = records[-1]
    assert total["kind"] == "total" and total["unit"] == "usecs"
    assert total["total"] >= 50 and total["total"] == sum(b["count"] for b in total["buckets"])
    assert total["buckets"][-1]["high"] < 1_000_000


@contextlib.contextmanager
def _loop_device(tmp_path: Path) -> Iterator[str]:
    """A throwaway loop device over an 8 MiB file: a block device of its own,
    where the root file system may have none (a VM guest's is shared 9p)."""
    subprocess.run(["modprobe", "loop"], capture_output=True, check=False)  # built in, or a module
    backing = tmp_path / "disk"
    backing.write_bytes(bytes(8 << 20))
    found = subprocess.run(["losetup", "--find", "--show", str(backing)], capture_output=True, text=True, check=True)
    device = found.stdout.strip()
    try:
        yield device
    finally:
        subprocess.run(["losetup", "--detach", device], check=True)


def test_biolatency_sees_direct_writes(tmp_path: Path) -> None:
    """64 direct writes of 64 KiB to a block device: at least 64 requests."""
    with _loop_device(tmp_path) as device:
        run = ToolRun(["biolatency", "--json", "-m", "-i", "0.3"], links=2)
        subprocess.run(
            ["dd", "if=/dev/zero", f"of={device}", "bs=64k", "count=64", "oflag=direct"],
            check=True,
            capture_output=True,
        )
        records, _ = run.records()
    intervals = [r for r in records if r["kind"] == "interval"]
    total = records[-1]
    assert total["unit"] == "msecs" and total["total"] >= 64
    assert sum(r["total"] for r in intervals) <= total["total"]  # intervals are deltas of the same counts


def _timed_work(test_objects: dict[str, Path], calls: int, ms: int, *mode: str) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [str(test_objects["timed_work"]), str(calls), str(ms), *mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline() == "ready\n"
    return child


def _finish(child: subprocess.Popen[str]) -> None:
    out, _ = child.communicate("go\n", timeout=120)
    assert child.returncode == 0 and out == "done\n"


def test_funclatency_puts_a_user_function_in_its_bucket(test_objects: dict[str, Path]) -> None:
    """Five calls that each sleep 20 ms: all five in the 16-31 ms bucket (on the host)."""
    child = _timed_work(test_objects, 5, 20)
    target = f"{test_objects['timed_work']}:pybpf_sleep_ms"
    run = ToolRun(["funclatency", target, "--pid", str(child.pid), "-m", "--json"], links=2)
    _finish(child)
    records, _ = run.records()
    total = records[-1]
    assert (total["probe"], total["unit"], total["total"]) == ("uprobe", "msecs", 5)
    _five_sleeps_of_20_ms(total["buckets"])


def _five_sleeps_of_20_ms(buckets: list[dict[str, int]]) -> None:
    """All five in 16-31 ms.  An emulated guest sharing its cores keeps
    neither its timers nor its clock that close (seen there: one of five
    at 64-127 ms, one under 16 ms), so there all five must be counted,
    under a second each, and most in 16-31 ms."""
    if not EMULATED:
        assert buckets[-1] == {"low": 16, "high": 31, "count": 5}
        return
    counted = {(b["low"], b["high"]): b["count"] for b in buckets if b["count"]}
    assert sum(counted.values()) == 5 and all(high < 1024 for _, high in counted), counted
    assert counted.get((16, 31), 0) >= 3, counted


def _kernel_funclatency(extra: list[str]) -> dict[str, object]:
    child = _waiting_child("for _ in range(5):\n    time.sleep(0.02)\n")
    run = ToolRun(["funclatency", "do_nanosleep", "--pid", str(child.pid), "-m", "--json", *extra], links=2)
    assert _go(child) == 0
    records, _ = run.records()
    return records[-1]


@pytest.mark.requires_feature("fentry", min="5.5")
def test_funclatency_traces_a_kernel_function_with_fentry() -> None:
    total = _kernel_funclatency([])
    assert total["probe"] == "fentry" and total["total"] == 5
    _five_sleeps_of_20_ms(total["buckets"])  # type: ignore[arg-type]


@pytest.mark.requires_feature("kprobes", min="4.1")
def test_funclatency_traces_a_kernel_function_with_kprobes() -> None:
    total = _kernel_funclatency(["--kprobes"])
    assert total["probe"] == "kprobe" and total["total"] == 5
    _five_sleeps_of_20_ms(total["buckets"])  # type: ignore[arg-type]


def test_funclatency_says_why_a_kernel_function_cannot_be_traced() -> None:
    done = run_tool(["funclatency", "pybpf_no_such_kernel_function"])
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "cannot trace kernel function 'pybpf_no_such_kernel_function'" in lines[0]
    assert "fentry:" in lines[0] and "kprobes:" in lines[0]


def _profile_busy_child(test_objects: dict[str, Path], *extra: str) -> tuple[int, str, str]:
    """``pybpf profile`` of a child that, once the tool is attached, spins
    in pybpf_busy_ms for 2 s; (its pid, the tool's stdout and stderr)."""
    child = _timed_work(test_objects, 20, 100, "busy")
    run = ToolRun(["profile", "--pid", str(child.pid), "-F", "199", *extra], links=1)
    _finish(child)
    out, err = run.stop()
    assert run.proc.returncode == 0, err
    return child.pid, out, err


def test_profile_finds_the_busy_function(test_objects: dict[str, Path]) -> None:
    """A process spinning in pybpf_busy_ms: most of its samples are there,
    named from its ELF symbols, with the callers frame pointers lead to."""
    pid, out, err = _profile_busy_child(test_objects, "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows and {row["pid"] for row in rows} == {pid}  # filtered in BPF
    total = sum(row["count"] for row in rows)
    busy = sum(row["count"] for row in rows if row["user_stack"][:1] == ["pybpf_busy_ms"])
    assert total >= 100 and busy >= total * 0.7, rows
    assert any(row["user_stack"][:2] == ["pybpf_busy_ms", "main"] for row in rows)
    assert f"profile: {total} samples" in err
    _, folded, _ = _profile_busy_child(test_objects, "--folded")
    top = folded.splitlines()[0]
    assert top.startswith("timed_work;") and top.rsplit(" ", 1)[0].endswith(";main;pybpf_busy_ms")


def _exchange(host: str, sent: int, replied: int) -> tuple[int, int]:
    """A connection to a listener on ``host``: ``sent`` bytes one way,
    ``replied`` the other, then both close.  Returns (client port, server port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as listener:
        listener.bind((host, 0))
        listener.listen()
        port = listener.getsockname()[1]
        client = socket.create_connection((host, port))
        server, _ = listener.accept()
        with client, server:
            client.sendall(b"c" * sent)
            got = 0
            while got < sent:
                got += len(server.recv(65536))
            server.sendall(b"s" * replied)
            got = 0
            while got < replied:
                got += len(client.recv(65536))
            time.sleep(0.05)
            local = client.getsockname()[1]
    return local, port


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_tcpconnect_shows_connections_and_failures(host: str) -> None:
    run = ToolRun(["tcpconnect", "--json", "--pid", str(os.getpid())], links=1)
    local, port = _exchange(host, 10, 10)
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as closed:
        closed.bind((host, 0))
        refused_port = closed.getsockname()[1]  # bound, not listening: a RST
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, refused_port))
    records, err = run.records()
    assert {r["pid"] for r in records} == {os.getpid()}  # filtered in BPF: the test's own connects
    ok = [r for r in records if r["dport"] == port]
    assert len(ok) == 1 and ok[0]["result"] == "established"
    assert (ok[0]["saddr"], ok[0]["daddr"], ok[0]["sport"]) == (host, host, local)
    assert ok[0]["family"] == ("ipv6" if ":" in host else "ipv4")
    failed = [r for r in records if r["dport"] == refused_port]
    assert len(failed) == 1 and failed[0]["result"] == "failed"
    assert f"tcpconnect: {len(records)} connections" in err


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_tcplife_counts_each_sides_bytes(host: str) -> None:
    run = ToolRun(["tcplife", "--json", "--pid", str(os.getpid())], links=1)
    local, port = _exchange(host, 100_000, 7_000)
    records, _ = run.records()
    client = [r for r in records if (r["sport"], r["dport"]) == (local, port)]
    server = [r for r in records if (r["sport"], r["dport"]) == (port, local)]
    assert len(client) == 1 and len(server) == 1, records
    assert (client[0]["tx_bytes"], client[0]["rx_bytes"]) == (100_000, 7_000)
    assert (server[0]["tx_bytes"], server[0]["rx_bytes"]) == (7_000, 100_000)
    assert client[0]["pid"] == server[0]["pid"] == os.getpid()  # connected; closed the accepted one
    assert client[0]["duration_ms"] >= 50 and client[0]["saddr"] == host
