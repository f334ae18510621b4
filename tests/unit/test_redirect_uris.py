"""security/redirect_uris.py: the registration rules of SPEC §4, exact matching, ``next``."""

from __future__ import annotations

import pytest

from wtp_oauth.security.redirect_uris import (
    RedirectURIError,
    matches_registered,
    safe_next_path,
    validate_registration,
)

ACCEPTED_FOR_EVERY_CLIENT = [
    "https://client.example/callback",
    "https://client.example/callback?source=wtp",
    "https://client.example:8443/cb",
    "https://sub.client.example/",
    "http://localhost/callback",
    "http://localhost:9000/callback",
    "http://127.0.0.1/cb",
    "http://127.0.0.1:53123/cb",
    "http://[::1]/cb",
    "http://[::1]:8080/cb",
]

REFUSED_FOR_EVERY_CLIENT = [
    ("", "absolute"),
    ("/callback", "absolute"),
    ("client.example/callback", "absolute"),
    ("https://client.example/cb#frag", "fragment"),
    ("https://client.example/cb#", "fragment"),
    ("https://*.client.example/cb", "wildcard"),
    ("https://client.example/*", "wildcard"),
    ("http://client.example/cb", "https"),
    ("http://localhost.evil.example/cb", "https"),
    ("http://127.0.0.1.nip.io/cb", "https"),
    ("https:///cb", "host"),
    ("https://user:pass@client.example/cb", "user information"),
    ("https://client.example@evil.example/cb", "user information"),
    ("https://client.example:99999/cb", "not a valid URI"),
    ("https://client.example:0/cb", "port 0"),
    ("https://client.example/a b", "spaces"),
    (" https://client.example/cb", "spaces"),
    ("https://client.example/cb\n", "control"),
    ("javascript:alert(1)", "javascript"),
    ("data:text/html,hi", "data"),
    ("file:///etc/passwd", "file"),
    ("https://client.example/" + "a" * 2000, "2000"),
]


@pytest.mark.parametrize("uri", ACCEPTED_FOR_EVERY_CLIENT)
@pytest.mark.parametrize("public_client", [False, True])
def test_accepted(uri: str, public_client: bool) -> None:
    assert validate_registration(uri, public_client=public_client) == uri


@pytest.mark.parametrize(("uri", "reason"), REFUSED_FOR_EVERY_CLIENT)
@pytest.mark.parametrize("public_client", [False, True])
def test_refused_with_a_reason(uri: str, reason: str, public_client: bool) -> None:
    with pytest.raises(RedirectURIError, match=reason):
        validate_registration(uri, public_client=public_client)


@pytest.mark.parametrize("uri", ["com.example.app:/callback", "com.example.app:/oauth2redirect"])
def test_private_use_schemes_only_for_public_clients(uri: str) -> None:
    assert validate_registration(uri, public_client=True) == uri
    with pytest.raises(RedirectURIError, match="public clients"):
        validate_registration(uri, public_client=False)


@pytest.mark.parametrize("uri", ["myapp:/callback", "1com.example:/cb"])
def test_private_use_scheme_must_be_a_reverse_domain(uri: str) -> None:
    with pytest.raises(RedirectURIError):
        validate_registration(uri, public_client=True)


REGISTERED = [
    "https://client.example/callback",
    "http://127.0.0.1/cb",
    "http://localhost:9000/loop",
    "http://[::1]/v6",
    "com.example.app:/callback",
]


@pytest.mark.parametrize(
    "requested",
    [
        "https://client.example/callback",
        "com.example.app:/callback",
        # RFC 8252 §7.3: a loopback redirect URI may come with any port.
        "http://127.0.0.1/cb",
        "http://127.0.0.1:53123/cb",
        "http://localhost/loop",
        "http://localhost:1234/loop",
        "http://[::1]:8080/v6",
    ],
)
def test_matches_registered(requested: str) -> None:
    assert matches_registered(requested, REGISTERED)


@pytest.mark.parametrize(
    "requested",
    [
        "https://client.example/callback/",
        "https://client.example/callback?x=1",
        "https://client.example/Callback",
        "https://CLIENT.example/callback",
        "https://client.example:443/callback",
        "https://client.example:8443/callback",
        "https://client.example/callback#x",
        "https://evil.example/callback",
        # Only the port of a loopback URI may differ: not the path, host, query or scheme.
        "http://127.0.0.1:53123/cb/extra",
        "http://127.0.0.1:53123/cb?x=1",
        "http://localhost:53123/cb",
        "https://127.0.0.1:53123/cb",
        "http://127.0.0.2/cb",
        "http://user@127.0.0.1:53123/cb",
        "http://127.0.0.1:notaport/cb",
        "com.example.app:/other",
        "",
    ],
)
def test_does_not_match(requested: str) -> None:
    assert not matches_registered(requested, REGISTERED)


@pytest.mark.parametrize(
    "value",
    [
        "/",
        "/developers",
        "/oauth/authorize?client_id=x&scopes=user.read",
        "/a/b#c",
        "/oauth/authorize?state=" + "s" * 2000 + "&redirect_uri=" + "%2F" * 2000,
    ],
)
def test_safe_next_path_keeps_local_paths(value: str) -> None:
    assert safe_next_path(value) == value


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "//evil.example",
        "//evil.example/path",
        "/\\evil.example",
        "/path\\..\\x",
        "https://evil.example/",
        "evil.example",
        "javascript:alert(1)",
        "/ok\r\nSet-Cookie: x=1",
        "/tab\there",
        "/" + "a" * 8192,
    ],
)
def test_safe_next_path_refuses_everything_else(value: str | None) -> None:
    assert safe_next_path(value) == "/"
    assert safe_next_path(value, default="/home") == "/home"
