"""Fixtures of the API (and service) tests.

Two changes from the shared fixtures, both for speed, neither for what is tested:

- One running application per database for the whole session instead of one per test:
  FastAPI builds each route's dependency graph once per application, which cost more than
  most tests themselves. The application's clock is a ``FakeClock`` that ``clock`` resets to
  the real time before every test, so tests still start at "now" and can ``advance`` it.
  Tests that need other settings build their own application, as before.
- Accounts made here are hashed with the cheapest argon2id (see ``cheap_password_hashing``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from passlib.context import CryptContext

from tests.conftest import FakeClock
from wtp_oauth.app import create_app
from wtp_oauth.config import Settings
from wtp_oauth.security import passwords

# argon2 at its defaults costs ~0.1 s a hash here, and these tests create hundreds of accounts.
# They check what the API does with passwords, not argon2's cost (tests/unit/test_passwords.py
# does, with the real parameters).
_CHEAP_ARGON2 = CryptContext(
    schemes=["argon2"], argon2__memory_cost=1024, argon2__rounds=1, argon2__parallelism=1
)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "_context", _CHEAP_ARGON2)


@pytest.fixture(scope="session")
def shared_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def clock(shared_clock: FakeClock) -> FakeClock:
    """The shared application's clock, set back to the real time for this test."""
    shared_clock.now = datetime.now(UTC)
    return shared_clock


@pytest.fixture(scope="session")
async def shared_app(database_url: str, shared_clock: FakeClock) -> AsyncIterator[FastAPI]:
    """The application on this database, its lifespan running for the whole session."""
    settings = Settings(database_url=database_url, issuer="http://testserver", pool_size=5)
    app = create_app(settings, clock=shared_clock)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
def running_app(shared_app: FastAPI, clock: FakeClock) -> FastAPI:
    return shared_app
