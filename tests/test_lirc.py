"""LIRC_MODE2 (bpf_progs/lirc_mode2.bpf.c) on rc-loopback's LIRC device:
what the test transmits comes back as received raw IR samples.

LIRC_MODE2 needs CONFIG_BPF_LIRC_MODE2, which needs rc-core built in; Debian
builds it as a module, so neither the CI host nor Debian's kernels can load
these programs, and the tests skip there with that reason.  They run in the
kernel `pybpf vm build-kernel` builds with it (``make vm-test-lirc``)."""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path

import pytest

import pybpf

pytestmark = pytest.mark.kernel

SPACE, PULSE, TIMEOUT = 0, 1, 3
SENT = (900, 1700, 600, 2100, 1200)  # pulse, space, pulse, space, pulse (microseconds)


def _loopback_lirc() -> str:
    """rc-loopback's /dev/lircN."""
    for rc in sorted(Path("/sys/class/rc").glob("rc*")):
        if "DRV_NAME=rc-loopback" in (rc / "uevent").read_text():
            for lirc in rc.glob("lirc*"):
                return f"/dev/{lirc.name}"
    pytest.fail("rc-loopback is loaded but has no LIRC device")


@pytest.mark.requires_feature("module:rc-loopback", min="4.18")
@pytest.mark.requires_feature("lirc programs", min="4.18")  # checked first
def test_lirc_mode2_counts_the_samples_the_device_receives() -> None:
    device = _loopback_lirc()
    with pybpf.load(pybpf.shipped("lirc_mode2")) as obj:
        samples = obj.maps["samples"]
        with obj.programs["count_samples"].attach_lirc(device):
            fd = os.open(device, os.O_RDWR)
            try:
                os.write(fd, struct.pack(f"{len(SENT)}I", *SENT))  # rc-loopback receives what it sends
            finally:
                os.close(fd)
            for _ in range(100):  # the raw events are decoded in a kernel thread
                if samples[TIMEOUT].count:
                    break
                time.sleep(0.05)
        pulses, spaces = SENT[0::2], SENT[1::2]
        assert (samples[PULSE].count, samples[PULSE].microseconds) == (len(pulses), sum(pulses))
        assert (samples[SPACE].count, samples[SPACE].microseconds) == (len(spaces), sum(spaces))
        assert samples[TIMEOUT].count == 1


@pytest.mark.requires_feature("lirc programs", min="4.18")
def test_attach_lirc_to_a_missing_device() -> None:
    with pybpf.load(pybpf.shipped("lirc_mode2")) as obj:
        with pytest.raises(FileNotFoundError, match="no LIRC device /dev/lirc-pybpf-none"):
            obj.programs["count_samples"].attach_lirc("/dev/lirc-pybpf-none")


def test_loading_where_the_kernel_has_no_lirc_programs_says_so() -> None:
    """Both sides: the load works where LIRC_MODE2 exists, and says why not elsewhere."""
    if pybpf.features.program_type(pybpf.ProgType.LIRC_MODE2):
        pybpf.load(pybpf.shipped("lirc_mode2")).close()
        return
    with pytest.raises(pybpf.BPFError, match="this kernel has no LIRC_MODE2 programs"):
        pybpf.load(pybpf.shipped("lirc_mode2"))
