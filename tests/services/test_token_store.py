"""The storage's guarded calls on both databases: a grant's work is done by one call that
changes nothing unless the client's authentication holds, and answers with the client's
record (judged by ``oauth.clients.judge``) and the row it looked at (docs/performance.md).

Each test drives ``redeem_code``, ``rotate_refresh_token``, ``introspect_token`` or
``revoke_token`` with a ``ClientCheck`` that should fail in one way, checks that the call
changed nothing, then that the right check works on the same code or token.

The authorization endpoint's calls follow: ``authorize_context`` reads the session, the client
and the consent together, each only if it is there, and on PostgreSQL stores the prepared code
in the same statement only when a remembered consent covers it; ``add_code`` and
``add_pending_request`` store nothing for an application, user or session deleted since.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import asyncpg
import pytest
from sqlalchemy import update

from tests.helpers import REDIRECT_URI, pkce_pair
from tests.services.conftest import LOOPBACK_URI, NATIVE_URI, Party
from wtp_oauth.models import Application, AuthorizationCode
from wtp_oauth.oauth.clients import THROTTLE_WINDOW, ClientCheck, holds
from wtp_oauth.oauth.grants.authorization_code.storage import CodeRedemption, PreparedCode
from wtp_oauth.oauth.records import AuthorizeContext, Issued, NewCode, NewTokens, PendingRequest
from wtp_oauth.oauth.tokens import TokenResponse
from wtp_oauth.repositories.applications import ApplicationRepository
from wtp_oauth.repositories.consents import ConsentRepository
from wtp_oauth.security.pkce import s256
from wtp_oauth.security.tokens import digest, new_id, new_secret
from wtp_oauth.storage.postgres.store import PostgresStore, asyncpg_dsn


def check(
    party: Party, client_id: str, secret: str | None, grant: str | None = None
) -> ClientCheck:
    found = party.check(client_id, secret)
    return found if grant is None else found.for_grant(grant)


def right(party: Party, client_id: str | None = None, grant: str | None = None) -> ClientCheck:
    client_id = client_id or party.confidential
    return check(party, client_id, party.secrets[client_id], grant)


def tokens(party: Party) -> NewTokens:
    now = party.now()
    return NewTokens(
        access_digest=digest(new_secret("wtpa_")),
        refresh_digest=digest(new_secret("wtpr_")),
        issued_at=now,
        access_expires_at=now + timedelta(hours=1),
        refresh_expires_at=now + timedelta(days=30),
    )


async def redemption(
    party: Party, client: ClientCheck, code: str, challenge: str | None = None
) -> CodeRedemption | None:
    checked = await party.env.store.redeem_code(
        client=client,
        code_digest=digest(code),
        redirect_uri=None,
        code_challenge=challenge,
        tokens=tokens(party),
    )
    return checked.result


async def redeem(
    party: Party, client: ClientCheck, code: str, challenge: str | None = None
) -> Issued | None:
    found = await redemption(party, client, code, challenge)
    return None if found is None else found.issued


async def code_row(party: Party, code_digest: str) -> AuthorizationCode | None:
    async with party.state.session_factory() as db:
        return await db.get(AuthorizationCode, code_digest)


async def pair(party: Party) -> TokenResponse:
    return await party.exchange("authorization_code", code=await party.code())


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
    assert not holds(check(party, party.confidential, "wtps_wrong"), checked.client)
    assert checked.result is None or checked.result.issued is None
    record = await code_row(party, digest(code))
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
    assert checked.client is None and checked.result is None


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
        await party.env.store.record_client_failure(right(party), party.now())
    checked = await party.env.store.redeem_code(
        client=right(party),
        code_digest=digest(code),
        redirect_uri=None,
        code_challenge=None,
        tokens=tokens(party),
    )
    assert checked.client is not None and checked.client.recent_failures == limit
    assert not holds(right(party), checked.client)
    assert checked.result is None or checked.result.issued is None
    record = await code_row(party, digest(code))
    assert record is not None and record.consumed_at is None
    # Failures are counted per source address: elsewhere the client is served.
    elsewhere = replace(right(party), address="203.0.113.9")
    assert await redeem(party, elsewhere, await party.code()) is not None
    # Once the window has passed, the client is served again.
    party.clock.advance(THROTTLE_WINDOW.total_seconds() + 1)
    assert await redeem(party, right(party), await party.code()) is not None


async def test_failures_are_counted_up_to_the_limit_asked(party: Party) -> None:
    for _ in range(5):
        await party.env.store.record_client_failure(right(party), party.now())
    store = party.env.store
    capped = await store.find_client(replace(right(party), failure_limit=3))
    full = await store.find_client(replace(right(party), failure_limit=100))
    assert capped is not None and capped.recent_failures == 3
    assert full is not None and full.recent_failures == 5
    assert full.grant_types == frozenset({"authorization_code", "refresh_token"})


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
    assert issued.refresh_token is not None
    store = party.env.store
    wrong = check(party, party.confidential, "wtps_wrong")
    refused = await store.rotate_refresh_token(
        client=wrong,
        token_digest=digest(issued.refresh_token),
        access_scope=None,
        tokens=tokens(party),
    )
    assert not holds(wrong, refused.client)
    assert refused.result is None or refused.result.issued is None
    record = await party.refresh_record(issued.refresh_token)
    assert record is not None and record.is_active(party.now())
    rotated = await store.rotate_refresh_token(
        client=right(party, grant="refresh_token"),
        token_digest=digest(issued.refresh_token),
        access_scope=None,
        tokens=tokens(party),
    )
    assert rotated.result is not None and rotated.result.issued is not None
    # The row it looked at, as it was before the rotation.
    assert rotated.result.token is not None and rotated.result.token.rotated_at is None


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
        assert token is not None
        checked = await store.introspect_token(
            client=client, token_digest=digest(token), refresh=refresh
        )
        assert (checked.result is not None) == found
        if found:
            assert checked.result is not None and checked.result.client_id == party.confidential


async def test_revocation_leaves_other_clients_tokens_alone(party: Party) -> None:
    issued = await pair(party)
    store = party.env.store
    assert issued.refresh_token is not None
    for client in (right(party, party.other), check(party, party.confidential, "wtps_wrong")):
        await store.revoke_token(
            client=client, token_digest=digest(issued.refresh_token), refresh=True, now=party.now()
        )
    record = await party.refresh_record(issued.refresh_token)
    assert record is not None and record.revoked_at is None
    revoked = await store.revoke_token(
        client=right(party),
        token_digest=digest(issued.refresh_token),
        refresh=True,
        now=party.now(),
    )
    assert holds(right(party), revoked.client)
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
    refresh = await party.refresh_record(issued.refresh_token)
    assert access is not None and access.revoked_at is not None
    assert refresh is not None and refresh.revoked_at is None


# --- the authorization endpoint's reads and writes ------------------------------------------


async def context(
    party: Party, session_digest: str | None = "", client_id: str | None = ""
) -> AuthorizeContext:
    """``authorize_context`` for the party's session and confidential client unless told."""
    async with party.env.store.authorizing() as unit:
        return await unit.authorize_context(
            session_digest=party.session.token_digest if session_digest == "" else session_digest,
            client_id=party.confidential if client_id == "" else client_id,
            now=party.now(),
        )


