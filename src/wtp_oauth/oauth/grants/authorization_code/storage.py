"""What the authorization code grant needs of storage (fosite's ``AuthorizeCodeStorage``)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from wtp_oauth.oauth.clients import ClientCheck
from wtp_oauth.oauth.records import (
    AuthorizeContext,
    Checked,
    CodeRecord,
    Issued,
    NewCode,
    NewTokens,
    PendingRequest,
)


@dataclass(frozen=True, slots=True)
class CodeRedemption:
    """What a redemption looked at (``code``: None if there is no such code) and, when it
    consumed the code, what the new tokens carry (``issued``)."""

    code: CodeRecord | None
    issued: Issued | None


@dataclass(frozen=True, slots=True)
class PreparedCode:
    """The code an authorization request would get from a remembered consent, offered to
    :meth:`AuthorizeSession.authorize_context` as a hint: a store may store it with the
    lookup, in the same statement, when what it reads allows it."""

    code_digest: str
    redirect_uri: str
    scope: str
    code_challenge: str | None
    family_id: str
    created_at: datetime
    expires_at: datetime
    nonce: str | None = None


class CodeStorage(Protocol):
    async def redeem_code(
        self,
        *,
        client: ClientCheck,
        code_digest: str,
        redirect_uri: str | None,
        code_challenge: str | None,
        tokens: NewTokens,
    ) -> Checked[CodeRedemption]:
        """Consume the code and store ``tokens`` from it, atomically, if ``client`` holds
        (``clients.judge``) and the code is redeemable (``rules.code_refusal`` is None); the
        refresh token only if the client enabled the refresh grant. Returns the client's
        record and the code's row as they were read, whether or not anything changed."""

    async def revoke_family(self, family_id: str, now: datetime) -> None:
        """Revoke every access and refresh token of one authorization."""


class AuthorizeSession(Protocol):
    """The authorization endpoint's statements for one request."""

    async def authorize_context(
        self,
        *,
        session_digest: str | None,
        client_id: str | None,
        now: datetime,
        prepared: PreparedCode | None = None,
    ) -> AuthorizeContext:
        """The session with digest ``session_digest`` if it is live at ``now``, the application
        ``client_id``, and the consent between them, read together (None: nothing to find).

        ``prepared`` is only a hint (see :class:`PreparedCode`): whatever the store does with
        it, the caller stores the code it issues with :meth:`add_code`.
        """

    async def add_code(self, code: NewCode) -> bool:
        """Store an authorization code; False if its application or user no longer exists."""

    async def add_pending_request(self, request: PendingRequest) -> bool:
        """Store a request awaiting consent; False if its session or application is gone."""


class AuthorizeStorage(Protocol):
    def authorizing(self) -> AbstractAsyncContextManager[AuthorizeSession]:
        """The statements of one authorization request, on one connection where there is a
        pool: the request waits for a connection once, not once per statement."""
