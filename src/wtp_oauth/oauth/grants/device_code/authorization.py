"""The device authorization request (RFC 8628 §3.1–3.2): a device asks for a pair of codes.

The client authenticates as at the token endpoint (a public client sends only ``client_id``),
must have enabled the device grant, and asks for ``scope`` (or the developer guide's
``scopes``) and optionally a ``resource`` (RFC 8707). The answer is a device code for the device
to poll with, and a short user code for its user to type at ``{issuer}/device``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from wtp_oauth.errors import InvalidClient
from wtp_oauth.oauth.clients import ClientCredentials, authenticate, client_check
from wtp_oauth.oauth.context import OAuthContext
from wtp_oauth.oauth.grants.device_code import rules
from wtp_oauth.oauth.grants.device_code.errors import TemporarilyUnavailable
from wtp_oauth.oauth.grants.device_code.storage import Added, NewDeviceCode
from wtp_oauth.security.tokens import digest, new_id, new_secret

VERIFICATION_PATH = "/device"
# Draws of a user code before giving up; with 2^34.6 codes a second draw is already rare.
_DRAWS = 5


@dataclass(frozen=True, slots=True)
class DeviceAuthorization:
    """RFC 8628 §3.2's response."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int

    def as_dict(self) -> dict[str, str | int]:
        return {
            "device_code": self.device_code,
            "user_code": self.user_code,
            "verification_uri": self.verification_uri,
            "verification_uri_complete": self.verification_uri_complete,
            "expires_in": self.expires_in,
            "interval": self.interval,
        }


async def authorize_device(
    params: Mapping[str, str], credentials: ClientCredentials, address: str, env: OAuthContext
) -> DeviceAuthorization:
    """Store a new device authorization request and answer with its codes (RFC 8628 §3.2).

    Errors are RFC 6749 §5.2's: ``invalid_client`` (401), ``unauthorized_client`` when the
    application has not enabled the grant, ``invalid_scope``, and RFC 8707's
    ``invalid_target`` for a resource other than the user API.
    """
    check = client_check(credentials, env, address).for_grant(rules.GRANT_TYPE)
    client = await authenticate(check, env)
    scope = rules.requested_scope([params[k] for k in ("scope", "scopes") if params.get(k)])
    rules.check_resource(params.get("resource") or None, env.settings.issuer)
    settings = env.settings
    now = env.clock()
    device_code = new_secret()
    for _ in range(_DRAWS):
        user_code = rules.new_user_code()
        added = await env.device_codes.add_device_code(
            NewDeviceCode(
                device_code_digest=digest(device_code),
                user_code=user_code,
                client_id=client.client_id,
                scope=scope,
                family_id=new_id(),
                poll_interval=settings.device_poll_interval,
                created_at=now,
                expires_at=now + timedelta(seconds=settings.device_code_ttl),
            )
        )
        if added is Added.CLIENT_GONE:
            raise InvalidClient(
                "Client authentication failed.", headers={"WWW-Authenticate": credentials.challenge}
            )
        if added is Added.ADDED:
            shown = rules.display_user_code(user_code)
            verification_uri = settings.issuer + VERIFICATION_PATH
            return DeviceAuthorization(
                device_code=device_code,
                user_code=shown,
                verification_uri=verification_uri,
                verification_uri_complete=f"{verification_uri}?{urlencode({'user_code': shown})}",
                expires_in=settings.device_code_ttl,
                interval=settings.device_poll_interval,
            )
    raise TemporarilyUnavailable("No user code is free at the moment; try again shortly.")
