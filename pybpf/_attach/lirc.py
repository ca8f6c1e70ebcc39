"""Attaching an infrared decoder (LIRC_MODE2) to a LIRC device.

A mixin of ``Program``.
"""

from __future__ import annotations

import errno
import os

from pybpf._attach.base import AttachBase
from pybpf._attach.link import Link
from pybpf._core.attach_enums import AttachType
from pybpf._core.errors import BPFFileNotFoundError, check
from pybpf._core.ffi import lib

__all__ = ["LircAttach"]


class LircAttach(AttachBase):
    """Program methods for LIRC devices (see ``Program``)."""

    def attach_lirc(self, device: str | os.PathLike[str] | int) -> Link:
        """Attach a ``SEC("lirc_mode2")`` program to a LIRC device
        (``/dev/lirc0``, or an open fd of one): it runs on every raw IR
        sample the device receives.  Closing the link detaches it."""
        prog_fd = self.fd
        if isinstance(device, int):
            lirc_fd, what = os.dup(device), f"LIRC device fd {device}"
        else:
            path = os.fspath(device)
            what = f"LIRC device {path}"
            try:
                lirc_fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
            except FileNotFoundError:
                raise BPFFileNotFoundError(errno.ENOENT, f"attach program '{self._name}': no {what}") from None
        try:
            check(
                lib.bpf_prog_attach(prog_fd, lirc_fd, AttachType.LIRC_MODE2, 0),
                f"attach program '{self._name}' to {what}",
            )
        except BaseException:
            os.close(lirc_fd)
            raise

        def detach() -> None:
            try:
                lib.bpf_prog_detach2(prog_fd, lirc_fd, AttachType.LIRC_MODE2)  # fails only if the device went away
            finally:
                os.close(lirc_fd)

        return self._link_detach(detach, what)
