"""The wheel, installed as a user installs it (SPEC §10).

One wheel is built from the files the Dockerfile's build stage copies (pyproject.toml,
README.md, src/) and installed, with its dependencies, into a fresh virtualenv in a temporary
folder. From an empty working directory its ``wtp-oauth`` migrates and serves on SQLite and on
PostgreSQL: the migrations, templates and static files can only come from the wheel.

The helpers here (clean environments, servers in their own process group, fresh PostgreSQL
databases) serve tests/e2e/test_containers.py too.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import tomllib
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import (
    POSTGRES_SERVER,
    REQUIRE_POSTGRES,
    RUN_ID,
    _admin,
    _free_port,
    _postgres_reachable,
    _run,
)
from tests.helpers import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "wtp_oauth"
# What the Dockerfile's build stage copies before it builds the wheel.
BUILD_INPUTS = ("pyproject.toml", "README.md", "src")
# Package data the server reads at run time (SPEC §10).
DATA_FOLDERS = ("templates", "static", "migrations")
PIP = (sys.executable, "-m", "pip")
BIN = "Scripts" if os.name == "nt" else "bin"
# The interpreter a process inherits must not find this source tree or this test venv.
_LEAKY = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "FORWARDED_ALLOW_IPS"}


def clean_env(**settings: str) -> dict[str, str]:
    """This process's environment without any WTP_ setting or Python path, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WTP_") and k not in _LEAKY}
    env.update(settings)
    return env


def run(
    command: Sequence[str], env: dict[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command), env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGINT to the server's whole process group (uvicorn's workers too), then SIGKILL."""
    for sig, wait in ((signal.SIGINT, 15.0), (signal.SIGKILL, 5.0)):
        if process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue


@dataclass
class Server:
    """A server command to run in its own process group, ready once ``url``/readyz is 200."""

    command: Sequence[str]
    env: dict[str, str]
    cwd: Path
    url: str
    log: Path


def _wait_until_ready(server: Server, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise AssertionError(f"{server.command} exited: {server.log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{server.command} never ready: {server.log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)  # polling a starting process, not waiting for time to pass


@contextmanager
def serving(*servers: Server) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start every server at once, wait until each is ready; all are stopped on the way out."""
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for server in servers:
            with server.log.open("wb") as out:
                processes.append(
                    subprocess.Popen(
                        list(server.command),
                        env=server.env,
                        cwd=server.cwd,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,  # its own process group, stopped as one
                    )
                )
        for server, process in zip(servers, processes, strict=True):
            _wait_until_ready(server, process)
        yield processes
    finally:
        for process in processes:
            _stop(process)


@contextmanager
def postgres_database(purpose: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database (no migration), dropped afterwards."""
    if not _run(_postgres_reachable()):
        message = f"PostgreSQL is not reachable at {POSTGRES_SERVER}"
        if REQUIRE_POSTGRES:
            pytest.fail(message + " (WTP_TEST_REQUIRE_POSTGRES=1)")
        pytest.skip(message)
    name = f"wtp_{purpose}_{RUN_ID}_{secrets.token_hex(2)}"
    _run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{POSTGRES_SERVER.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
    finally:
        _run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _source_copy(into: Path) -> Path:
    for name in BUILD_INPUTS:
        source = ROOT / name
        if source.is_dir():
            junk = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
            shutil.copytree(source, into / name, ignore=junk)
        else:
            shutil.copy2(source, into / name)
    return into


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built by pip from a copy of the build inputs (the tree stays clean)."""
    source = _source_copy(tmp_path_factory.mktemp("source"))
    wheelhouse = tmp_path_factory.mktemp("wheelhouse")
    built = run(
        [*PIP, "wheel", "--no-deps", "--wheel-dir", str(wheelhouse), str(source)],
        env=clean_env(),
        cwd=source,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    [path] = wheelhouse.glob("wtp_oauth-*.whl")
    return path


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv holding the wheel and its dependencies, and nothing of the tree."""
    root = tmp_path_factory.mktemp("venv")
    created = run([sys.executable, "-m", "venv", "--without-pip", str(root)], clean_env(), root)
    assert created.returncode == 0, created.stderr
    # This test's own pip installs into it (no second pip to bootstrap), from its usual cache.
    python = root / BIN / "python"
    installed = run(
        [*PIP, "--python", str(python), "install", "--no-compile", str(wheel)],
        env=clean_env(),
        cwd=root,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return root


def test_wheel_carries_every_template_static_file_and_migration(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("migrations/versions/", "templates/", "static/"):
        assert any(name.startswith(f"wtp_oauth/{folder}") for name in names), folder
    for folder in DATA_FOLDERS:
        for path in (PACKAGE / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                assert f"wtp_oauth/{path.relative_to(PACKAGE).as_posix()}" in names
    assert "wtp_oauth/py.typed" in names
    # The package and its metadata only: no tests, benchmarks or docs.
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    dist_info = f"wtp_oauth-{version}.dist-info"
    assert {name.split("/")[0] for name in names} == {"wtp_oauth", dist_info}
    entry_points = zipfile.ZipFile(wheel).read(f"{dist_info}/entry_points.txt")
    assert b"wtp-oauth = wtp_oauth.cli:main" in entry_points


def test_the_installed_package_is_the_wheel_not_the_tree(venv: Path, tmp_path: Path) -> None:
    found = run(
        [
            str(venv / BIN / "python"),
            "-c",
            "import wtp_oauth.app, wtp_oauth.migrations as m; "
            "print(wtp_oauth.app.PACKAGE_DIR); print(m.SCRIPT_LOCATION)",
        ],
        env=clean_env(),
        cwd=tmp_path,
    )
    assert found.returncode == 0, found.stderr
    for line in found.stdout.split():
        assert Path(line).is_relative_to(venv), line
        assert not Path(line).is_relative_to(ROOT), line


@pytest.fixture(params=["sqlite", "postgres"])
def database_settings(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """No setting at all (the SQLite default in the working directory), or a fresh PostgreSQL."""
    if request.param == "sqlite":
        yield {}
        return
    with postgres_database("wheel") as url:
        yield {"WTP_DATABASE_URL": url}


def test_the_wheel_migrates_and_serves_from_an_empty_directory(
    venv: Path, wheel: Path, database_settings: dict[str, str], tmp_path: Path
) -> None:
    workdir = tmp_path / "empty"
    workdir.mkdir()
    env = clean_env(**database_settings)
    script = str(venv / BIN / "wtp-oauth")

    migrated = run([script, "migrate"], env, workdir)
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.strip() == "database is at head"
    if not database_settings:
        assert (workdir / "wtp_oauth.db").is_file()

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    # serve migrates again first (nothing left to do), then serves.
    command = [script, "serve", "--port", str(port)]
    with serving(Server(command, env, workdir, url, tmp_path / "serve.log")):
        page = httpx.get(f"{url}/login")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert '<link rel="stylesheet" href="/static/style.css">' in page.text
        assert 'name="csrf_token"' in page.text

        stylesheet = httpx.get(f"{url}/static/style.css")
        assert stylesheet.status_code == 200
        assert stylesheet.headers["content-type"].startswith("text/css")
        assert stylesheet.content == zipfile.ZipFile(wheel).read("wtp_oauth/static/style.css")

        # The schema the wheel's migrations made takes an account.
        user = f"w{secrets.token_hex(5)}"
        account = {"username": user, "email": f"{user}@example.com", "password": PASSWORD}
        created = httpx.post(f"{url}/api/users", json=account)
        assert created.status_code == 201, created.text
