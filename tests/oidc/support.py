"""Steps of the OpenID Connect tests; the judge of every ID token is a stock library (Authlib's
``CodeIDToken`` over its JOSE backend), never this server's own code."""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx
from authlib.oidc.core import CodeIDToken
from fastapi import FastAPI
from joserfc import jwt
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from sqlalchemy import text

from tests.conftest import TEST_ISSUER
from tests.helpers import (
    Account,
    Client,
    authorize_params,
    consent,
    form_exchange,
    pkce_pair,
    query_of,
    register_client,
    sign_up,
)
from wtp_oauth.state import AppState


def nonce() -> str:
    return "n-" + secrets.token_urlsafe(12)


async def update_application(app: FastAPI, client_id: str, **columns: Any) -> None:
    """Set columns of an application's row directly (the JSON API sets them elsewhere)."""
    state: AppState = app.state.wtp
    values = {k: json.dumps(v) if isinstance(v, list) else v for k, v in columns.items()}
    assignments = ", ".join(f"{name} = :{name}" for name in values)
    async with state.engine.begin() as conn:
        await conn.execute(
            text(f"UPDATE applications SET {assignments} WHERE client_id = :client_id"),
            {**values, "client_id": client_id},
        )


async def party(developer: httpx.AsyncClient, user: httpx.AsyncClient) -> tuple[Client, Account]:
    """A developer's confidential application and a signed-in user (on ``user``)."""
    await sign_up(developer)
    client = await register_client(developer)
    return client, await sign_up(user)


async def key_set(http: httpx.AsyncClient) -> KeySet:
    r = await http.get("/.well-known/jwks.json")
    assert r.status_code == 200, r.text
    return KeySet.import_key_set(r.json())


def judged(
    id_token: str,
    keys: KeySet,
    *,
    client_id: str,
    access_token: str | None = None,
    expected_nonce: str | None = None,
    now: int | None = None,
    issuer: str = TEST_ISSUER,
    max_age: int | None = None,
) -> CodeIDToken:
    """Authlib's validation of an ID token from the code flow (OpenID Connect Core §3.1.3.7),
    as its clients' ``parse_id_token`` does it: raises on any failure."""
    token = jwt.decode(
        id_token,
        keys,
        registry=JWSRegistry(algorithms=["ES256", "RS256"], strict_check_header=False),
    )
    params: dict[str, Any] = {"nonce": expected_nonce, "client_id": client_id}
    if access_token is not None:
        params["access_token"] = access_token
    if max_age is not None:
        params["max_age"] = max_age
    claims = CodeIDToken(token.claims, token.header, {"iss": {"values": [issuer]}}, params)
    claims.validate(now=now, leeway=0)
    return claims


async def code_flow(
    user: httpx.AsyncClient,
    client: Client,
    scope: str = "openid",
    **extra: str,
) -> dict[str, Any]:
    """Authorize (allowing on the consent page) and exchange the code with HTTP Basic and
    PKCE; the token response."""
    verifier, challenge = pkce_pair()
    params = authorize_params(
        client, code_challenge=challenge, code_challenge_method="S256", **extra
    )
    params.pop("scopes")
    params["scope"] = scope
    r = await consent(user, params)
    assert r.status_code in (302, 303), r.text
    query = query_of(r.headers["location"])
    assert "code" in query, query
    r = await form_exchange(
        user,
        client,
        grant_type="authorization_code",
        code=query["code"],
        redirect_uri=client.redirect_uri,
        code_verifier=verifier,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def set_application_columns(database_url: str, client_id: str, **columns: Any) -> None:
    """:func:`update_application` for a database a live server uses (from a sync test)."""
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    async def run() -> None:
        engine = create_async_engine(database_url)
        values = {k: json.dumps(v) if isinstance(v, list) else v for k, v in columns.items()}
        assignments = ", ".join(f"{name} = :{name}" for name in values)
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    text(f"UPDATE applications SET {assignments} WHERE client_id = :client_id"),
                    {**values, "client_id": client_id},
                )
        finally:
            await engine.dispose()

    asyncio.run(run())
