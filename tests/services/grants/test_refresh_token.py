"""oauth/grants/refresh_token/ on real storage: RFC 6749 §6 with rotation."""

from __future__ import annotations

import pytest

from tests.services.conftest import Party
from wtp_oauth.errors import InvalidGrant, InvalidRequest, InvalidScope
from wtp_oauth.oauth.tokens import TokenResponse


async def first_pair(party: Party, scope: str = "user.read user.email") -> TokenResponse:
    return await party.exchange("authorization_code", code=await party.code(scope))


async def refresh(
    party: Party, client_id: str | None = None, **params: str | None
) -> TokenResponse:
    sent = {name: value for name, value in params.items() if value is not None}
    return await party.exchange("refresh_token", client_id, **sent)


async def test_rotation_returns_a_new_pair_and_retires_the_old_token(party: Party) -> None:
    first = await first_pair(party)
    party.clock.advance(60)
    second = await refresh(party, refresh_token=first.refresh_token)
    assert second.access_token != first.access_token
    assert second.refresh_token != first.refresh_token
    assert second.access_token.startswith("wtpa_") and second.refresh_token.startswith("wtpr_")
    assert second.scope == "user.read user.email"
    assert second.expires_in == 3600

    old = await party.refresh_record(first.refresh_token)
    new = await party.refresh_record(second.refresh_token)
    assert old is not None and old.rotated_at == party.now() and not old.is_active(party.now())
    assert new is not None and new.is_active(party.now()) and new.family_id == old.family_id
    access = await party.access_record(second.access_token)
    assert access is not None and access.is_active(party.now())
    # The earlier access token lives on until it expires.
    earlier = await party.access_record(first.access_token)
    assert earlier is not None and earlier.is_active(party.now())


async def test_the_refresh_token_may_come_in_code(party: Party) -> None:
    # The developer guide sends the refresh token as `code`.
    first = await first_pair(party)
    assert (await refresh(party, code=first.refresh_token)).refresh_token


async def test_refresh_token_and_code_must_agree(party: Party) -> None:
    first = await first_pair(party)
    with pytest.raises(InvalidRequest):
        await refresh(party, refresh_token=first.refresh_token, code="something-else")
    # Both the same is fine.
    assert await refresh(party, refresh_token=first.refresh_token, code=first.refresh_token)


async def test_missing_refresh_token(party: Party) -> None:
    with pytest.raises(InvalidRequest, match="refresh_token"):
        await refresh(party)


async def test_a_retired_token_is_refused_and_revokes_the_family(party: Party) -> None:
    first = await first_pair(party)
    second = await refresh(party, refresh_token=first.refresh_token)
    with pytest.raises(InvalidGrant, match="already used"):
        await refresh(party, refresh_token=first.refresh_token)
    for token in (first.access_token, second.access_token):
        record = await party.access_record(token)
        assert record is not None and record.revoked_at is not None
    newest = await party.refresh_record(second.refresh_token)
    assert newest is not None and newest.revoked_at is not None
    with pytest.raises(InvalidGrant, match="revoked"):
        await refresh(party, refresh_token=second.refresh_token)


async def test_scope_narrows_the_new_access_token_only(party: Party) -> None:
    first = await first_pair(party)
    narrowed = await refresh(party, refresh_token=first.refresh_token, scope="user.read")
    assert narrowed.scope == "user.read"
    access = await party.access_record(narrowed.access_token)
    assert access is not None and access.scope == "user.read"
    # RFC 6749 §6: the new refresh token keeps the grant's scope.
    kept = await party.refresh_record(narrowed.refresh_token)
    assert kept is not None and kept.scope == "user.read user.email"
    again = await refresh(party, refresh_token=narrowed.refresh_token)
    assert again.scope == "user.read user.email"


@pytest.mark.parametrize("scope", ["user.read+user.email", "user.email,user.read"])
async def test_scope_in_another_dialect(party: Party, scope: str) -> None:
    first = await first_pair(party)
    assert (await refresh(party, refresh_token=first.refresh_token, scope=scope)).scope == (
        "user.read user.email"
    )


async def test_scope_never_widens_and_the_token_stays_usable(party: Party) -> None:
    first = await first_pair(party, "user.read")
    with pytest.raises(InvalidScope, match="exceeds"):
        await refresh(party, refresh_token=first.refresh_token, scope="user.read user.write")
    record = await party.refresh_record(first.refresh_token)
    assert record is not None and record.is_active(party.now())
    assert (await refresh(party, refresh_token=first.refresh_token)).scope == "user.read"


async def test_unknown_scope(party: Party) -> None:
    first = await first_pair(party)
    with pytest.raises(InvalidScope):
        await refresh(party, refresh_token=first.refresh_token, scope="admin")


async def test_refresh_token_expires(party: Party) -> None:
    first = await first_pair(party)
    party.clock.advance(party.state.settings.refresh_token_ttl)
    with pytest.raises(InvalidGrant, match="expired"):
        await refresh(party, refresh_token=first.refresh_token)


async def test_refresh_token_works_until_it_expires(party: Party) -> None:
    first = await first_pair(party)
    party.clock.advance(party.state.settings.refresh_token_ttl - 1)
    assert (await refresh(party, refresh_token=first.refresh_token)).access_token


async def test_another_clients_refresh_token(party: Party) -> None:
    first = await first_pair(party)
    with pytest.raises(InvalidGrant, match="another client"):
        await refresh(party, party.other, refresh_token=first.refresh_token)
    assert (await refresh(party, refresh_token=first.refresh_token)).access_token


async def test_an_access_token_is_not_a_refresh_token(party: Party) -> None:
    first = await first_pair(party)
    with pytest.raises(InvalidGrant):
        await refresh(party, refresh_token=first.access_token)


async def test_a_revoked_family_cannot_refresh(party: Party) -> None:
    first = await first_pair(party)
    record = await party.refresh_record(first.refresh_token)
    assert record is not None
    await party.env.store.revoke_family(record.family_id, party.now())
    with pytest.raises(InvalidGrant, match="revoked"):
        await refresh(party, refresh_token=first.refresh_token)
