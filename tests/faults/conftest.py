"""Fixtures of the fault tests (issue 11 §2): real servers, real databases, real failures.

- ``own_postgres``: a PostgreSQL cluster of the test's own (``initdb`` + ``pg_ctl`` into a
  temporary folder, on a free loopback port), which the test may stop and start again. The
  machine's shared cluster on 5432 is never stopped.
- ``fresh_database``: a new, migrated database on the shared cluster or a new SQLite file, for
  a test that must count every row or migrate down and up (dropped at the end).
- ``Node``: ``LiveServer`` that can also be sent a signal and waited for.

Every module here marks its tests ``faults`` (``pytest -m faults`` runs them alone,
``-m "not faults"`` leaves them out); they pass in the normal run too.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest

from tests.conftest import (
    POSTGRES_SERVER,
    REQUIRE_POSTGRES,
    RUN_ID,
    LiveServer,
    _admin,
    _free_port,
    _postgres_reachable,
)
from wtp_oauth import migrations

T = TypeVar("T")

PG_BIN = Path(os.environ.get("WTP_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def blocking(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in a thread of its own: what runs its own event loop
    (``asyncio.run``, Alembic's migrations) cannot run on a test's running loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args).result()


def _unavailable(message: str) -> None:
    if REQUIRE_POSTGRES:
        pytest.fail(message + " (WTP_TEST_REQUIRE_POSTGRES=1)")
    pytest.skip(message)


class ThrowawayPostgres:
    """A PostgreSQL cluster in a temporary folder, served on 127.0.0.1 only.

    ``initdb`` refuses to run as root: as root, the cluster belongs to the ``postgres`` system
    user and every command runs as that user (``runuser``).
    """

    def __init__(self) -> None:
        self._as_root = os.geteuid() == 0
        owner = pwd.getpwnam("postgres") if self._as_root else None
        self.root = Path(tempfile.mkdtemp(prefix="wtp-faults-pg-"))
        if owner is not None:
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self.data = self.root / "data"
        self.port = _free_port()
        self.server = f"postgresql://postgres@127.0.0.1:{self.port}"

    def _command(self, *args: str | Path) -> list[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_root else []
        return prefix + [str(arg) for arg in args]

    def _run(self, *args: str | Path, timeout: float = 60) -> None:
        done = subprocess.run(
            self._command(*args), capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stdout}{done.stderr}")

    def init(self) -> ThrowawayPostgres:
        self._run(
            PG_BIN / "initdb",
            "-D",
            self.data,
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "--no-instructions",
            "-E",
            "UTF8",
        )
        return self

    def start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.root} -c shared_buffers=16MB "
            "-c max_connections=100"
        )
        self._run(
            PG_BIN / "pg_ctl",
            "-D",
            self.data,
            "-l",
            self.root / "server.log",
            "-o",
            options,
            "-w",
            "-t",
            "30",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """``pg_ctl stop -m mode``; ``immediate`` is a crash: no checkpoint, recovery on start."""
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "30", "stop")

    def create_database(self, name: str) -> str:
        """A new database on this cluster, migrated to head; its URL."""

        async def create() -> None:
            conn = await asyncpg.connect(f"{self.server}/postgres", timeout=10)
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        blocking(asyncio.run, create())
        url = f"{self.server.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
        blocking(migrations.upgrade, url)
        return url

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text() if path.exists() else ""

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def own_postgres() -> Iterator[ThrowawayPostgres]:
    """A running PostgreSQL cluster that this test alone uses, and may stop."""
    if not (PG_BIN / "initdb").exists():
        _unavailable(f"no PostgreSQL binaries in {PG_BIN} (set WTP_TEST_PG_BIN)")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            _unavailable("running as root, and there is no 'postgres' user to run initdb as")
    cluster = ThrowawayPostgres()
    try:
        cluster.init().start()
        yield cluster
    finally:
        cluster.remove()


class Databases:
    """New databases for one test (or module): ``make(kind)`` and, at the end, ``drop()``."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._made: list[str] = []

    def make(self, kind: str, *, migrate: bool = True) -> str:
        """The URL of a new database of ``kind`` ("sqlite", or "postgres" on the shared
        cluster), migrated to head unless told not to."""
        number = len(self._made) + 1
        if kind == "sqlite":
            url = f"sqlite+aiosqlite:///{self._folder / f'faults_{number}.db'}"
            self._made.append("")
        else:
            if not blocking(asyncio.run, _postgres_reachable()):
                _unavailable(f"PostgreSQL is not reachable at {POSTGRES_SERVER}")
            name = f"wtp_faults_{RUN_ID}_{secrets.token_hex(3)}"
            blocking(asyncio.run, _admin(f'CREATE DATABASE "{name}"'))
            self._made.append(name)
            url = f"{POSTGRES_SERVER.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
        if migrate:
            blocking(migrations.upgrade, url)
        return url

    def drop(self) -> None:
        for name in self._made:
            if name:
                blocking(asyncio.run, _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def fresh_database(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """``make(kind, migrate=True)``: the URL of a new database of ``kind`` ("sqlite" or
    "postgres", on the shared cluster), migrated to head unless told not to."""
    databases = Databases(tmp_path)
    try:
        yield databases.make
    finally:
        databases.drop()


class Node(LiveServer):
    """A ``wtp-oauth serve`` process that a test can also signal and wait for."""

    def send_signal(self, sig: signal.Signals) -> None:
        assert self._process is not None
        self._process.send_signal(sig)

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def wait(self, timeout: float) -> int:
        """The exit status (negative: killed by that signal); raises on timeout."""
        assert self._process is not None
        return self._process.wait(timeout=timeout)


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[Callable[..., Node]]:
    """``start(database_url, workers=1, env=None)``: a started ``Node``, stopped at the end."""
    started: list[Node] = []

    def start(database_url: str, workers: int = 1, env: dict[str, str] | None = None) -> Node:
        node = Node(database_url, workers=workers, env=env)
        started.append(node)
        node.start(tmp_path)
        return node

    yield start
    for node in started:
        node.stop()
