"""Objects and programs: open/load, bad input, verifier errors, privilege, lifetimes."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import pybpf

pytestmark = pytest.mark.kernel


def test_missing_file() -> None:
    with pytest.raises(FileNotFoundError, match="no such file") as exc:
        pybpf.BPFObject.open("/nonexistent/x.bpf.o")
    assert isinstance(exc.value, pybpf.BPFError)


def test_not_an_elf(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.o"
    bogus.write_bytes(b"#!/bin/sh\necho hi\n")
    with pytest.raises(pybpf.BPFValueError, match="not an ELF file"):
        pybpf.load(bogus)
    truncated = tmp_path / "truncated.o"
    truncated.write_bytes(pybpf.shipped("xdp_counter").read_bytes()[:200])
    with pytest.raises(pybpf.BPFError):
        pybpf.load(truncated)


def test_verifier_error_carries_the_log(test_objects: dict[str, Path]) -> None:
    with pytest.raises(pybpf.VerifierError) as exc:
        pybpf.load(test_objects["verifier_reject"])
    err = exc.value
    assert err.program == "deref_unchecked"
    assert err.errno in (13, 22)  # EACCES or EINVAL, by kernel version
    assert any("invalid mem access" in line for line in err.log), err.log
    assert "map_value_or_null" in str(err)  # the decisive line is shown
    assert "deref_unchecked" in str(err)
    # 7.x kernels explain a refusal after the trace; the verdict is shown with it.
    verdicts = [line for line in err.log if line.startswith("Verification failed")]
    if verdicts:
        assert verdicts[0] in str(err) and "decisive lines" in str(err)
    else:
        assert "last lines" in str(err)


XDP_DROP, XDP_PASS = 1, 2


def test_array_lookup_with_a_constant_key_needs_no_null_check_from_6_14(test_objects: dict[str, Path]) -> None:
    """Verifiers from 6.14 prove an ARRAY lookup with constant key 0 cannot
    fail and accept the unchecked value; older ones refuse it.  The VM matrix
    runs both sides (6.1, 6.12 refuse; 6.18 here and 7.3 accept)."""
    # A nonzero key that clang keeps at an unaligned stack slot is not
    # provably constant: refused by every verifier.
    with pybpf.BPFObject.open(test_objects["array_const_key"]) as obj:
        obj.programs["read_slot_two"].autoload = True
        with pytest.raises(pybpf.VerifierError, match="map_value_or_null"):
            obj.load()
    elides = pybpf.features.kernel_version() >= (6, 14)
    with pybpf.BPFObject.open(test_objects["array_const_key"]) as obj:
        prog = obj.programs["read_slot_zero"]
        prog.autoload = True
        if not elides:
            with pytest.raises(pybpf.VerifierError) as exc:
                obj.load()
            assert exc.value.program == "read_slot_zero"
            assert "R0 invalid mem access 'map_value_or_null'" in exc.value.log
            return
        obj.load()
        assert prog.test_run(bytes(64)).retval == XDP_DROP
        obj.maps["slots"][0] = 7
        assert prog.test_run(bytes(64)).retval == XDP_PASS


def test_unknown_names(test_objects: dict[str, Path]) -> None:
    with pybpf.load(pybpf.shipped("xdp_counter")) as obj:
        with pytest.raises(KeyError, match="no map 'nope'.*proto_stats"):
            obj.maps["nope"]
        with pytest.raises(KeyError, match="no program 'nope'.*xdp_count"):
            obj.programs["nope"]
        with pytest.raises(KeyError, match="no variable"):
            obj.rodata["nope"]


def test_missing_interface() -> None:
    with pybpf.load(pybpf.shipped("xdp_counter")) as obj:
        with pytest.raises(FileNotFoundError, match="no network interface named 'pybpf-nope0'"):
            obj.programs["xdp_count"].attach_xdp("pybpf-nope0")
        with pytest.raises(ValueError, match="XDP mode"):
            obj.programs["xdp_count"].attach_xdp("lo", mode="turbo")


def test_use_after_close() -> None:
    obj = pybpf.load(pybpf.shipped("xdp_counter"))
    prog = obj.programs["xdp_count"]
    counts = obj.maps["proto_stats"]
    obj.close()
    obj.close()  # idempotent
    assert obj.closed and counts.closed
    with pytest.raises(ValueError, match="is closed"):
        prog.fd
    with pytest.raises(ValueError, match="is closed"):
        counts[0]
    with pytest.raises(ValueError, match="is closed"):
        obj.maps
    with pytest.raises(ValueError, match="is closed"):
        obj.rodata["anything"]


def test_leaked_object_warns() -> None:
    obj = pybpf.load(pybpf.shipped("xdp_counter"))
    with pytest.warns(ResourceWarning, match="was not closed"):
        del obj
        gc.collect()


def test_load_twice_and_configure_after_load() -> None:
    with pybpf.load(pybpf.shipped("syscount")) as obj:
        with pytest.raises(ValueError, match="loaded already"):
            obj.load()
        with pytest.raises(ValueError, match="frozen"):
            obj.rodata["target_pid"] = 1
        with pytest.raises(ValueError, match="before load"):
            obj.programs["count_syscalls"].autoload = False


def test_autoload_off_leaves_program_unloaded() -> None:
    with pybpf.BPFObject.open(pybpf.shipped("xdp_counter")) as obj:
        obj.programs["xdp_count"].autoload = False
        obj.load()
        with pytest.raises(ValueError, match="not loaded"):
            obj.programs["xdp_count"].fd
        obj.maps["proto_stats"][0] = [(1, 2)] * pybpf.possible_cpus()


def test_program_attributes() -> None:
    with pybpf.load(pybpf.shipped("syscount")) as obj:
        prog = obj.programs["count_syscalls"]
        assert prog.type is pybpf.ProgType.TRACEPOINT
        assert prog.section == "tracepoint/raw_syscalls/sys_enter"
        assert prog.fd >= 0 and prog.name == "count_syscalls"


def test_test_run_xdp_counts_a_packet() -> None:
    packet = bytes.fromhex("ffffffffffff0202020202020800") + bytes.fromhex(
        "4500002000000000401100000a0000010a00000200010002000c000061626364"
    )
    with pybpf.load(pybpf.shipped("xdp_counter")) as obj:
        result = obj.programs["xdp_count"].test_run(packet, repeat=3)
        assert result.retval == 2  # XDP_PASS
        assert result.data_out == packet
        udp = obj.maps["proto_stats"][1]
        assert sum(c.packets for c in udp) == 3 and sum(c.bytes for c in udp) == 3 * len(packet)


def test_tracepoint_without_tracefs_says_how_to_mount(tmp_path: Path) -> None:
    # A private mount namespace in which tracefs is not mounted.
    script = textwrap.dedent(
        """
        import subprocess, sys, pybpf
        for path in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing", "/sys/kernel/debug"):
            subprocess.run(["umount", "-l", path], capture_output=True)
        assert not pybpf.tracefs_mounted()
        with pybpf.load(pybpf.shipped("syscount")) as obj:
            try:
                obj.programs["count_syscalls"].attach()
            except FileNotFoundError as exc:
                print("ERROR:", exc)
        """
    )
    proc = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "tracefs is not mounted" in proc.stdout and "mount -t tracefs" in proc.stdout


def test_without_privilege_permission_error(tmp_path: Path) -> None:
    # A child that gives up root and every capability: the kernel refuses bpf().
    script = textwrap.dedent(
        """
        import pybpf
        try:
            pybpf.load(pybpf.shipped("xdp_counter"))
        except PermissionError as exc:
            assert isinstance(exc, pybpf.BPFError) and exc.errno == 1, exc
            print("ERROR:", exc)
        try:
            pybpf.Map.create(pybpf.MapType.HASH, key_size=4, value_size=4, max_entries=1)
        except PermissionError as exc:
            print("ERROR:", exc)
        """
    )
    os.chmod(tmp_path, 0o755)
    proc = subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            sys.executable,
            "-c",
            script,
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("ERROR:")]
    assert len(lines) == 2, proc.stdout
    assert all("CAP_BPF" in line for line in lines)


def test_sections_without_variables() -> None:
    with pybpf.BPFObject.open(pybpf.shipped("xdp_counter")) as obj:
        assert len(obj.rodata) == 0 and len(obj.bss) == 0
        with pytest.raises(KeyError, match="no variable 'x'"):
            obj.bss["x"] = 1
        with pytest.raises(KeyError):
            obj.data._image()


def test_libbpf_messages_go_to_the_logger(
    test_objects: dict[str, Path], caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    import logging

    with caplog.at_level(logging.DEBUG, logger="pybpf.libbpf"), pytest.raises(pybpf.VerifierError):
        pybpf.load(test_objects["verifier_reject"])
    records = [r for r in caplog.records if r.name == "pybpf.libbpf"]
    assert any(r.levelno == logging.WARNING and "BEGIN PROG LOAD LOG" in r.getMessage() for r in records)
    assert "libbpf" not in capfd.readouterr().err  # nothing straight to stderr


def test_attach_after_close_or_before_load_is_an_error() -> None:
    obj = pybpf.BPFObject.open(pybpf.shipped("xdp_counter"))
    prog = obj.programs["xdp_count"]
    with pytest.raises(ValueError, match="not loaded"):
        prog.attach_xdp("lo")
    obj.close()
    for attach in (
        lambda: prog.attach_xdp("lo"),
        prog.attach,
        lambda: prog.attach_raw_tracepoint("x"),
        lambda: prog.attach_tracepoint("a", "b"),
        lambda: prog.test_run(b""),
    ):
        with pytest.raises(ValueError, match="is closed"):
            attach()
