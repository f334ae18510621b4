"""Signing keys: created once, encrypted at rest, rotated without a gap (SPEC §12)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from joserfc.jwk import KeySet

from tests.api.support import app_client
from tests.conftest import POSTGRES_SERVER, RUN_ID, TEST_ISSUER, FakeClock, LiveServer
from tests.helpers import PASSWORD, hidden, unique
from tests.oidc.support import code_flow, judged, key_set, party
from wtp_oauth import migrations
from wtp_oauth.config import Settings
from wtp_oauth.models import SigningKey
from wtp_oauth.oauth import keys
from wtp_oauth.oauth.keys import ACTIVATION_DELAY, KeyDecryptionError, KeyRing
from wtp_oauth.repositories.signing_keys import SigningKeyRepository, purge_retired_keys
from wtp_oauth.state import AppState


@pytest.fixture
def fresh_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A database of this run's kind that no application has started on yet."""
    if database_url.startswith("sqlite"):
        url = f"sqlite+aiosqlite:///{tmp_path / 'keys.db'}"
        migrations.upgrade(url)
        yield url
        return
    name = f"wtp_keys_{RUN_ID}_{tmp_path.name[-12:]}".lower().replace("-", "_")

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(f"{POSTGRES_SERVER}/postgres")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = f"{POSTGRES_SERVER.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
    try:
        migrations.upgrade(url)
        yield url
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def own_app(
    fresh_database: str,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, FakeClock]]:
    clock = FakeClock()
    settings = Settings(database_url=fresh_database, issuer=TEST_ISSUER, pool_size=2)
    async with app_client(settings, clock) as (app, http):
        yield app, http, clock


def _state(app: FastAPI) -> AppState:
    state: AppState = app.state.wtp
    return state


async def _rows(app: FastAPI) -> list[SigningKey]:
    from sqlmodel import select

    async with _state(app).session_factory() as session:
        return list((await session.exec(select(SigningKey))).all())


async def test_first_start_creates_one_key_per_algorithm_encrypted(
    own_app: tuple[FastAPI, httpx.AsyncClient, FakeClock],
) -> None:
    app, http, _ = own_app
    rows = await _rows(app)
    assert sorted(row.alg for row in rows) == ["ES256", "RS256"]
    published = (await http.get("/.well-known/jwks.json")).json()["keys"]
    assert {key["kid"] for key in published} == {row.kid for row in rows}
    for row in rows:
        assert "PRIVATE KEY" not in row.private_key and "d" not in row.public_jwk
        # The stored private part opens under the server's secret key only.
        with pytest.raises(KeyDecryptionError, match="WTP_SECRET_KEY"):
            keys._open(keys.StoredKey(**row.model_dump()), keys._cipher("another secret key"))
        ring = KeyRing(_state(app).secret_key, 3600)
        ring.load([keys.StoredKey(**row.model_dump())])
        assert ring.sign({"sub": "x"}, row.alg, row.activates_at)
    # A second start (another node) loads the same keys and makes none.
    async with app_client(_state(app).settings) as (again, _):
        assert {row.kid for row in await _rows(again)} == {row.kid for row in rows}
    # A node whose secret key is another cannot open them: it makes keys of its own, and
    # the ones it cannot open stay published until their tokens have expired.
    other = _state(app).settings.model_copy(update={"secret_key": "another secret key"})
    async with app_client(other) as (_, http_other):
        listed = {k["kid"] for k in (await http_other.get("/.well-known/jwks.json")).json()["keys"]}
    assert {row.kid for row in rows} < listed and len(listed) == 4


async def test_a_rotation_publishes_before_it_signs_and_keeps_old_tokens_valid(
    own_app: tuple[FastAPI, httpx.AsyncClient, FakeClock], other_client: httpx.AsyncClient
) -> None:
    app, http, clock = own_app
    state = _state(app)
    client, _ = await party(http, http)
    old = await code_flow(http, client)
    issued_at = int(clock().timestamp())
    old_kid = judged(old["id_token"], await key_set(http), client_id=client.client_id).header["kid"]
    storage = SigningKeyRepository(state.session_factory)
    new = await keys.rotate(storage, state.secret_key, clock())
    new_es = next(key.kid for key in new if key.alg == "ES256")
    await state.oauth.keys.reload(storage)  # what every node does within RELOAD_INTERVAL

    listed = {key["kid"] for key in (await http.get("/.well-known/jwks.json")).json()["keys"]}
    assert {old_kid, new_es} <= listed
    # Published, not yet signing.
    refreshed = await http.post(
        "/api/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": old["refresh_token"]},
        auth=(client.client_id, client.client_secret or ""),
    )
    assert refreshed.status_code == 200, refreshed.text
    header = judged(refreshed.json()["id_token"], await key_set(http), client_id=client.client_id)
    assert header.header["kid"] == old_kid

    clock.advance(ACTIVATION_DELAY.total_seconds())
    tokens = await code_flow(http, client)
    jwks = await key_set(http)
    claims = judged(
        tokens["id_token"], jwks, client_id=client.client_id, now=int(clock().timestamp())
    )
    assert claims.header["kid"] == new_es
    # The old token still verifies with the same JWKS.
    judged(old["id_token"], jwks, client_id=client.client_id, now=issued_at)

    # Once every token the old key signed has expired, it is no longer published, and purge
    # drops it.
    clock.advance(state.settings.id_token_ttl + 61)
    listed = {key["kid"] for key in (await http.get("/.well-known/jwks.json")).json()["keys"]}
    assert old_kid not in listed and new_es in listed
    assert (
        await purge_retired_keys(state.session_factory, clock(), state.settings.id_token_ttl) == 2
    )
    assert old_kid not in {row.kid for row in await _rows(app)}


