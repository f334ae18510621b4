"""No usable secret is ever stored: after every kind of flow, read the tables themselves.

Codes, tokens, client secrets, session cookies and consent request ids must appear in the
database only as 64-hex SHA-256 digests (SPEC §6, STYLE §4); passwords only as argon2 hashes.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlmodel import SQLModel

from tests.helpers import (
    PASSWORD,
    authorize_params,
    form_exchange,
    get_code,
    guide_exchange,
    hidden,
    pkce_pair,
    register_client,
    sign_up,
)
from wtp_oauth.security.tokens import digest

HEX64 = re.compile(r"[0-9a-f]{64}")


async def all_rows(app: FastAPI) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {}
    async with app.state.wtp.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            result = await conn.execute(select(table))
            rows[table.name] = [dict(row._mapping) for row in result]
    return rows


async def test_only_digests_are_stored(
    running_app: FastAPI, client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    raw: dict[str, str] = {}

    # A developer with a confidential client whose secret is then rotated, and a public client.
    await sign_up(client)
    raw["developer session"] = client.cookies["wtp_session"]
    app = await register_client(client)
    assert app.client_secret
    raw["first client secret"] = app.client_secret
    rotated = await client.post(f"/api/applications/{app.client_id}/secret")
    app.client_secret = rotated.json()["client_secret"]
    raw["client secret"] = app.client_secret
    native = await register_client(client, ["http://127.0.0.1/cb"], client_type="public")

    # A user through the consent page (a stored pending request), then both token dialects.
    await sign_up(other_client)
    raw["user session"] = other_client.cookies["wtp_session"]
    page = await other_client.get("/oauth/authorize", params=authorize_params(app, "user.read"))
    raw["request id"] = hidden(page.text, "request_id")
    code = await get_code(other_client, app, "user.read user.email", prompt="consent")
    raw["code"] = code
    first = (await guide_exchange(other_client, app, code)).json()
    raw["access token"], raw["refresh token"] = first["access_token"], first["refresh_token"]
    second = (
        await form_exchange(
            other_client, app, grant_type="refresh_token", refresh_token=first["refresh_token"]
        )
    ).json()
    raw["rotated access token"] = second["access_token"]
    raw["rotated refresh token"] = second["refresh_token"]
    verifier, challenge = pkce_pair()
    native_code = await get_code(
        other_client, native, code_challenge=challenge, code_challenge_method="S256"
    )
    raw["public client code"] = native_code
    raw["code verifier"] = verifier
    native_tokens = (
        await form_exchange(
            other_client,
            native,
            grant_type="authorization_code",
            code=native_code,
            code_verifier=verifier,
        )
    ).json()
    raw["public client access token"] = native_tokens["access_token"]
    raw["public client refresh token"] = native_tokens["refresh_token"]
    raw["password"] = PASSWORD

    rows = await all_rows(running_app)

    # Every digest column holds a SHA-256 hex digest (or nothing, for public clients).
    digest_columns = 0
    for table, records in rows.items():
        for record in records:
            for column, value in record.items():
                if column.endswith("_digest"):
                    digest_columns += 1
                    assert value is None or HEX64.fullmatch(value), (table, column, value)
    assert digest_columns

    # No raw secret appears anywhere, in any column of any table.
    dump = repr(rows)
    for name, value in raw.items():
        assert value not in dump, f"the raw {name} is stored"

    # And the digests are there: the test read the right tables.
    stored = {
        value
        for records in rows.values()
        for record in records
        for column, value in record.items()
        if column.endswith("_digest")
    }
    for name in (
        "client secret",
        "code",
        "access token",
        "rotated refresh token",
        "user session",
        "request id",
    ):
        assert digest(raw[name]) in stored, name
    assert digest(raw["first client secret"]) not in stored
    hashes = [user["password_hash"] for user in rows["users"]]
    assert hashes and all(value.startswith("$argon2") for value in hashes)