async def add_code(party: Party, code: NewCode) -> bool:
    async with party.env.store.authorizing() as unit:
        return await unit.add_code(code)


async def add_pending_request(party: Party, request: PendingRequest) -> bool:
    async with party.env.store.authorizing() as unit:
        return await unit.add_pending_request(request)


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
    assert await add_code(party, code)
    record = await code_row(party, code.code_digest)
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
    assert checked.result is not None and checked.result.issued is not None
    issued = checked.result.issued
    assert (issued.user_id, issued.scope) == (party.user.id, code.scope)


async def test_no_code_is_stored_for_an_application_or_user_that_is_gone(party: Party) -> None:
    for code in (new_code(party, client_id="no-such-client"), new_code(party, user_id="nobody")):
        assert not await add_code(party, code)
        assert await code_row(party, code.code_digest) is None


async def test_a_pending_request_is_taken_by_the_consent_form(party: Party) -> None:
    request = pending(party)
    assert await add_pending_request(party, request)
    async with party.state.session_factory.begin() as db:
        taken = await ConsentRepository(db).take_request(
            request.id_digest, party.session.token_digest, party.now()
        )
    assert taken is not None
    assert (taken.client_id, taken.scope, taken.state) == (party.confidential, "user.read", "xyz")


async def test_no_pending_request_is_stored_for_a_session_that_is_gone(party: Party) -> None:
    request = pending(party, session_digest=digest("wtpsess_signed_out"))
    assert not await add_pending_request(party, request)


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
    assert await code_row(party, code.code_digest) is not None


