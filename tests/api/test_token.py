"""routers/token.py: the token endpoint in both dialects, revocation and introspection (SPEC §6)."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.api.support import developer_app
from tests.conftest import TEST_ISSUER, FakeClock
from tests.helpers import (
    Client,
    get_code,
    pkce_pair,
    register_client,
    sign_up,
    tokens_for,
)

TOKEN_PATHS = ["/api/oauth/token", "/api/token"]
TOKEN_KEYS = {"access_token", "token_type", "expires_in", "refresh_token", "scope"}


def basic(client_id: str, secret: str) -> str:
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
    return "Basic " + base64.b64encode(raw.encode()).decode()


def assert_tokens(r: httpx.Response, scope: str = "user.read") -> dict[str, Any]:
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["pragma"] == "no-cache"
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == TOKEN_KEYS
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == scope
    assert body["access_token"].startswith("wtpa_")
    assert body["refresh_token"].startswith("wtpr_")
    return dict(body)


def assert_error(r: httpx.Response, error: str, status: int = 400) -> None:
    """RFC 6749 §5.2."""
    assert r.status_code == status, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert set(body) <= {"error", "error_description"}
    assert body["error"] == error
    assert body.get("error_description")


async def works(http: httpx.AsyncClient, access_token: str) -> bool:
    r = await http.get("/api/users/@me", headers={"Authorization": f"Bearer {access_token}"})
    return r.status_code == 200


# --- the four ways a client authenticates, on both paths, JSON and form -----------------------


@pytest.mark.parametrize(
    ("path", "encoding", "grant_name", "method"),
    [
        # The developer guide's request, on both paths.
        ("/api/oauth/token", "json", "grand_type", "bearer"),
        ("/api/token", "json", "grand_type", "bearer"),
        # RFC 6749's, on both paths.
        ("/api/oauth/token", "form", "grant_type", "basic"),
        ("/api/token", "form", "grant_type", "post"),
        # Every other value of each dimension at least once more.
        ("/api/oauth/token", "json", "grant_type", "post"),
        ("/api/token", "json", "grant_type", "basic"),
        ("/api/oauth/token", "form", "grand_type", "post"),
        ("/api/token", "form", "grand_type", "bearer"),
    ],
)
async def test_code_exchange(
    client: httpx.AsyncClient, path: str, encoding: str, grant_name: str, method: str
) -> None:
    app = await developer_app(client)
    assert app.client_secret
    body = {grant_name: "authorization_code", "code": await get_code(client, app)}
    headers = {}
    if method == "bearer":
        headers["Authorization"] = f"Bearer {app.client_secret}"
        body["client_id"] = app.client_id
    elif method == "basic":
        headers["Authorization"] = basic(app.client_id, app.client_secret)
    else:
        body.update(client_id=app.client_id, client_secret=app.client_secret)
    if encoding == "json":
        r = await client.post(path, json=body, headers=headers)
    else:
        r = await client.post(path, data=body, headers=headers)
    tokens = assert_tokens(r)
    assert await works(client, tokens["access_token"])


@pytest.mark.parametrize("path", TOKEN_PATHS)
async def test_public_client_sends_only_client_id(client: httpx.AsyncClient, path: str) -> None:
    app = await developer_app(client, redirect_uris=["http://127.0.0.1/cb"], client_type="public")
    verifier, challenge = pkce_pair()
    code = await get_code(client, app, code_challenge=challenge, code_challenge_method="S256")
    r = await client.post(
        path,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": app.client_id,
            "code_verifier": verifier,
            "redirect_uri": app.redirect_uri,
        },
    )
    tokens = assert_tokens(r)
    refreshed = await client.post(
        path,
        json={
            "grand_type": "refresh_token",
            "code": tokens["refresh_token"],
            "client_id": app.client_id,
        },
    )
    assert_tokens(refreshed)


async def test_json_with_charset(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    r = await client.post(
        "/api/oauth/token",
        content=(
            f'{{"grant_type": "authorization_code", "code": "{await get_code(client, app)}",'
            f' "client_id": "{app.client_id}", "client_secret": "{app.client_secret}"}}'
        ).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert_tokens(r)


@pytest.mark.parametrize("path", TOKEN_PATHS)
async def test_refresh_in_both_dialects(client: httpx.AsyncClient, path: str) -> None:
    app = await developer_app(client)
    first = await tokens_for(client, app, "user.read user.email")
    guide = await client.post(
        path,
        json={
            "code": first["refresh_token"],
            "grand_type": "refresh_token",
            "client_id": app.client_id,
        },
        headers={"Authorization": f"Bearer {app.client_secret}"},
    )
    second = assert_tokens(guide, "user.read user.email")
    assert second["refresh_token"] != first["refresh_token"]
    standard = await client.post(
        path,
        data={
            "grant_type": "refresh_token",
            "refresh_token": second["refresh_token"],
            "scope": "user.read",
        },
        auth=(app.client_id, app.client_secret or ""),
    )
    third = assert_tokens(standard, "user.read")
    assert await works(client, third["access_token"])


async def test_redirect_uri_must_match_when_sent(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    code = await get_code(client, app)
    r = await client.post(
        "/api/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "https://client.example/other",
        },
        auth=(app.client_id, app.client_secret or ""),
    )
    assert_error(r, "invalid_grant")


async def test_a_code_is_single_use_and_its_replay_revokes_tokens(
    client: httpx.AsyncClient,
) -> None:
    app = await developer_app(client)
    code = await get_code(client, app)
    headers = {"Authorization": f"Bearer {app.client_secret}"}
    body = {"code": code, "grand_type": "authorization_code", "client_id": app.client_id}
    tokens = assert_tokens(await client.post("/api/token", json=body, headers=headers))
    assert_error(await client.post("/api/token", json=body, headers=headers), "invalid_grant")
    assert not await works(client, tokens["access_token"])


async def test_code_expires(client: httpx.AsyncClient, clock: FakeClock) -> None:
    app = await developer_app(client)
    code = await get_code(client, app)
    clock.advance(300)
    r = await client.post(
        "/api/oauth/token",
        data={"grant_type": "authorization_code", "code": code},
        auth=(app.client_id, app.client_secret or ""),
    )
    assert_error(r, "invalid_grant")


# --- errors ------------------------------------------------------------------------------------


async def exchange_as(
    http: httpx.AsyncClient, app: Client, body: dict[str, str], path: str = "/api/oauth/token"
) -> httpx.Response:
    return await http.post(path, data=body, auth=(app.client_id, app.client_secret or ""))


@pytest.mark.parametrize("path", TOKEN_PATHS)
async def test_unsupported_grant_type(client: httpx.AsyncClient, path: str) -> None:
    app = await developer_app(client)
    for grant in ("password", "client_credentials", "implicit"):
        r = await exchange_as(client, app, {"grant_type": grant, "code": "x"}, path)
        assert_error(r, "unsupported_grant_type")


async def test_invalid_request(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    for body in (
        {"grant_type": "authorization_code"},
        {"grant_type": "authorization_code", "code": ""},
        {"code": "x"},
        {"grant_type": "authorization_code", "grand_type": "refresh_token", "code": "x"},
        {"grant_type": "refresh_token"},
    ):
        assert_error(await exchange_as(client, app, body), "invalid_request")


async def test_malformed_bodies_are_invalid_request(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    auth = (app.client_id, app.client_secret or "")
    for content, content_type in (
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'{"grant_type": "authorization_code", "code": 5}', "application/json"),
        (b"grant_type=authorization_code&code=a&code=b", "application/x-www-form-urlencoded"),
        (b"<xml/>", "application/xml"),
    ):
        r = await client.post(
            "/api/oauth/token", content=content, headers={"Content-Type": content_type}, auth=auth
        )
        assert_error(r, "invalid_request")


async def test_invalid_grant(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    for body in (
        {"grant_type": "authorization_code", "code": "no-such-code"},
        {"grant_type": "refresh_token", "refresh_token": "wtpr_no-such-token"},
    ):
        assert_error(await exchange_as(client, app, body), "invalid_grant")


async def test_another_clients_code_is_invalid_grant(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    other = await register_client(client, name="Other")
    code = await get_code(client, app)
    assert_error(
        await exchange_as(client, other, {"grant_type": "authorization_code", "code": code}),
        "invalid_grant",
    )


async def test_invalid_scope_on_refresh(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    tokens = await tokens_for(client, app, "user.read")
    for scope in ("user.write", "admin"):
        body = {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "scope": scope,
        }
        assert_error(await exchange_as(client, app, body), "invalid_scope")


@pytest.mark.parametrize("path", TOKEN_PATHS)
async def test_invalid_client(client: httpx.AsyncClient, path: str) -> None:
    app = await developer_app(client)
    code = await get_code(client, app)
    attempts: list[tuple[dict[str, str], dict[str, str], str]] = [
        # (body, headers, challenge scheme)
        ({"client_id": app.client_id}, {"Authorization": "Bearer wtps_wrong"}, "Bearer"),
        ({}, {"Authorization": basic(app.client_id, "wtps_wrong")}, "Basic"),
        ({}, {"Authorization": basic("no-such-client", "wtps_wrong")}, "Basic"),
        ({"client_id": app.client_id, "client_secret": "wtps_wrong"}, {}, "Basic"),
        ({"client_id": app.client_id}, {}, "Basic"),
        ({}, {}, "Basic"),
        ({}, {"Authorization": f"Bearer {app.client_secret}"}, "Bearer"),
    ]
    for extra, headers, scheme in attempts:
        body = {"grant_type": "authorization_code", "code": code, **extra}
        r = await client.post(path, data=body, headers=headers)
        assert_error(r, "invalid_client", 401)
        assert r.headers["www-authenticate"].startswith(scheme), r.headers
    # None of these used the code up.
    assert_tokens(
        await exchange_as(client, app, {"grant_type": "authorization_code", "code": code}, path)
    )


async def test_two_authentication_methods_is_invalid_request(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    code = await get_code(client, app)
    secret = app.client_secret or ""
    for headers, body in (
        ({"Authorization": basic(app.client_id, secret)}, {"client_secret": secret}),
        (
            {"Authorization": f"Bearer {secret}"},
            {"client_id": app.client_id, "client_secret": secret},
        ),
    ):
        r = await client.post(
            "/api/oauth/token",
            data={"grant_type": "authorization_code", "code": code, **body},
            headers=headers,
        )
        assert_error(r, "invalid_request")


async def test_basic_with_urlencoded_parts(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    code = await get_code(client, app)
    # Percent-encode every character, as RFC 6749 §2.3.1 allows.
    encoded_id = "".join(f"%{byte:02X}" for byte in app.client_id.encode())
    encoded_secret = "".join(f"%{byte:02X}" for byte in (app.client_secret or "").encode())
    header = "Basic " + base64.b64encode(f"{encoded_id}:{encoded_secret}".encode()).decode()
    r = await client.post(
        "/api/oauth/token",
        data={"grant_type": "authorization_code", "code": code},
        headers={"Authorization": header},
    )
    assert_tokens(r)


async def test_public_client_must_not_send_a_secret(client: httpx.AsyncClient) -> None:
    app = await developer_app(client, redirect_uris=["http://127.0.0.1/cb"], client_type="public")
    r = await client.post(
        "/api/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": "x",
            "client_id": app.client_id,
            "client_secret": "wtps_x",
        },
    )
    assert_error(r, "invalid_client", 401)


async def test_confidential_client_without_secret_is_invalid_client(
    client: httpx.AsyncClient,
) -> None:
    app = await developer_app(client)
    code = await get_code(client, app)
    r = await client.post(
        "/api/oauth/token",
        data={"grant_type": "authorization_code", "code": code, "client_id": app.client_id},
    )
    assert_error(r, "invalid_client", 401)


async def test_pkce_errors_are_invalid_grant(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    verifier, challenge = pkce_pair()
    code = await get_code(client, app, code_challenge=challenge, code_challenge_method="S256")
    wrong_verifier, _ = pkce_pair()
    for body in ({}, {"code_verifier": wrong_verifier}):
        r = await exchange_as(
            client, app, {"grant_type": "authorization_code", "code": code, **body}
        )
        assert_error(r, "invalid_grant")
    r = await exchange_as(
        client, app, {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
    )
    assert_tokens(r)


async def test_token_endpoint_accepts_only_post(client: httpx.AsyncClient) -> None:
    for path in TOKEN_PATHS:
        assert (await client.get(path)).status_code == 405


# --- revocation (RFC 7009) and introspection (RFC 7662) --------------------------------------


async def test_introspect_an_active_access_token(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    account = await sign_up(client)
    app = await register_client(client)
    tokens = await tokens_for(client, app, "user.read user.email")
    r = await exchange_as(client, app, {"token": tokens["access_token"]}, "/api/oauth/introspect")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body == {
        "active": True,
        "scope": "user.read user.email",
        "client_id": app.client_id,
        "username": account.username,
        "token_type": "Bearer",
        "exp": int(clock().timestamp()) + 3600,
        "iat": int(clock().timestamp()),
        "sub": account.id,
        "iss": TEST_ISSUER,
    }
    refresh = await exchange_as(
        client, app, {"token": tokens["refresh_token"]}, "/api/oauth/introspect"
    )
    assert refresh.json()["active"] is True
    assert refresh.json()["token_type"] == "refresh_token"


async def test_introspect_what_is_not_yours_or_not_active(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    app = await developer_app(client)
    other = await register_client(client, name="Other")
    tokens = await tokens_for(client, app)
    for who, token in ((other, tokens["access_token"]), (app, "wtpa_unknown"), (app, "junk")):
        r = await exchange_as(client, who, {"token": token}, "/api/oauth/introspect")
        assert r.status_code == 200
        assert r.json() == {"active": False}
    clock.advance(3600)
    r = await exchange_as(client, app, {"token": tokens["access_token"]}, "/api/oauth/introspect")
    assert r.json() == {"active": False}


async def test_introspect_a_retired_refresh_token(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    first = await tokens_for(client, app)
    body = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    second = assert_tokens(await exchange_as(client, app, body))
    for token, active in ((first["refresh_token"], False), (second["refresh_token"], True)):
        r = await exchange_as(client, app, {"token": token}, "/api/oauth/introspect")
        assert r.json()["active"] is active


async def test_revoke_an_access_token(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    tokens = await tokens_for(client, app)
    r = await exchange_as(client, app, {"token": tokens["access_token"]}, "/api/oauth/revoke")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    assert not await works(client, tokens["access_token"])
    # The refresh token is untouched.
    body = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    assert_tokens(await exchange_as(client, app, body))


async def test_revoke_a_refresh_token_revokes_its_family(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    first = await tokens_for(client, app)
    body = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    second = assert_tokens(await exchange_as(client, app, body))
    r = await exchange_as(
        client,
        app,
        {"token": second["refresh_token"], "token_type_hint": "refresh_token"},
        "/api/oauth/revoke",
    )
    assert r.status_code == 200
    assert not await works(client, first["access_token"])
    assert not await works(client, second["access_token"])
    body = {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}
    assert_error(await exchange_as(client, app, body), "invalid_grant")


async def test_revoke_someone_elses_or_unknown_token_is_a_quiet_200(
    client: httpx.AsyncClient,
) -> None:
    app = await developer_app(client)
    other = await register_client(client, name="Other")
    tokens = await tokens_for(client, app)
    for token in (tokens["access_token"], tokens["refresh_token"], "wtpa_unknown"):
        r = await exchange_as(client, other, {"token": token}, "/api/oauth/revoke")
        assert r.status_code == 200
    assert await works(client, tokens["access_token"])


async def test_revoke_and_introspect_authenticate_the_client(client: httpx.AsyncClient) -> None:
    app = await developer_app(client)
    tokens = await tokens_for(client, app)
    for path in ("/api/oauth/revoke", "/api/oauth/introspect"):
        r = await client.post(
            path, data={"token": tokens["access_token"]}, auth=(app.client_id, "wtps_wrong")
        )
        assert_error(r, "invalid_client", 401)
        assert "www-authenticate" in r.headers
        missing = await exchange_as(client, app, {}, path)
        assert_error(missing, "invalid_request")
    assert await works(client, tokens["access_token"])
