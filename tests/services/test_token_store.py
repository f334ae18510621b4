"""The token store's one-statement calls on both databases: the client is authenticated by the
statement that does the work, and nothing changes unless it is (docs/performance.md).

Each test drives ``redeem_code``, ``rotate_refresh_token``, ``introspect_token`` or
``revoke_token`` with a ``ClientCheck`` that should fail in one way, checks that the call
changed nothing, then that the right check works on the same code or token.
"""

from __future__ import annotations

from datetime import timedelta

from tests.helpers import pkce_pair
from tests.services.conftest import NATIVE_URI, Party
from wtp_oauth.repositories.token_store import ClientCheck, Grant, NewTokens
from wtp_oauth.security.pkce import s256
from wtp_oauth.security.tokens import digest, new_secret
from wtp_oauth.services.client_auth import THROTTLE_WINDOW
from wtp_oauth.services.grants import TokenResponse
from wtp_oauth.services.grants.authorization_code import AuthorizationCodeGrant


def check(party: Party, client_id: str, secret: str | None) -> ClientCheck:
    return ClientCheck(
        client_id=client_id,
        secret_digest=None if secret is None else digest(secret),
        failures_since=party.now() - THROTTLE_WINDOW,
        failure_limit=party.state.settings.login_failure_limit,
    )


def right(party: Party, client_id: str | None = None) -> ClientCheck:
    client_id = client_id or party.confidential
    return check(party, client_id, party.secrets[client_id])


def tokens(party: Party) -> NewTokens:
    now = party.now()
    return NewTokens(
        access_digest=digest(new_secret("wtpa_")),
        refresh_digest=digest(new_secret("wtpr_")),
        issued_at=now,
        access_expires_at=now + timedelta(hours=1),
        refresh_expires_at=now + timedelta(days=30),
    )


async def redeem(
    party: Party, client: ClientCheck, code: str, challenge: str | None = None
) -> Grant | None:
    checked = await party.env.store.redeem_code(
        client=client,
        code_digest=digest(code),
        redirect_uri=None,
        code_challenge=challenge,
        tokens=tokens(party),
    )
    return checked.result


async def pair(party: Party) -> TokenResponse:
    client = await party.client(party.confidential)
    return await AuthorizationCodeGrant().issue({"code": await party.code()}, client, party.env)


async def test_a_wrong_secret_consumes_nothing(party: Party) -> None:
    code = await party.code()
    checked = await party.env.store.redeem_code(
        client=check(party, party.confidential, "wtps_wrong"),
        code_digest=digest(code),
        redirect_uri=None,
        code_challenge=None,
        tokens=tokens(party),
    )
    assert checked.client is not None and checked.client.client_id == party.confidential
    assert not checked.authenticated and checked.result is None
    record = await party.env.store.find_code(digest(code))
    assert record is not None and record.consumed_at is None
    assert await redeem(party, right(party), code) is not None


async def test_an_unknown_client_is_reported_as_none(party: Party) -> None:
    checked = await party.env.store.redeem_code(
        client=check(party, "no-such-client", "wtps_x"),
        code_digest=digest(await party.code()),
        redirect_uri=None,
        code_challenge=None,
        tokens=tokens(party),
    )
    assert checked.client is None and not checked.authenticated and checked.result is None


async def test_another_clients_secret_does_not_redeem_its_code(party: Party) -> None:
    code = await party.code()
    other = check(party, party.confidential, party.secrets[party.other])
    assert await redeem(party, other, code) is None
    # The other client, with its own secret, cannot redeem this client's code either.
    assert await redeem(party, right(party, party.other), code) is None
    assert await redeem(party, right(party), code) is not None


async def test_a_throttled_client_is_refused_even_with_its_secret(party: Party) -> None:
    code = await party.code()
    limit = party.state.settings.login_failure_limit
    for _ in range(limit):
        await party.env.store.record_client_failure(party.confidential, party.now())
    checked = await party.env.store.redeem_code(
        client=right(party),
        code_digest=digest(code),
        redirect_uri=None,
        code_challenge=None,
        tokens=tokens(party),
    )
    assert checked.client is not None and checked.client.recent_failures == limit
    assert not checked.authenticated and checked.result is None
    record = await party.env.store.find_code(digest(code))
    assert record is not None and record.consumed_at is None
    # Once the window has passed, the client is served again.
    party.clock.advance(THROTTLE_WINDOW.total_seconds() + 1)
    assert await redeem(party, right(party), await party.code()) is not None


