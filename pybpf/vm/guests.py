"""Booting a kernel with virtme-ng and running a command in it.

The guest runs the host's userland: the host filesystem is its root,
read-only (over 9p or virtiofs), with a writable overlay on /tmp, /etc,
/var and /home that is thrown away; /usr's directories and the Python
environment are read through the guest's page cache (see
:func:`_cached_view`).  The command runs as root, in the
directory it was started from on the host, with the host's environment
(less what names the host's terminal or display; ``HOME`` is /tmp and
Python writes no bytecode).  Its output and exit
status come back through a writable share, since virtme-ng does not pass
the status on.

Under qemu's software emulation (TCG, where KVM cannot run guests) one
vCPU is faster than two; a guest boots in about twenty seconds and runs
some twenty times slower than the host.
"""

from __future__ import annotations

import codecs
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pybpf.vm.images import Kernel

__all__ = ["CONSOLE_MARK", "GuestRun", "accelerator", "boot", "run_in_guest", "stop_all"]

CONSOLE_MARK = "\n--- console ---\n"
"""Where the console's log starts in :attr:`GuestRun.output`."""

_DROPPED_ENV = ("DISPLAY", "WAYLAND_DISPLAY", "TERM", "SSH_AUTH_SOCK", "SSH_CONNECTION", "SSH_TTY")


@dataclass
class GuestRun:
    """What one command did in one kernel."""

    kernel: Kernel
    rc: int | None
    """The command's exit status; None if the guest never reported one (a
    panic, a hang killed at the timeout, a boot failure)."""
    seconds: float
    output: str
    """The command's stdout and stderr; then, when there is no exit status,
    the console's after a ``--- console ---`` line."""
    share: Path
    """The guest's writable directory (``$PYBPF_VM_SHARE`` inside)."""
    release: str = ""
    """``uname -r`` as the guest saw it."""

    @property
    def ok(self) -> bool:
        """The command exited 0."""
        return self.rc == 0


_running: set[subprocess.Popen[bytes]] = set()


