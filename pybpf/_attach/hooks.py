"""``Program``'s attach methods, one mixin per hook family (cgroup, tc,
tracing ...), each in a module that is imported on the first use of one of
its methods: ``prog.attach_cgroup``, or ``pybpf.Program.attach_cgroup``
(``help()``).  A script that attaches an XDP program never imports the
others, nor the enum classes, ``re`` and ``ipaddress`` they build on
(start-up time, docs/benchmarks.md).

The type checker sees ``Hooks`` as the class of every mixin.  At run time
the mixin's methods are copied onto the class on first use, after which
they are found as ordinary methods.
"""

from __future__ import annotations

from pybpf._attach.base import AttachBase

TYPE_CHECKING = False  # typing's own, without importing typing: start-up time (issue 17)
if TYPE_CHECKING:
    from typing import Any

    from pybpf._attach.cgroup import CgroupAttach
    from pybpf._attach.lirc import LircAttach
    from pybpf._attach.netfilter import NetfilterAttach
    from pybpf._attach.route import RouteAttach
    from pybpf._attach.socket import SocketAttach
    from pybpf._attach.tc import TcAttach
    from pybpf._attach.trace import TraceAttach

__all__ = ["Hooks"]

#: Each hook family's module: its mixin class, and every name that class
#: defines (tests/test_start_up.py holds this to the classes).
MIXINS: dict[str, tuple[str, tuple[str, ...]]] = {
    "pybpf._attach.cgroup": ("CgroupAttach", ("attach_cgroup", "_attach_cgroup_fd")),
    "pybpf._attach.lirc": ("LircAttach", ("attach_lirc",)),
    "pybpf._attach.netfilter": ("NetfilterAttach", ("attach_netfilter",)),
    "pybpf._attach.route": ("RouteAttach", ("attach_route", "attach_seg6local", "_route_link")),
    "pybpf._attach.socket": (
        "SocketAttach",
        ("attach_socket", "attach_reuseport", "attach_sockmap", "_setsockopt_link"),
    ),
    "pybpf._attach.tc": ("TcAttach", ("attach_tc", "attach_tc_action", "_attach_tc_filter")),
    "pybpf._attach.trace": (
        "TraceAttach",
        (
            "attach_tracepoint",
            "attach_raw_tracepoint",
            "attach_kprobe",
            "attach_uprobe",
            "attach_usdt",
            "attach_perf_event",
            "attach_iter",
            "attach_trace",
            "attach_lsm",
            "_user_probe",
            "_perf_link",
            "_require_tracefs",
        ),
    ),
}
_HOME = {name: module for module, (_, names) in MIXINS.items() for name in names}


def _load(name: str) -> bool:
    """Copy the methods of the mixin that defines ``name`` onto the class;
    False if no mixin does."""
    module = _HOME.get(name)
    if module is None:
        return False
    class_name, names = MIXINS[module]
    mixin = getattr(__import__(module, fromlist=[class_name]), class_name)
    for key in names:  # the same functions each time: two threads may both copy them
        setattr(_LazyHooks, key, vars(mixin)[key])
    return True


def _missing(owner: object, what: str, name: str) -> AttributeError:
    """Python's own AttributeError, with what its "Did you mean" reads (3.10+)."""
    error = AttributeError(f"{what} has no attribute {name!r}")
    error.name, error.obj = name, owner
    return error


class _HookLoader(type):
    """The metaclass: ``Program.attach_tc`` (``help()``, documentation
    tools) imports the hook too, and ``dir(Program)`` lists every hook."""

    def __getattr__(cls, name: str) -> Any:
        if _load(name):
            return getattr(cls, name)
        raise _missing(cls, f"type object {cls.__name__!r}", name)

    def __dir__(cls) -> list[str]:
        return sorted({*super().__dir__(), *_HOME})


class _LazyHooks(AttachBase, metaclass=_HookLoader):
    """Every hook's attach methods, each hook's imported on first use."""

    def __getattr__(self, name: str) -> Any:  # only for names not found: the hooks not used yet
        if _load(name):
            return getattr(self, name)
        raise _missing(self, f"{type(self).__name__!r} object", name)

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *_HOME})


if TYPE_CHECKING:

    class Hooks(TraceAttach, CgroupAttach, TcAttach, SocketAttach, NetfilterAttach, RouteAttach, LircAttach):
        """Every hook's attach methods."""

else:
    Hooks = _LazyHooks
