"""The OAuth core's domain records: what the storage hands the grants and endpoints.

Plain frozen dataclasses, built by either database's storage from its rows and judged by the
pure rules of the grants (``oauth/grants/*/rules.py``) and of client authentication
(``oauth/clients.py``). Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ClientRecord:
    """An application as the token endpoint sees it (RFC 6749 §2)."""

    client_id: str
    client_type: str
    secret_digest: str | None
    # Failed authentications from this source address in the current throttle window,
    # counted up to the limit asked (SPEC §16).
    recent_failures: int
    # RFC 7591 §2 grant types the application enabled (SPEC §11).
    grant_types: frozenset[str] = frozenset({"authorization_code", "refresh_token"})
    # The JWS algorithm of its ID tokens (OpenID Connect Registration §2, SPEC §11).
    id_token_alg: str = "ES256"

    @property
    def is_public(self) -> bool:
        return self.client_type == "public"


@dataclass(frozen=True, slots=True)
class Checked(Generic[T]):
    """The answer of a storage call that was guarded by a client authentication.

    ``client`` is the client the request named (None if there is none) and ``result`` what
    the call looked at or produced (None when it had nothing to look at, which a store may
    also answer when the client did not hold). The call changed nothing unless the client
    held (``oauth.clients.judge``); the caller judges ``client`` with that same rule before it
    uses ``result``.
    """

    client: ClientRecord | None
    result: T | None = None


@dataclass(frozen=True, slots=True)
class NewTokens:
    """Digests and lifetimes of the tokens a grant is about to store; ``refresh_digest`` is
    None when the grant issues no refresh token."""

    access_digest: str
    refresh_digest: str | None
    issued_at: datetime
    access_expires_at: datetime
    refresh_expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class Issued:
    """What a redeemed code or refresh token carried over to the new tokens."""

    user_id: str | None
    scope: str
    access_scope: str
    family_id: str
    # Whether a refresh token was stored beside the access token.
    refresh_issued: bool = True
    # OpenID Connect: the authorization request's nonce (codes only), the sign-in's time and
    # session id, and the user's claims when the scope has ``openid`` (else None).
    nonce: str | None = None
    auth_time: datetime | None = None
    sid: str | None = None
    user: UserProfile | None = None


@dataclass(frozen=True, slots=True)
class UserProfile:
    id: str
    username: str
    display_name: str
    email: str
    created_at: datetime
    # The profile's last change; None: none since the account was created.
    updated_at: datetime | None = None

    @classmethod
    def of(cls, row: Mapping[Any, Any]) -> UserProfile:
        """From a row with both stores' user columns (``user_created_at`` and
        ``user_updated_at`` for the dates)."""
        return cls(
            id=row["id"],
            username=row["username"],
            display_name=row["display_name"],
            email=row["email"],
            created_at=row["user_created_at"],
            updated_at=row["user_updated_at"],
        )

    @classmethod
    def maybe(cls, row: Mapping[Any, Any]) -> UserProfile | None:
        """As :meth:`of`, or None when the row's user columns are NULL (a client's token)."""
        return None if row["id"] is None else cls.of(row)


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """An access or refresh token as stored: its client, scope, family and subject."""

    client_id: str
    scope: str
    family_id: str
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    # The user the token speaks for; None for a client's own token (SPEC §13).
    user: UserProfile | None

    @property
    def subject_type(self) -> str:
        """``user``, or ``client`` for a client's own token (``models.SubjectType``)."""
        return "client" if self.user is None else "user"

    @property
    def subject(self) -> str:
        """RFC 7662 ``sub``: the user's id, or the client's id for a client's own token."""
        return self.client_id if self.user is None else self.user.id

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now


@dataclass(frozen=True, slots=True)
class AccessTokenRecord(TokenRecord):
    pass


@dataclass(frozen=True, slots=True)
class RefreshTokenRecord(TokenRecord):
    rotated_at: datetime | None = None

    def is_active(self, now: datetime) -> bool:
        return self.rotated_at is None and TokenRecord.is_active(self, now)


@dataclass(frozen=True, slots=True)
class CodeRecord:
    """An authorization code as stored (RFC 6749 §4.1.2)."""

    client_id: str
    redirect_uri: str
    code_challenge: str | None
    family_id: str
    expires_at: datetime
    consumed_at: datetime | None


@dataclass(frozen=True, slots=True)
class SignedInSession:
    """A live browser session (its cookie's digest) and the user it belongs to."""

    token_digest: str
    user: UserProfile
    # When the password was checked, and the session's opaque id (OpenID Connect).
    auth_time: datetime | None = None
    sid: str | None = None


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

    @classmethod
    def of(
        cls, session_digest: str | None, row: Mapping[Any, Any], redirect_uris: list[str]
    ) -> AuthorizeContext:
        """From the row of both stores' lookup: NULL user columns mean no live session, a NULL
        owner no application; ``redirect_uris`` decoded by the store that read them."""
        session = None
        if row["id"] is not None:
            assert session_digest is not None
            session = SignedInSession(
                token_digest=session_digest,
                user=UserProfile.of(row),
                auth_time=row["session_auth_time"],
                sid=row["session_sid"],
            )
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
        return cls(session=session, application=application, consent_scope=row["consent_scope"])


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
    # OpenID Connect: the request's nonce, the session's sign-in time and id.
    nonce: str | None = None
    auth_time: datetime | None = None
    sid: str | None = None


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
    nonce: str | None = None
