"""What a newcomer meets when the database is not what ``WTP_DATABASE_URL`` says.

Every command that opens the database checks it first and stops with one line naming
``WTP_DATABASE_URL`` and exit status 2: no such database, nothing listening, no answer, a
refused sign-in, a folder that is missing or read-only, a schema not migrated. These run
``cli.main`` in-process (what the script runs) on real PostgreSQL and SQLite; a few run the
script itself, to show that nothing reaches standard error but that line.
"""

from __future__ import annotations

import asyncio
import io
import os
import socket
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
import uvicorn

from tests.conftest import (
    POSTGRES_SERVER,
    REQUIRE_POSTGRES,
    RUN_ID,
    _admin,
    _free_port,
    _postgres_reachable,
)
from tests.helpers import PASSWORD, unique
from wtp_oauth import cli, migrations, preflight

SCRIPT = Path(sys.executable).with_name("wtp-oauth")
PG = POSTGRES_SERVER.replace("postgresql://", "postgresql+asyncpg://")
ROOT_USER = os.geteuid() == 0
# Each command that opens the database, with options that would otherwise succeed.
DATABASE_COMMANDS = {
    "migrate": ["migrate"],
    "create-user": ["create-user", "--username", "ada", "--email", "a@example.com"],
    "create-client": [
        "create-client",
        "--owner",
        "ada",
        "--name",
        "n",
        "--redirect-uri",
        "https://example.com/cb",
    ],
    "purge": ["purge"],
    "serve": ["serve", "--port", "0"],  # replaced by a free port
    "serve --no-migrate": ["serve", "--no-migrate", "--port", "0"],
}


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("WTP_"):
            monkeypatch.delenv(name)
    for name in ("WTP_ISSUER", "WTP_WORKERS"):  # recorded, so that what serve sets is undone
        monkeypatch.setenv(name, "placeholder")
        monkeypatch.delenv(name)

    def never(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("serve went past its checks")

    monkeypatch.setattr(uvicorn, "run", never)


@pytest.fixture(scope="module")
def postgres() -> str:
    if not asyncio.run(_postgres_reachable()):
        message = f"PostgreSQL is not reachable at {POSTGRES_SERVER}"
        if REQUIRE_POSTGRES:
            pytest.fail(message)
        pytest.skip(message)
    return PG


@pytest.fixture
def empty_postgres(postgres: str) -> Iterator[str]:
    """A PostgreSQL database of its own, with no tables."""
    name = f"wtp_test_{RUN_ID}_{unique('e')}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{postgres}/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _args(command: str) -> list[str]:
    args = list(DATABASE_COMMANDS[command])
    if "--port" in args:
        args[args.index("--port") + 1] = str(_free_port())
    return args


def refusal(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    url: str,
    args: list[str],
    stdin: str = PASSWORD + "\n",
) -> str:
    """Run the command on ``url``; the one line it printed (it must exit with status 2)."""
    monkeypatch.setenv("WTP_DATABASE_URL", url)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    assert cli.main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("wtp-oauth: ") and captured.err.count("\n") == 1, captured.err
    return captured.err.removeprefix("wtp-oauth: ").removesuffix("\n")


# --- PostgreSQL -------------------------------------------------------------------------------


@pytest.mark.parametrize("command", DATABASE_COMMANDS)
def test_postgres_database_that_does_not_exist(
    postgres: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    name = f"wtp_missing_{RUN_ID}"
    line = refusal(monkeypatch, capsys, f"{postgres}/{name}", _args(command))
    assert line == (
        f'WTP_DATABASE_URL: there is no database "{name}" on 127.0.0.1:5432: create it '
        f"(createdb -h 127.0.0.1 -p 5432 -U postgres {name}) or correct the name"
    )


@pytest.mark.parametrize("command", DATABASE_COMMANDS)
def test_nothing_listening_on_the_database_port(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    port = _free_port()
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/wtp"
    line = refusal(monkeypatch, capsys, url, _args(command))
    assert line == (
        f"WTP_DATABASE_URL: nothing is listening on 127.0.0.1:{port}: is PostgreSQL running, "
        "on that port?"
    )


def test_a_database_that_never_answers(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(preflight, "CONNECT_TIMEOUT", 0.3)
    with socket.socket() as silent:  # accepts connections (the kernel does), never speaks
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/wtp"
        line = refusal(monkeypatch, capsys, url, ["migrate"])
    assert line == f"WTP_DATABASE_URL: no answer from 127.0.0.1:{port} within 0.3 seconds"


def test_a_postgres_role_that_does_not_exist(
    postgres: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = postgres.replace("postgres@", "no_such_role@") + "/postgres"
    line = refusal(monkeypatch, capsys, url, ["migrate"])
    assert line == (
        'WTP_DATABASE_URL: 127.0.0.1:5432 refused the sign-in: role "no_such_role" does not exist'
    )


def test_postgres_not_migrated_then_migrated(
    empty_postgres: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in ("create-user", "create-client", "purge", "serve --no-migrate"):
        line = refusal(monkeypatch, capsys, empty_postgres, _args(command))
        assert line == (
            "WTP_DATABASE_URL: the database has no tables yet: run `wtp-oauth migrate` first"
        )
    assert cli.main(["migrate"]) == 0
    assert cli.main(["purge"]) == 0


# --- SQLite -----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", DATABASE_COMMANDS)
def test_sqlite_folder_that_does_not_exist(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    folder = tmp_path / "no" / "such"
    line = refusal(monkeypatch, capsys, f"sqlite+aiosqlite:///{folder}/wtp.db", _args(command))
    assert line == (
        f"WTP_DATABASE_URL: the folder {folder} of the SQLite file does not exist: create it, "
        "or name a file in an existing folder"
    )
    assert not folder.exists()


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder nobody may create files in: chmod 555, or for root (who ignores modes) sysfs,
    which refuses new files even to root."""
    if ROOT_USER:
        yield Path("/sys")
        return
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        yield folder
    finally:
        folder.chmod(stat.S_IRWXU)


@pytest.mark.parametrize("command", ["migrate", "serve"])
def test_sqlite_folder_that_is_read_only(
    read_only_folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    url = f"sqlite+aiosqlite:///{read_only_folder}/wtp.db"
    line = refusal(monkeypatch, capsys, url, _args(command))
    assert line == (
        f"WTP_DATABASE_URL: cannot write in the folder {read_only_folder} (Permission denied); "
        "SQLite needs to create files beside the database"
    )


@pytest.mark.skipif(ROOT_USER, reason="root writes read-only files")
def test_sqlite_file_that_is_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "wtp.db"
    migrations.upgrade(f"sqlite+aiosqlite:///{path}")
    path.chmod(stat.S_IRUSR)
    line = refusal(monkeypatch, capsys, f"sqlite+aiosqlite:///{path}", ["purge"])
    assert line == f"WTP_DATABASE_URL: cannot write the SQLite file {path}: Permission denied"


def test_sqlite_path_that_is_a_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    line = refusal(monkeypatch, capsys, f"sqlite+aiosqlite:///{tmp_path}", ["migrate"])
    assert line == f"WTP_DATABASE_URL: {tmp_path} is a folder, not an SQLite file"


def test_sqlite_file_that_is_not_a_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database, but long enough to have a header of its own\n" * 10)
    line = refusal(monkeypatch, capsys, f"sqlite+aiosqlite:///{path}", ["purge"])
    assert line == (f"WTP_DATABASE_URL: cannot read the SQLite file {path}: file is not a database")


@pytest.mark.parametrize("command", ["create-user", "create-client", "purge", "serve --no-migrate"])
def test_sqlite_not_migrated(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    path = tmp_path / "wtp.db"
    url = f"sqlite+aiosqlite:///{path}"
    line = refusal(monkeypatch, capsys, url, _args(command))
    assert line == (
        f"WTP_DATABASE_URL: there is no database at {path} yet: run `wtp-oauth migrate` first"
    )
    assert not path.exists()  # not created by the check
    sqlite3.connect(path).close()  # an empty file: SQLite's new database
    line = refusal(monkeypatch, capsys, url, _args(command))
    assert line == "WTP_DATABASE_URL: the database has no tables yet: run `wtp-oauth migrate` first"


def test_sqlite_behind_the_latest_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'wtp.db'}"
    migrations.upgrade(url, "0001")
    line = refusal(monkeypatch, capsys, url, ["purge"])
    assert line.startswith("WTP_DATABASE_URL: the database's schema is at revision 0001, ")
    assert line.endswith(": run `wtp-oauth migrate` first")
    assert cli.main(["migrate"]) == 0
    assert cli.main(["purge"]) == 0


# --- Other mistakes, through the script itself -------------------------------------------------


def _script(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WTP_")}
    return subprocess.run(
        [str(SCRIPT), *args],
        env={**clean, **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,  # no controlling terminal
    )


def test_the_script_prints_one_line_and_no_traceback(tmp_path: Path) -> None:
    port = _free_port()
    unreachable = {"WTP_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{port}/wtp"}
    for args, env, message in (
        (["migrate"], {"WTP_ISSUER": "foo"}, "wtp-oauth: WTP_ISSUER: 'foo' is not an absolute"),
        (["purge"], unreachable, f"nothing is listening on 127.0.0.1:{port}"),
        (["serve", "--port", "99999"], {}, "argument --port: 99999 is not a port (1 to 65535)"),
    ):
        r = _script(*args, env=env)
        assert r.returncode == 2
        assert r.stderr.count("\n") == 1 and message in r.stderr, r.stderr
        assert "Traceback" not in r.stderr


def test_a_schema_newer_than_this_version_is_one_line_when_migrating(tmp_path: Path) -> None:
    # Through the script: Alembic's environment leaves its connection to the garbage collector
    # when a migration fails, which in-process would be a ResourceWarning.
    path = tmp_path / "wtp.db"
    migrations.upgrade(f"sqlite+aiosqlite:///{path}")
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute("UPDATE alembic_version SET version_num = 'f00d'")
    r = _script("migrate", env={"WTP_DATABASE_URL": f"sqlite+aiosqlite:///{path}"})
    assert r.returncode == 2
    assert r.stderr == "wtp-oauth: WTP_DATABASE_URL: Can't locate revision identified by 'f00d'\n"


def test_create_user_without_terminal_or_password(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'wtp.db'}"
    migrations.upgrade(url)
    r = _script(
        "create-user",
        "--username",
        "ada",
        "--email",
        "a@example.com",
        env={"WTP_DATABASE_URL": url},
    )
    assert r.returncode == 2
    assert r.stderr == (
        "wtp-oauth: --password is required when there is no terminal (or pipe the password, "
        "one line, to standard input)\n"
    )


def test_serve_on_a_port_in_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'wtp.db'}"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = refusal(monkeypatch, capsys, url, ["serve", "--port", str(port)])
    assert line == f"--port {port}: already in use on 127.0.0.1 (another server running?)"