async def test_the_authorize_link_waits_for_the_pool_once(party: Party) -> None:
    # With a single write connection, a lookup and an INSERT that each asked the pool would
    # wait for each other forever; held for the request, the connection serves both.
    if not party.state.settings.is_postgres:
        pytest.skip("SQLite has no pool of driver connections")
    store = await PostgresStore.connect(party.state.settings.database_url, reads=1, writes=1)
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


# --- the prepared code: stored with the lookup, on PostgreSQL ------------------------------


def prepared(
    party: Party,
    *,
    redirect_uri: str = REDIRECT_URI,
    scope: str = "user.read",
    challenge: str | None = None,
) -> PreparedCode:
    now = party.now()
    return PreparedCode(
        code_digest=digest(new_secret()),
        redirect_uri=redirect_uri,
        scope=scope,
        code_challenge=challenge,
        family_id=new_id(),
        created_at=now,
        expires_at=now + timedelta(minutes=5),
    )


def issued_from(party: Party, code: PreparedCode, client_id: str | None = None) -> NewCode:
    """The code the service issues from ``code``: the same digest, its client and user."""
    return NewCode(
        code_digest=code.code_digest,
        client_id=client_id or party.confidential,
        user_id=party.user.id,
        redirect_uri=code.redirect_uri,
        scope=code.scope,
        code_challenge=code.code_challenge,
        family_id=code.family_id,
        created_at=code.created_at,
        expires_at=code.expires_at,
    )


async def offer(
    party: Party,
    code: PreparedCode,
    session_digest: str | None = "",
    client_id: str | None = "",
    *,
    issue: bool = False,
) -> tuple[AuthorizeContext, bool]:
    """``context(...)``, offering ``code`` to the store: what it read, and whether the code
    was in the database before the request's block ended (``issue``: the code is then added,
    as the service adds the code it issues)."""
    async with party.env.store.authorizing() as unit:
        found = await unit.authorize_context(
            session_digest=party.session.token_digest if session_digest == "" else session_digest,
            client_id=party.confidential if client_id == "" else client_id,
            now=party.now(),
            prepared=code,
        )
        stored = await code_row(party, code.code_digest) is not None
        if issue:
            target = party.confidential if client_id == "" else client_id
            assert await unit.add_code(issued_from(party, code, target))
    return found, stored


