"""Client authentication at the token, revocation and introspection endpoints.

RFC 6749 §2.3: exactly one method per request — HTTP Basic (``client_secret_basic``),
``client_id`` + ``client_secret`` in the body (``client_secret_post``), the client secret as a
``Bearer`` credential beside ``client_id`` (the developer guide's way), or ``client_id`` alone
for a public client (``none``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from wtp_oauth.errors import InvalidClient, InvalidRequest, TooManyAttempts
from wtp_oauth.repositories.token_store import Checked, ClientCheck, ClientRecord
from wtp_oauth.security.text import is_identifier
from wtp_oauth.security.tokens import digest, matches_digest

if TYPE_CHECKING:
    from wtp_oauth.services.grants.base import GrantEnv

THROTTLE_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    client_id: str | None
    client_secret: str | None
    # client_secret_basic | client_secret_post | bearer | none
    method: str

    @property
    def challenge(self) -> str:
        """The ``WWW-Authenticate`` value for a failure (RFC 6749 §5.2)."""
        scheme = "Bearer" if self.method == "bearer" else "Basic"
        return f'{scheme} realm="wtp-oauth"'


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


def client_check(client: ClientCredentials | ClientRecord, env: GrantEnv) -> ClientCheck:
    """What the token store is to verify for this request (``ClientCheck``).

    A client authenticated beforehand (a ``ClientRecord``) is checked again against its own
    stored digest, which still fails if its secret was rotated in between.
    """
    since = env.clock() - THROTTLE_WINDOW
    limit = env.settings.login_failure_limit
    if isinstance(client, ClientRecord):
        return ClientCheck(client.client_id, client.secret_digest, since, limit)
    if client.client_id is None:
        raise InvalidClient(
            "The client_id is required.", headers={"WWW-Authenticate": client.challenge}
        )
    if not is_identifier(client.client_id):
        # NUL bytes or surrogates would fail in the driver: no such client, whatever it is.
        raise InvalidClient(
            "Client authentication failed.", headers={"WWW-Authenticate": client.challenge}
        )
    secret = client.client_secret
    return ClientCheck(client.client_id, None if secret is None else digest(secret), since, limit)


async def verified(
    client: ClientCredentials | ClientRecord, checked: Checked[Any], env: GrantEnv
) -> ClientRecord:
    """The authenticated client, or the RFC 6749 §5.2 error that says why it is not.

    ``checked`` is the store's answer to :func:`client_check`: the client it found and
    whether the check held. The secret is compared again here, in constant time, to tell the
    reasons apart; a wrong one is recorded for throttling (401); past
    ``WTP_LOGIN_FAILURE_LIMIT`` failures in 15 minutes the answer is 429.
    """
    if isinstance(client, ClientRecord):
        if checked.client is None or not checked.authenticated:
            raise InvalidClient(
                "Client authentication failed.", headers={"WWW-Authenticate": "Basic"}
            )
        return checked.client
    challenge = {"WWW-Authenticate": client.challenge}
    found = checked.client
    if found is None:
        raise InvalidClient("Client authentication failed.", headers=challenge)
    if found.recent_failures >= env.settings.login_failure_limit:
        raise TooManyAttempts(int(THROTTLE_WINDOW.total_seconds()))
    if found.is_public:
        if client.method != "none":
            raise InvalidClient(
                "Public clients have no secret; send client_id only.", headers=challenge
            )
    elif client.client_secret is None:
        raise InvalidClient("This client must authenticate with its secret.", headers=challenge)
    elif not matches_digest(client.client_secret, found.secret_digest):
        await env.store.record_client_failure(found.client_id, env.clock())
        raise InvalidClient("Client authentication failed.", headers=challenge)
    if not checked.authenticated:
        # The store applied the same rule to the same row; should they ever disagree, refuse.
        raise InvalidClient("Client authentication failed.", headers=challenge)
    return found


async def authenticate_client(
    client: ClientCredentials | ClientRecord, env: GrantEnv
) -> ClientRecord:
    """The authenticated client, or ``invalid_client`` (401) with ``WWW-Authenticate``.

    Secrets are compared as SHA-256 digests in constant time. Repeated failures for one client
    are throttled like sign-ins: past ``WTP_LOGIN_FAILURE_LIMIT`` in 15 minutes, 429. The
    token, introspection and revocation endpoints do this inside their own statement
    (:func:`client_check`, :func:`verified`); this is for the other paths.
    """
    check = client_check(client, env)
    found = await env.store.get_client(
        check.client_id, failures_since=check.failures_since, failure_limit=check.failure_limit
    )
    return await verified(client, Checked(found, check.authenticates(found)), env)
