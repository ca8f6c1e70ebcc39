"""Kernels a guest boots: a Debian package's unpacked tree, a kernel built
here (``pybpf vm build-kernel``), or an image the user names by path.

Each is a :class:`Kernel`: a name the matrix shows, the release string,
the image, and the module tree virtme-ng installs from (None: every driver
the guest needs is built in).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CACHE", "Kernel", "image_release"]

CACHE = Path(os.environ.get("PYBPF_KERNEL_CACHE", Path.home() / ".cache" / "pybpf" / "kernels"))

# The x86 boot protocol: a setup header at 0x1f1; "HdrS" at 0x202 and, at
# 0x20e, the offset (less 0x200) of the NUL-terminated version string.
_HEADER_MAGIC_AT = 0x202
_VERSION_POINTER_AT = 0x20E


@dataclass(frozen=True)
class Kernel:
    """A bootable kernel."""

    name: str
    """As asked for: "6.12", "lirc", or the image's path."""
    release: str
    """``uname -r`` in the guest ("6.12.95+deb12-amd64")."""
    origin: str
    """Where it came from ("Debian 6.12.95-1~bpo12+1", "built here", "image")."""
    image: Path
    modules: Path | None = None

    @classmethod
    def unpacked(cls, name: str, release: str, origin: str, tree: Path) -> Kernel:
        """A kernel unpacked from packages into ``tree`` (``boot/vmlinuz-R``
        or ``usr/lib/modules/R/vmlinuz``, modules under ``[usr/]lib/modules/R``)."""
        modules = next(
            (
                tree / base / "modules" / release
                for base in ("lib", "usr/lib")
                if (tree / base / "modules" / release).is_dir()
            ),
            None,
        )
        for image in (tree / "boot" / f"vmlinuz-{release}", (modules or tree) / "vmlinuz"):
            if image.exists():
                return cls(name, release, origin, image, modules)
        raise FileNotFoundError(f"no kernel image for {release} under {tree}")

    @classmethod
    def from_image(cls, path: str | os.PathLike[str]) -> Kernel:
        """A kernel image the user has (a bzImage/vmlinuz): booted with the
        modules of ``lib/modules/<release>`` beside it if there are any."""
        image = Path(path).resolve()
        release = image_release(image)
        modules = next(
            (
                parent / "lib" / "modules" / release
                for parent in image.parents
                if (parent / "lib" / "modules" / release).is_dir()
            ),
            None,
        )
        return cls(str(path), release, "image", image, modules)


def image_release(image: Path) -> str:
    """The release string an x86 kernel image carries in its setup header."""
    with open(image, "rb") as f:
        head = f.read(0x10000)
    if head[_HEADER_MAGIC_AT : _HEADER_MAGIC_AT + 4] != b"HdrS":
        raise ValueError(f"{image} is not an x86 kernel image (bzImage): no boot protocol header")
    offset = int.from_bytes(head[_VERSION_POINTER_AT : _VERSION_POINTER_AT + 2], "little") + 0x200
    with open(image, "rb") as f:
        f.seek(offset)
        text = f.read(256).split(b"\0", 1)[0].decode(errors="replace")
    match = re.match(r"\S+", text)
    if not match:
        raise ValueError(f"{image}: no version string in its header")
    return match.group(0)
