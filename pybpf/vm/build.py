"""Kernels built here (``pybpf vm build-kernel``): Debian's ``linux-source``
of a series, configured with virtme-ng's configuration for VMs (less what a guest
never uses), what BPF needs and what the user enables, built once and cached by a hash of the
configuration.

    pybpf vm build-kernel --series 6.12 --enable BPF_LIRC_MODE2,RC_CORE,LIRC,RC_LOOPBACK --name lirc
    pybpf vm --kernels lirc -- pytest tests/test_lirc.py

Every option asked for must end up set: Kconfig drops an option whose
dependencies are not met without a word, so the build stops and names it.
The build needs gcc, make, flex, bison, bc, libelf-dev, libssl-dev and
dwarves (pahole, for BTF).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from pybpf.vm.debian import SUITES, Apt, _newest, apt_mirror
from pybpf.vm.images import CACHE, Kernel

__all__ = ["BPF_CORE_OPTIONS", "BPF_OPTIONS", "BUILT", "UNUSED_OPTIONS", "build_kernel", "built_kernel"]

BUILT = CACHE / "built"
_SOURCES = CACHE / "sources"
_WORK = CACHE / "build"

#: BPF itself: the syscall, the JIT, vmlinux BTF (CO-RE; the test plugin reads it),
#: cgroups and perf events.  A kernel built for one hook's tests (``bpf="core"``) has
#: these, and what is enabled for the hook.
BPF_CORE_OPTIONS = (
    "BPF=y",
    "BPF_SYSCALL=y",
    "BPF_JIT=y",
    "DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT=y",
    "DEBUG_INFO_BTF=y",  # vmlinux BTF, through pahole: CO-RE
    "CGROUPS=y",
    "PERF_EVENTS=y",
    "LOCALVERSION_AUTO=n",
)

#: What BPF programs of every kind need, beyond virtme-ng's minimal configuration.
BPF_OPTIONS = (
    *BPF_CORE_OPTIONS,
    "BPF_EVENTS=y",
    "DEBUG_INFO_BTF_MODULES=y",
    "FTRACE=y",
    "FUNCTION_TRACER=y",
    "DYNAMIC_FTRACE=y",  # BPF trampolines: fentry, fexit, fmod_ret, LSM
    "FPROBE=y",
    "KPROBES=y",
    "KPROBE_EVENTS=y",
    "UPROBES=y",
    "UPROBE_EVENTS=y",
    "FUNCTION_ERROR_INJECTION=y",
    "BPF_KPROBE_OVERRIDE=y",
    "SECURITY=y",
    "BPF_LSM=y",
    'LSM="lockdown,yama,bpf"',
    "CGROUP_BPF=y",
    "NET_SCHED=y",
    "NET_CLS_ACT=y",
    "NET_SCH_INGRESS=y",  # clsact
    "NET_CLS_BPF=y",
    "NET_ACT_BPF=y",
    "NET_CLS_MATCHALL=y",  # the filter that carries a BPF action
    "XDP_SOCKETS=y",
    "BPF_STREAM_PARSER=y",
    "VETH=y",
    "IPV6=y",
    "LWTUNNEL_BPF=y",
    "IPV6_SEG6_LWTUNNEL=y",
    "IPV6_SEG6_BPF=y",
    "NETFILTER=y",
    "BLK_DEV_LOOP=y",
    "BLK_DEV_NBD=y",  # its writable tracepoint (RAW_TRACEPOINT_WRITABLE)
)

#: What a guest booted by virtme-ng never uses, left out of the defconfig: half the build.
UNUSED_OPTIONS = (
    "KVM=n",
    "VIRTUALIZATION=n",
    "DRM=n",
    "FB=n",
    "AGP=n",
    "SOUND=n",
    "USB_SUPPORT=n",
    "HID=n",
    "ATA=n",
    "MD=n",
    "PCCARD=n",
    "ETHERNET=n",
    "WLAN=n",
    "WIRELESS=n",
    "CFG80211=n",
    "BT=n",
    "RFKILL=n",
    "NFS_FS=n",
    "HIBERNATION=n",
    "SUSPEND=n",
    "EFI=n",
)

#: ``build_kernel(bpf=...)``: every hook's options, or BPF's core alone.
_BPF_SETS = {"all": BPF_OPTIONS, "core": BPF_CORE_OPTIONS}

Log = Callable[[str], object]


def built_kernel(name: str) -> Kernel | None:
    """The kernel built under ``name``, or None."""
    marker = BUILT / name / "kernel.txt"
    if not marker.exists():
        return None
    release, digest = marker.read_text().split()[:2]
    return Kernel.unpacked(name, release, f"built here ({digest[:12]})", BUILT / name)


def _source(series: str, log: Log) -> tuple[Path, str]:
    """Debian's linux-source of ``series``, unpacked once: (tree, version)."""
    apt = Apt(CACHE / "apt")
    apt.configure(apt_mirror(), SUITES)
    package = f"linux-source-{series}"
    versions = [v for v, _ in apt.versions(package)]
    if not versions:
        raise LookupError(f"no {package} in Debian {', '.join(SUITES)}")
    version = _newest(versions)
    tree = _SOURCES / f"{series}-{version}"
    if (tree / "Makefile").exists():
        return tree, version
    log(f"build-kernel: downloading {package} {version}")
    with tempfile.TemporaryDirectory(dir=CACHE) as scratch:
        apt.run("apt-get", "download", f"{package}={version}", cwd=Path(scratch), show=True)
        (deb,) = Path(scratch).glob("*.deb")
        subprocess.run(["dpkg", "-x", str(deb), scratch], check=True)
        (tarball,) = (Path(scratch) / "usr" / "src").glob(f"linux-source-{series}.tar.*")
        log(f"build-kernel: unpacking {tarball.name}")
        shutil.rmtree(tree, ignore_errors=True)
        tree.mkdir(parents=True)
        subprocess.run(["tar", "-xf", str(tarball), "-C", str(tree), "--strip-components=1"], check=True)
    return tree, version


