"""Discovery and health: RFC 8414 and OpenID Connect Discovery metadata, the JWKS, the scope
list, liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import text

from wtp_oauth.config import Settings
from wtp_oauth.deps import StateDep
from wtp_oauth.oauth.extensions.oidc import CLAIMS_SUPPORTED
from wtp_oauth.oauth.keys import ALGORITHMS
from wtp_oauth.oauth.registry import grant_types_supported
from wtp_oauth.schemas import ScopeOut
from wtp_oauth.scopes import SCOPES

router = APIRouter(tags=["discovery"])

_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
# How long a relying party may keep the JWKS. One that meets an unknown kid fetches it again,
# and every key is listed before it signs (oauth/keys.py), so this only spares requests.
JWKS_MAX_AGE = 300


class Health(BaseModel):
    status: str


class AuthorizationServerMetadata(BaseModel):
    """RFC 8414 §2 and OpenID Connect Discovery 1.0 §3 (they share their names): what a
    client needs to know to talk to this server."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    registration_endpoint: str
    end_session_endpoint: str
    revocation_endpoint: str
    introspection_endpoint: str
    # RFC 8628 §4.
    device_authorization_endpoint: str
    scopes_supported: list[str]
    response_types_supported: list[str]
    response_modes_supported: list[str]
    grant_types_supported: list[str]
    subject_types_supported: list[str]
    id_token_signing_alg_values_supported: list[str]
    claims_supported: list[str]
    prompt_values_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    revocation_endpoint_auth_methods_supported: list[str]
    introspection_endpoint_auth_methods_supported: list[str]
    code_challenge_methods_supported: list[str]
    authorization_response_iss_parameter_supported: bool
    request_parameter_supported: bool
    request_uri_parameter_supported: bool
    claims_parameter_supported: bool
    service_documentation: str


@router.get(
    "/.well-known/oauth-authorization-server",
    operation_id="getAuthorizationServerMetadata",
    summary="Authorization server metadata (RFC 8414)",
)
async def metadata(state: StateDep) -> AuthorizationServerMetadata:
    return _metadata(state.settings)


@router.get(
    "/.well-known/openid-configuration",
    operation_id="getOpenIDConfiguration",
    summary="OpenID Provider metadata (OpenID Connect Discovery 1.0 §3)",
)
async def openid_configuration(state: StateDep) -> AuthorizationServerMetadata:
    return _metadata(state.settings)


def _metadata(settings: Settings) -> AuthorizationServerMetadata:
    """One document for both (RFC 8414 §2 and OpenID Connect Discovery §3 share their names),
    so that the two can never list different endpoints (SPEC §6, §12)."""
    issuer = settings.issuer
    return AuthorizationServerMetadata(
        **{
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/oauth/authorize",
            "token_endpoint": f"{issuer}/api/oauth/token",
            "userinfo_endpoint": f"{issuer}/api/oauth/userinfo",
            "jwks_uri": f"{issuer}/.well-known/jwks.json",
            "registration_endpoint": f"{issuer}/api/oauth/register",
            "end_session_endpoint": f"{issuer}/oauth/logout",
            "revocation_endpoint": f"{issuer}/api/oauth/revoke",
            "introspection_endpoint": f"{issuer}/api/oauth/introspect",
            "device_authorization_endpoint": f"{issuer}/api/oauth/device_authorization",
            "scopes_supported": [scope.name for scope in SCOPES],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": grant_types_supported(),
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": list(ALGORITHMS),
            "claims_supported": list(CLAIMS_SUPPORTED),
            "prompt_values_supported": ["none", "login", "consent"],
            "token_endpoint_auth_methods_supported": _AUTH_METHODS,
            "revocation_endpoint_auth_methods_supported": _AUTH_METHODS,
            "introspection_endpoint_auth_methods_supported": _AUTH_METHODS,
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "claims_parameter_supported": False,
            "service_documentation": f"{issuer}/developers/docs/oauth",
        }
    )


class JWKSet(BaseModel):
    """RFC 7517 §5: the public signing keys."""

    keys: list[dict[str, Any]]


@router.get(
    "/.well-known/jwks.json",
    operation_id="getJWKS",
    response_model=JWKSet,
    summary="The public keys that sign ID tokens (RFC 7517)",
)
async def jwks(state: StateDep) -> Response:
    """Every published key's public part only (``kty``, ``kid``, ``use``, ``alg`` and the key
    parameters), from this node's copy of the keys: no database query per request."""
    keys = state.oauth.keys.published(state.clock())
    return JSONResponse(
        {"keys": keys}, headers={"Cache-Control": f"public, max-age={JWKS_MAX_AGE}"}
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
