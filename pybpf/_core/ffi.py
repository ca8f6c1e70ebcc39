"""The one door into C: imports the compiled cffi module ``pybpf._libbpf``.

Every other module takes ``ffi`` and ``lib`` from here.  Importing this module
also routes libbpf's messages into the ``pybpf.libbpf`` logger (once the
application has imported ``logging``).
"""

from __future__ import annotations

import _thread
import sys

from pybpf._core.public import public

TYPE_CHECKING = False  # typing's own, without importing typing: start-up time (issue 17)
if TYPE_CHECKING:
    from typing import Any

try:
    from pybpf._libbpf import ffi, lib
except ImportError as exc:  # pragma: no cover - a source checkout without a build
    raise ImportError(
        "pybpf's compiled module is missing: install the package "
        "(`pip install .`) rather than importing it from the source tree"
    ) from exc

__all__ = ["HAS_NETFILTER", "HAS_RING_API", "ffi", "lib", "libbpf_version", "log_capture"]

# logging's WARNING, INFO and DEBUG: logging itself is imported by the
# application, not by pybpf (it costs import time that loading never needs).
_LEVELS = {lib.LIBBPF_WARN: 30, lib.LIBBPF_INFO: 20, lib.LIBBPF_DEBUG: 10}
_capture = _thread._local()  # threading.local itself, without importing threading: start-up time
_logger: Any = None


def _libbpf_logger(logging: Any) -> Any:
    """The ``pybpf.libbpf`` logger, set up on the first message after the
    application imported logging."""
    global _logger
    if _logger is None:
        # A library logs, the application decides where to: no lastResort output on stderr.
        logging.getLogger("pybpf").addHandler(logging.NullHandler())
        _logger = logging.getLogger("pybpf.libbpf")
    return _logger


class log_capture:
    """Collect libbpf's messages emitted by this thread while the block runs.

    Load errors use this to find the verifier log libbpf prints for a failed
    program; the messages still reach the logger.  ``warnings`` holds those
    libbpf printed as warnings: what failed, without its debug chatter.
    """

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.warnings: list[str] = []

    def __enter__(self) -> log_capture:
        self._outer = getattr(_capture, "sink", None)
        _capture.sink = self
        return self

    def __exit__(self, *exc: Any) -> None:
        _capture.sink = self._outer


@ffi.def_extern()  # type: ignore[untyped-decorator]
def pybpf_on_libbpf_print(level: int, msg: Any) -> None:
    # An exception must not cross back into C: this callback only logs.
    try:
        text = ffi.string(msg).decode("utf-8", "replace")
        sink = getattr(_capture, "sink", None)
        if sink is not None:
            sink.messages.append(text)
            if level == lib.LIBBPF_WARN:
                sink.warnings.append(text)
        # Without logging imported, no handler exists that could receive the
        # message: nothing to do.
        logging = sys.modules.get("logging")
        if logging is not None:
            logger = _libbpf_logger(logging)
            py_level = _LEVELS.get(level, 10)
            if logger.isEnabledFor(py_level):
                logger.log(py_level, "%s", text.rstrip("\n"))
    except Exception:  # pragma: no cover
        pass


@public
def libbpf_version() -> tuple[int, int]:
    """The (major, minor) version of the libbpf pybpf runs with."""
    return (lib.libbpf_major_version(), lib.libbpf_minor_version())


#: libbpf >= 1.3: per-ring access of a ring buffer (pending bytes, consume one ring).
HAS_RING_API = bool(lib.PYBPF_HAS_RING_API)
HAS_NETFILTER = bool(lib.PYBPF_HAS_NETFILTER)

lib.pybpf_install_print()
