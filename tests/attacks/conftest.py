"""Fixtures for the threat-model tests: a small world to attack, and apps with custom settings.

Every fixture here stands on ``database_url``, so each attack runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_ISSUER, FakeClock
from tests.helpers import Account, Client, register_client, sign_up
from wtp_oauth.app import create_app
from wtp_oauth.config import Settings

ATTACKER_REDIRECT = "https://attacker.example/callback"


@dataclass
class World:
    """A developer with one application, and a signed-in user of it, each their own browser."""

    dev: httpx.AsyncClient
    user: httpx.AsyncClient
    app: Client
    account: Account


@pytest.fixture
async def world(client: httpx.AsyncClient, other_client: httpx.AsyncClient) -> World:
    await sign_up(client)
    app = await register_client(client)
    account = await sign_up(other_client)
    return World(dev=client, user=other_client, app=app, account=account)


@pytest.fixture(scope="module")
async def shared_world(database_url: str) -> AsyncIterator[World]:
    """One world shared by a module's parametrized attacks that change nothing the others rely
    on (each building its own would cost an app start and four password hashes)."""
    settings = Settings(database_url=database_url, issuer=TEST_ISSUER, pool_size=5)
    app = create_app(settings, clock=FakeClock())
    async with app.router.lifespan_context(app):
        dev_transport = httpx.ASGITransport(app=app, client=(random_ip(), 50000))
        user_transport = httpx.ASGITransport(app=app, client=(random_ip(), 50001))
        async with (
            httpx.AsyncClient(transport=dev_transport, base_url=TEST_ISSUER) as dev,
            httpx.AsyncClient(transport=user_transport, base_url=TEST_ISSUER) as user,
        ):
            await sign_up(dev)
            registered = await register_client(dev)
            account = await sign_up(user)
            yield World(dev=dev, user=user, app=registered, account=account)


@pytest.fixture
async def rival(world: World) -> Client:
    """A second confidential application (another developer's, as far as the server cares)."""
    return await register_client(world.dev, [ATTACKER_REDIRECT], name="Rival")


@pytest.fixture
async def public_app(world: World) -> Client:
    return await register_client(
        world.dev, ["com.example.app:/callback", "http://127.0.0.1/callback"], "public"
    )


def random_ip() -> str:
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{1 + secrets.randbelow(254)}"


AppFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def custom_app(database_url: str, clock: FakeClock) -> AppFactory:
    """``async with custom_app(issuer=…, login_failure_limit=…) as http:`` — an in-process app
    on this run's database with some settings changed, and a client for it."""

    @asynccontextmanager
    async def build(
        base_url: str = TEST_ISSUER, ip: str | None = None, **overrides: Any
    ) -> AsyncIterator[httpx.AsyncClient]:
        settings = Settings(
            **{"database_url": database_url, "issuer": TEST_ISSUER, "pool_size": 5, **overrides}
        )
        app = create_app(settings, clock=clock)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=(ip or random_ip(), 50000))
            async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
                yield http

    return build


def no_store(response: httpx.Response) -> bool:
    return "no-store" in response.headers.get("cache-control", "")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
