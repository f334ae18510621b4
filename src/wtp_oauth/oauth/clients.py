"""Client authentication at the token, revocation, introspection and device endpoints.

RFC 6749 §2.3: exactly one method per request — HTTP Basic (``client_secret_basic``),
``client_id`` + ``client_secret`` in the body (``client_secret_post``), the client secret as a
``Bearer`` credential beside ``client_id`` (the developer guide's way), or ``client_id`` alone
for a public client (``none``).

The rule that decides whether a client is authenticated is written once, in :func:`judge`.
The endpoints authenticate the client once, before a grant's result is used: on the token
path the storage call that does a grant's work is *guarded* by the same check (it changes
nothing unless the client holds, and returns the client's record), so that one round trip
does both (docs/performance.md); the endpoint then judges that record with :func:`judge`.
PostgreSQL's guard is the SQL twin of this rule (``storage/postgres/clients.py``); SQLite
calls :func:`holds`.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol
from urllib.parse import unquote_plus

from wtp_oauth.errors import (
    InvalidClient,
    InvalidRequest,
    OAuthError,
    TooManyAttempts,
    UnauthorizedClient,
)
from wtp_oauth.oauth.records import ClientRecord
from wtp_oauth.security.text import is_identifier
from wtp_oauth.security.tokens import digest

if TYPE_CHECKING:
    from wtp_oauth.oauth.context import OAuthContext

THROTTLE_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """What a request presented to authenticate its client."""

    client_id: str | None
    client_secret: str | None
    # client_secret_basic | client_secret_post | bearer | none
    method: str

    @property
    def challenge(self) -> str:
        """The ``WWW-Authenticate`` value for a failure (RFC 6749 §5.2)."""
        return _challenge(self.method)["WWW-Authenticate"]


def _challenge(method: str) -> dict[str, str]:
    """The ``WWW-Authenticate`` header of a failure of ``method`` (RFC 6749 §5.2)."""
    scheme = "Bearer" if method == "bearer" else "Basic"
    return {"WWW-Authenticate": f'{scheme} realm="wtp-oauth"'}


def _basic(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidClient(
            "Malformed HTTP Basic credentials.", headers={"WWW-Authenticate": "Basic"}
        ) from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise InvalidClient(
            "Malformed HTTP Basic credentials.", headers={"WWW-Authenticate": "Basic"}
        )
    # RFC 6749 §2.3.1: both parts are form-urlencoded before encoding.
    return unquote_plus(client_id), unquote_plus(secret)


def credentials_from(authorization: str | None, params: Mapping[str, str]) -> ClientCredentials:
    """Find the one way this request authenticates its client; two ways is ``invalid_request``."""
    body_id = params.get("client_id") or None
    body_secret = params.get("client_secret") or None
    methods: list[ClientCredentials] = []
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "basic" and value:
            client_id, secret = _basic(value)
            if body_id is not None and body_id != client_id:
                raise InvalidRequest("The client_id in the body differs from HTTP Basic's.")
            methods.append(ClientCredentials(client_id, secret, "client_secret_basic"))
        elif scheme.lower() == "bearer" and value:
            methods.append(ClientCredentials(body_id, value, "bearer"))
        else:
            raise InvalidClient(
                "Unsupported Authorization header; use Basic or Bearer.",
                headers={"WWW-Authenticate": 'Basic realm="wtp-oauth"'},
            )
    if body_secret is not None:
        methods.append(ClientCredentials(body_id, body_secret, "client_secret_post"))
    if len(methods) > 1:
        raise InvalidRequest("Use exactly one client authentication method (RFC 6749 §2.3).")
    if methods:
        return methods[0]
    return ClientCredentials(body_id, None, "none")


@dataclass(frozen=True, slots=True)
class ClientCheck:
    """A client authentication to verify: who, with what secret (as its digest), from where.

    Failures are counted per client *and source address* (SPEC §16): guessing from one
    address cannot lock the client out at another. ``grant_type``, when set, must be one the
    application enabled (SPEC §11).
    """

    client_id: str
    secret_digest: str | None
    method: str
    address: str
    failures_since: datetime
    failure_limit: int
    grant_type: str | None = None

    @property
    def throttle_subject(self) -> str:
        """The ``auth_failures.subject`` of this client's failures from this address."""
        return f"client:{self.client_id}@{self.address}"

    def for_grant(self, grant_type: str) -> ClientCheck:
        return replace(self, grant_type=grant_type)