def _options(enable: Sequence[str], bpf: str) -> list[str]:
    """``NAME=value`` lines: what goes unused, BPF's, then the user's (``NAME`` alone means =y)."""
    if bpf not in _BPF_SETS:
        raise ValueError(f"bpf={bpf!r}: one of {', '.join(_BPF_SETS)}")
    out = [*UNUSED_OPTIONS, *_BPF_SETS[bpf]]
    for item in enable:
        item = item.strip().removeprefix("CONFIG_")
        if not item:
            continue
        if not re.fullmatch(r"[A-Z0-9_]+(=.+)?", item):
            raise ValueError(f"--enable {item!r}: a Kconfig symbol such as BPF_LIRC_MODE2 (or SYMBOL=value)")
        out.append(item if "=" in item else f"{item}=y")
    return out


def _config_values(config: Path) -> dict[str, str]:
    values = {}
    for line in config.read_text().splitlines():
        if line.startswith("CONFIG_") and "=" in line:
            key, _, value = line.partition("=")
            values[key.removeprefix("CONFIG_")] = value
        elif line.startswith("# CONFIG_") and line.endswith(" is not set"):
            values[line[len("# CONFIG_") : -len(" is not set")]] = "n"
    return values


def _check_options(config: Path, wanted: Sequence[str]) -> None:
    """Every option asked for holds in the final configuration, else an error naming them."""
    have = _config_values(config)
    missing = []
    for item in wanted:
        key, _, value = item.partition("=")
        got = have.get(key, "n")
        if got != value and not (value == "y" and got == "m"):
            missing.append(f"{key} (asked {value}, got {got})")
    if missing:
        raise RuntimeError(
            "the kernel configuration dropped options whose dependencies are not met: "
            + ", ".join(missing)
            + "; enable what they depend on too (see `make menuconfig`'s help of each)"
        )


def build_kernel(
    series: str,
    *,
    enable: Sequence[str] = (),
    bpf: str = "all",
    name: str | None = None,
    jobs: int | None = None,
    log: Log = print,
) -> Kernel:
    """Build (or find in the cache) the kernel of Debian's ``series`` source
    with ``enable`` on top of BPF's options; it is then bootable as ``name``
    (default: ``<series>-<hash>``).  The log of the build is kept beside it.

    ``bpf="all"`` sets what every hook needs (:data:`BPF_OPTIONS`);
    ``bpf="core"`` only BPF itself (:data:`BPF_CORE_OPTIONS`), for a kernel
    that tests one hook, which ``enable`` then adds: a shorter build, and
    the tests of other hooks skip there."""
    options = _options(enable, bpf)
    source, version = _source(series, log)
    digest = hashlib.sha256("\n".join([series, version, *options]).encode()).hexdigest()
    name = name or f"{series}-{digest[:8]}"
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise ValueError(f"kernel name {name!r}: letters, digits, '.', '_' and '-'")
    found = built_kernel(name)
    if found is not None and found.origin.endswith(f"({digest[:12]})"):
        log(f"build-kernel: {name} is built already ({found.release}, {found.image})")
        return found
    work = _WORK / digest[:16]
    work.mkdir(parents=True, exist_ok=True)
    fragment = work / "pybpf.config"
    fragment.write_text("".join(f"CONFIG_{item}\n" for item in options))
    make = ["make", "-C", str(source), f"O={work}", f"-j{jobs or os.cpu_count() or 1}", "LOCALVERSION=-pybpf"]
    build_log = work / "build.log"
    log(f"build-kernel: configuring {series} ({version}) in {work}")
    started = time.monotonic()
    with build_log.open("w") as out:

        def step(*command: str, cwd: Path = source) -> None:
            out.write(f"$ {' '.join(command)}\n")
            out.flush()
            done = subprocess.run(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, check=False)
            if done.returncode:
                tail = "\n".join(build_log.read_text(errors="replace").splitlines()[-30:])
                raise RuntimeError(f"build-kernel: `{' '.join(command)}` failed (log: {build_log}):\n{tail}")

        configure = shutil.which("virtme-configkernel") or str(Path(sys.executable).parent / "virtme-configkernel")
        step(configure, "--defconfig", "--custom", str(fragment), f"O={work}")
        step(*make, "olddefconfig")
        _check_options(work / ".config", options)
        log(f"build-kernel: building with {make[4]} (the log: {build_log})")
        step(*make, "bzImage", "modules")
        release = subprocess.run(
            [*make[:4], "-s", "LOCALVERSION=-pybpf", "kernelrelease"], capture_output=True, text=True, check=True
        ).stdout.strip()
        target = BUILT / name
        shutil.rmtree(target, ignore_errors=True)
        (target / "boot").mkdir(parents=True)
        step(*make, f"INSTALL_MOD_PATH={target}", "INSTALL_MOD_STRIP=1", "modules_install")
    shutil.copy(work / "arch" / "x86" / "boot" / "bzImage", target / "boot" / f"vmlinuz-{release}")
    shutil.copy(work / ".config", target / "config")
    (target / "kernel.txt").write_text(f"{release} {digest}\n")
    minutes = (time.monotonic() - started) / 60
    log(f"build-kernel: {name}: {release}, built in {minutes:.1f} min on {os.cpu_count()} CPUs")
    kernel = built_kernel(name)
    assert kernel is not None
    return kernel
