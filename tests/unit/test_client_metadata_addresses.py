"""client_metadata/addresses.py: which addresses a document may be fetched from (SSRF).

Pure classification: nothing here opens a socket, so the ranges below appear as strings only
(the fetch tests use nothing but 127.0.0.0/8 forms).
"""

from __future__ import annotations

import ipaddress

import pytest

from wtp_oauth.oauth.client_metadata.addresses import parse_ip_host, refusal_reason

REFUSED = [
    "0.0.0.0",
    "0.1.2.3",
    "10.0.0.1",
    "100.64.0.1",
    "100.127.255.254",
    "127.0.0.1",
    "127.255.255.254",
    "169.254.169.254",
    "172.16.0.1",
    "172.31.255.255",
    "192.0.0.8",
    "192.0.2.1",
    "192.88.99.1",
    "192.168.1.1",
    "198.18.0.1",
    "198.19.255.255",
    "198.51.100.7",
    "203.0.113.9",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "fe80::1",
    "fe80::1%1",
    "fec0::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "100::1",
    "2001:db8::1",
    "3fff::1",
    "2001:2::1",
    "2001:10::1",
    "5f00::1",
    "64:ff9b:1::1",
    # IPv4-mapped, -compatible, -translated, NAT64, 6to4 carrying non-public IPv4 addresses.
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:0.0.0.0",
    "::127.0.0.1",
    "::10.0.0.1",
    "::ffff:0:127.0.0.1",
    "64:ff9b::127.0.0.1",
    "64:ff9b::a9fe:a9fe",
    "2002:7f00:1::",
    "2002:c0a8:101::1",
    # Teredo is a tunnel: refused whatever it carries.
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    # Outside global unicast 2000::/3.
    "4000::1",
    "::2",
]

# Public unicast addresses (classification only; never dialled).
PUBLIC = [
    "1.1.1.1",
    "9.9.9.9",
    "2606:4700:4700::1111",
    "::ffff:1.1.1.1",
    "64:ff9b::101:101",
    "2002:101:101::1",
]


@pytest.mark.parametrize("text", REFUSED)
def test_special_use_addresses_are_refused(text: str) -> None:
    assert refusal_reason(ipaddress.ip_address(text)) is not None


@pytest.mark.parametrize("text", PUBLIC)
def test_public_addresses_are_allowed(text: str) -> None:
    assert refusal_reason(ipaddress.ip_address(text)) is None


def test_the_reason_names_the_range() -> None:
    reason = refusal_reason(ipaddress.ip_address("100.64.0.1"))
    assert reason is not None and "RFC 6598" in reason
    mapped = refusal_reason(ipaddress.ip_address("::ffff:127.0.0.1"))
    assert mapped is not None and "127.0.0.1" in mapped and "loopback" in mapped


@pytest.mark.parametrize("text", ["127.0.0.1", "127.0.0.2", "127.255.255.254"])
def test_development_setting_admits_ipv4_loopback(text: str) -> None:
    assert refusal_reason(ipaddress.ip_address(text), allow_loopback=True) is None


@pytest.mark.parametrize(
    "text",
    ["::1", "::ffff:127.0.0.1", "::127.0.0.1", "64:ff9b::127.0.0.1", "0.0.0.0", "10.0.0.1"],
)
def test_development_setting_admits_nothing_else(text: str) -> None:
    assert refusal_reason(ipaddress.ip_address(text), allow_loopback=True) is not None


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("client.example", None),
        ("example", None),
        ("1a.example", None),
        ("127.0.0.1", ipaddress.IPv4Address("127.0.0.1")),
        ("[::1]", ipaddress.IPv6Address("::1")),
        ("[::ffff:127.0.0.1]", ipaddress.IPv6Address("::ffff:127.0.0.1")),
    ],
)
def test_hosts_are_names_or_literal_addresses(host: str, expected: object) -> None:
    assert parse_ip_host(host) == expected


@pytest.mark.parametrize(
    "host",
    [
        "2130706433",  # decimal 127.0.0.1
        "0x7f000001",  # hex
        "0x7f.0.0.1",
        "0177.0.0.1",  # octal
        "127.1",  # short form
        "127.0.1",
        "127.000.000.001",
        "017700000001",
        "127.0.0.1.",
        "1.2.3.4.5",
        "client.example.0x1",
        "client.1",
        "0x",
        "[fe80::1%25eth0]",
        "[::1",
    ],
)
def test_numeric_hosts_in_odd_spellings_are_refused(host: str) -> None:
    with pytest.raises(ValueError):
        parse_ip_host(host)