async def test_the_cli_rotates_and_purge_keeps_what_is_needed(
    own_app: tuple[FastAPI, httpx.AsyncClient, FakeClock], tmp_path: Path
) -> None:
    app, _, _ = own_app
    before = {row.kid for row in await _rows(app)}
    done = await asyncio.to_thread(_cli, "rotate-keys", _state(app).settings.database_url, tmp_path)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert set(answer["kids"]) == {"ES256", "RS256"}
    rows = {row.kid: row for row in await _rows(app)}
    assert set(answer["kids"].values()) | before == set(rows)
    assert all(rows[kid].retires_at is not None for kid in before)
    done = await asyncio.to_thread(_cli, "purge", _state(app).settings.database_url, tmp_path)
    assert json.loads(done.stdout)["signing_keys"] == 0  # the retired ones may still be needed
    assert set(rows) == {row.kid for row in await _rows(app)}


def _cli(command: str, database_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("wtp-oauth")
    env = {"PATH": str(script.parent), "WTP_DATABASE_URL": database_url}
    return subprocess.run(
        [str(script), command], capture_output=True, text=True, cwd=cwd, env=env, check=False
    )


# --- two nodes on one PostgreSQL database ------------------------------------------------------


def _signed_in(base: str) -> tuple[httpx.Client, dict[str, Any]]:
    name = unique("node")
    http = httpx.Client(base_url=base, timeout=30)
    r = http.post(
        "/api/users", json={"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    )
    assert r.status_code == 201
    assert (
        http.post("/api/session", json={"username": name, "password": PASSWORD}).status_code == 204
    )
    r = http.post(
        "/api/applications", json={"name": "Nodes", "redirect_uris": ["https://n.example/cb"]}
    )
    return http, r.json()


def _id_tokens(http: httpx.Client, app: dict[str, Any]) -> dict[str, Any]:
    params = {
        "client_id": app["client_id"],
        "scope": "openid",
        "redirect_uri": "https://n.example/cb",
        "response_type": "code",
        "state": "s",
    }
    r = http.get("/oauth/authorize", params=params)
    if r.status_code == 200:
        r = http.post(
            "/oauth/authorize",
            data={
                "request_id": hidden(r.text, "request_id"),
                "csrf_token": hidden(r.text, "csrf_token"),
                "decision": "allow",
            },
        )
    code = httpx.URL(r.headers["location"]).params["code"]
    r = http.post(
        "/api/oauth/token",
        data={"grant_type": "authorization_code", "code": code},
        auth=(app["client_id"], app["client_secret"]),
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def _refresh(http: httpx.Client, app: dict[str, Any], token: str) -> dict[str, Any]:
    r = http.post(
        "/api/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": token},
        auth=(app["client_id"], app["client_secret"]),
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def _jwks(base: str) -> KeySet:
    return KeySet.import_key_set(httpx.get(f"{base}/.well-known/jwks.json").json())


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_two_nodes_verify_each_other_and_rotate_together(database_url: str, tmp_path: Path) -> None:
    nodes = [LiveServer(database_url, workers=1).start(tmp_path) for _ in range(2)]
    try:
        (a, b) = (node.url for node in nodes)
        # One account and application (the database is shared); a browser per node.
        http_a, app = _signed_in(a)
        http_b = httpx.Client(base_url=b, timeout=30, cookies=http_a.cookies)
        tokens = {a: _id_tokens(http_a, app), b: _id_tokens(http_b, app)}
        for issuer, got in tokens.items():
            for base in (a, b):
                judged(got["id_token"], _jwks(base), client_id=app["client_id"], issuer=issuer)

        rotated_at = time.monotonic()
        done = _cli("rotate-keys", database_url, tmp_path)
        assert done.returncode == 0, done.stderr
        new_kid = json.loads(done.stdout)["kids"]["ES256"]
        switched: set[str] = set()
        while switched != {a, b}:
            assert time.monotonic() - rotated_at < 10, "a node still signs with the old key"
            for base, http in ((a, http_a), (b, http_b)):
                tokens[base] = _refresh(http, app, tokens[base]["refresh_token"])
                kid = judged(
                    tokens[base]["id_token"], _jwks(base), client_id=app["client_id"], issuer=base
                ).header["kid"]
                if kid == new_kid:
                    switched.add(base)
                    # Signed with the new key: every node lists it already.
                    for other in (a, b):
                        assert new_kid in {key.kid for key in _jwks(other).keys}
            time.sleep(0.25)
        http_a.close()
        http_b.close()
    finally:
        for node in nodes:
            node.stop()
