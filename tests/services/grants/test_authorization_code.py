"""oauth/grants/authorization_code/ on real storage: RFC 6749 §4.1.3, RFC 7636 §4.6."""

from __future__ import annotations

import pytest

from tests.helpers import REDIRECT_URI, pkce_pair
from tests.services.conftest import LOOPBACK_URI, NATIVE_URI, Party
from wtp_oauth.errors import InvalidGrant, InvalidRequest
from wtp_oauth.oauth.tokens import TokenResponse


async def redeem(party: Party, client_id: str | None = None, **params: str) -> TokenResponse:
    return await party.exchange("authorization_code", client_id, **params)


async def test_a_code_becomes_a_token_pair(party: Party) -> None:
    code = await party.code("user.email user.read")
    issued = await redeem(party, code=code)
    assert issued.access_token.startswith("wtpa_")
    assert issued.refresh_token is not None and issued.refresh_token.startswith("wtpr_")
    assert issued.token_type == "Bearer"
    assert issued.expires_in == party.state.settings.access_token_ttl == 3600
    assert issued.scope == "user.read user.email"

    access = await party.access_record(issued.access_token)
    refresh = await party.refresh_record(issued.refresh_token)
    assert access is not None and refresh is not None
    assert access.user is not None and refresh.user is not None
    assert access.user.id == refresh.user.id == party.user.id
    assert access.client_id == refresh.client_id == party.confidential
    assert access.family_id == refresh.family_id
    assert access.is_active(party.now()) and refresh.is_active(party.now())
    assert (access.expires_at - party.now()).total_seconds() == 3600
    assert (refresh.expires_at - party.now()).total_seconds() == 2_592_000


async def test_redirect_uri_is_optional(party: Party) -> None:
    assert (await redeem(party, code=await party.code())).access_token


async def test_redirect_uri_must_match_when_sent(party: Party) -> None:
    code = await party.code()
    with pytest.raises(InvalidGrant, match="redirect_uri"):
        await redeem(party, code=code, redirect_uri=REDIRECT_URI + "/other")
    assert (await redeem(party, code=code, redirect_uri=REDIRECT_URI)).access_token


async def test_a_loopback_code_is_bound_to_the_port_it_was_sent_to(party: Party) -> None:
    sent_to = "http://127.0.0.1:53123/cb"
    code = await party.code(redirect_uri=sent_to)
    with pytest.raises(InvalidGrant, match="redirect_uri"):
        await redeem(party, code=code, redirect_uri=LOOPBACK_URI)
    assert (await redeem(party, code=code, redirect_uri=sent_to)).access_token


async def test_the_code_expires_after_code_ttl(party: Party) -> None:
    code = await party.code()
    party.clock.advance(party.state.settings.code_ttl)
    with pytest.raises(InvalidGrant, match="expired"):
        await redeem(party, code=code)


async def test_the_code_works_until_code_ttl(party: Party) -> None:
    code = await party.code()
    party.clock.advance(party.state.settings.code_ttl - 1)
    assert (await redeem(party, code=code)).access_token


async def test_a_code_works_once_and_a_replay_revokes_its_tokens(party: Party) -> None:
    code = await party.code()
    first = await redeem(party, code=code)
    with pytest.raises(InvalidGrant, match="already used"):
        await redeem(party, code=code)
    access = await party.access_record(first.access_token)
    refresh = await party.refresh_record(first.refresh_token)
    assert access is not None and access.revoked_at is not None
    assert refresh is not None and refresh.revoked_at is not None


async def test_a_replay_also_revokes_tokens_refreshed_since(party: Party) -> None:
    code = await party.code()
    first = await redeem(party, code=code)
    assert first.refresh_token is not None
    refreshed = await party.exchange("refresh_token", refresh_token=first.refresh_token)
    with pytest.raises(InvalidGrant, match="already used"):
        await redeem(party, code=code)
    access = await party.access_record(refreshed.access_token)
    refresh = await party.refresh_record(refreshed.refresh_token)
    assert access is not None and access.revoked_at is not None
    assert refresh is not None and refresh.revoked_at is not None


async def test_a_code_works_only_for_its_client(party: Party) -> None:
    code = await party.code()
    with pytest.raises(InvalidGrant, match="another client"):
        await redeem(party, party.other, code=code)
    # The failed attempt did not use it up.
    assert (await redeem(party, code=code)).access_token


async def test_unknown_code(party: Party) -> None:
    with pytest.raises(InvalidGrant):
        await redeem(party, code="not-a-code")


async def test_missing_code_is_invalid_request(party: Party) -> None:
    with pytest.raises(InvalidRequest, match="code"):
        await redeem(party)


async def test_pkce_verifier_answers_the_challenge(party: Party) -> None:
    verifier, challenge = pkce_pair()
    code = await party.code(challenge=challenge)
    assert (await redeem(party, code=code, code_verifier=verifier)).access_token


async def test_pkce_wrong_verifier(party: Party) -> None:
    _, challenge = pkce_pair()
    other_verifier, _ = pkce_pair()
    code = await party.code(challenge=challenge)
    with pytest.raises(InvalidGrant, match="does not match"):
        await redeem(party, code=code, code_verifier=other_verifier)


async def test_pkce_missing_verifier(party: Party) -> None:
    _, challenge = pkce_pair()
    code = await party.code(challenge=challenge)
    with pytest.raises(InvalidGrant, match="required"):
        await redeem(party, code=code)


async def test_pkce_malformed_verifier(party: Party) -> None:
    verifier, challenge = pkce_pair()
    code = await party.code(challenge=challenge)
    with pytest.raises(InvalidGrant, match="malformed"):
        await redeem(party, code=code, code_verifier=verifier + " ")


async def test_a_verifier_without_a_challenge(party: Party) -> None:
    verifier, _ = pkce_pair()
    code = await party.code()
    with pytest.raises(InvalidGrant, match="no PKCE"):
        await redeem(party, code=code, code_verifier=verifier)


async def test_public_client_with_pkce(party: Party) -> None:
    verifier, challenge = pkce_pair()
    code = await party.code(client_id=party.public, redirect_uri=NATIVE_URI, challenge=challenge)
    issued = await redeem(party, party.public, code=code, code_verifier=verifier)
    assert issued.refresh_token is not None and issued.refresh_token.startswith("wtpr_")


async def test_public_client_must_send_the_verifier(party: Party) -> None:
    _, challenge = pkce_pair()
    code = await party.code(client_id=party.public, redirect_uri=NATIVE_URI, challenge=challenge)
    with pytest.raises(InvalidGrant, match="PKCE"):
        await redeem(party, party.public, code=code)
