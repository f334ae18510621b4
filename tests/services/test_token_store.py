"""The token store's one-statement calls on both databases: the client is authenticated by the
statement that does the work, and nothing changes unless it is (docs/performance.md).

Each test drives ``redeem_code``, ``rotate_refresh_token``, ``introspect_token`` or
``revoke_token`` with a ``ClientCheck`` that should fail in one way, checks that the call
changed nothing, then that the right check works on the same code or token.

The authorization endpoint's calls follow: ``authorize_context`` reads the session, the client
and the consent together, each only if it is there, and on PostgreSQL stores a prospective
code in the same statement only when a remembered consent covers it; ``add_code`` and
``add_pending_request`` store nothing for an application, user or session deleted since.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import pytest

from tests.helpers import REDIRECT_URI, pkce_pair
from tests.services.conftest import LOOPBACK_URI, NATIVE_URI, Party
from wtp_oauth.repositories.applications import ApplicationRepository
from wtp_oauth.repositories.grants import GrantRepository
from wtp_oauth.repositories.token_store import (
    AuthorizeContext,
    ClientCheck,
    Grant,
    NewCode,
    NewTokens,
    PendingRequest,
    ProspectiveCode,
)
from wtp_oauth.repositories.token_store.postgres import PostgresTokenStore, asyncpg_dsn
from wtp_oauth.security.pkce import s256
from wtp_oauth.security.tokens import digest, new_id, new_secret
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


# --- the authorization endpoint's reads and writes ------------------------------------------


async def context(
    party: Party, session_digest: str | None = "", client_id: str | None = ""
) -> AuthorizeContext:
    """``authorize_context`` for the party's session and confidential client unless told."""
    return await party.env.store.authorize_context(
        session_digest=party.session.token_digest if session_digest == "" else session_digest,
        client_id=party.confidential if client_id == "" else client_id,
        now=party.now(),
    )


def new_code(party: Party, client_id: str | None = None, user_id: str | None = None) -> NewCode:
    now = party.now()
    return NewCode(
        code_digest=digest(new_secret()),
        client_id=client_id or party.confidential,
        user_id=user_id or party.user.id,
        redirect_uri=REDIRECT_URI,
        scope="user.read user.email",
        code_challenge=None,
        family_id=new_id(),
        created_at=now,
        expires_at=now + timedelta(minutes=5),
    )


def pending(party: Party, session_digest: str | None = None) -> PendingRequest:
    now = party.now()
    return PendingRequest(
        id_digest=digest(new_secret()),
        session_digest=session_digest or party.session.token_digest,
        client_id=party.confidential,
        redirect_uri=REDIRECT_URI,
        scope="user.read",
        state="xyz",
        code_challenge=None,
        created_at=now,
        expires_at=now + timedelta(minutes=30),
    )


async def test_the_authorize_context_holds_session_application_and_consent(party: Party) -> None:
    found = await context(party)
    assert found.session is not None
    assert found.session.token_digest == party.session.token_digest
    assert found.session.user.id == party.user.id
    assert found.session.user.username == party.user.username
    assert found.application is not None
    assert found.application.client_id == party.confidential
    assert found.application.name == "Planner"
    assert found.application.client_type == "confidential" and not found.application.is_public
    assert found.application.redirect_uris == [REDIRECT_URI, LOOPBACK_URI]
    assert found.application.owner_username == party.user.username
    assert found.consent_scope is None
    await party.code("user.read user.email")
    assert (await context(party)).consent_scope == "user.read user.email"
    # The consent is the user's for this client only.
    assert (await context(party, client_id=party.other)).consent_scope is None
    public = await context(party, client_id=party.public)
    assert public.application is not None and public.application.is_public


async def test_the_authorize_context_finds_only_what_it_is_asked_for(party: Party) -> None:
    await party.code()
    anonymous = await context(party, session_digest=None)
    assert anonymous.session is None and anonymous.consent_scope is None
    assert anonymous.application is not None
    no_client = await context(party, client_id=None)
    assert no_client.session is not None
    assert no_client.application is None and no_client.consent_scope is None
    unknown = await context(party, session_digest=digest("wtpsess_x"), client_id="no-such-client")
    assert unknown == AuthorizeContext(session=None, application=None, consent_scope=None)


async def test_an_expired_session_is_not_in_the_authorize_context(party: Party) -> None:
    party.clock.now = party.session.expires_at - timedelta(seconds=1)
    assert (await context(party)).session is not None
    party.clock.now = party.session.expires_at
    expired = await context(party)
    assert expired.session is None and expired.application is not None


