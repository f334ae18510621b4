"""The hot endpoints, dispatched in a pure ASGI layer ahead of FastAPI's router.

Measured in-process on this machine (docs/performance.md), FastAPI's route matching,
dependency solving and response handling cost about 110 µs of the 200 µs of a
``GET /api/users/@me`` whose database query takes 50. The endpoints every client calls all the
time — the token endpoint, introspection, revocation and the profile — are therefore served
here, by exact method and path, with the very functions that the FastAPI routes declare (for
the OpenAPI schema, and to serve the request whenever this layer is not in front, as under a
``root_path``). Errors go through the application's own exception handlers, so the answers are
the same byte for byte; the security headers and the body limit still wrap this layer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]
E = TypeVar("E", bound=Endpoint)


class HotRoutes:
    """The one place a hot route is declared: :meth:`route` adds it to a FastAPI router (for
    the OpenAPI schema, and to serve it whenever this layer is not in front) and records it
    for :class:`HotPaths`, so that the two can never disagree."""

    def __init__(self) -> None:
        self.endpoints: dict[tuple[str, str], Endpoint] = {}

    def route(self, router: APIRouter, method: str, path: str, **route: Any) -> Callable[[E], E]:
        def register(endpoint: E) -> E:
            router.add_api_route(path, endpoint, methods=[method], **route)
            self.endpoints[(method, path)] = endpoint
            return endpoint

        return register


#: Every hot route of the application; ``app.py`` serves them through :class:`HotPaths`.
HOT_ROUTES = HotRoutes()


def _handler_for(handlers: Mapping[Any, Any], exc: Exception) -> Any:
    """The application's handler for ``exc`` (the nearest class in its MRO), as Starlette
    picks it; None for the catch-all, which is left to the server-error middleware."""
    for cls in type(exc).__mro__:
        if cls is Exception:
            return None
        if cls in handlers:
            return handlers[cls]
    return None


class HotPaths:
    """Serves ``endpoints[(method, path)]`` directly; any other request goes on to ``app``."""

    def __init__(self, app: ASGIApp, endpoints: Mapping[tuple[str, str], Endpoint]) -> None:
        self.app = app
        self.endpoints = dict(endpoints)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            endpoint = self.endpoints.get((scope["method"], scope["path"]))
            if endpoint is not None:
                request = Request(scope, receive)
                try:
                    response = await endpoint(request)
                except Exception as exc:
                    handler = _handler_for(scope["app"].exception_handlers, exc)
                    if handler is None:
                        raise
                    response = await handler(request, exc)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