def _stop(guest: subprocess.Popen[bytes]) -> None:
    """End a guest: qemu and virtme-ng's helpers are in its session."""
    try:
        os.killpg(guest.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    guest.wait()


def stop_all() -> None:
    """Stop every guest still running (an interrupted run)."""
    for guest in list(_running):
        _stop(guest)


def accelerator() -> str:
    """ "kvm" when this machine's /dev/kvm can run ordinary guests (it opens
    read-write and the CPU has VMX or SVM), else "tcg": software emulation."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return "tcg"
    os.close(fd)
    with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
        flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    return "kvm" if {"vmx", "svm"} & set(flags) else "tcg"


def vng() -> str:
    """The virtme-ng front end (``pip install 'pybpf[vm]'``)."""
    beside = Path(sys.executable).parent / "vng"
    found = str(beside) if beside.exists() else shutil.which("vng")
    if not found:
        raise FileNotFoundError("virtme-ng is not installed: pip install 'pybpf[vm]' (it needs qemu-system too)")
    return found


def _vng_env() -> dict[str, str]:
    # vng starts virtme-run by name, and depmod lives in /sbin.
    return {**os.environ, "PATH": f"{Path(vng()).parent}:/usr/sbin:/sbin:{os.environ.get('PATH', '')}"}


def boot_command(
    kernel: Kernel, *, accel: str = "tcg", cpus: int = 1, memory: str = "2G", share: Path | None = None
) -> list[str]:
    """The ``vng`` command line that boots ``kernel``."""
    cmd = [vng(), "--run", str(kernel.image), "--cpus", str(cpus), "--memory", memory]
    if accel == "tcg":
        cmd.append("--disable-kvm")
    if share is not None:
        cmd += ["--rwdir", str(share)]
    # The host's root once more, read-only, for the page cache (see _cached_view), on a PCI
    # device: vng would pick the microvm machine under KVM, which has no PCI bus of its own.
    cmd += [
        "--disable-microvm",
        "--qemu-opts=-fsdev local,id=pybpfro,path=/,security_model=none,readonly=on,multidevs=remap"
        f" -device virtio-9p-pci,fsdev=pybpfro,mount_tag={_CACHED_TAG}",
    ]
    return cmd


def boot(kernel: Kernel, *, accel: str = "tcg", cpus: int = 1, memory: str = "2G") -> int:
    """Boot ``kernel`` with an interactive shell on this terminal."""
    return subprocess.run(
        boot_command(kernel, accel=accel, cpus=cpus, memory=memory), env=_vng_env(), check=False
    ).returncode


_CACHED_TAG = "pybpf-ro"
_CACHED_ROOT = "/run/pybpf-ro"


def _cached_dirs() -> list[str]:
    """The host directories a guest reads most (the system's programs and
    libraries, and the Python environment), to be read through the page
    cache: the libraries first, then the programs, since ``mount`` itself
    loads from them as the binds are made."""
    dirs = [entry.path for entry in os.scandir("/usr") if entry.is_dir(follow_symlinks=False) and entry.name != "lib"]
    dirs += [entry.path for entry in os.scandir("/usr/lib") if entry.is_dir(follow_symlinks=False)]
    for prefix in {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}:  # a venv, its Python
        if not prefix.is_relative_to("/usr"):
            dirs.append(str(prefix))

    def order(path: str) -> tuple[int, str]:
        libraries = path == "/usr/lib64" or (path.startswith("/usr/lib/") and "-linux-" in path)
        return (0 if libraries else 1 if path in ("/usr/bin", "/usr/sbin") else 2, path)

    return sorted(dirs, key=order)


def _cached_view() -> str:
    """Shell lines that bind the host's directories from a second, read-only
    9p export mounted with ``cache=loose`` over the guest's own view of them.

    virtme-ng mounts the host's root without a cache: every exec faults
    the binary and its libraries in over 9p again, and a Python start
    takes seconds more under emulation.  Nothing on the host changes
    these directories while a guest runs, so caching them is safe.  A
    directory that is a mount point in the guest, or has one beneath it
    (virtme-ng's overlays, the guest's modules), keeps the guest's view.
    One ``awk`` picks the directories, and ``mount`` is the only program
    started per directory."""
    dirs = "".join(f"{d}\n" for d in _cached_dirs())
    return _CACHED_VIEW.format(tag=_CACHED_TAG, root=_CACHED_ROOT, dirs=dirs)


_CACHED_VIEW = """\
mkdir -p {root} &&
mount -t 9p -o ro,trans=virtio,version=9p2000.L,access=any,msize=512000,cache=loose {tag} {root} &&
awk 'NR == FNR {{mounted[$5]; next}} {{for (m in mounted) if (m == $0 || index(m, $0 "/") == 1) next; print}}' \\
  /proc/self/mountinfo - <<'PYBPF_DIRS' |
{dirs}PYBPF_DIRS
while IFS= read -r d; do [ -d "{root}$d" ] && mount --bind "{root}$d" "$d"; done
"""


def _script(command: Sequence[str], cwd: Path, env: Mapping[str, str], share: Path, kernel: Kernel, accel: str) -> str:
    exports = "".join(f"export {key}={shlex.quote(value)}\n" for key, value in env.items() if key.isidentifier())
    return (
        "#!/bin/sh\n"
        f"{exports}"
        f"export PYBPF_VM_SHARE={shlex.quote(str(share))} PYBPF_VM_KERNEL={shlex.quote(kernel.name)}"
        f" PYBPF_VM_ACCEL={accel}\n"
        f"uname -r > {shlex.quote(str(share / 'release'))}\n"
        f"{_cached_view()}"
        f"cd {shlex.quote(str(cwd))} || exit 1\n"
        f"{shlex.join(command)} > {shlex.quote(str(share / 'output.log'))} 2>&1\n"
        f"echo $? > {shlex.quote(str(share / 'rc'))}\n"
    )


def _follow(path: Path, echo: Callable[[str], object], stop: threading.Event) -> None:
    """Pass what the guest appends to ``path`` to ``echo`` until ``stop``
    is set, then the rest."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    position = 0
    while True:
        stopped = stop.wait(0.2)
        try:
            with path.open("rb") as f:
                f.seek(position)
                data = f.read()
        except FileNotFoundError:
            data = b""
        position += len(data)
        text = decoder.decode(data, final=stopped)
        if text:
            echo(text)
        if stopped:
            return


def run_in_guest(
    kernel: Kernel,
    command: Sequence[str],
    *,
    share: Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    accel: str = "tcg",
    cpus: int = 1,
    memory: str = "2G",
    timeout: float = 3600,
    echo: Callable[[str], object] | None = None,
) -> GuestRun:
    """Boot ``kernel``, run ``command`` in it (in ``cwd``, default this
    directory, with ``env``, default this environment), power off.
    ``echo``, if given, gets the command's output as it comes.

    ``share`` is a directory the guest may write (created if missing); the
    command finds it in ``$PYBPF_VM_SHARE`` and the results stay there.
    ``$PYBPF_VM_KERNEL`` names the kernel and ``$PYBPF_VM_ACCEL`` says
    "kvm" or "tcg" (software emulation: some twenty times slower)."""
    share.mkdir(parents=True, exist_ok=True)
    environment = dict(os.environ if env is None else env)
    for key in _DROPPED_ENV:
        environment.pop(key, None)
    # The guest's root is read-only: home and bytecode caches go to its scratch /tmp.
    environment.update(HOME="/tmp", PYTHONDONTWRITEBYTECODE="1")
    script = share / "guest.sh"
    script.write_text(_script(command, (cwd or Path.cwd()).resolve(), environment, share, kernel, accel))
    boot_line = [*boot_command(kernel, accel=accel, cpus=cpus, memory=memory, share=share), "--exec", f"sh {script}"]
    console = share / "console.log"
    start = time.monotonic()
    stop_following = threading.Event()
    follower = None
    if echo is not None:
        follower = threading.Thread(target=_follow, args=(share / "output.log", echo, stop_following), daemon=True)
        follower.start()
    with console.open("w") as out:
        guest = subprocess.Popen(
            boot_line, env=_vng_env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        _running.add(guest)
        try:
            guest.wait(timeout)
        except subprocess.TimeoutExpired:
            _stop(guest)
            out.write(f"\npybpf vm: the guest was stopped after {timeout:.0f} s\n")
        finally:
            _running.discard(guest)
            stop_following.set()
            if follower is not None:
                follower.join()
    seconds = time.monotonic() - start
    rc_file, output_file, release_file = share / "rc", share / "output.log", share / "release"
    rc = int(rc_file.read_text()) if rc_file.exists() and rc_file.read_text().strip() else None
    output = output_file.read_text(errors="replace") if output_file.exists() else ""
    if rc is None:
        output += CONSOLE_MARK + console.read_text(errors="replace")
    release = release_file.read_text().strip() if release_file.exists() else ""
    return GuestRun(kernel, rc, seconds, output, share, release)