async def test_a_covered_prepared_code_is_stored_with_the_lookup(party: Party) -> None:
    await party.code("user.read user.email")
    code = prepared(party, scope="user.read")
    found, stored = await offer(party, code, issue=True)
    # The lookup is the same as without the offer.
    assert found == await context(party)
    # SQLite declines: an in-process second statement costs no round trip.
    assert stored is party.state.settings.is_postgres
    # Added by the service, the code is there once, whichever store wrote it.
    record = await code_row(party, code.code_digest)
    assert record is not None
    assert (record.client_id, record.redirect_uri, record.code_challenge, record.family_id) == (
        party.confidential,
        REDIRECT_URI,
        None,
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
    assert checked.result is not None and checked.result.issued is not None
    # Issued to the session's user, with the scope asked for.
    issued = checked.result.issued
    assert (issued.user_id, issued.scope) == (party.user.id, "user.read")


async def test_a_prepared_code_never_issued_is_gone_when_the_request_ends(party: Party) -> None:
    await party.code("user.read")
    code = prepared(party)
    _, stored = await offer(party, code)
    assert stored is party.state.settings.is_postgres
    assert await code_row(party, code.code_digest) is None


async def test_a_prepared_code_is_stored_only_under_a_remembered_consent(party: Party) -> None:
    if not party.state.settings.is_postgres:
        pytest.skip("SQLite declines every prepared code")
    await party.code("user.read")
    _, challenge = pkce_pair()
    await party.code(client_id=party.public, redirect_uri=NATIVE_URI, challenge=challenge)
    refused = {
        "scope beyond the consent": (prepared(party, scope="user.read user.email"), {}),
        "no consent to this client": (prepared(party), {"client_id": party.other}),
        "unregistered redirect URI": (prepared(party, redirect_uri="https://evil.test/cb"), {}),
        # Loopback ports are matched by the service (RFC 8252 §7.3); the store matches exactly.
        "loopback with a port": (prepared(party, redirect_uri="http://127.0.0.1:5173/cb"), {}),
        "redirect URI with a suffix": (prepared(party, redirect_uri=REDIRECT_URI + "x"), {}),
        "no session": (prepared(party), {"session_digest": None}),
        "unknown session": (prepared(party), {"session_digest": digest("wtpsess_x")}),
        "unknown client": (prepared(party), {"client_id": "no-such-client"}),
        "no client": (prepared(party), {"client_id": None}),
        "public client without PKCE": (
            prepared(party, redirect_uri=NATIVE_URI),
            {"client_id": party.public},
        ),
        # SPEC §17: a public client on a private-use (or loopback) URI always gets the page.
        "public client on a private-use URI": (
            prepared(party, redirect_uri=NATIVE_URI, challenge=challenge),
            {"client_id": party.public},
        ),
    }
    for case, (code, where) in refused.items():
        _, stored = await offer(party, code, **where)
        assert not stored, case
    party.clock.now = party.session.expires_at
    _, stored = await offer(party, prepared(party))
    assert not stored, "expired session"
    party.clock.now = party.session.expires_at - timedelta(minutes=10)
    # The same offers where the consent does cover them.
    for code in (prepared(party), prepared(party, redirect_uri=LOOPBACK_URI)):
        _, stored = await offer(party, code)
        assert stored, code


async def test_an_application_deleted_as_its_code_goes_in_leaves_no_code(party: Party) -> None:
    # The statement reads the application, then its INSERT's foreign key check waits for the
    # transaction deleting it; once that commits, the check fails, and the store reads again.
    if not party.state.settings.is_postgres:
        pytest.skip("SQLite declines the prepared code")
    await party.code()
    code = prepared(party)
    deleting = await asyncpg.connect(asyncpg_dsn(party.state.settings.database_url))
    try:
        transaction = deleting.transaction()
        await transaction.start()
        await deleting.execute("DELETE FROM applications WHERE client_id = $1", party.confidential)
        lookup = asyncio.ensure_future(offer(party, code))
        await asyncio.sleep(0.3)
        assert not lookup.done()  # waiting on the deleting transaction's lock
        await transaction.commit()
        found, stored = await asyncio.wait_for(lookup, timeout=5)
    finally:
        await deleting.close()
    assert not stored
    assert found.application is None and found.session is not None
    assert await code_row(party, code.code_digest) is None


# --- grant types (SPEC §11) -------------------------------------------------------------------


async def test_a_grant_the_client_did_not_enable_changes_nothing(party: Party) -> None:
    async with party.state.session_factory.begin() as db:
        await db.exec(
            update(Application)  # type: ignore[call-overload]
            .where(Application.client_id == party.confidential)
            .values(grant_types=["refresh_token"])
        )
    code = await party.code()
    assert await redeem(party, right(party, grant="authorization_code"), code) is None
    record = await code_row(party, digest(code))
    assert record is not None and record.consumed_at is None


async def test_no_refresh_token_for_a_client_without_the_refresh_grant(party: Party) -> None:
    async with party.state.session_factory.begin() as db:
        await db.exec(
            update(Application)  # type: ignore[call-overload]
            .where(Application.client_id == party.confidential)
            .values(grant_types=["authorization_code"])
        )
    issued = await redeem(party, right(party, grant="authorization_code"), await party.code())
    assert issued is not None and not issued.refresh_issued
    response = await party.exchange("authorization_code", code=await party.code())
    assert response.refresh_token is None and "refresh_token" not in response.as_dict()