async def test_the_authorize_context_forgets_a_deleted_application(party: Party) -> None:
    await party.code()
    async with party.state.session_factory.begin() as db:
        await ApplicationRepository(db).remove(party.confidential)
    found = await context(party)
    assert found.application is None and found.consent_scope is None
    assert found.session is not None


async def test_a_stored_code_is_redeemed_by_its_client(party: Party) -> None:
    code = new_code(party)
    assert await party.env.store.add_code(code)
    record = await party.env.store.find_code(code.code_digest)
    assert record is not None
    assert (record.client_id, record.redirect_uri, record.family_id) == (
        party.confidential,
        REDIRECT_URI,
        code.family_id,
    )
    assert record.expires_at == code.expires_at and record.consumed_at is None
    checked = await party.env.store.redeem_code(
        client=right(party),
        code_digest=code.code_digest,
        redirect_uri=REDIRECT_URI,
        code_challenge=None,
        tokens=tokens(party),
    )
    assert checked.result is not None
    assert (checked.result.user_id, checked.result.scope) == (party.user.id, code.scope)


async def test_no_code_is_stored_for_an_application_or_user_that_is_gone(party: Party) -> None:
    store = party.env.store
    for code in (new_code(party, client_id="no-such-client"), new_code(party, user_id="nobody")):
        assert not await store.add_code(code)
        assert await store.find_code(code.code_digest) is None


async def test_a_pending_request_is_taken_by_the_consent_form(party: Party) -> None:
    request = pending(party)
    assert await party.env.store.add_pending_request(request)
    async with party.state.session_factory.begin() as db:
        taken = await GrantRepository(db).take_request(
            request.id_digest, party.session.token_digest, party.now()
        )
    assert taken is not None
    assert (taken.client_id, taken.scope, taken.state) == (party.confidential, "user.read", "xyz")


async def test_no_pending_request_is_stored_for_a_session_that_is_gone(party: Party) -> None:
    request = pending(party, session_digest=digest("wtpsess_signed_out"))
    assert not await party.env.store.add_pending_request(request)


async def test_the_authorize_link_reads_and_writes_through_one_unit(party: Party) -> None:
    code = new_code(party)
    async with party.env.store.authorizing() as unit:
        found = await unit.authorize_context(
            session_digest=party.session.token_digest,
            client_id=party.confidential,
            now=party.now(),
        )
        assert found.session is not None and found.application is not None
        assert await unit.add_code(code)
        assert not await unit.add_code(new_code(party, user_id="nobody"))
    assert await party.env.store.find_code(code.code_digest) is not None


async def test_the_authorize_link_waits_for_the_pool_once(party: Party) -> None:
    # With a single write connection, a lookup and an INSERT that each asked the pool would
    # wait for each other forever; held for the request, the connection serves both.
    if not party.state.settings.is_postgres:
        pytest.skip("SQLite has no pool of driver connections")
    store = await PostgresTokenStore.connect(party.state.settings.database_url, reads=1, writes=1)
    try:

        async def authorize_once() -> bool:
            async with store.authorizing() as unit:
                await unit.authorize_context(
                    session_digest=party.session.token_digest,
                    client_id=party.confidential,
                    now=party.now(),
                )
                return await unit.add_code(new_code(party))

        assert await asyncio.wait_for(authorize_once(), timeout=5)
        # The connection went back: a second request gets it.
        assert await asyncio.wait_for(authorize_once(), timeout=5)
    finally:
        await store.close()


# --- the prospective code: stored with the lookup, on PostgreSQL ----------------------------


def prospective(
    party: Party,
    *,
    redirect_uri: str = REDIRECT_URI,
    scope: str = "user.read",
    challenge: str | None = None,
) -> ProspectiveCode:
    now = party.now()
    return ProspectiveCode(
        code_digest=digest(new_secret()),
        redirect_uri=redirect_uri,
        scope=scope,
        code_challenge=challenge,
        family_id=new_id(),
        created_at=now,
        expires_at=now + timedelta(minutes=5),
    )


async def offer(
    party: Party,
    code: ProspectiveCode,
    session_digest: str | None = "",
    client_id: str | None = "",
) -> AuthorizeContext:
    """``context(...)``, offering ``code`` to the store."""
    return await party.env.store.authorize_context(
        session_digest=party.session.token_digest if session_digest == "" else session_digest,
        client_id=party.confidential if client_id == "" else client_id,
        now=party.now(),
        code=code,
    )


