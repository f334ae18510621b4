"""The application factory: lifespan, middleware, routers, error handlers. Nothing at import."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from wtp_oauth import __version__, api_docs, http_errors, metrics
from wtp_oauth.clock import Clock, utcnow
from wtp_oauth.config import Settings
from wtp_oauth.db import create_engine, create_session_factory
from wtp_oauth.deps import SESSION_COOKIE
from wtp_oauth.hot_paths import HOT_ROUTES, HotPaths
from wtp_oauth.middleware import BodyLimit, RequireHost, SameOriginWrites, SecurityHeaders
from wtp_oauth.oauth.context import OAuthContext, Storage
from wtp_oauth.oauth.grants.device_code.storage import DeviceCodeStorage
from wtp_oauth.oauth.keys import KeyRing, kept_loaded
from wtp_oauth.openapi_schema import polish
from wtp_oauth.repositories.server import load_secret_key
from wtp_oauth.repositories.signing_keys import SigningKeyRepository
from wtp_oauth.routers import (
    accounts,
    authorize,
    clients,
    device,
    oidc,
    portal,
    protected_resource,
    token,
    users,
    well_known,
)
from wtp_oauth.state import AppState
from wtp_oauth.storage.postgres.device_codes import PostgresDeviceCodes
from wtp_oauth.storage.postgres.store import PostgresStore
from wtp_oauth.storage.sqlite.device_codes import SQLiteDeviceCodes
from wtp_oauth.storage.sqlite.store import SQLiteStore

PACKAGE_DIR = Path(__file__).parent

SECURITY_SCHEMES: dict[str, Any] = {
    "clientBasic": {
        "type": "http",
        "scheme": "basic",
        "description": "client_secret_basic: client_id and client_secret (RFC 6749 §2.3.1)",
    },
    "clientSecretBearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "The client secret as a Bearer credential, client_id in the body "
        "(the developer guide's way)",
    },
    "accessToken": {
        "type": "oauth2",
        "description": "An access token (wtpa_…) from the authorization code flow",
        "flows": {
            "authorizationCode": {
                "authorizationUrl": "/oauth/authorize",
                "tokenUrl": "/api/oauth/token",
                "refreshUrl": "/api/oauth/token",
                "scopes": {},
            }
        },
    },
    "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "wtp_session"},
}


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        from wtp_oauth.scopes import SCOPES

        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        schemes = {name: dict(value) for name, value in SECURITY_SCHEMES.items()}
        flow = schemes["accessToken"]["flows"]["authorizationCode"]
        flow["scopes"] = {scope.name: scope.description for scope in SCOPES}
        schema.setdefault("components", {})["securitySchemes"] = schemes
        app.openapi_schema = polish(schema)
    return app.openapi_schema


async def _storage(settings: Settings, state_engine: Any) -> Storage:
    if settings.is_postgres:
        reads, writes = settings.token_pools
        return await PostgresStore.connect(settings.database_url, reads=reads, writes=writes)
    return SQLiteStore(state_engine)


def _operations(app: FastAPI) -> None:
    """``/metrics`` (Prometheus) and ``/api/docs`` (Swagger UI), outside the schema."""

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics(request: Request) -> Response:
        body, content_type = metrics.exposition(getattr(request.app.state, "wtp", None))
        return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})

    app.include_router(api_docs.router)
    app.mount(api_docs.ASSETS, StaticFiles(directory=api_docs.swagger_ui_dir()), name="api-docs")


def _device_codes(store: Storage) -> DeviceCodeStorage:
    """The device grant's storage, on the token store's own connections."""
    if isinstance(store, PostgresStore):
        return PostgresDeviceCodes(store.pool)
    assert isinstance(store, SQLiteStore)
    return SQLiteDeviceCodes(store)


def create_app(settings: Settings | None = None, *, clock: Clock = utcnow) -> FastAPI:
    """Build the application; the database is opened in the lifespan, not here."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        session_factory = create_session_factory(engine)
        store = await _storage(settings, engine)
        device_codes = _device_codes(store)
        try:
            secret_key = settings.secret_key or await load_secret_key(session_factory)
            key_storage = SigningKeyRepository(session_factory)
            ring = KeyRing(secret_key, settings.id_token_ttl)
            app.state.wtp = AppState(
                settings=settings,
                engine=engine,
                session_factory=session_factory,
                oauth=OAuthContext(
                    store=store,
                    settings=settings,
                    clock=clock,
                    device_codes=device_codes,
                    keys=ring,
                ),
                secret_key=secret_key,
                templates=Jinja2Templates(directory=PACKAGE_DIR / "templates"),
                clock=clock,
            )
            async with kept_loaded(ring, key_storage, secret_key, clock):
                # Everything built so far lives as long as the application: keep it out of the
                # garbage collector's full collections, which would otherwise walk it every
                # time and pause every request in flight (docs/performance.md).
                gc.freeze()
                yield
        finally:
            gc.unfreeze()
            await store.close()
            await engine.dispose()
            metrics.process_exiting()

    app = FastAPI(
        title="wtp-oauth",
        version=__version__,
        description="Sign in with Wants to Party: an OAuth 2.0 authorization server.",
        lifespan=lifespan,
        # FastAPI's Swagger UI loads its assets from a CDN, which the CSP (default-src 'self')
        # forbids: /api/docs below serves them from this server.
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        # No OpenTelemetry here: without this, FastAPI asks on every request whether a
        # tracer, meter or logger provider was configured meanwhile.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    http_errors.install(app)
    # FastAPI tries routers in this order: the hot paths (token, user API) first.
    for module in (
        token,
        users,
        accounts,
        clients,
        authorize,
        device,
        oidc,
        well_known,
        protected_resource,
        portal,
    ):
        app.include_router(module.router)
    _operations(app)
    app.mount("/static", StaticFiles(directory=PACKAGE_DIR / "static"), name="static")
    # Innermost first: the hot paths are served inside the request checks (same-origin
    # writes, Host), the security headers and the body limit; everything, the hot paths too,
    # is counted and given a request id (SPEC §16).
    app.add_middleware(HotPaths, endpoints=HOT_ROUTES.endpoints)
    app.add_middleware(SameOriginWrites, issuer=settings.issuer, session_cookie=SESSION_COOKIE)
    app.add_middleware(RequireHost)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit, max_size=settings.max_body_size)
    app.add_middleware(metrics.Observability, hot_paths=frozenset(HOT_ROUTES.endpoints))
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app