def client_check(credentials: ClientCredentials, ctx: OAuthContext, address: str) -> ClientCheck:
    """The check this request's credentials ask for; ``invalid_client`` at once when they do
    not even name a client this server could have."""
    headers = _challenge(credentials.method)
    if credentials.client_id is None:
        raise InvalidClient("The client_id is required.", headers=headers)
    if not is_identifier(credentials.client_id):
        # NUL bytes or surrogates would fail in the driver: no such client, whatever it is.
        raise InvalidClient("Client authentication failed.", headers=headers)
    secret = credentials.client_secret
    return ClientCheck(
        client_id=credentials.client_id,
        secret_digest=None if secret is None else digest(secret),
        method=credentials.method,
        address=address,
        failures_since=ctx.clock() - THROTTLE_WINDOW,
        failure_limit=ctx.settings.login_failure_limit,
    )


class WrongSecret(InvalidClient):
    """A confidential client's secret did not match: a failure that counts for throttling."""


def judge(check: ClientCheck, client: ClientRecord | None) -> ClientRecord:
    """The authenticated client, or the RFC 6749 §5.2 error that says why it is not.

    It holds when the client exists, had fewer than ``failure_limit`` failed authentications
    from this address in the window (else 429 ``temporarily_unavailable``), and is public with
    no secret presented or confidential with a stored digest equal to the presented one
    (compared in constant time); then the grant asked for must be enabled
    (``unauthorized_client``).
    """
    headers = _challenge(check.method)
    if client is None:
        raise InvalidClient("Client authentication failed.", headers=headers)
    if client.recent_failures >= check.failure_limit:
        raise TooManyAttempts(int(THROTTLE_WINDOW.total_seconds()))
    if client.is_public:
        if check.secret_digest is not None:
            raise InvalidClient(
                "Public clients have no secret; send client_id only.", headers=headers
            )
    elif check.secret_digest is None:
        raise InvalidClient("This client must authenticate with its secret.", headers=headers)
    elif client.secret_digest is None or not hmac.compare_digest(
        check.secret_digest, client.secret_digest
    ):
        raise WrongSecret("Client authentication failed.", headers=headers)
    if check.grant_type is not None and check.grant_type not in client.grant_types:
        raise UnauthorizedClient(
            f"This application has not enabled the {check.grant_type} grant "
            "(its grant_types, in the developer portal)."
        )
    return client


def holds(check: ClientCheck, client: ClientRecord | None) -> bool:
    """Whether :func:`judge` accepts ``client``: for storage that guards a call in Python."""
    try:
        judge(check, client)
    except OAuthError:
        return False
    return True


class ClientStorage(Protocol):
    """What client authentication reads and writes."""

    async def find_client(self, check: ClientCheck) -> ClientRecord | None:
        """The client ``check`` names, with its failures from ``check.address`` since
        ``check.failures_since``, counted up to ``check.failure_limit``."""

    async def record_client_failure(self, check: ClientCheck, now: datetime) -> None:
        """Count one failed authentication of ``check``'s client from its address."""


async def authenticated(
    check: ClientCheck, found: ClientRecord | None, ctx: OAuthContext
) -> ClientRecord:
    """:func:`judge` the record a guarded call returned; a wrong secret is recorded for
    throttling (committed although the request fails)."""
    try:
        return judge(check, found)
    except WrongSecret:
        await ctx.store.record_client_failure(check, ctx.clock())
        raise


async def authenticate(check: ClientCheck, ctx: OAuthContext) -> ClientRecord:
    """Look the client up and judge it: for the calls that no guarded statement does."""
    return await authenticated(check, await ctx.store.find_client(check), ctx)
