"""OpenID Connect Discovery 1.0 §3 and RFC 8414 (SPEC §6, §12)."""

from __future__ import annotations

import httpx

from tests.conftest import TEST_ISSUER

_ENDPOINTS = (
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "end_session_endpoint",
    "registration_endpoint",
    "revocation_endpoint",
    "introspection_endpoint",
)


async def test_the_openid_configuration(client: httpx.AsyncClient) -> None:
    r = await client.get("/.well-known/openid-configuration")
    assert r.status_code == 200
    doc = r.json()
    assert doc["issuer"] == TEST_ISSUER
    assert doc["userinfo_endpoint"] == f"{TEST_ISSUER}/api/oauth/userinfo"
    assert doc["jwks_uri"] == f"{TEST_ISSUER}/.well-known/jwks.json"
    assert doc["end_session_endpoint"] == f"{TEST_ISSUER}/oauth/logout"
    assert doc["registration_endpoint"] == f"{TEST_ISSUER}/api/oauth/register"
    assert doc["response_types_supported"] == ["code"]
    assert doc["subject_types_supported"] == ["public"]
    assert doc["id_token_signing_alg_values_supported"] == ["ES256", "RS256"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["prompt_values_supported"] == ["none", "login", "consent"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert doc["request_parameter_supported"] is False
    assert {"openid", "profile", "email", "offline_access", "user.read"} <= set(
        doc["scopes_supported"]
    )
    assert {"sub", "iss", "auth_time", "nonce", "name", "email", "email_verified"} <= set(
        doc["claims_supported"]
    )
    assert {"authorization_code", "refresh_token"} <= set(doc["grant_types_supported"])
    for name in (
        "token_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
    ):
        assert doc[name] == ["client_secret_basic", "client_secret_post", "none"]
    # Every endpoint is this issuer's (Discovery §4.3).
    assert all(doc[name].startswith(TEST_ISSUER) for name in _ENDPOINTS)


async def test_rfc_8414_lists_the_same_endpoints(client: httpx.AsyncClient) -> None:
    oauth = (await client.get("/.well-known/oauth-authorization-server")).json()
    openid = (await client.get("/.well-known/openid-configuration")).json()
    assert {name: oauth[name] for name in _ENDPOINTS} == {name: openid[name] for name in _ENDPOINTS}


async def test_the_jwks_is_public_and_cacheable(client: httpx.AsyncClient) -> None:
    r = await client.get("/.well-known/jwks.json")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "public, max-age=300"
    keys = r.json()["keys"]
    assert {key["alg"] for key in keys} >= {"ES256", "RS256"}
    for key in keys:
        assert key["use"] == "sig" and key["kid"]
        if key["kty"] == "EC":
            assert set(key) == {"kty", "crv", "x", "y", "kid", "use", "alg"}
        else:
            assert set(key) == {"kty", "n", "e", "kid", "use", "alg"}
