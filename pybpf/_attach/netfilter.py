"""Attaching netfilter programs (6.4+) to a netfilter hook of the calling
thread's network namespace, through BPF links.

A mixin of ``Program``.
"""

from __future__ import annotations

import enum
import errno

from pybpf._attach.base import AttachBase
from pybpf._attach.link import Link
from pybpf._core.errors import BPFValueError, NotSupportedError
from pybpf._core.ffi import HAS_NETFILTER, ffi, lib, libbpf_version
from pybpf._core.public import public

__all__ = ["NetfilterAttach", "NfHook"]

# socket.AF_INET and AF_INET6 (Linux's numbers; socket is not imported for
# them) -> NFPROTO_IPV4 and NFPROTO_IPV6.
_AF_INET, _AF_INET6 = 2, 10
_FAMILIES: dict[int, int] = {_AF_INET: 2, _AF_INET6: 10}
_IP_DEFRAG = 1  # BPF_F_NETFILTER_IP_DEFRAG (6.6)


@public
class NfHook(enum.IntEnum):
    """``enum nf_inet_hooks``: where in the IP stack a netfilter program runs."""

    PRE_ROUTING = 0
    LOCAL_IN = 1
    FORWARD = 2
    LOCAL_OUT = 3
    POST_ROUTING = 4


class NetfilterAttach(AttachBase):
    """Program methods for netfilter hooks (see ``Program``)."""

    def attach_netfilter(self, family: int, hook: NfHook | int, priority: int, *, defrag: bool = False) -> Link:
        """Attach a netfilter program (``SEC("netfilter")``) to ``hook`` of
        ``family`` (``socket.AF_INET`` or ``AF_INET6``) in this thread's
        network namespace, at ``priority`` among the hook's functions
        (iptables' filter table sits at 0; lower runs earlier).  ``defrag``
        asks for reassembled packets (6.6+).  It returns NF_ACCEPT (1) or
        NF_DROP (0).  Closing the link detaches it.
        """
        self._require_loaded()
        if not HAS_NETFILTER:
            major, minor = libbpf_version()
            raise NotSupportedError(
                errno.EOPNOTSUPP, f"netfilter links need libbpf >= 1.2; pybpf was built with {major}.{minor}"
            )
        if family not in _FAMILIES:
            raise BPFValueError(errno.EINVAL, f"netfilter family {family!r}: use socket.AF_INET or socket.AF_INET6")
        hook = NfHook(hook)
        opts = ffi.new("struct bpf_netfilter_opts *")
        opts.sz = ffi.sizeof("struct bpf_netfilter_opts")
        opts.pf = _FAMILIES[family]
        opts.hooknum = hook
        opts.priority = priority
        opts.flags = _IP_DEFRAG if defrag else 0
        ip = "ipv4" if family == _AF_INET else "ipv6"
        what = f"netfilter {ip} {hook.name.lower()} priority {priority}"
        return self._link(lambda: lib.bpf_program__attach_netfilter(self._live_ptr(), opts), what)