async def test_failures_are_counted_up_to_the_limit_asked(party: Party) -> None:
    for _ in range(5):
        await party.env.store.record_client_failure(party.confidential, party.now())
    since = party.now() - THROTTLE_WINDOW
    store = party.env.store
    capped = await store.get_client(party.confidential, failures_since=since, failure_limit=3)
    full = await store.get_client(party.confidential, failures_since=since)
    assert capped is not None and capped.recent_failures == 3
    assert full is not None and full.recent_failures == 5


async def test_a_public_client_is_refused_with_a_secret_and_needs_pkce(party: Party) -> None:
    verifier, challenge = pkce_pair()
    code = await party.code(client_id=party.public, redirect_uri=NATIVE_URI, challenge=challenge)
    with_secret = check(party, party.public, "wtps_anything")
    assert await redeem(party, with_secret, code, s256(verifier)) is None
    public = check(party, party.public, None)
    # A public client's code is never consumed without a challenge.
    assert await redeem(party, public, code) is None
    assert await redeem(party, public, code, s256(verifier)) is not None


async def test_a_wrong_secret_does_not_rotate_a_refresh_token(party: Party) -> None:
    issued = await pair(party)
    store = party.env.store
    refused = await store.rotate_refresh_token(
        client=check(party, party.confidential, "wtps_wrong"),
        token_digest=digest(issued.refresh_token),
        access_scope=None,
        tokens=tokens(party),
    )
    assert not refused.authenticated and refused.result is None
    record = await store.find_refresh_token(digest(issued.refresh_token))
    assert record is not None and record.is_active(party.now())
    rotated = await store.rotate_refresh_token(
        client=right(party),
        token_digest=digest(issued.refresh_token),
        access_scope=None,
        tokens=tokens(party),
    )
    assert rotated.authenticated and rotated.result is not None


async def test_introspection_finds_only_the_authenticated_clients_own_tokens(
    party: Party,
) -> None:
    issued = await pair(party)
    store = party.env.store
    for client, refresh, found in (
        (right(party), False, True),
        (right(party), True, True),
        (right(party, party.other), False, False),
        (check(party, party.confidential, "wtps_wrong"), False, False),
    ):
        token = issued.refresh_token if refresh else issued.access_token
        checked = await store.introspect_token(
            client=client, token_digest=digest(token), refresh=refresh
        )
        assert (checked.result is not None) == found
        if found:
            assert checked.result is not None and checked.result.client_id == party.confidential


async def test_revocation_leaves_other_clients_tokens_alone(party: Party) -> None:
    issued = await pair(party)
    store = party.env.store
    for client in (right(party, party.other), check(party, party.confidential, "wtps_wrong")):
        await store.revoke_token(
            client=client, token_digest=digest(issued.refresh_token), refresh=True, now=party.now()
        )
    record = await store.find_refresh_token(digest(issued.refresh_token))
    assert record is not None and record.revoked_at is None
    revoked = await store.revoke_token(
        client=right(party),
        token_digest=digest(issued.refresh_token),
        refresh=True,
        now=party.now(),
    )
    assert revoked.authenticated
    # Revoking a refresh token ends its family: the access token goes with it.
    access = await store.find_access_token(digest(issued.access_token))
    assert access is not None and access.revoked_at == party.now()


async def test_revoking_an_access_token_revokes_that_token_only(party: Party) -> None:
    issued = await pair(party)
    store = party.env.store
    await store.revoke_token(
        client=right(party),
        token_digest=digest(issued.access_token),
        refresh=False,
        now=party.now(),
    )
    access = await store.find_access_token(digest(issued.access_token))
    refresh = await store.find_refresh_token(digest(issued.refresh_token))
    assert access is not None and access.revoked_at is not None
    assert refresh is not None and refresh.revoked_at is None
