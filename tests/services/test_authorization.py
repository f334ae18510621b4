"""The authorization service's sign-in with remembered consent (``Authorization.authorize``).

On PostgreSQL the code is stored by the lookup's statement when a remembered consent covers
it (the prepared code offered as a hint); the decision is still the service's. Each sign-in
leaves exactly the code it issued, and a request it refuses leaves none — whichever store
kept what.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select

from tests.helpers import REDIRECT_URI, query_of
from tests.services.conftest import Party
from wtp_oauth.errors import InvalidRequest
from wtp_oauth.models import AuthorizationCode
from wtp_oauth.oauth.grants.authorization_code.authorize import (
    Authorization,
    InvalidAuthorizationRequest,
    NeedsConsent,
    NeedsLogin,
    Outcome,
    Redirect,
    ValidRequest,
    _Prospect,
    error_redirect,
)
from wtp_oauth.oauth.records import AuthorizeContext
from wtp_oauth.security.tokens import digest


def request(party: Party, **changes: str) -> list[tuple[str, str]]:
    params = {
        "client_id": party.confidential,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "user.read",
        "state": "xyz",
        **changes,
    }
    return list(params.items())


async def authorize(party: Party, params: list[tuple[str, str]]) -> object:
    async with party.env.store.authorizing() as store:
        authorization = Authorization(store, party.state.settings, party.state.clock)
        _, outcome = await authorization.authorize(party.session_token, params)
    return outcome


async def code_row(party: Party, code_digest: str) -> AuthorizationCode | None:
    async with party.state.session_factory() as db:
        return await db.get(AuthorizationCode, code_digest)


async def codes_of(party: Party) -> int:
    async with party.state.session_factory() as db:
        count = select(func.count()).where(AuthorizationCode.user_id == party.user.id)
        return (await db.exec(count)).one()


async def test_a_remembered_consent_leaves_exactly_the_code_it_issues(party: Party) -> None:
    await party.code("user.read user.email")
    before = await codes_of(party)
    outcome = await authorize(party, request(party))
    assert isinstance(outcome, Redirect) and outcome.code_digest is not None
    code = query_of(outcome.url)["code"]
    assert digest(code) == outcome.code_digest
    assert await codes_of(party) == before + 1
    record = await code_row(party, outcome.code_digest)
    assert record is not None and record.client_id == party.confidential
    assert record.redirect_uri == REDIRECT_URI


async def test_a_code_the_store_declined_comes_from_a_second_statement(party: Party) -> None:
    # A loopback redirect URI on another port matches its registration, LOOPBACK_URI
    # (RFC 8252 §7.3), which the store's exact comparison does not see: the code is stored
    # after the decision.
    await party.code()
    before = await codes_of(party)
    outcome = await authorize(party, request(party, redirect_uri="http://127.0.0.1:5173/cb"))
    assert isinstance(outcome, Redirect), outcome
    assert outcome.url.startswith("http://127.0.0.1:5173/cb?code=")
    assert outcome.code_digest is not None
    assert await code_row(party, outcome.code_digest) is not None
    assert await codes_of(party) == before + 1


async def test_a_refused_request_leaves_no_code(party: Party) -> None:
    await party.code("user.read")
    before = await codes_of(party)
    refusals: dict[str, tuple[list[tuple[str, str]], type]] = {
        # Ruled out before the lookup: nothing is offered.
        "state with a control character": (request(party, state="a\x01b"), Redirect),
        "prompt=consent": (request(party, prompt="consent"), NeedsConsent),
        "prompt=login": (request(party, prompt="login"), NeedsLogin),
        "scope beyond the consent": (request(party, scope="user.read user.email"), NeedsConsent),
        "unregistered redirect URI": (
            request(party, redirect_uri="https://evil.test/cb"),
            InvalidAuthorizationRequest,
        ),
        "redirect URI with a NUL": (
            request(party, redirect_uri=REDIRECT_URI + "\x00"),
            InvalidAuthorizationRequest,
        ),
        "repeated parameter": ([*request(party), ("response_type", "code")], Redirect),
    }
    for case, (params, expected) in refusals.items():
        outcome = await authorize(party, params)
        assert isinstance(outcome, expected), (case, outcome)
        assert not (isinstance(outcome, Redirect) and outcome.code_digest), case
        assert "code=" not in getattr(outcome, "url", ""), case
        assert await codes_of(party) == before, case
    # And the next good request still gets its code.
    assert isinstance(await authorize(party, request(party)), Redirect)
    assert await codes_of(party) == before + 1


class _LaterRule(Authorization):
    """A decision that refuses what a remembered consent allows: a rule added after the
    lookup, which the store's conditions do not know."""

    async def decide(
        self,
        params: list[tuple[str, str]],
        request: ValidRequest,
        context: AuthorizeContext,
        prospect: _Prospect | None = None,
    ) -> Outcome:
        refusal = InvalidRequest("A rule the store does not know.")
        return error_redirect(self._settings, refusal, request.redirect_uri, request.state)


async def test_a_stored_code_the_decision_refuses_is_withdrawn(party: Party) -> None:
    await party.code("user.read")
    before = await codes_of(party)
    async with party.env.store.authorizing() as store:
        later = _LaterRule(store, party.state.settings, party.state.clock)
        context, outcome = await later.authorize(party.session_token, request(party))
    # PostgreSQL stored the code with the lookup (SQLite declined it), and withdrew it when
    # the request's block ended.
    assert context.session is not None
    assert isinstance(outcome, Redirect) and outcome.code_digest is None
    assert query_of(outcome.url)["error"] == "invalid_request"
    assert await codes_of(party) == before


async def test_a_public_loopback_client_always_asks_again(party: Party) -> None:
    # SPEC §17 (RFC 8252 §8.6): any local program can claim a public client_id, so a
    # remembered consent never sends its code to a loopback or private-use URI unasked.
    from tests.helpers import pkce_pair
    from tests.services.conftest import NATIVE_URI

    _, challenge = pkce_pair()
    await party.code(client_id=party.public, redirect_uri=NATIVE_URI, challenge=challenge)
    before = await codes_of(party)
    params = request(
        party,
        client_id=party.public,
        redirect_uri=NATIVE_URI,
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    outcome = await authorize(party, params)
    assert isinstance(outcome, NeedsConsent), outcome
    assert await codes_of(party) == before
    # A confidential client's remembered consent still skips the page.
    await party.code()
    assert isinstance(await authorize(party, request(party)), Redirect)
