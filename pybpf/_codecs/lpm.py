"""LPM_TRIE keys: a prefix length and the address data, as the IP networks
and addresses of ``ipaddress``, or as :class:`LPMKey` for data of other
sizes.  Imported with the first LPM trie, and ``ipaddress`` (1-2 ms) with it."""

from __future__ import annotations

import ctypes
import ipaddress
import struct
from errno import EINVAL
from typing import TYPE_CHECKING, Any, NamedTuple

from pybpf._codecs.codec import Codec
from pybpf._core.errors import BPFValueError
from pybpf._core.public import public

__all__ = ["LPMKey", "LPMKeyCodec"]

if TYPE_CHECKING:
    IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@public
class LPMKey(NamedTuple):
    """An LPM_TRIE key whose data is not a 4- or 16-byte address."""

    prefixlen: int
    data: bytes


class LPMKeyCodec(Codec):
    """LPM_TRIE keys: a u32 prefix length (host order), then the data (network order).

    Encodes an ``IPv4Network``/``IPv6Network`` (its prefix), an
    ``IPv4Address``/``IPv6Address`` (all bits: the longest-prefix lookup), a
    string of either, or ``(prefixlen, data)``.  Decodes to a network when the
    data is 4 or 16 bytes, else to an :class:`LPMKey`.
    """

    def __init__(self, size: int, what: str = "key") -> None:
        if size <= 4:
            raise BPFValueError(
                EINVAL, f"an LPM_TRIE key is a 4-byte prefix length plus data; {size} bytes is too small"
            )
        self.size = size
        self.what = what
        self.data_size = size - 4
        self.ctype = type(
            "lpm_key",
            (ctypes.Structure,),
            {"_fields_": [("prefixlen", ctypes.c_uint32), ("data", ctypes.c_uint8 * self.data_size)]},
        )
        self._network = {4: ipaddress.IPv4Network, 16: ipaddress.IPv6Network}.get(self.data_size)

    def encode(self, value: Any) -> bytes:
        raw = self._bytes(value)
        if raw is not None:
            return raw
        if isinstance(value, str):
            try:
                value = ipaddress.ip_address(value)
            except ValueError:
                try:
                    value = ipaddress.ip_network(value)
                except ValueError as exc:
                    raise BPFValueError(EINVAL, f"LPM {self.what} {value!r}: {exc}") from None
        if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            prefixlen, data = value.prefixlen, value.network_address.packed
        elif isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
            prefixlen, data = value.max_prefixlen, value.packed
        elif isinstance(value, tuple) and len(value) == 2:
            prefixlen, data = value
            if isinstance(data, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
                data = data.packed
            data = bytes(data)
        else:
            raise BPFValueError(
                EINVAL, f"LPM {self.what} must be an IP network, an IP address or (prefixlen, data), not {value!r}"
            )
        if len(data) != self.data_size:
            raise BPFValueError(
                EINVAL,
                f"LPM {self.what} {value!r}: the map's keys hold {self.data_size} bytes of data, not {len(data)}",
            )
        if not isinstance(prefixlen, int) or not 0 <= prefixlen <= 8 * self.data_size:
            raise BPFValueError(EINVAL, f"LPM {self.what} {value!r}: prefix length must be 0..{8 * self.data_size}")
        return _U32.pack(prefixlen) + data

    def decode(self, data: Any) -> IPNetwork | LPMKey:
        prefixlen = _U32.unpack_from(data)[0]
        raw = bytes(data[4 : self.size])
        if self._network is not None and prefixlen <= 8 * self.data_size:
            return self._network((raw, prefixlen), strict=False)  # type: ignore[return-value]
        return LPMKey(prefixlen, raw)


_U32 = struct.Struct("=I")
