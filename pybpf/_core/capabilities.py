"""The capabilities BPF operations need, and which of them this process lacks.

The kernel's rules (kernel/bpf/syscall.c, verifier.c, 5.8+):

* every program load and map creation needs CAP_BPF;
* network program types (XDP, tc, LWT, cgroup socket hooks, ...) need
  CAP_NET_ADMIN, and so do attaching to a network device and netlink changes;
* tracing program types (kprobes, tracepoints, perf events, fentry, LSM,
  struct_ops) need CAP_PERFMON, and without it the verifier also refuses
  pointer arithmetic and comparisons and addresses leaking into maps;
* walking the ids of all programs, maps and links needs CAP_SYS_ADMIN.

CAP_SYS_ADMIN stands in for CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN.  A hint
names a capability only when this process really lacks it.
"""

from __future__ import annotations

import errno

from pybpf._core.enums import ProgType

__all__ = [
    "CAP_BPF",
    "CAP_NET_ADMIN",
    "CAP_PERFMON",
    "CAP_SYS_ADMIN",
    "lacking",
    "needs_hint",
    "net_admin_hints",
    "program_needs",
    "verifier_hint",
]

CAP_NET_ADMIN = 12
CAP_SYS_ADMIN = 21
CAP_PERFMON = 38
CAP_BPF = 39
_NAMES = {
    CAP_NET_ADMIN: "CAP_NET_ADMIN",
    CAP_SYS_ADMIN: "CAP_SYS_ADMIN",
    CAP_PERFMON: "CAP_PERFMON",
    CAP_BPF: "CAP_BPF",
}

_NET_ADMIN_TYPES = frozenset(
    {
        ProgType.SCHED_CLS,
        ProgType.SCHED_ACT,
        ProgType.XDP,
        ProgType.LWT_IN,
        ProgType.LWT_OUT,
        ProgType.LWT_XMIT,
        ProgType.LWT_SEG6LOCAL,
        ProgType.SK_SKB,
        ProgType.SK_MSG,
        ProgType.LIRC_MODE2,
        ProgType.FLOW_DISSECTOR,
        ProgType.CGROUP_DEVICE,
        ProgType.CGROUP_SOCK,
        ProgType.CGROUP_SOCK_ADDR,
        ProgType.CGROUP_SOCKOPT,
        ProgType.CGROUP_SYSCTL,
        ProgType.SOCK_OPS,
        ProgType.EXT,
    }
)
_PERFMON_TYPES = frozenset(
    {
        ProgType.KPROBE,
        ProgType.TRACEPOINT,
        ProgType.PERF_EVENT,
        ProgType.RAW_TRACEPOINT,
        ProgType.RAW_TRACEPOINT_WRITABLE,
        ProgType.TRACING,
        ProgType.LSM,
        ProgType.STRUCT_OPS,
        ProgType.EXT,
    }
)
# What the verifier says where only CAP_PERFMON would let a program through.
_PERFMON_REFUSALS = (
    "pointer -= pointer prohibited",
    "pointer arithmetic",
    "pointer comparison prohibited",
    "leaks addr",
)


def _effective() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    return 0


def lacking(*caps: int) -> list[str]:
    """The names of the capabilities in ``caps`` that this process lacks
    (counting CAP_SYS_ADMIN as having CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN)."""
    effective = _effective()
    if effective >> CAP_SYS_ADMIN & 1:
        return []
    return [_NAMES[cap] for cap in caps if not effective >> cap & 1]


def program_needs(kind: ProgType | int) -> list[int]:
    """The capabilities loading a program of type ``kind`` needs."""
    needs = [CAP_BPF]
    if kind in _NET_ADMIN_TYPES:
        needs.append(CAP_NET_ADMIN)
    if kind in _PERFMON_TYPES:
        needs.append(CAP_PERFMON)
    return needs


def needs_hint(what: str, *caps: int) -> str | None:
    """ "``what`` needs CAP_X (or CAP_SYS_ADMIN), which this process lacks",
    or None if it lacks none of ``caps``."""
    missing = lacking(*caps)
    if not missing:
        return None
    return f"{what} needs {' and '.join(missing)} (or CAP_SYS_ADMIN), which this process lacks"


def net_admin_hints() -> dict[int, str]:
    """For ``check(hints=...)`` on network device, route and tc changes: EPERM
    explained, if this process lacks CAP_NET_ADMIN."""
    hint = needs_hint("changing network devices, routes and tc filters", CAP_NET_ADMIN)
    return {errno.EPERM: hint, errno.EACCES: hint} if hint else {}


def verifier_hint(log: list[str]) -> str | None:
    """Why the verifier refused, when the refusal is one CAP_PERFMON lifts
    and this process lacks it."""
    if any(refusal in line for line in log for refusal in _PERFMON_REFUSALS):
        return needs_hint("pointer arithmetic (and comparing or storing pointers)", CAP_PERFMON)
    return None
