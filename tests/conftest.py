"""Fixtures shared by every test.

The database is a fixture parameter: each test that touches storage runs on SQLite and on
PostgreSQL. Each test run creates its own databases (a temporary SQLite file, a PostgreSQL
database named after the run) migrated by Alembic, and drops them at the end. Without a
reachable PostgreSQL the PostgreSQL half is skipped, unless ``WTP_TEST_REQUIRE_POSTGRES=1``
(as in CI), where it fails.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from wtp_oauth import migrations
from wtp_oauth.app import create_app
from wtp_oauth.config import Settings

POSTGRES_SERVER = os.environ.get("WTP_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
REQUIRE_POSTGRES = os.environ.get("WTP_TEST_REQUIRE_POSTGRES") == "1"
TEST_ISSUER = "http://testserver"
RUN_ID = f"{os.getpid()}_{secrets.token_hex(3)}"


class FakeClock:
    """A clock the test moves by hand, so that expiry is tested without sleeping."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


async def _postgres_reachable() -> bool:
    try:
        conn = await asyncpg.connect(f"{POSTGRES_SERVER}/postgres", timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(f"{POSTGRES_SERVER}/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _run(coro: object) -> object:
    """Run a coroutine from a sync fixture (migrations run their own loop, too)."""
    return asyncio.run(coro)  # type: ignore[arg-type]


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh, migrated database of one kind for this test run."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "wtp_test.db"
        url = f"sqlite+aiosqlite:///{path}"
        migrations.upgrade(url)
        yield url
        return
    if not _run(_postgres_reachable()):
        message = f"PostgreSQL is not reachable at {POSTGRES_SERVER}"
        if REQUIRE_POSTGRES:
            pytest.fail(message + " (WTP_TEST_REQUIRE_POSTGRES=1)")
        pytest.skip(message)
    name = f"wtp_test_{RUN_ID}"
    _run(_admin(f'CREATE DATABASE "{name}"'))
    url = f"{POSTGRES_SERVER.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
    try:
        migrations.upgrade(url)
        yield url
    finally:
        _run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, issuer=TEST_ISSUER, pool_size=5)


@pytest.fixture
def app(settings: Settings, clock: FakeClock) -> FastAPI:
    return create_app(settings, clock=clock)


def _random_ip() -> str:
    # Each test client gets its own address so that per-address throttling stays per test.
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{1 + secrets.randbelow(254)}"


@pytest.fixture
async def running_app(app: FastAPI) -> AsyncIterator[FastAPI]:
    """The application with its lifespan running (ASGITransport does not run it)."""
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(running_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in-process; a browser-like cookie jar."""
    transport = httpx.ASGITransport(app=running_app, client=(_random_ip(), 50000))
    async with httpx.AsyncClient(transport=transport, base_url=TEST_ISSUER) as http:
        yield http


@pytest.fixture
async def other_client(running_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser (its own cookies) on the same app."""
    transport = httpx.ASGITransport(app=running_app, client=(_random_ip(), 50001))
    async with httpx.AsyncClient(transport=transport, base_url=TEST_ISSUER) as http:
        yield http


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """A real ``wtp-oauth serve`` process (uvicorn, real sockets) on a loopback port."""

    def __init__(
        self,
        database_url: str,
        workers: int = 2,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
    ):
        self.port = _free_port()
        self._args = args or []
        self.url = f"http://127.0.0.1:{self.port}"
        self._database_url = database_url
        self._workers = workers
        self._env = env or {}
        self._process: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None

    def start(self, log_dir: Path) -> LiveServer:
        script = Path(sys.executable).with_name("wtp-oauth")
        command = [str(script) if script.exists() else "wtp-oauth", "serve"]
        command += ["--port", str(self.port), "--workers", str(self._workers), *self._args]
        env = {k: v for k, v in os.environ.items() if k != "WTP_ISSUER"}
        env.update({"WTP_DATABASE_URL": self._database_url, **self._env})
        self.log_path = log_dir / f"server-{self.port}.log"
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not start: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path else ""


@pytest.fixture(scope="session")
def live_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """``wtp-oauth serve --workers 2`` on this run's database, shared by the session's tests."""
    server = LiveServer(database_url).start(tmp_path_factory.mktemp("server"))
    try:
        yield server
    finally:
        server.stop()
