"""What the command line checks before it starts work: the settings, the port to listen on, the
database.

Can the database be reached (within a few seconds) and written, and is its schema the one this
version needs? Each problem is one ``Refused`` whose text is a line for a person, naming the
setting or option, then the host, the file or the missing step; never a driver's traceback,
and never the password of the database URL.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path
from typing import Any

import asyncpg
from alembic.script import ScriptDirectory
from pydantic import ValidationError
from sqlalchemy.engine import URL, make_url

from wtp_oauth import migrations
from wtp_oauth.config import Settings

# Seconds a connection (and, on PostgreSQL, its sign-in) may take before the database counts
# as unreachable.
CONNECT_TIMEOUT = 5.0
_MIGRATE_FIRST = "run `wtp-oauth migrate` first"


class Refused(Exception):
    """Something the user can fix, in one line: ``WHAT: what is wrong``."""


# --- Settings ---------------------------------------------------------------------------------


def load_settings() -> Settings:
    """The settings from the environment, or ``Refused`` naming each one that is wrong."""
    try:
        return Settings()
    except ValidationError as exc:
        raise Refused("; ".join(_setting_problem(e) for e in exc.errors())) from None


def _setting_problem(error: Any) -> str:
    name = f"{Settings.model_config.get('env_prefix', '')}{error['loc'][0]}".upper()
    kind, given, ctx = error["type"], error.get("input"), error.get("ctx", {})
    if kind == "value_error":
        return f"{name}: {ctx['error']}"
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return f"{name}: {given!r} is not a whole number"
    if kind == "greater_than":
        return f"{name}: must be at least {ctx['gt'] + 1}, not {given}"
    if kind == "less_than_equal":
        return f"{name}: must be at most {ctx['le']}, not {given}"
    return f"{name}: {error['msg']}"


# --- The port ---------------------------------------------------------------------------------


def check_listen(host: str, port: int) -> None:
    """Bind as uvicorn will, and let go: a port in use is one line, not a log and exit 3."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host.strip("[]"), port))
        except socket.gaierror as exc:
            raise Refused(f"--host {host}: no such address ({exc.strerror})") from None
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                problem = f"--port {port}: already in use on {host} (another server running?)"
            elif exc.errno == errno.EADDRNOTAVAIL:
                problem = f"--host {host}: not an address of this machine"
            elif exc.errno == errno.EACCES:
                problem = f"--port {port}: not allowed (ports below 1024 need privileges)"
            else:
                problem = f"--host {host} --port {port}: cannot listen there ({exc.strerror})"
            raise Refused(problem) from None


# --- The database -----------------------------------------------------------------------------


class DatabaseProblem(Exception):
    """What is wrong with ``WTP_DATABASE_URL``, in one line."""


def check_database(database_url: str, *, migrated: bool) -> None:
    """Refuse unless the database answers and can be written; with ``migrated``, also unless
    its schema is at this version's head (Alembic)."""
    url = make_url(database_url)
    try:
        if url.get_backend_name() == "sqlite":
            version = _sqlite_version(url, must_exist=migrated)
        else:
            version = asyncio.run(_postgres_version(url, read=migrated))
        if migrated:
            _check_schema(version)
    except DatabaseProblem as exc:
        raise Refused(f"WTP_DATABASE_URL: {exc}") from None


def _check_schema(version: str | None) -> None:
    script = ScriptDirectory.from_config(migrations.alembic_config(""))
    heads = set(script.get_heads())
    if version in heads:
        return
    if version is None:
        raise DatabaseProblem(f"the database has no tables yet: {_MIGRATE_FIRST}")
    if version in {revision.revision for revision in script.walk_revisions()}:
        needed = ", ".join(sorted(heads))
        raise DatabaseProblem(
            f"the database's schema is at revision {version}, this version needs {needed}: "
            f"{_MIGRATE_FIRST}"
        )
    # A revision this version does not know was written by a newer one: not ours to judge.


# --- SQLite -----------------------------------------------------------------------------------


def _sqlite_version(url: URL, *, must_exist: bool) -> str | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:") or url.query:
        return None  # in memory, or a URI filename: nothing on disk to check beforehand
    path = Path(os.path.abspath(database))
    _check_sqlite_file(path, must_exist=must_exist)
    if not path.exists():
        return None
    try:
        with closing(sqlite3.connect(path, timeout=CONNECT_TIMEOUT)) as connection:
            try:
                row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            except sqlite3.OperationalError as exc:
                if "no such table" not in str(exc):
                    raise
                return None
    except sqlite3.Error as exc:
        raise DatabaseProblem(f"cannot read the SQLite file {path}: {exc}") from exc
    return None if row is None else str(row[0])


def _check_sqlite_file(path: Path, *, must_exist: bool) -> None:
    folder = path.parent
    if path.is_dir():
        raise DatabaseProblem(f"{path} is a folder, not an SQLite file")
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise DatabaseProblem(
            f"the folder {folder} of the SQLite file {what}: create it, or name a file in an "
            "existing folder"
        )
    if path.exists():
        try:
            os.close(os.open(path, os.O_RDWR))
        except OSError as exc:
            raise DatabaseProblem(f"cannot write the SQLite file {path}: {exc.strerror}") from exc
    elif must_exist:
        raise DatabaseProblem(f"there is no database at {path} yet: {_MIGRATE_FIRST}")
    # SQLite writes its journal (-wal, -shm) beside the file, and creates the file itself.
    try:
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".wtp-oauth-probe-")
    except OSError as exc:
        raise DatabaseProblem(
            f"cannot write in the folder {folder} ({exc.strerror}); SQLite needs to create "
            "files beside the database"
        ) from exc
    os.close(handle)
    os.unlink(probe)


# --- PostgreSQL -------------------------------------------------------------------------------


async def _postgres_version(url: URL, *, read: bool) -> str | None:
    """Connect as the server would (asyncpg), then read Alembic's revision if asked to."""
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        connection = await asyncio.wait_for(
            asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT), CONNECT_TIMEOUT + 1
        )
    except Exception as exc:  # every way of not connecting becomes one sentence
        raise DatabaseProblem(_not_connected(url, exc)) from exc
    try:
        if not read:
            return None
        try:
            version = await connection.fetchval("SELECT version_num FROM alembic_version")
        except asyncpg.UndefinedTableError:
            return None
        return None if version is None else str(version)
    finally:
        await connection.close()


def _not_connected(url: URL, exc: Exception) -> str:
    host = url.host or "localhost"
    where = f"{host}:{url.port or 5432}"
    database = url.database or url.username or "postgres"
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return (
            f'there is no database "{database}" on {where}: create it '
            f"(createdb -h {host} -p {url.port or 5432} -U {url.username or 'postgres'} "
            f"{database}) or correct the name"
        )
    if isinstance(
        exc, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError
    ):
        return f"{where} refused the sign-in: {exc}"
    if isinstance(exc, asyncpg.PostgresError):
        return f"{where} answered: {exc}"
    if isinstance(exc, TimeoutError):
        return f"no answer from {where} within {CONNECT_TIMEOUT:g} seconds"
    if isinstance(exc, socket.gaierror):
        return f"cannot find the host {host!r} ({exc.strerror})"
    refused = isinstance(exc, ConnectionRefusedError) or (
        isinstance(exc, OSError) and "Connect call failed" in str(exc)
    )
    if refused or getattr(exc, "errno", None) == errno.ENOENT:
        return f"nothing is listening on {where}: is PostgreSQL running, on that port?"
    if isinstance(exc, OSError) and exc.strerror:
        return f"cannot connect to {where}: {exc.strerror}"
    return f"cannot connect to {where}: {exc}"
