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
from urllib.parse import unquote_plus

from wtp_oauth.errors import InvalidClient, InvalidRequest, TooManyAttempts
from wtp_oauth.repositories.token_store import ClientRecord
from wtp_oauth.security.text import is_identifier
from wtp_oauth.security.tokens import matches_digest
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


async def authenticate_client(credentials: ClientCredentials, env: GrantEnv) -> ClientRecord:
    """The authenticated client, or ``invalid_client`` (401) with ``WWW-Authenticate``.

    Secrets are compared as SHA-256 digests in constant time. Repeated failures for one client
    are throttled like sign-ins: past ``WTP_LOGIN_FAILURE_LIMIT`` in 15 minutes, 429.
    """
    challenge = {"WWW-Authenticate": credentials.challenge}
    if credentials.client_id is None:
        raise InvalidClient("The client_id is required.", headers=challenge)
    if not is_identifier(credentials.client_id):
        raise InvalidClient("Client authentication failed.", headers=challenge)
    now = env.clock()
    client = await env.store.get_client(credentials.client_id, failures_since=now - THROTTLE_WINDOW)
    if client is None:
        raise InvalidClient("Client authentication failed.", headers=challenge)
    if client.recent_failures >= env.settings.login_failure_limit:
        raise TooManyAttempts(int(THROTTLE_WINDOW.total_seconds()))
    if client.is_public:
        if credentials.method != "none":
            raise InvalidClient(
                "Public clients have no secret; send client_id only.", headers=challenge
            )
        return client
    if credentials.client_secret is None:
        raise InvalidClient("This client must authenticate with its secret.", headers=challenge)
    if not matches_digest(credentials.client_secret, client.secret_digest):
        await env.store.record_client_failure(client.client_id, now)
        raise InvalidClient("Client authentication failed.", headers=challenge)
    return client
