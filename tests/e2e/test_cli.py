"""cli.py for real: each command as a subprocess, on a fresh SQLite file and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.api.support import app_client
from tests.conftest import TEST_ISSUER, FakeClock, _free_port, spawn, stop_process
from tests.device_helpers import enable_device_grant, poll, started
from tests.helpers import (
    PASSWORD,
    REDIRECT_URI,
    Client,
    get_code,
    guide_exchange,
    sign_up,
    tokens_for,
    unique,
)
from wtp_oauth import cli, migrations
from wtp_oauth.config import Settings
from wtp_oauth.models import RefreshToken
from wtp_oauth.security.tokens import digest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).with_name("wtp-oauth")
DAY = 86400


def _run(
    args: tuple[str, ...], database_url: str | None, cwd: Path, stdin: str | None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WTP_")}
    if database_url is not None:
        env["WTP_DATABASE_URL"] = database_url
    return subprocess.run(
        [str(SCRIPT), *args],
        env=env,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,  # no controlling terminal: getpass reads stdin
    )


async def wtp_oauth(
    *args: str, database_url: str | None, cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``wtp-oauth ARGS`` without blocking the event loop the app under test runs on."""
    return await asyncio.to_thread(_run, args, database_url, cwd, stdin)


@pytest.fixture
def cli_database(database_url: str, tmp_path: Path) -> str:
    """A fresh, unmigrated SQLite file; or this run's PostgreSQL database."""
    if database_url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    return database_url


def settings_for(database_url: str) -> Settings:
    return Settings(database_url=database_url, issuer=TEST_ISSUER, pool_size=2)


@pytest.fixture
def migrated(cli_database: str) -> str:
    migrations.upgrade(cli_database)
    return cli_database