async def test_a_covered_prospective_code_is_stored_with_the_lookup(party: Party) -> None:
    await party.code("user.read user.email")
    code = prospective(party, scope="user.read")
    found = await offer(party, code)
    # The lookup is the same as without the offer.
    without = await context(party)
    assert (found.session, found.application, found.consent_scope) == (
        without.session,
        without.application,
        without.consent_scope,
    )
    store = party.env.store
    if not party.state.settings.is_postgres:
        # SQLite declines: an in-process second statement costs no round trip.
        assert not found.code_stored
        assert await store.find_code(code.code_digest) is None
        return
    assert found.code_stored
    record = await store.find_code(code.code_digest)
    assert record is not None
    assert (record.client_id, record.redirect_uri, record.code_challenge, record.family_id) == (
        party.confidential,
        REDIRECT_URI,
        None,
        code.family_id,
    )
    assert record.expires_at == code.expires_at and record.consumed_at is None
    checked = await store.redeem_code(
        client=right(party),
        code_digest=code.code_digest,
        redirect_uri=REDIRECT_URI,
        code_challenge=None,
        tokens=tokens(party),
    )
    assert checked.result is not None
    # Issued to the session's user, with the scope asked for.
    assert (checked.result.user_id, checked.result.scope) == (party.user.id, "user.read")


async def test_a_prospective_code_is_stored_only_under_a_remembered_consent(party: Party) -> None:
    await party.code("user.read")
    _, challenge = pkce_pair()
    await party.code(client_id=party.public, redirect_uri=NATIVE_URI, challenge=challenge)
    refused = {
        "scope beyond the consent": (prospective(party, scope="user.read user.email"), {}),
        "no consent to this client": (prospective(party), {"client_id": party.other}),
        "unregistered redirect URI": (prospective(party, redirect_uri="https://evil.test/cb"), {}),
        # Loopback ports are matched by the service (RFC 8252 §7.3); the store matches exactly.
        "loopback with a port": (prospective(party, redirect_uri="http://127.0.0.1:5173/cb"), {}),
        "redirect URI with a suffix": (prospective(party, redirect_uri=REDIRECT_URI + "x"), {}),
        "no session": (prospective(party), {"session_digest": None}),
        "unknown session": (prospective(party), {"session_digest": digest("wtpsess_x")}),
        "unknown client": (prospective(party), {"client_id": "no-such-client"}),
        "no client": (prospective(party), {"client_id": None}),
        "public client without PKCE": (
            prospective(party, redirect_uri=NATIVE_URI),
            {"client_id": party.public},
        ),
    }
    for case, (code, where) in refused.items():
        found = await offer(party, code, **where)
        assert not found.code_stored, case
        assert await party.env.store.find_code(code.code_digest) is None, case
    party.clock.now = party.session.expires_at
    code = prospective(party)
    assert not (await offer(party, code)).code_stored, "expired session"
    assert await party.env.store.find_code(code.code_digest) is None
    party.clock.now = party.session.expires_at - timedelta(minutes=10)
    # The same offers where the consent does cover them.
    for code, where in (
        (prospective(party), {}),
        (prospective(party, redirect_uri=LOOPBACK_URI), {}),
        (
            prospective(party, redirect_uri=NATIVE_URI, challenge=challenge),
            {"client_id": party.public},
        ),
    ):
        stored = (await offer(party, code, **where)).code_stored
        assert stored is party.state.settings.is_postgres, code


async def test_a_withdrawn_code_is_gone(party: Party) -> None:
    code = new_code(party)
    async with party.env.store.authorizing() as unit:
        assert await unit.add_code(code)
        await unit.withdraw_code(code.code_digest)
    assert await party.env.store.find_code(code.code_digest) is None


async def test_an_application_deleted_as_its_code_goes_in_leaves_no_code(party: Party) -> None:
    # The statement reads the application, then its INSERT's foreign key check waits for the
    # transaction deleting it; once that commits, the check fails, and the store reads again.
    if not party.state.settings.is_postgres:
        pytest.skip("SQLite declines the prospective code")
    await party.code()
    code = prospective(party)
    deleting = await asyncpg.connect(asyncpg_dsn(party.state.settings.database_url))
    try:
        transaction = deleting.transaction()
        await transaction.start()
        await deleting.execute("DELETE FROM applications WHERE client_id = $1", party.confidential)
        lookup = asyncio.ensure_future(offer(party, code))
        await asyncio.sleep(0.3)
        assert not lookup.done()  # waiting on the deleting transaction's lock
        await transaction.commit()
        found = await asyncio.wait_for(lookup, timeout=5)
    finally:
        await deleting.close()
    assert not found.code_stored
    assert found.application is None and found.session is not None
    assert await party.env.store.find_code(code.code_digest) is None
