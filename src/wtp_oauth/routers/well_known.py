"""Discovery and health: RFC 8414 metadata, the scope list, liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from wtp_oauth.deps import StateDep
from wtp_oauth.oauth.registry import grant_types_supported
from wtp_oauth.schemas import ScopeOut
from wtp_oauth.scopes import SCOPES

router = APIRouter(tags=["discovery"])

_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


class Health(BaseModel):
    status: str


class AuthorizationServerMetadata(BaseModel):
    """RFC 8414 §2: what a client needs to know to talk to this server."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    revocation_endpoint: str
    introspection_endpoint: str
    # RFC 8628 §4.
    device_authorization_endpoint: str
    scopes_supported: list[str]
    response_types_supported: list[str]
    response_modes_supported: list[str]
    grant_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    revocation_endpoint_auth_methods_supported: list[str]
    introspection_endpoint_auth_methods_supported: list[str]
    code_challenge_methods_supported: list[str]
    authorization_response_iss_parameter_supported: bool
    service_documentation: str


@router.get(
    "/.well-known/oauth-authorization-server",
    operation_id="getAuthorizationServerMetadata",
    summary="Authorization server metadata (RFC 8414)",
)
async def metadata(state: StateDep) -> AuthorizationServerMetadata:
    issuer = state.settings.issuer
    return AuthorizationServerMetadata(
        issuer=issuer,
        authorization_endpoint=f"{issuer}/oauth/authorize",
        token_endpoint=f"{issuer}/api/oauth/token",
        revocation_endpoint=f"{issuer}/api/oauth/revoke",
        introspection_endpoint=f"{issuer}/api/oauth/introspect",
        device_authorization_endpoint=f"{issuer}/api/oauth/device_authorization",
        scopes_supported=[scope.name for scope in SCOPES],
        response_types_supported=["code"],
        response_modes_supported=["query"],
        grant_types_supported=grant_types_supported(),
        token_endpoint_auth_methods_supported=_AUTH_METHODS,
        revocation_endpoint_auth_methods_supported=_AUTH_METHODS,
        introspection_endpoint_auth_methods_supported=_AUTH_METHODS,
        code_challenge_methods_supported=["S256"],
        authorization_response_iss_parameter_supported=True,
        service_documentation=f"{issuer}/developers/docs/oauth",
    )


@router.get(
    "/api/oauth/scopes", operation_id="listScopes", summary="The scopes a client can ask for"
)
async def list_scopes() -> list[ScopeOut]:
    return [ScopeOut(name=scope.name, description=scope.description) for scope in SCOPES]


@router.get("/healthz", operation_id="getHealth", summary="The process is alive")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    operation_id="getReadiness",
    summary="The database is reachable",
    responses={503: {"model": Health}},
)
async def readyz(state: StateDep) -> JSONResponse:
    try:
        async with state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database means "not ready"
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})
