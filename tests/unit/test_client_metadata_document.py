"""client_metadata/document.py: the client_id URL rules (draft §3) and the document's (§4)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from wtp_oauth.oauth.client_metadata import (
    ClientMetadataError,
    looks_like_client_id_url,
    parse_client_id_url,
)
from wtp_oauth.oauth.client_metadata.document import parse_document, validate_document

URL = "https://client.example/oauth/client.json"


def document(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"client_id": URL, "redirect_uris": ["https://client.example/cb"]}
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not ...}


# --- the URL ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        URL,
        "https://client.example/c",
        "https://client.example:8443/c",
        "https://client.example/c?version=2",
        "https://a.b.client.example/path/to/doc",
        "https://xn--bcher-kva.example/c",
        "https://1.1.1.1/c",  # a public literal: parsed only, never fetched here
    ],
)
def test_acceptable_urls(url: str) -> None:
    target = parse_client_id_url(url)
    assert target.url == url
    assert target.scheme == "https"


def test_the_parsed_url_names_host_port_and_address() -> None:
    target = parse_client_id_url("https://client.example:8443/c")
    assert (target.hostname, target.port, target.ip) == ("client.example", 8443, None)
    assert parse_client_id_url(URL).port == 443
    loopback = parse_client_id_url("http://127.0.0.1:8123/c", allow_loopback=True)
    assert (loopback.scheme, loopback.port, str(loopback.ip)) == ("http", 8123, "127.0.0.1")


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("", "2000 characters"),
        ("https://client.example/" + "a" * 2000, "2000 characters"),
        ("http://client.example/c", "https"),
        ("http://127.0.0.1:8000/c", "https"),  # development setting off
        ("HTTPS://client.example/c", "https"),
        ("ftp://client.example/c", "https"),
        ("client.example/c", "https"),
        ("https://client.example", "path"),
        ("https://client.example/", "path"),
        ("https://client.example?x=1", "path"),
        ("https://client.example/c#top", "fragment"),
        ("https://client.example/c#", "fragment"),
        ("https://user@client.example/c", "user name"),
        ("https://user:pw@client.example/c", "user name"),
        ("https://client.example/a/../c", ". or .."),
        ("https://client.example/./c", ". or .."),
        ("https://client.example/a/%2e%2E/c", ". or .."),
        ("https://client.example/a/%2e", ". or .."),
        ("https://client.example/c%zz", "percent"),
        ("https://client.example/a b", "ASCII"),
        ("https://client.example/caf\u00e9", "ASCII"),
        ("https://cl\u00efent.example/c", "ASCII"),
        ("https://client.example\\@other.example/c", "ASCII"),
        ("https://client.example:/c", "port"),
        ("https://client.example:0/c", "port"),
        ("https://client.example:65536/c", "port"),
        ("https://client.example:80a/c", "port"),
        ("https:///c", "host"),
        ("https://client_1.example/c", "domain name"),
        ("https://-client.example/c", "domain name"),
        ("https://client..example/c", "domain name"),
        ("https://client.example./c", "domain name"),
        ("https://localhost/c", "localhost"),
        ("https://localhost:8443/c", "localhost"),
        ("https://app.localhost/c", "localhost"),
        ("https://LOCALHOST/c", "localhost"),
        ("https://127.0.0.1/c", "loopback"),
        ("https://0.0.0.0:8443/client", "this network"),
        ("https://[::]/c", "unspecified"),
        ("https://[::1]:8443/c", "loopback"),
        ("https://[::ffff:127.0.0.1]:8443/client", "127.0.0.1"),
        ("https://[::ffff:7f00:1]:8443/client", "127.0.0.1"),
        ("https://[::127.0.0.1]/c", "127.0.0.1"),
        ("https://[64:ff9b::127.0.0.1]/c", "127.0.0.1"),
        ("https://[2002:7f00:1::]/c", "127.0.0.1"),
        ("https://[fe80::1%25eth0]/c", "zone"),
        ("https://2130706433/c", "four decimal numbers"),
        ("https://0x7f000001/c", "four decimal numbers"),
        ("https://0x7f.0.0.1/c", "four decimal numbers"),
        ("https://0177.0.0.1/c", "four decimal numbers"),
        ("https://127.1/c", "four decimal numbers"),
        ("https://127.0.0.1./c", "four decimal numbers"),
        ("https://[::1/c", "host"),
        ("https://[::1]x/c", "host"),
    ],
)
def test_refused_urls(url: str, words: str) -> None:
    with pytest.raises(ClientMetadataError) as refused:
        parse_client_id_url(url)
    assert words in str(refused.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8123/client",
        "http://127.0.0.2/client",
        "https://127.0.0.1:8443/client",
    ],
)
def test_development_setting_admits_ipv4_loopback(url: str) -> None:
    assert parse_client_id_url(url, allow_loopback=True).url == url


@pytest.mark.parametrize(
    "url",
    [
        "http://client.example/c",
        "http://localhost:8000/c",
        "https://localhost:8000/c",
        "http://[::1]:8000/c",
        "https://[::1]:8000/c",
        "http://[::ffff:127.0.0.1]:8000/c",
        "https://[::ffff:127.0.0.1]:8000/c",
        "http://0.0.0.0:8000/c",
        "https://0.0.0.0:8000/c",
        "http://2130706433:8000/c",
        "http://127.1:8000/c",
        "http://127.0.0.1:8000/",
    ],
)
def test_development_setting_admits_nothing_else(url: str) -> None:
    with pytest.raises(ClientMetadataError):
        parse_client_id_url(url, allow_loopback=True)


def test_which_client_ids_are_urls() -> None:
    assert looks_like_client_id_url(URL)
    assert looks_like_client_id_url("http://127.0.0.1:8000/c")
    assert not looks_like_client_id_url("c_0123456789abcdef")


# --- the document ----------------------------------------------------------------------------


def test_a_minimal_document() -> None:
    metadata = validate_document(document(), URL)
    assert metadata.client_id == URL
    assert metadata.redirect_uris == ("https://client.example/cb",)
    assert metadata.token_endpoint_auth_method == "none"
    assert metadata.grant_types == ("authorization_code",)
    assert metadata.response_types == ("code",)
    assert metadata.client_name is None
    assert metadata.host == "client.example"


def test_a_full_document_and_unknown_fields_ignored() -> None:
    metadata = validate_document(
        document(
            client_name="Party Planner",
            client_uri="https://client.example/",
            logo_uri="https://client.example/logo.png",
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
            redirect_uris=[
                "https://client.example/cb",
                "http://127.0.0.1/cb",
                "com.example.app:/cb",
            ],
            software_id="anything",
            jwks_uri="https://client.example/jwks",
        ),
        URL,
    )
    assert metadata.client_name == "Party Planner"
    assert metadata.client_uri == "https://client.example/"
    assert metadata.logo_uri == "https://client.example/logo.png"
    assert metadata.grant_types == ("authorization_code", "refresh_token")
    assert len(metadata.redirect_uris) == 3


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ([], "JSON object"),
        ("text", "JSON object"),
        (document(client_id=...), "exactly the URL"),
        (document(client_id=URL + "/"), "exactly the URL"),
        (document(client_id="https://Client.example/oauth/client.json"), "exactly the URL"),
        (document(client_id=["https://client.example/oauth/client.json"]), "exactly the URL"),
        (document(token_endpoint_auth_method="client_secret_basic"), '"none"'),
        (document(token_endpoint_auth_method="client_secret_post"), '"none"'),
        (document(token_endpoint_auth_method="client_secret_jwt"), '"none"'),
        (document(token_endpoint_auth_method="private_key_jwt"), '"none"'),
        (document(token_endpoint_auth_method=None), '"none"'),
        (document(client_secret="s3cret"), "client_secret"),
        (document(client_secret_expires_at=0), "client_secret"),
        (document(redirect_uris=...), "redirect_uris"),
        (document(redirect_uris=[]), "redirect_uris"),
        (document(redirect_uris="https://client.example/cb"), "redirect_uris"),
        (document(redirect_uris=["https://client.example/cb"] * 21), "redirect_uris"),
        (document(redirect_uris=[42]), "string"),
        (document(redirect_uris=["http://client.example/cb"]), "must use https"),
        (document(redirect_uris=["https://client.example/cb#x"]), "fragment"),
        (document(redirect_uris=["javascript:alert(1)"]), "javascript"),
        (document(redirect_uris=["https://*.client.example/cb"]), "wildcard"),
        (document(client_name=""), "client_name"),
        (document(client_name="x" * 201), "client_name"),
        (document(client_name="bad\u0000name"), "client_name"),
        (document(client_name="line\nbreak"), "client_name"),
        (document(client_name=7), "client_name"),
        (document(client_uri="javascript:alert(1)"), "client_uri"),
        (document(client_uri="http://client.example/"), "client_uri"),
        (document(client_uri="https://"), "client_uri"),
        (document(logo_uri="data:image/png;base64,AAAA"), "logo_uri"),
        (document(logo_uri="https://client.example/" + "a" * 2000), "logo_uri"),
        (document(grant_types=["client_credentials"]), "grant_types"),
        (document(grant_types=["authorization_code", "password"]), "grant_types"),
        (document(grant_types=[]), "grant_types"),
        (document(grant_types="authorization_code"), "grant_types"),
        (document(response_types=["token"]), "response_types"),
        (document(response_types=["code", "id_token"]), "response_types"),
    ],
)
def test_refused_documents(data: object, words: str) -> None:
    with pytest.raises(ClientMetadataError) as refused:
        validate_document(data, URL)
    assert words in str(refused.value)


def test_a_body_is_decoded_as_utf8_json() -> None:
    body = json.dumps(document(client_name="Fête")).encode()
    assert parse_document(body, URL).client_name == "Fête"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html></html>",
        b"\xff\xfe{}",
        b'{"client_id": NaN}',
        b"[" * 5000,
        b'{"client_id": "a", "client_id": "b"}',
    ],
)
def test_bodies_that_are_not_json(body: bytes) -> None:
    with pytest.raises(ClientMetadataError, match="not valid JSON"):
        parse_document(body, URL)