async def test_openapi_prints_openapi_json(tmp_path: Path) -> None:
    r = await wtp_oauth("openapi", database_url=None, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == json.loads((ROOT / "openapi.json").read_text())
    assert not (tmp_path / "wtp_oauth.db").exists()


async def test_migrate(cli_database: str, tmp_path: Path, clock: FakeClock) -> None:
    r = await wtp_oauth("migrate", database_url=cli_database, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "database is at head" in r.stdout
    async with app_client(settings_for(cli_database), clock) as (_, http):
        assert (await http.get("/readyz")).status_code == 200
        await sign_up(http)


async def test_create_user_and_clients(migrated: str, tmp_path: Path, clock: FakeClock) -> None:
    username = unique("cli")
    r = await wtp_oauth(
        "create-user",
        "--username",
        username,
        "--email",
        f"{username}@example.com",
        database_url=migrated,
        cwd=tmp_path,
        stdin=PASSWORD + "\n",  # prompted for, since --password is not given
    )
    assert r.returncode == 0, r.stderr
    user = json.loads(r.stdout)
    assert user["username"] == username and isinstance(user["id"], str)

    owner = ["--owner", username.upper()]
    uris = ["--redirect-uri", REDIRECT_URI, "--redirect-uri", "http://127.0.0.1/cb"]
    native = ["--redirect-uri", "com.example.app:/cb", "--public"]
    made = await asyncio.gather(
        wtp_oauth(
            "create-client", *owner, "--name", "CLI app", *uris, database_url=migrated, cwd=tmp_path
        ),
        wtp_oauth(
            "create-client",
            *owner,
            "--name",
            "CLI native",
            *native,
            database_url=migrated,
            cwd=tmp_path,
        ),
    )
    for r in made:
        assert r.returncode == 0, r.stderr
    confidential, public = (json.loads(r.stdout) for r in made)
    assert confidential["client_secret"].startswith("wtps_")
    assert public["client_secret"] is None

    async with app_client(settings_for(migrated), clock) as (_, http):
        signed_in = await http.post(
            "/api/session", json={"username": username, "password": PASSWORD}
        )
        assert signed_in.status_code == 204
        listed = {app["client_id"]: app for app in (await http.get("/api/applications")).json()}
        assert listed[confidential["client_id"]]["name"] == "CLI app"
        assert listed[confidential["client_id"]]["redirect_uris"] == [
            REDIRECT_URI,
            "http://127.0.0.1/cb",
        ]
        assert listed[public["client_id"]]["client_type"] == "public"
        # The printed secret works at the token endpoint.
        client = Client(confidential["client_id"], confidential["client_secret"], [REDIRECT_URI])
        code = await get_code(http, client)
        assert (await guide_exchange(http, client, code)).status_code == 200


def _client_args(*redirect_uris: str, owner: str = "nobody") -> list[str]:
    args = ["create-client", "--owner", owner, "--name", "n"]
    for uri in redirect_uris:
        args += ["--redirect-uri", uri]
    return args


def test_errors_exit_2_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # In-process (the same main() the script runs), to spare interpreter start-ups.
    url = f"sqlite+aiosqlite:///{tmp_path / 'errors.db'}"
    migrations.upgrade(url)
    monkeypatch.setenv("WTP_DATABASE_URL", url)
    user = ["create-user", "--username", "ada", "--email", "ada@example.com"]
    assert cli.main([*user, "--password", PASSWORD]) == 0
    capsys.readouterr()
    for args, message in (
        (
            ["create-user", "--username", "x y", "--email", "x", "--password", "short"],
            "--username 'x y': use 3 to 32 letters, digits, '.', '_' or '-'; "
            "--email x: value is not a valid email address: An email address must have an "
            "@-sign.; --password: Password must be at least 8 characters.",
        ),
        ([*user, "--password", PASSWORD], "That username is already taken."),
        (
            _client_args(REDIRECT_URI),
            "--owner nobody: no user named 'nobody' (create-user makes one)",
        ),
        (
            _client_args(REDIRECT_URI, "http://example.com/cb", owner="ada"),
            "--redirect-uri http://example.com/cb: Redirect URI must use https (http is "
            "allowed only on a loopback host).",
        ),
        (
            _client_args("https://example.com/cb#top", owner="ada"),
            "--redirect-uri 'https://example.com/cb#top': Redirect URI must not contain a "
            "fragment (RFC 6749 §3.1.2).",
        ),
    ):
        assert cli.main(args) == 2
        captured = capsys.readouterr()
        assert captured.err == f"wtp-oauth: {message}\n"
        assert captured.out == ""
    # The password is never repeated.
    assert cli.main(["create-user", "--username", "bob", "--email", "b@x.io", "--password", "pw"])
    assert "pw" not in capsys.readouterr().err.replace("--password", "")


async def _refresh_row(app: FastAPI, token: str) -> RefreshToken | None:
    async with app.state.wtp.session_factory() as db:
        return await db.get(RefreshToken, digest(token))


async def test_purge(migrated: str, tmp_path: Path, clock: FakeClock) -> None:
    async with app_client(settings_for(migrated), clock) as (app, http):
        store = app.state.wtp.oauth.store
        # Forty days ago: a session, a client, tokens, all long expired by now.
        clock.advance(-40 * DAY)
        await sign_up(http)
        old_session = http.cookies["wtp_session"]
        response = await http.post(
            "/api/applications", json={"name": "Old", "redirect_uris": [REDIRECT_URI]}
        )
        body = response.json()
        client = Client(body["client_id"], body["client_secret"], [REDIRECT_URI])
        old = await tokens_for(http, client)
        await get_code(http, client)  # never redeemed
        await enable_device_grant(app.state.wtp.engine, client.client_id)
        await started(http, client)  # a device code nobody answered
        # Now: fresh tokens that must survive.
        clock.advance(40 * DAY)
        await sign_up(http)
        fresh = await tokens_for(http, client)
        device = await started(http, client)

        r = await wtp_oauth("purge", database_url=migrated, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        removed = json.loads(r.stdout)
        assert set(removed) == {
            "authorization_codes",
            "access_tokens",
            "refresh_tokens",
            "authorization_requests",
            "sessions",
            "auth_failures",
            "device_codes",
            "signing_keys",
        }
        tables = ("authorization_codes", "access_tokens", "refresh_tokens", "sessions")
        for table in (*tables, "device_codes"):
            assert removed[table] >= 1, removed
        pending = await poll(http, client, device["device_code"])
        assert pending.json()["error"] == "authorization_pending"
        assert await store.find_access_token(digest(old["access_token"])) is None
        assert await _refresh_row(app, old["refresh_token"]) is None
        assert await store.find_access_token(digest(fresh["access_token"])) is not None
        assert await _refresh_row(app, fresh["refresh_token"]) is not None
        me = await http.get(
            "/api/users/@me", headers={"Authorization": f"Bearer {fresh['access_token']}"}
        )
        assert me.status_code == 200
        assert (await http.get("/api/applications")).status_code == 200
        http.cookies.set("wtp_session", old_session)
        assert (await http.get("/api/applications")).status_code == 401


def test_serve_with_no_configuration(tmp_path: Path) -> None:
    """One command gives a newcomer a working server: SQLite in ./wtp_oauth.db, migrated."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WTP_")}
    log = (tmp_path / "serve.log").open("wb")
    process = spawn(
        [str(SCRIPT), "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        assert (tmp_path / "wtp_oauth.db").is_file()
        meta = httpx.get(f"{base}/.well-known/oauth-authorization-server").json()
        assert meta["issuer"] == base
        username = unique()
        created = httpx.post(
            f"{base}/api/users",
            json={"username": username, "email": f"{username}@example.com", "password": PASSWORD},
        )
        assert created.status_code == 201
    finally:
        stop_process(process)
        log.close()
