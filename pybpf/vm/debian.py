"""Debian's kernel packages: resolve a series ("6.12"), download, unpack, cache.

A series is looked up among the suites in ``SUITES`` through a private apt
configuration under the cache (its own sources list, package lists and
archive dir; nothing is added to /etc/apt), from the mirror the machine's
apt sources already name (:func:`apt_mirror`): the newest kernel of that
series in any of them wins.  Packages are fetched with ``apt-get
download`` and unpacked with ``dpkg -x``, never installed.

Debian packages a 6.x kernel as ``linux-image-V`` (``/boot/vmlinuz-V``,
modules under ``/lib/modules/V``); from 7.x ``linux-image-V`` is empty and
depends on ``linux-binary-V`` (``usr/lib/modules/V/vmlinuz``),
``linux-modules-V`` and ``linux-base-V``.  Both layouts are handled.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from pybpf.vm.images import CACHE, Kernel

__all__ = ["SUITES", "apt_mirror", "fetch", "is_series"]

KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
#: The suites searched for a series, oldest first.
SUITES = ("bookworm", "bookworm-backports", "trixie", "trixie-backports")

Log = Callable[[str], object]


def is_series(name: str) -> bool:
    """Whether ``name`` names a kernel series ("6.1", "7.3")."""
    return re.fullmatch(r"\d+\.\d+", name) is not None


def _codename() -> str:
    with open("/etc/os-release", encoding="utf-8") as f:
        for line in f:
            key, _, value = line.strip().partition("=")
            if key == "VERSION_CODENAME":
                return value.strip('"')
    return ""


def _deb822_uris(text: str, release: str) -> list[str]:
    """URIs of the stanzas of a ``.sources`` file whose Suites name ``release``."""
    found = []
    for stanza in re.split(r"\n\s*\n", text):
        fields = dict(
            (key.strip(), value.strip())
            for key, _, value in (line.partition(":") for line in stanza.splitlines() if not line.startswith("#"))
        )
        if release in fields.get("Suites", "").split():
            found += fields.get("URIs", "").split()
    return found


def _one_line_uris(text: str, release: str) -> list[str]:
    """URIs of the ``deb [options] URI SUITE ...`` lines whose suite is ``release``."""
    found = []
    for line in text.splitlines():
        words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
        if len(words) >= 3 and words[0] == "deb" and words[2] == release:
            found.append(words[1])
    return found


@functools.cache
def apt_mirror() -> str:
    """The URI of the apt source that serves this Debian release's main suite,
    as the machine's apt sources name it (so that no host name is written
    anywhere else)."""
    release = _codename()
    sources = Path("/etc/apt/sources.list.d")
    uris: list[str] = []
    for path in sorted(sources.glob("*.sources")) if sources.is_dir() else []:
        uris += _deb822_uris(path.read_text(errors="replace"), release)
    for path in [Path("/etc/apt/sources.list"), *(sorted(sources.glob("*.list")) if sources.is_dir() else [])]:
        if path.exists():
            uris += _one_line_uris(path.read_text(errors="replace"), release)
    if not release or not uris:
        raise RuntimeError(f"no apt source of this machine serves Debian {release or '(unknown release)'}")
    return uris[0]


class Apt:
    """apt-get/apt-cache with a private configuration under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        for sub in ("etc/sources.list.d", "etc/preferences.d", "lists/partial", "archives/partial"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        (root / "status").touch()
        etc = root / "etc"
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

    def configure(self, mirror: str, suites: tuple[str, ...], *, refresh: bool = False) -> None:
        """Point the private sources at ``suites`` of ``mirror``; fetch the lists when they changed."""
        lines = "".join(f"deb [signed-by={KEYRING}] {mirror} {suite} main\n" for suite in suites)
        sources = self.root / "etc" / "sources.list"
        if refresh or not sources.exists() or sources.read_text() != lines:
            sources.write_text(lines)
            self.run("apt-get", "-qq", "update")

    def run(self, tool: str, *args: str, cwd: Path | None = None, show: bool = False) -> str:
        """Run an apt tool; ``show`` lets its progress through to the terminal."""
        done = subprocess.run(
            [tool, *self.options, *args],
            cwd=cwd,
            stdout=None if show else subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"{tool} {' '.join(args)} failed:\n{done.stderr.strip()}")
        return done.stdout or ""

    def versions(self, package: str) -> list[tuple[str, str]]:
        """(version, suite) of every candidate of ``package``."""
        out = []
        for line in self.run("apt-cache", "madison", package).splitlines():
            fields = [f.strip() for f in line.split("|")]
            if len(fields) >= 3:
                out.append((fields[1], fields[2].split()[1].split("/")[0]))
        return out

    def depends(self, package: str, version: str) -> list[str]:
        """The packages ``package=version`` depends on, by name."""
        text = self.run("apt-cache", "show", f"{package}={version}")
        match = re.search(r"^Depends: (.*)$", text, re.M)
        return [d.split()[0] for d in match.group(1).split(", ")] if match else []


def _newest(versions: list[str]) -> str:
    def newer(a: str, b: str) -> bool:
        return subprocess.run(["dpkg", "--compare-versions", a, "gt", b], check=False).returncode == 0

    best = versions[0]
    for candidate in versions[1:]:
        if newer(candidate, best):
            best = candidate
    return best


def _arch() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()


def fetch(series: str, *, refresh: bool = False, suites: tuple[str, ...] = SUITES, log: Log = print) -> Kernel:
    """The newest Debian kernel of ``series``, downloaded and unpacked once
    into the cache (``refresh`` looks for a newer one)."""
    base = CACHE / series
    marker = base / "kernel.txt"
    if marker.exists() and not refresh:
        release, version = marker.read_text().split()[:2]
        return Kernel.unpacked(series, release, f"Debian {version}", base / "tree")
    apt = Apt(CACHE / "apt")
    apt.configure(apt_mirror(), suites, refresh=refresh)
    meta = f"linux-image-{_arch()}"
    candidates = [(v, s) for v, s in apt.versions(meta) if ".".join(v.split(".")[:2]) == series]
    if not candidates:
        raise LookupError(f"no {series} kernel in Debian {', '.join(suites)}")
    version = _newest([v for v, _ in candidates])
    suite = next(s for v, s in candidates if v == version)
    (image,) = [d for d in apt.depends(meta, version) if d.startswith("linux-image-")]
    release = image[len("linux-image-") :]
    parts = [d for d in apt.depends(image, version) if re.match(r"linux-(binary|modules|base)-", d)]
    packages = parts or [image]  # 7.x: the image is a meta package of the parts
    log(f"kernel {series}: {release} ({version}) from {suite}: downloading {', '.join(packages)}")
    shutil.rmtree(base, ignore_errors=True)
    download = base / "debs"
    download.mkdir(parents=True)
    apt.run("apt-get", "download", *(f"{p}={version}" for p in packages), cwd=download, show=True)
    tree = base / "tree"
    for deb in sorted(download.glob("*.deb")):
        subprocess.run(["dpkg", "-x", str(deb), str(tree)], check=True)
    shutil.rmtree(download)
    kernel = Kernel.unpacked(series, release, f"Debian {version}", tree)
    marker.write_text(f"{release} {version}\n")
    return kernel
