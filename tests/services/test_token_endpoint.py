"""oauth/endpoints/token.py ``exchange``: the grant registry behind one endpoint."""

from __future__ import annotations

import pytest

from tests.services.conftest import ADDRESS, Party
from wtp_oauth.errors import InvalidClient, InvalidRequest, UnsupportedGrantType
from wtp_oauth.oauth.clients import ClientCredentials
from wtp_oauth.oauth.endpoints.token import exchange as _exchange
from wtp_oauth.oauth.registry import GRANTS_BY_TYPE, grant_types_supported
from wtp_oauth.oauth.tokens import TokenResponse


async def exchange(
    params: dict[str, str], credentials: ClientCredentials, env: object
) -> TokenResponse:
    return await _exchange(params, credentials, ADDRESS, env)  # type: ignore[arg-type]


def test_the_registry_holds_the_grants() -> None:
    assert grant_types_supported() == sorted(GRANTS_BY_TYPE)
    assert set(GRANTS_BY_TYPE) == {
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code",
    }


async def test_exchange_in_both_spellings(party: Party) -> None:
    credentials = ClientCredentials(party.confidential, party.secrets[party.confidential], "bearer")
    issued = await exchange(
        {"grand_type": "authorization_code", "code": await party.code()}, credentials, party.env
    )
    refreshed = await exchange(
        {"grant_type": "refresh_token", "refresh_token": issued.refresh_token or ""},
        credentials,
        party.env,
    )
    assert refreshed.scope == issued.scope == "user.read"


async def test_unsupported_grant_type(party: Party) -> None:
    credentials = ClientCredentials(party.confidential, party.secrets[party.confidential], "bearer")
    for grant_type in ("password", "implicit", "urn:example:unknown"):
        with pytest.raises(UnsupportedGrantType):
            await exchange({"grant_type": grant_type}, credentials, party.env)


async def test_missing_grant_type(party: Party) -> None:
    credentials = ClientCredentials(party.confidential, party.secrets[party.confidential], "bearer")
    with pytest.raises(InvalidRequest):
        await exchange({"code": "x"}, credentials, party.env)


async def test_the_client_is_authenticated_before_anything_is_redeemed(party: Party) -> None:
    code = await party.code()
    with pytest.raises(InvalidClient):
        await exchange(
            {"grant_type": "authorization_code", "code": code},
            ClientCredentials(party.confidential, "wtps_wrong", "bearer"),
            party.env,
        )
    credentials = ClientCredentials(party.confidential, party.secrets[party.confidential], "bearer")
    assert await exchange(
        {"grant_type": "authorization_code", "code": code}, credentials, party.env
    )
