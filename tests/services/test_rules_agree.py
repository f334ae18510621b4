"""The grants' rules and PostgreSQL's statements agree (ARCHITECTURE: policy written once).

On PostgreSQL, the code's redemption and the refresh token's rotation are single statements
whose conditions are the SQL twin of ``code_refusal`` and ``refresh_refusal`` (one round trip
per request); SQLite calls the rules themselves. For each way a code or token can be refused,
and for the one way it is not, the statement consumes it exactly when the rules allow, and
answers with the row it looked at, which the rules then explain without asking again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from tests.helpers import REDIRECT_URI, pkce_pair
from tests.services.conftest import NATIVE_URI, Party
from wtp_oauth.oauth.clients import judge
from wtp_oauth.oauth.grants.authorization_code.rules import code_refusal
from wtp_oauth.oauth.grants.refresh_token.rules import refresh_refusal
from wtp_oauth.oauth.records import NewTokens
from wtp_oauth.security.pkce import s256
from wtp_oauth.security.tokens import digest, new_secret


def _tokens(party: Party) -> NewTokens:
    now = party.now()
    return NewTokens(
        access_digest=digest(new_secret("wtpa_")),
        refresh_digest=digest(new_secret("wtpr_")),
        issued_at=now,
        access_expires_at=now + timedelta(hours=1),
        refresh_expires_at=now + timedelta(days=30),
    )


# Each case: the client that redeems, the code's making, and what is sent.
Case = Callable[[Party], Awaitable[tuple[str, str, str | None, str | None]]]


async def _plain(party: Party) -> tuple[str, str, str | None, str | None]:
    return party.confidential, await party.code(), None, None


async def _used(party: Party) -> tuple[str, str, str | None, str | None]:
    code = await party.code()
    await party.exchange("authorization_code", code=code)
    return party.confidential, code, None, None


async def _expired(party: Party) -> tuple[str, str, str | None, str | None]:
    code = await party.code()
    party.clock.advance(party.state.settings.code_ttl)
    return party.confidential, code, None, None


async def _other_redirect(party: Party) -> tuple[str, str, str | None, str | None]:
    return party.confidential, await party.code(), REDIRECT_URI + "/x", None


async def _other_client(party: Party) -> tuple[str, str, str | None, str | None]:
    return party.other, await party.code(), None, None


async def _unknown(party: Party) -> tuple[str, str, str | None, str | None]:
    return party.confidential, "no-such-code", None, None


async def _verifier_without_challenge(party: Party) -> tuple[str, str, str | None, str | None]:
    verifier, _ = pkce_pair()
    return party.confidential, await party.code(), None, s256(verifier)


async def _challenge_without_verifier(party: Party) -> tuple[str, str, str | None, str | None]:
    _, challenge = pkce_pair()
    return party.confidential, await party.code(challenge=challenge), None, None


async def _wrong_verifier(party: Party) -> tuple[str, str, str | None, str | None]:
    _, challenge = pkce_pair()
    other, _ = pkce_pair()
    return party.confidential, await party.code(challenge=challenge), None, s256(other)


async def _right_verifier(party: Party) -> tuple[str, str, str | None, str | None]:
    verifier, challenge = pkce_pair()
    return party.confidential, await party.code(challenge=challenge), None, s256(verifier)


async def _public_without_pkce(party: Party) -> tuple[str, str, str | None, str | None]:
    _, challenge = pkce_pair()
    code = await party.code(client_id=party.public, redirect_uri=NATIVE_URI, challenge=challenge)
    return party.public, code, None, None


CASES: dict[str, tuple[Case, bool]] = {
    "a fresh code": (_plain, True),
    "a used code": (_used, False),
    "an expired code": (_expired, False),
    "another redirect_uri": (_other_redirect, False),
    "another client": (_other_client, False),
    "no such code": (_unknown, False),
    "a verifier without a challenge": (_verifier_without_challenge, False),
    "a challenge without a verifier": (_challenge_without_verifier, False),
    "a wrong verifier": (_wrong_verifier, False),
    "the right verifier": (_right_verifier, True),
    "a public client without PKCE": (_public_without_pkce, False),
}


@pytest.mark.parametrize("case", CASES)
async def test_the_code_statement_consumes_exactly_what_the_rules_allow(
    party: Party, case: str
) -> None:
    make, allowed = CASES[case]
    client_id, code, redirect_uri, challenge = await make(party)
    check = party.check(client_id, party.secrets[client_id]).for_grant("authorization_code")
    checked = await party.env.store.redeem_code(
        client=check,
        code_digest=digest(code),
        redirect_uri=redirect_uri,
        code_challenge=challenge,
        tokens=_tokens(party),
    )
    client = judge(check, checked.client)
    assert checked.result is not None
    consumed = checked.result.issued is not None
    assert consumed is allowed, case
    # The row it looked at is all the rules need to say why (no second query).
    refusal = code_refusal(
        checked.result.code,
        redirect_uri=redirect_uri,
        challenge=challenge,
        client=client,
        now=party.now(),
    )
    assert (refusal is None) is allowed, (case, refusal)


@pytest.mark.parametrize(
    "case", ["fresh", "rotated", "revoked", "expired", "wider scope", "narrower", "other client"]
)
async def test_the_rotation_statement_retires_exactly_what_the_rules_allow(
    party: Party, case: str
) -> None:
    first = await party.exchange(
        "authorization_code", code=await party.code("user.read user.email")
    )
    assert first.refresh_token is not None
    client_id, access_scope = party.confidential, None
    if case == "rotated":
        await party.exchange("refresh_token", refresh_token=first.refresh_token)
    elif case == "revoked":
        record = await party.refresh_record(first.refresh_token)
        assert record is not None
        await party.env.store.revoke_family(record.family_id, party.now())
    elif case == "expired":
        party.clock.advance(party.state.settings.refresh_token_ttl)
    elif case == "wider scope":
        access_scope = "user.read user.write"
    elif case == "narrower":
        access_scope = "user.read"
    elif case == "other client":
        client_id = party.other
    allowed = case in {"fresh", "narrower"}
    check = party.check(client_id, party.secrets[client_id]).for_grant("refresh_token")
    checked = await party.env.store.rotate_refresh_token(
        client=check,
        token_digest=digest(first.refresh_token),
        access_scope=access_scope,
        tokens=_tokens(party),
    )
    client = judge(check, checked.client)
    assert checked.result is not None
    assert (checked.result.issued is not None) is allowed, case
    refusal = refresh_refusal(
        checked.result.token, access_scope=access_scope, client=client, now=party.now()
    )
    assert (refusal is None) is allowed, (case, refusal)
