"""``LPMTrie``: BPF_MAP_TYPE_LPM_TRIE, keyed by IP networks."""

from __future__ import annotations

from pybpf._codecs.codec import Codec
from pybpf._codecs.lpm import LPMKeyCodec
from pybpf._core.enums import MapType
from pybpf._core.public import public
from pybpf._maps.map import Map

__all__ = ["LPMTrie"]


@public
class LPMTrie(Map, map_types=(MapType.LPM_TRIE,)):
    """A longest-prefix-match trie (``BPF_MAP_TYPE_LPM_TRIE``).

    Keys are ``ipaddress`` networks (or ``(prefixlen, data)`` when the data is
    not 4 or 16 bytes); the kernel stores the prefix length and the address.
    Lookups follow the kernel: ``m[address]``, ``m.get(address)`` and
    ``address in m`` return the value of the *longest stored prefix that
    contains* the address (or network), which is what a BPF program's
    ``bpf_map_lookup_elem`` sees.  Writes and ``del`` name one exact prefix.
    Iteration yields the stored networks.  ``Map.create`` adds the
    ``BPF_F_NO_PREALLOC`` flag the kernel requires.
    """

    def _default_codec(self, what: str, size: int) -> Codec | None:
        return LPMKeyCodec(size) if what == "key" else None
