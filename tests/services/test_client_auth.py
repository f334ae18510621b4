"""oauth/clients.py ``authenticate`` against stored clients (RFC 6749 §2.3, SPEC §11, §16)."""

from __future__ import annotations

import pytest

from tests.services.conftest import ADDRESS, Party
from wtp_oauth.errors import InvalidClient, TooManyAttempts, UnauthorizedClient
from wtp_oauth.oauth.clients import ClientCredentials, authenticate, client_check
from wtp_oauth.oauth.context import OAuthContext
from wtp_oauth.oauth.records import ClientRecord


async def authenticate_client(
    credentials: ClientCredentials, env: OAuthContext, address: str = ADDRESS
) -> ClientRecord:
    return await authenticate(client_check(credentials, env, address), env)


async def test_confidential_client_with_its_secret(party: Party) -> None:
    secret = party.secrets[party.confidential]
    for method in ("client_secret_basic", "client_secret_post", "bearer"):
        client = await authenticate_client(
            ClientCredentials(party.confidential, secret, method), party.env
        )
        assert client.client_id == party.confidential
        assert not client.is_public


async def test_wrong_secret_is_invalid_client_and_is_counted(party: Party) -> None:
    credentials = ClientCredentials(party.confidential, "wtps_wrong", "client_secret_basic")
    with pytest.raises(InvalidClient) as caught:
        await authenticate_client(credentials, party.env)
    assert caught.value.status_code == 401
    assert caught.value.headers == {"WWW-Authenticate": 'Basic realm="wtp-oauth"'}
    assert (await party.client(party.confidential)).recent_failures == 1


async def test_the_challenge_follows_the_method(party: Party) -> None:
    with pytest.raises(InvalidClient) as caught:
        await authenticate_client(
            ClientCredentials(party.confidential, "wtps_wrong", "bearer"), party.env
        )
    assert caught.value.headers == {"WWW-Authenticate": 'Bearer realm="wtp-oauth"'}


async def test_another_clients_secret(party: Party) -> None:
    credentials = ClientCredentials(party.other, party.secrets[party.confidential], "bearer")
    with pytest.raises(InvalidClient):
        await authenticate_client(credentials, party.env)


async def test_confidential_client_without_its_secret(party: Party) -> None:
    with pytest.raises(InvalidClient, match="secret"):
        await authenticate_client(ClientCredentials(party.confidential, None, "none"), party.env)


@pytest.mark.parametrize("client_id", [None, "no-such-client"])
async def test_unknown_or_missing_client(party: Party, client_id: str | None) -> None:
    with pytest.raises(InvalidClient):
        await authenticate_client(ClientCredentials(client_id, "wtps_x", "bearer"), party.env)


async def test_public_client_sends_only_its_id(party: Party) -> None:
    client = await authenticate_client(ClientCredentials(party.public, None, "none"), party.env)
    assert client.is_public


async def test_public_client_sending_a_secret_is_refused(party: Party) -> None:
    with pytest.raises(InvalidClient, match="Public"):
        await authenticate_client(
            ClientCredentials(party.public, "wtps_x", "client_secret_post"), party.env
        )


async def test_failures_from_one_address_do_not_lock_the_client_out_elsewhere(
    party: Party,
) -> None:
    # SPEC §16: anyone can send wrong secrets for a client_id (it is in every sign-in link);
    # that must not stop the client itself, elsewhere, from authenticating.
    wrong = ClientCredentials(party.confidential, "wtps_wrong", "client_secret_basic")
    for _ in range(party.state.settings.login_failure_limit):
        with pytest.raises(InvalidClient):
            await authenticate_client(wrong, party.env, "198.51.100.7")
    right = ClientCredentials(party.confidential, party.secrets[party.confidential], "bearer")
    with pytest.raises(TooManyAttempts) as caught:
        await authenticate_client(right, party.env, "198.51.100.7")
    assert caught.value.error == "temporarily_unavailable" and caught.value.status_code == 429
    assert (await authenticate_client(right, party.env)).client_id == party.confidential


async def test_a_grant_the_application_did_not_enable_is_unauthorized_client(
    party: Party,
) -> None:
    credentials = ClientCredentials(party.confidential, party.secrets[party.confidential], "bearer")
    check = client_check(credentials, party.env, ADDRESS)
    assert await authenticate(check.for_grant("refresh_token"), party.env)
    with pytest.raises(UnauthorizedClient, match="client_credentials"):
        await authenticate(check.for_grant("client_credentials"), party.env)
