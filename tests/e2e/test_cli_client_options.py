"""``wtp-oauth create-client``'s SPEC §11 options and SPEC §17's name rule, in-process (the
same ``main()`` the script runs), on both databases."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from tests.helpers import REDIRECT_URI, sign_up
from wtp_oauth import cli

DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"


async def _create_client(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    # main() runs its own event loop: off this test's loop, in a thread.
    code = await asyncio.to_thread(cli.main, ["create-client", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WTP_DATABASE_URL", database_url)


async def test_grant_types_and_logout_uris(
    client: httpx.AsyncClient, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    owner = await sign_up(client)
    code, out, err = await _create_client(
        capsys,
        "--owner",
        owner.username,
        "--name",
        "CLI grants",
        "--redirect-uri",
        REDIRECT_URI,
        "--grant-type",
        "authorization_code",
        "--grant-type",
        "client_credentials",
        "--post-logout-redirect-uri",
        "https://client.example/bye",
        "--post-logout-redirect-uri",
        "http://127.0.0.1/bye",
        "--id-token-signed-response-alg",
        "RS256",
    )
    assert code == 0, err
    made = json.loads(out)
    shown = (await client.get(f"/api/applications/{made['client_id']}")).json()
    assert shown["grant_types"] == ["authorization_code", "client_credentials"]
    assert shown["post_logout_redirect_uris"] == [
        "https://client.example/bye",
        "http://127.0.0.1/bye",
    ]
    assert shown["id_token_signed_response_alg"] == "RS256"

    # A machine client needs no redirect URI; the defaults need one.
    code, out, err = await _create_client(
        capsys, "--owner", owner.username, "--name", "Machine", "--grant-type", "client_credentials"
    )
    assert code == 0, err
    machine = (await client.get(f"/api/applications/{json.loads(out)['client_id']}")).json()
    assert machine["redirect_uris"] == [] and machine["grant_types"] == ["client_credentials"]
    code, out, err = await _create_client(
        capsys, "--owner", owner.username, "--name", "Defaults", "--redirect-uri", REDIRECT_URI
    )
    assert code == 0, err
    defaults = (await client.get(f"/api/applications/{json.loads(out)['client_id']}")).json()
    assert defaults["grant_types"] == ["authorization_code", "refresh_token"]
    assert defaults["id_token_signed_response_alg"] == "ES256"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--grant-type", "password"], "--grant-type password: Unknown grant type 'password'"),
        (["--grant-type", "refresh_token"], "--grant-type: refresh_token needs a grant"),
        (
            ["--public", "--grant-type", "client_credentials"],
            "Public clients cannot use client_credentials",
        ),
        (
            ["--post-logout-redirect-uri", "http://client.example/bye"],
            "--post-logout-redirect-uri http://client.example/bye: "
            "Post-logout redirect URI must use https",
        ),
        (["--id-token-signed-response-alg", "HS256"], "--id-token-signed-response-alg HS256:"),
        (["--name", "WantsToParty"], "--name WantsToParty: This name imitates Wants to Party"),
        ([], "Register at least one redirect URI"),
    ],
)
async def test_bad_options_exit_2_with_one_line(
    client: httpx.AsyncClient,
    cli_env: None,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    owner = await sign_up(client)
    uris = ["--redirect-uri", REDIRECT_URI] if args else []
    code, out, err = await _create_client(
        capsys, "--owner", owner.username, "--name", "CLI app", *uris, *args
    )
    assert code == 2
    assert out == ""
    assert err.startswith("wtp-oauth: ") and err.count("\n") == 1
    assert message in err, err
    assert (await client.get("/api/applications")).json() == []
