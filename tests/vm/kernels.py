"""Debian kernels for the VM matrix: resolve, download, unpack, cache.

A kernel series ("6.1", "6.12", "7.3") is looked up in the suites listed in
``SUITES`` through a private apt configuration under the cache (its own
sources list, package lists and archive dir; nothing is added to /etc/apt).
Its mirror URI is the one the machine's apt sources already name
(scripts/debian-mirror.sh).  Packages are fetched with ``apt-get download``
and unpacked with ``dpkg -x``, never installed.

Debian packages a 6.x kernel as ``linux-image-V`` (``/boot/vmlinuz-V``,
modules under ``/lib/modules/V``); from 7.x ``linux-image-V`` is empty and
depends on ``linux-binary-V`` (``usr/lib/modules/V/vmlinuz``),
``linux-modules-V`` and ``linux-base-V``.  Both layouts are handled.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("PYBPF_KERNEL_CACHE", Path.home() / ".cache" / "pybpf" / "kernels"))
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"

#: Series of the matrix -> the suite that carries it.
SUITES = {"6.1": "bookworm", "6.12": "bookworm-backports", "7.3": "trixie-backports"}
DEFAULT = tuple(SUITES)


@dataclass(frozen=True)
class Kernel:
    """An unpacked kernel: its release string, image and module tree."""

    series: str
    release: str  # uname -r, e.g. 6.12.95+deb12-amd64
    version: str  # the Debian package version
    tree: Path  # dpkg -x target (writable: virtme-ng runs depmod in it)

    @property
    def vmlinuz(self) -> Path:
        for candidate in (self.tree / "boot" / f"vmlinuz-{self.release}", self.modules / "vmlinuz"):
            if candidate.exists():
                return candidate
        raise FileNotFoundError(f"no vmlinuz for {self.release} under {self.tree}")

    @property
    def modules(self) -> Path:
        for base in ("lib", "usr/lib"):
            path = self.tree / base / "modules" / self.release
            if path.is_dir():
                return path
        raise FileNotFoundError(f"no modules for {self.release} under {self.tree}")


class Apt:
    """apt-get/apt-cache with a private configuration under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        etc = root / "etc"
        for sub in ("etc/sources.list.d", "etc/preferences.d", "lists/partial", "archives/partial"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        (root / "status").touch()
        self.options = [
            f"-oDir::Etc={etc}",
            f"-oDir::Etc::SourceList={etc / 'sources.list'}",
            f"-oDir::Etc::SourceParts={etc / 'sources.list.d'}",
            f"-oDir::Etc::PreferencesParts={etc / 'preferences.d'}",
            f"-oDir::State={root}",
            f"-oDir::State::Lists={root / 'lists'}",
            f"-oDir::State::status={root / 'status'}",
            f"-oDir::Cache={root}",
            f"-oDir::Cache::archives={root / 'archives'}",
            "-oAPT::Sandbox::User=root",  # the cache belongs to the caller, not _apt
        ]

    def configure(self, mirror: str, suites: list[str]) -> None:
        lines = [f"deb [signed-by={KEYRING}] {mirror} {suite} main\n" for suite in suites]
        sources = self.root / "etc" / "sources.list"
        if not sources.exists() or sources.read_text() != "".join(lines):
            sources.write_text("".join(lines))
            self.update()

    def update(self) -> None:
        """Refresh the private package lists."""
        self.run("apt-get", "-qq", "update")

    def run(self, tool: str, *args: str, cwd: Path | None = None) -> str:
        done = subprocess.run([tool, *self.options, *args], cwd=cwd, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{tool} {' '.join(args)} failed:\n{done.stderr.strip()}")
        return done.stdout

    def versions(self, package: str) -> list[tuple[str, str]]:
        """(version, suite) of every candidate of ``package``."""
        out = []
        for line in self.run("apt-cache", "madison", package).splitlines():
            fields = [f.strip() for f in line.split("|")]
            if len(fields) >= 3:
                out.append((fields[1], fields[2].split()[1].split("/")[0]))
        return out

    def depends(self, package: str, version: str) -> list[str]:
        text = self.run("apt-cache", "show", f"{package}={version}")
        match = re.search(r"^Depends: (.*)$", text, re.M)
        return [d.split()[0] for d in match.group(1).split(", ")] if match else []


def mirror() -> str:
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "debian-mirror.sh")], capture_output=True, text=True, check=True
    ).stdout.strip()


def _series_of(version: str) -> str:
    return ".".join(version.split(".")[:2])


def fetch(series: str, *, refresh: bool = False, log: Callable[[str], object] = print) -> Kernel:
    """The newest kernel of ``series`` from its suite, downloaded and unpacked
    once into the cache (``refresh`` looks for a newer one)."""
    if series not in SUITES:
        raise SystemExit(f"unknown kernel series {series!r}; the matrix has {', '.join(SUITES)}")
    base = CACHE / series
    marker = base / "kernel.txt"
    if marker.exists() and not refresh:
        release, version = marker.read_text().split()
        return Kernel(series, release, version, base / "tree")
    apt = Apt(CACHE / "apt")
    apt.configure(mirror(), sorted(set(SUITES.values())))
    if refresh:
        apt.update()
    suite = SUITES[series]
    candidates = [v for v, s in apt.versions("linux-image-amd64") if s == suite and _series_of(v) == series]
    if not candidates:
        raise SystemExit(f"no {series} kernel in {suite}")
    version = candidates[0]  # madison lists the newest first
    (image,) = [d for d in apt.depends("linux-image-amd64", version) if d.startswith("linux-image-")]
    release = image[len("linux-image-") :]
    parts = [d for d in apt.depends(image, version) if re.match(r"linux-(binary|modules|base)-", d)]
    packages = parts or [image]  # 7.x: the image is a meta package of the parts
    log(f"kernel {series}: {release} ({version}) from {suite}: {', '.join(packages)}")
    download = base / "debs"
    shutil.rmtree(base, ignore_errors=True)
    download.mkdir(parents=True)
    apt.run("apt-get", "-qq", "download", *(f"{p}={version}" for p in packages), cwd=download)
    tree = base / "tree"
    for deb in sorted(download.glob("*.deb")):
        subprocess.run(["dpkg", "-x", str(deb), str(tree)], check=True)
    shutil.rmtree(download)
    kernel = Kernel(series, release, version, tree)
    kernel.vmlinuz, kernel.modules  # both must exist before the cache is trusted
    marker.write_text(f"{release} {version}\n")
    return kernel


def main(argv: list[str]) -> int:
    for series in argv or DEFAULT:
        kernel = fetch(series)
        print(f"{series}: {kernel.release} {kernel.vmlinuz}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
