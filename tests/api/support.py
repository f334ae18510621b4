"""Steps the API tests share, beyond ``tests/helpers.py``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from tests.conftest import TEST_ISSUER
from tests.helpers import Client, register_client, sign_up
from wtp_oauth.app import create_app
from wtp_oauth.clock import Clock, utcnow
from wtp_oauth.config import Settings


@asynccontextmanager
async def app_client(
    settings: Settings, clock: Clock = utcnow, base_url: str = TEST_ISSUER
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """An application of its own (other settings than the shared one), running, and a client."""
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
            yield app, http


async def developer_app(http: httpx.AsyncClient, **kwargs: Any) -> Client:
    """Sign up as a new developer and register an application."""
    await sign_up(http)
    return await register_client(http, **kwargs)
