"""The user API's protected-resource metadata (RFC 9728; SPEC §13).

An agent that meets the user API's 401 follows ``resource_metadata`` in ``WWW-Authenticate``
here, and from ``authorization_servers`` to this server's own metadata (RFC 8414).
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from wtp_oauth.deps import StateDep
from wtp_oauth.scopes import SCOPES

router = APIRouter(tags=["discovery"])


class ProtectedResourceMetadata(BaseModel):
    """RFC 9728 §2."""

    resource: str
    authorization_servers: list[str]
    scopes_supported: list[str]
    bearer_methods_supported: list[str]
    resource_name: str
    resource_documentation: str


def _user_api(issuer: str) -> ProtectedResourceMetadata:
    return ProtectedResourceMetadata(
        resource=f"{issuer}/api",
        authorization_servers=[issuer],
        scopes_supported=[scope.name for scope in SCOPES if scope.name.startswith("user.")],
        bearer_methods_supported=["header"],
        resource_name="Wants to Party user API",
        resource_documentation=f"{issuer}/developers/docs/user",
    )


@router.get(
    "/.well-known/oauth-protected-resource/api",
    operation_id="getUserApiResourceMetadata",
    summary="The user API's protected-resource metadata (RFC 9728)",
)
async def user_api_metadata(state: StateDep) -> ProtectedResourceMetadata:
    return _user_api(state.settings.issuer)


@router.get(
    "/.well-known/oauth-protected-resource",
    operation_id="getResourceMetadata",
    summary="The protected-resource metadata of this host's API (RFC 9728 §3)",
)
async def metadata(state: StateDep) -> ProtectedResourceMetadata:
    return _user_api(state.settings.issuer)
