"""Fixtures shared by every test.

The database is a fixture parameter: each test that touches storage runs on SQLite and on
PostgreSQL. Each test run creates its own databases (a temporary SQLite file, a PostgreSQL
database named after the run) migrated by Alembic, and drops them at the end. Without a
reachable PostgreSQL the PostgreSQL half is skipped, unless ``WTP_TEST_REQUIRE_POSTGRES=1``
(as in CI), where it fails.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import os
import secrets
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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


# --- Processes the tests start: never left behind ------------------------------------------
# Each runs in a process group of its own (so stopping it stops its workers too), is stopped
# when the test run exits (atexit) or is told to stop (SIGTERM, SIGHUP), and on Linux gets
# SIGTERM from the kernel when the test run dies any other way, even by SIGKILL.

_RUNNING: dict[int, subprocess.Popen[bytes]] = {}
_PREVIOUS_HANDLERS: dict[int, Any] = {}
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# Looked up here, not in the forked child, where loading a library could deadlock.
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None


def _dies_with(parent: int) -> Callable[[], None]:
    """A ``preexec_fn``: SIGTERM to the child when the thread that started it ends."""

    def arm() -> None:
        assert _prctl is not None
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the request took hold
            os._exit(1)

    return arm


def _on_signal(signum: int, frame: Any) -> None:
    stop_all_processes()
    previous = _PREVIOUS_HANDLERS.get(signum, signal.SIG_DFL)
    if callable(previous):
        previous(signum, frame)
    elif previous != signal.SIG_IGN:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def _install_handlers() -> None:
    if _PREVIOUS_HANDLERS or threading.current_thread() is not threading.main_thread():
        return
    atexit.register(stop_all_processes)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        _PREVIOUS_HANDLERS[signum] = signal.signal(signum, _on_signal)


def spawn(command: list[str], **popen: Any) -> subprocess.Popen[bytes]:
    """``subprocess.Popen`` for a process that must not outlive the test run; end it with
    ``stop_process``. The kernel's SIGTERM on the run's death is armed only when started from
    the main thread (it fires when the starting *thread* ends)."""
    _install_handlers()
    on_main = threading.current_thread() is threading.main_thread()
    process = subprocess.Popen(
        command,
        process_group=0,
        preexec_fn=_dies_with(os.getpid()) if on_main and _prctl is not None else None,
        **popen,
    )
    _RUNNING[process.pid] = process
    return process


def _exits_within(pid: int, timeout: float) -> bool:
    """Wait for the process to end without reaping it (its pid keeps naming its group)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)


def stop_process(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """SIGTERM (uvicorn then stops its workers), then SIGKILL to whatever is left of the
    process group, and reap."""
    stop_processes([process], timeout)


def stop_processes(processes: list[subprocess.Popen[bytes]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for process in processes:
        _RUNNING.pop(process.pid, None)
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
    for process in processes:
        if process.returncode is None:
            _exits_within(process.pid, max(0.0, deadline - time.monotonic()))
            # Not reaped yet, so the group id is still this one's, never a stranger's.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def stop_all_processes() -> None:
    """Everything ``spawn`` started and nobody stopped (at exit, on SIGTERM)."""
    stop_processes(list(_RUNNING.values()), timeout=5)


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

    @property
    def pid(self) -> int:
        """The server's main process, leader of its process group (the workers are in it)."""
        assert self._process is not None
        return self._process.pid

    def start(self, log_dir: Path) -> LiveServer:
        script = Path(sys.executable).with_name("wtp-oauth")
        command = [str(script) if script.exists() else "wtp-oauth", "serve"]
        command += ["--port", str(self.port), "--workers", str(self._workers), *self._args]
        env = {k: v for k, v in os.environ.items() if k != "WTP_ISSUER"}
        env.update({"WTP_DATABASE_URL": self._database_url, **self._env})
        self.log_path = log_dir / f"server-{self.port}.log"
        with self.log_path.open("wb") as log:
            self._process = spawn(command, env=env, stdout=log, stderr=subprocess.STDOUT)
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
        if self._process is not None:
            stop_process(self._process)

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
