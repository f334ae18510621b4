"""Stock OpenID Connect relying parties sign in against a real ``wtp-oauth serve`` (SPEC §12).

Each is configured from the discovery document alone, drives the authorization request
(PKCE, nonce), lets a browser (httpx with cookies) answer the consent page, exchanges the code
and validates the ID token with its own code: Authlib (over joserfc) and pyoidc (``oic``, over
pyjwkest), independent of each other and of this server.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from joserfc.jwk import KeySet

from tests.conftest import LiveServer
from tests.helpers import PASSWORD, hidden, unique
from tests.oidc.support import judged, set_application_columns

REDIRECT_URI = "https://rp.example/callback"


def _accounts(base: str) -> tuple[httpx.Client, dict[str, Any], dict[str, Any]]:
    """A signed-in browser, its user, and a developer's confidential application."""
    users = []
    for _ in range(2):
        name = unique("rp")
        http = httpx.Client(base_url=base, timeout=30)
        r = http.post(
            "/api/users",
            json={"username": name, "email": f"{name}@example.com", "password": PASSWORD},
        )
        assert r.status_code == 201, r.text
        assert (
            http.post("/api/session", json={"username": name, "password": PASSWORD}).status_code
            == 204
        )
        users.append((http, r.json()))
    (developer, _), (browser, user) = users
    r = developer.post(
        "/api/applications", json={"name": "Stock RP", "redirect_uris": [REDIRECT_URI]}
    )
    assert r.status_code == 201, r.text
    developer.close()
    return browser, user, r.json()


def _callback(browser: httpx.Client, url: str) -> str:
    """Open the authorization URL in the browser, allow; the callback URL it lands on."""
    r = browser.get(url)
    if r.status_code == 200:
        r = browser.post(
            "/oauth/authorize",
            data={
                "request_id": hidden(r.text, "request_id"),
                "csrf_token": hidden(r.text, "csrf_token"),
                "decision": "allow",
            },
        )
    assert r.status_code in (302, 303), r.text
    location = r.headers["location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    return str(location)


def test_authlib_signs_in_from_discovery_alone(live_server: LiveServer) -> None:
    base = live_server.url
    browser, user, app = _accounts(base)
    with requests.Session() as plain:
        plain.trust_env = False
        meta = plain.get(f"{base}/.well-known/openid-configuration").json()
    assert meta["issuer"] == base
    session = OAuth2Session(
        app["client_id"],
        app["client_secret"],
        scope="openid profile email",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    session.trust_env = False
    verifier, nonce = generate_token(48), generate_token(20)
    url, _state = session.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    assert urlsplit(url).netloc == urlsplit(base).netloc
    callback = _callback(browser, url)
    token = session.fetch_token(
        meta["token_endpoint"], authorization_response=callback, code_verifier=verifier
    )
    keys = KeySet.import_key_set(session.get(meta["jwks_uri"]).json())
    claims = judged(
        token["id_token"],
        keys,
        client_id=app["client_id"],
        access_token=token["access_token"],
        expected_nonce=nonce,
        issuer=meta["issuer"],
    )
    assert claims["sub"] == user["id"] and claims["email"] == user["username"] + "@example.com"
    info = session.get(meta["userinfo_endpoint"]).json()
    assert info["sub"] == user["id"] and info["preferred_username"] == user["username"]
    browser.close()


def test_pyoidc_signs_in_from_discovery_alone(live_server: LiveServer, database_url: str) -> None:
    from oic.oic import Client
    from oic.oic.message import AuthorizationResponse, RegistrationResponse
    from oic.utils.authn.client import CLIENT_AUTHN_METHOD

    base = live_server.url
    browser, user, app = _accounts(base)
    # pyoidc expects RS256 unless told otherwise; the application asks for it (SPEC §11).
    set_application_columns(database_url, app["client_id"], id_token_signed_response_alg="RS256")
    rp = Client(client_authn_method=CLIENT_AUTHN_METHOD)
    rp.provider_config(base)
    rp.store_registration_info(
        RegistrationResponse(
            client_id=app["client_id"],
            client_secret=app["client_secret"],
            redirect_uris=[REDIRECT_URI],
            token_endpoint_auth_method="client_secret_basic",
            id_token_signed_response_alg="RS256",
        )
    )
    state, nonce = generate_token(16), generate_token(20)
    request = rp.construct_AuthorizationRequest(
        request_args={
            "client_id": app["client_id"],
            "response_type": "code",
            "scope": ["openid", "email"],
            "nonce": nonce,
            "redirect_uri": REDIRECT_URI,
            "state": state,
        }
    )
    callback = _callback(browser, request.request(rp.authorization_endpoint))
    answer = rp.parse_response(
        AuthorizationResponse, info=urlsplit(callback).query, sformat="urlencoded"
    )
    assert answer["state"] == state
    tokens = rp.do_access_token_request(
        state=state, request_args={"code": answer["code"]}, authn_method="client_secret_basic"
    )
    id_token = tokens["id_token"]  # verified by pyoidc: signature, iss, aud, exp, nonce
    assert id_token["sub"] == user["id"] and id_token["nonce"] == nonce
    assert id_token.jws_header["alg"] == "RS256"
    # The header (SPEC §12: Bearer in the Authorization header), not the form body it
    # would send by POST (RFC 6750 §2.2, which this server does not read).
    info = rp.do_user_info_request(method="GET", state=state)
    assert info["sub"] == user["id"] and info["email"] == user["username"] + "@example.com"
    browser.close()
