"""The interface of the token store and the records it returns.

Like fosite's ``AuthorizeCodeStorage`` and ``RefreshTokenStorage``: small, shaped by the grants
that use it. Each redemption is one atomic statement (or one transaction), so of two racing
requests only one can win (STYLE §5). Implementations never decide policy: they consume, insert
and report; the grants decide what a failure means.

The hot-path calls (a grant, an introspection, a revocation) take a :class:`ClientCheck`: the
client's authentication is verified by the same statement that does the work, which changes
nothing unless it holds, and the answer carries the client's record so that the caller can say
why it did not (one round trip per request, docs/performance.md).

The authorization endpoint's sign-in with remembered consent is on every client's sign-in
path too: :meth:`TokenStore.authorize_context` reads the session, the client and the consent
in one statement and, where the store can, stores the code that the request asks for in the
same statement when what it read allows it (:class:`ProspectiveCode`); otherwise
:meth:`TokenStore.add_code` stores the code in a second.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ClientRecord:
    client_id: str
    client_type: str
    secret_digest: str | None
    # Failed authentications in the current throttle window (counted up to the limit asked).
    recent_failures: int

    @property
    def is_public(self) -> bool:
        return self.client_type == "public"


@dataclass(frozen=True, slots=True)
class ClientCheck:
    """A client authentication (RFC 6749 §2.3) for the store to verify where it does the work.

    It holds when the client exists, has had fewer than ``failure_limit`` failed
    authentications since ``failures_since``, and is public with no secret presented
    (``secret_digest`` None) or confidential with a stored digest equal to ``secret_digest``.
    On PostgreSQL the digests are compared in SQL, which is not constant-time; what timing
    could reveal is a prefix of the SHA-256 of the secret, which helps no one find the secret.
    """

    client_id: str
    secret_digest: str | None
    failures_since: datetime
    failure_limit: int

    def authenticates(self, client: ClientRecord | None) -> bool:
        """The rule above, for a client record read beforehand."""
        if client is None or client.recent_failures >= self.failure_limit:
            return False
        if client.is_public:
            return self.secret_digest is None
        if self.secret_digest is None or client.secret_digest is None:
            return False
        return hmac.compare_digest(self.secret_digest, client.secret_digest)


@dataclass(frozen=True, slots=True)
class Checked(Generic[T]):
    """The answer of a call that took a :class:`ClientCheck`.

    ``client`` is the client the request named (None if there is none), ``authenticated``
    whether the check held, and ``result`` what the call produced — always None when the
    check failed, since nothing was then changed or read.
    """

    client: ClientRecord | None
    authenticated: bool
    result: T | None = None


@dataclass(frozen=True, slots=True)
class NewTokens:
    """Digests and lifetimes of an access/refresh pair about to be stored."""

    access_digest: str
    refresh_digest: str
    issued_at: datetime
    access_expires_at: datetime
    refresh_expires_at: datetime


@dataclass(frozen=True, slots=True)
class Grant:
    """What a redeemed code or refresh token carried over to the new tokens."""

    user_id: str
    scope: str
    access_scope: str
    family_id: str


@dataclass(frozen=True, slots=True)
class CodeRecord:
    client_id: str
    redirect_uri: str
    code_challenge: str | None
    family_id: str
    expires_at: datetime
    consumed_at: datetime | None


@dataclass(frozen=True, slots=True)
class UserProfile:
    id: str
    username: str
    display_name: str
    email: str
    created_at: datetime

    @classmethod
    def of(cls, row: Mapping[Any, Any]) -> UserProfile:
        """From a row with both stores' user columns (``user_created_at`` for the date)."""
        return cls(
            id=row["id"],
            username=row["username"],
            display_name=row["display_name"],
            email=row["email"],
            created_at=row["user_created_at"],
        )


@dataclass(frozen=True, slots=True)
class AccessTokenRecord:
    client_id: str
    scope: str
    family_id: str
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    user: UserProfile

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now


@dataclass(frozen=True, slots=True)
class RefreshTokenRecord:
    client_id: str
    scope: str
    family_id: str
    issued_at: datetime
    expires_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None
    user: UserProfile

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and self.rotated_at is None and self.expires_at > now


@dataclass(frozen=True, slots=True)
class SignedInSession:
    """A live browser session (its cookie's digest) and the user it belongs to."""

    token_digest: str
    user: UserProfile


@dataclass(frozen=True, slots=True)
class ClientApplication:
    """What the authorization endpoint needs of a client: its redirect URIs and type to check
    the request, its name, description and owner's username to ask for consent."""

    client_id: str
    name: str
    description: str
    client_type: str
    redirect_uris: list[str]
    owner_username: str

    @property
    def is_public(self) -> bool:
        return self.client_type == "public"


@dataclass(frozen=True, slots=True)
class AuthorizeContext:
    """Everything ``GET /oauth/authorize`` reads, as of one statement: the browser's session,
    the client, and the scopes the session's user granted that client (None if never)."""

    session: SignedInSession | None
    application: ClientApplication | None
    consent_scope: str | None
    # Whether the store kept the prospective code it was offered (see ProspectiveCode).
    code_stored: bool = False

    @classmethod
    def of(
        cls,
        session_digest: str | None,
        row: Mapping[Any, Any],
        redirect_uris: list[str],
        *,
        code_stored: bool = False,
    ) -> AuthorizeContext:
        """From the row of both stores' lookup: NULL user columns mean no live session, a NULL
        owner no application; ``redirect_uris`` decoded by the store that read them."""
        session = None
        if row["id"] is not None:
            assert session_digest is not None
            session = SignedInSession(token_digest=session_digest, user=UserProfile.of(row))
        application = None
        if row["owner_username"] is not None:
            application = ClientApplication(
                client_id=row["client_id"],
                name=row["name"],
                description=row["description"],
                client_type=row["client_type"],
                redirect_uris=redirect_uris,
                owner_username=row["owner_username"],
            )
        return cls(
            session=session,
            application=application,
            consent_scope=row["consent_scope"],
            code_stored=code_stored,
        )


