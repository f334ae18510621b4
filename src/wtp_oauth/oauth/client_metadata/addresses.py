"""Which addresses the server may fetch a client metadata document from (SSRF defence).

Only public unicast addresses: every special-use range of RFC 6890 and its successors is
refused, and an IPv6 address that carries an IPv4 address (IPv4-mapped, IPv4-compatible,
IPv4-translated, NAT64 ``64:ff9b::/96``, 6to4, Teredo) is judged by the IPv4 address it
carries, since the packets end up there. ``ipaddress``'s ``is_global`` is consulted too, but is
not relied on alone: its tables differ between Python releases and it says nothing about the
IPv4 address inside an IPv6 one.
"""

from __future__ import annotations

import ipaddress
import re

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

LOOPBACK_V4 = ipaddress.IPv4Network("127.0.0.0/8")

# RFC 6890 §2.2.2 and later registrations (IANA IPv4 Special-Purpose Address Registry).
_SPECIAL_V4: tuple[tuple[ipaddress.IPv4Network, str], ...] = tuple(
    (ipaddress.IPv4Network(net), why)
    for net, why in (
        ("0.0.0.0/8", "“this network” (RFC 791)"),
        ("10.0.0.0/8", "private (RFC 1918)"),
        ("100.64.0.0/10", "shared carrier-grade NAT space (RFC 6598)"),
        ("127.0.0.0/8", "loopback (RFC 1122)"),
        ("169.254.0.0/16", "link-local (RFC 3927)"),
        ("172.16.0.0/12", "private (RFC 1918)"),
        ("192.0.0.0/24", "IETF protocol assignments (RFC 6890)"),
        ("192.0.2.0/24", "documentation (RFC 5737)"),
        ("192.31.196.0/24", "AS112 (RFC 7535)"),
        ("192.52.193.0/24", "AMT (RFC 7450)"),
        ("192.88.99.0/24", "6to4 relay anycast (RFC 7526)"),
        ("192.168.0.0/16", "private (RFC 1918)"),
        ("192.175.48.0/24", "AS112 direct delegation (RFC 7534)"),
        ("198.18.0.0/15", "benchmarking (RFC 2544)"),
        ("198.51.100.0/24", "documentation (RFC 5737)"),
        ("203.0.113.0/24", "documentation (RFC 5737)"),
        ("224.0.0.0/4", "multicast (RFC 5771)"),
        ("240.0.0.0/4", "reserved (RFC 1112)"),
    )
)

# IANA IPv6 Special-Purpose Address Registry, plus the deprecated site-local block. Ranges that
# carry an IPv4 address are handled before this table (see ``_embedded_v4``).
_SPECIAL_V6: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.IPv6Network(net), why)
    for net, why in (
        ("::/128", "unspecified (RFC 4291)"),
        ("::1/128", "loopback (RFC 4291)"),
        ("64:ff9b:1::/48", "local-use NAT64 (RFC 8215)"),
        ("100::/64", "discard-only (RFC 6666)"),
        ("2001::/23", "IETF protocol assignments (RFC 2928)"),
        ("2001:db8::/32", "documentation (RFC 3849)"),
        ("3fff::/20", "documentation (RFC 9637)"),
        ("5f00::/16", "segment routing (RFC 9602)"),
        ("fc00::/7", "unique local (RFC 4193)"),
        ("fe80::/10", "link-local (RFC 4291)"),
        ("fec0::/10", "site-local (RFC 3879)"),
        ("ff00::/8", "multicast (RFC 4291)"),
    )
)
# Global unicast (RFC 4291 §2.4): everything outside it is unallocated or special.
_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_TEREDO = ipaddress.IPv6Network("2001::/32")

# WHATWG URL: a host whose last label is a number (decimal, octal ``0…`` or hex ``0x…``) is an
# IPv4 address, in any of several spellings (``2130706433``, ``0x7f.1``, ``0177.0.0.1``).
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)", re.IGNORECASE)


def _embedded_v4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address delivers to, if it is one of the embedding forms."""
    if address.ipv4_mapped is not None:  # ::ffff:a.b.c.d (RFC 4291 §2.5.5.2)
        return [address.ipv4_mapped]
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _IPV4_TRANSLATED or address in _NAT64:  # RFC 2765, RFC 6052
        return [low32]
    if address in _IPV4_COMPATIBLE and int(address) > 1:  # ::a.b.c.d (RFC 4291 §2.5.5.1)
        return [low32]
    if address.sixtofour is not None:  # 2002:aabb:ccdd::/48 (RFC 3056)
        return [address.sixtofour]
    if address in _TEREDO and address.teredo is not None:  # RFC 4380: server and client
        return list(address.teredo)
    return []


def refusal_reason(address: IPAddress, *, allow_loopback: bool = False) -> str | None:
    """Why the server must not connect to ``address``, or ``None`` if it is public.

    ``allow_loopback`` (``WTP_ALLOW_LOOPBACK_CLIENT_METADATA``) admits 127.0.0.0/8 written as
    plain IPv4, and nothing else: ``::1`` and ``::ffff:127.0.0.1`` stay refused.
    """
    if isinstance(address, ipaddress.IPv4Address):
        if allow_loopback and address in LOOPBACK_V4:
            return None
        for network, why in _SPECIAL_V4:
            if address in network:
                return f"{address} is a special-use address: {why}"
        if address == ipaddress.IPv4Address("255.255.255.255") or not address.is_global:
            return f"{address} is not a public address"
        return None
    bare = ipaddress.IPv6Address(int(address))  # without a scope id
    embedded = _embedded_v4(bare)
    for inner in embedded:
        inner_reason = refusal_reason(inner)
        if inner_reason is not None:
            return f"{bare} carries the IPv4 address {inner}, and {inner_reason}"
    if embedded and bare not in _TEREDO:
        return None
    for v6_network, why in _SPECIAL_V6:
        if bare in v6_network:
            return f"{bare} is a special-use address: {why}"
    if bare not in _GLOBAL_UNICAST_V6 or not bare.is_global:
        return f"{bare} is not a public address"
    return None


def parse_ip_host(host: str) -> IPAddress | None:
    """The address a URL's host names literally, or ``None`` if the host is a domain name.

    ``host`` is the URL's host as written (IPv6 in brackets). Raises ``ValueError`` for a
    numeric host in any spelling other than canonical dotted-decimal IPv4, because URL
    parsers disagree on those and one of them may read ``0x7f.1`` as 127.0.0.1.
    """
    if host.startswith("["):
        if not host.endswith("]") or "%" in host:
            raise ValueError("an IPv6 host must be a plain bracketed address, without a zone")
        return ipaddress.IPv6Address(host[1:-1])
    last_label = host.rstrip(".").rsplit(".", 1)[-1]
    if _NUMERIC_LABEL.fullmatch(last_label) is None:
        return None
    try:
        address = ipaddress.IPv4Address(host)
    except ValueError:
        address = None
    if address is None or str(address) != host:
        raise ValueError("a numeric host must be written as four decimal numbers (a.b.c.d)")
    return address
