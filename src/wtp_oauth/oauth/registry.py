"""Every grant the token endpoint serves: one line each. The token endpoint, the OpenAPI
schema of its body and the metadata's ``grant_types_supported`` are derived from here."""

from __future__ import annotations

from typing import Any

from wtp_oauth.oauth.grants.authorization_code.grant import AuthorizationCodeGrant
from wtp_oauth.oauth.grants.base import Grant
from wtp_oauth.oauth.grants.device_code.grant import DeviceCodeGrant
from wtp_oauth.oauth.grants.refresh_token.grant import RefreshTokenGrant

GRANTS: tuple[Grant[Any, Any], ...] = (
    AuthorizationCodeGrant(),
    RefreshTokenGrant(),
    DeviceCodeGrant(),
)

GRANTS_BY_TYPE: dict[str, Grant[Any, Any]] = {grant.grant_type: grant for grant in GRANTS}


def grant_types_supported() -> list[str]:
    """RFC 8414 ``grant_types_supported``."""
    return sorted(GRANTS_BY_TYPE)


def token_request_properties() -> dict[str, dict[str, Any]]:
    """The token endpoint's body parameters as JSON Schema properties (RFC 6749 §4, SPEC §6)."""
    properties: dict[str, dict[str, Any]] = {
        "grant_type": {"type": "string", "enum": grant_types_supported()},
        "grand_type": {
            "type": "string",
            "description": "The developer guide's spelling of grant_type.",
        },
    }
    for grant in GRANTS:
        for name, description in grant.parameters.items():
            properties.setdefault(name, {"type": "string", "description": description})
    properties["client_id"] = {"type": "string"}
    properties["client_secret"] = {"type": "string"}
    return properties