@dataclass(frozen=True, slots=True)
class NewCode:
    """An authorization code about to be stored (the columns of ``authorization_codes``)."""

    code_digest: str
    client_id: str
    user_id: str
    redirect_uri: str
    scope: str
    code_challenge: str | None
    family_id: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ProspectiveCode:
    """The code an authorization request gets if it is a sign-in with remembered consent,
    offered to :meth:`AuthorizeStore.authorize_context` so that the lookup and the code's
    ``INSERT`` can be one statement. The client and the user are the ones the lookup finds.

    A store that takes the offer stores the code only if what it read allows it: a live
    session, an application that lists ``redirect_uri`` exactly, a challenge if the application
    is public, and a consent of the session's user to that application that covers ``scope``.
    The caller still decides, from the context, as if nothing had been stored, and withdraws a
    stored code it does not issue (:meth:`AuthorizeStore.withdraw_code`).
    """

    code_digest: str
    redirect_uri: str
    scope: str
    code_challenge: str | None
    family_id: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class PendingRequest:
    """An authorization request waiting on the consent page (``authorization_requests``)."""

    id_digest: str
    session_digest: str
    client_id: str
    redirect_uri: str
    scope: str
    state: str | None
    code_challenge: str | None
    created_at: datetime
    expires_at: datetime


class AuthorizeStore(Protocol):
    """What the authorization endpoint reads and writes (``TokenStore.authorizing``)."""

    async def authorize_context(
        self,
        *,
        session_digest: str | None,
        client_id: str | None,
        now: datetime,
        code: ProspectiveCode | None = None,
    ) -> AuthorizeContext:
        """The session with digest ``session_digest`` if it is live at ``now``, the application
        ``client_id``, and the consent between them, read together (None: nothing to find).

        ``code``, if given, may be stored for that client and the session's user in the same
        statement, on the conditions :class:`ProspectiveCode` names; ``code_stored`` says
        whether it was. A store is free to decline every offer.
        """

    async def add_code(self, code: NewCode) -> bool:
        """Store an authorization code; False if its application or user no longer exists."""

    async def withdraw_code(self, code_digest: str) -> None:
        """Delete a code that was stored but never issued."""

    async def add_pending_request(self, request: PendingRequest) -> bool:
        """Store a request awaiting consent; False if its session or application is gone."""


class TokenStore(AuthorizeStore, Protocol):
    async def get_client(
        self, client_id: str, *, failures_since: datetime, failure_limit: int | None = None
    ) -> ClientRecord | None:
        """The client, with its failed authentications since ``failures_since``, counted up
        to ``failure_limit`` (past it, counting on would only cost time)."""

    async def record_client_failure(self, client_id: str, now: datetime) -> None: ...

    async def redeem_code(
        self,
        *,
        client: ClientCheck,
        code_digest: str,
        redirect_uri: str | None,
        code_challenge: str | None,
        tokens: NewTokens,
    ) -> Checked[Grant]:
        """Authenticate ``client``, consume the code and store ``tokens`` from it, atomically.

        Only an unconsumed, unexpired code issued to the authenticated client whose redirect
        URI equals ``redirect_uri`` (when given) and whose challenge equals ``code_challenge``
        (both may be None) is consumed — and a public client's only with a challenge (RFC 7636
        is required of public clients); otherwise nothing changes and the result is None.
        """

    async def find_code(self, code_digest: str) -> CodeRecord | None: ...

    async def rotate_refresh_token(
        self,
        *,
        client: ClientCheck,
        token_digest: str,
        access_scope: str | None,
        tokens: NewTokens,
    ) -> Checked[Grant]:
        """Authenticate ``client``, retire its active refresh token and store ``tokens`` in the
        token's family, atomically.

        The new access token gets ``access_scope`` (or the grant's scope when None), which
        must lie within the grant's scope; the new refresh token keeps the grant's scope.
        """

    async def revoke_family(self, family_id: str, now: datetime) -> None:
        """Revoke every access and refresh token of one authorization."""

    async def find_access_token(self, token_digest: str) -> AccessTokenRecord | None: ...

    async def find_refresh_token(self, token_digest: str) -> RefreshTokenRecord | None: ...

    async def introspect_token(
        self, *, client: ClientCheck, token_digest: str, refresh: bool
    ) -> Checked[AccessTokenRecord | RefreshTokenRecord]:
        """Authenticate ``client`` and find one of its own access (or refresh) tokens."""

    async def revoke_token(
        self, *, client: ClientCheck, token_digest: str, refresh: bool, now: datetime
    ) -> Checked[None]:
        """Authenticate ``client`` and revoke one of its own access tokens, or the whole
        family of one of its own refresh tokens; another client's token is left alone."""

    def authorizing(self) -> AbstractAsyncContextManager[AuthorizeStore]:
        """The authorize link's statements for one request, on one connection where there is
        a pool: the request waits for a connection once, not once per statement."""

    async def close(self) -> None: ...
