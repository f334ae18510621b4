"""Dockerfile, docker-compose.yml and deploy/nginx.conf, read and then run (SPEC §10).

Docker does not run on this machine, so the files are checked for their structure, and every
command they name (the dependency list, ``wtp-oauth migrate``, ``wtp-oauth serve``, the health
checks) is run here the same way, with the same arguments and environment, on loopback: only
the host, the port and the database URL change. docs/deploying.md describes the design.
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
import shutil
import sys
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import _free_port
from tests.e2e.test_wheel import ROOT, Server, clean_env, postgres_database, run, serving
from tests.helpers import PASSWORD

COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
# The container's programs, found here in this test's venv.
PROGRAMS = {
    "wtp-oauth": str(Path(sys.executable).with_name("wtp-oauth")),
    "python": sys.executable,
}
DATA_URL = "sqlite+aiosqlite:////data/wtp_oauth.db"


# --- docker-compose.yml ---------------------------------------------------------------------

_VARIABLE = re.compile(r"\$(?:\$|\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\})")


class MissingVariable(Exception):
    pass


def interpolate(value: str, variables: Mapping[str, str]) -> str:
    """Compose's ``${NAME}``, ``${NAME:-default}``, ``${NAME:?error}`` and ``$$``."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name", "op", "arg")
        value = variables.get(name)
        given = value is not None and (value != "" or not (op or "").startswith(":"))
        if op is None or given:
            return value or ""
        if op.endswith("-"):
            return arg
        raise MissingVariable(f"{name}: {arg}")

    return _VARIABLE.sub(replace, value)


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


def service_env(service: dict[str, Any], variables: Mapping[str, str]) -> dict[str, str]:
    return {k: interpolate(str(v), variables) for k, v in service["environment"].items()}


def health_command(service: dict[str, Any]) -> list[str]:
    test = service["healthcheck"]["test"]
    assert test[0] == "CMD", test  # exec form: runs without a shell, as here
    return list(test[1:])


def test_compose_has_database_migration_app_and_proxy() -> None:
    services = compose()["services"]
    assert set(services) == {"db", "migrate", "app", "proxy"}

    db = services["db"]
    assert db["image"] == "postgres:15"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])

    migrate = services["migrate"]
    assert migrate["command"] == ["wtp-oauth", "migrate"]
    assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert migrate.get("restart", "no") == "no"  # one-shot

    app = services["app"]
    assert app["command"][:2] == ["wtp-oauth", "serve"]
    assert "--no-migrate" in app["command"]
    assert app["command"][app["command"].index("--host") + 1] == "0.0.0.0"  # the proxy's way in
    assert app["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    # Scalable: `docker compose up --scale app=3` needs no fixed port or name.
    assert "ports" not in app
    assert "container_name" not in app
    # The migration and the app are the same image with the same settings.
    for key in ("build", "image", "environment"):
        assert migrate[key] == app[key], key

    proxy = services["proxy"]
    assert proxy["depends_on"] == {"app": {"condition": "service_healthy"}}
    assert len(proxy["ports"]) == 1
    assert "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in proxy["volumes"]


def test_compose_health_checks_ask_readyz_on_the_served_port() -> None:
    services = compose()["services"]
    app = services["app"]
    port = app["command"][app["command"].index("--port") + 1]
    assert f"http://127.0.0.1:{port}/readyz" in " ".join(health_command(app))
    listen = proxy_listen_port()
    assert f"http://127.0.0.1:{listen}/readyz" in " ".join(health_command(services["proxy"]))


def test_compose_settings_require_a_shared_secret_key_and_name_the_issuer() -> None:
    app = compose()["services"]["app"]
    with pytest.raises(MissingVariable, match="WTP_SECRET_KEY"):
        service_env(app, {})
    with pytest.raises(MissingVariable, match="WTP_SECRET_KEY"):
        service_env(app, {"WTP_SECRET_KEY": ""})
    env = service_env(app, {"WTP_SECRET_KEY": "k"})
    assert env["WTP_SECRET_KEY"] == "k"
    assert env["WTP_ISSUER"] == "http://127.0.0.1:8000"
    behind_tls = service_env(app, {"WTP_SECRET_KEY": "k", "WTP_ISSUER": "https://auth.example"})
    assert behind_tls["WTP_ISSUER"] == "https://auth.example"
    assert env["WTP_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@db:5432/" in env["WTP_DATABASE_URL"]
    assert env["FORWARDED_ALLOW_IPS"] == "*"  # only the proxy can reach the app


# --- deploy/nginx.conf ----------------------------------------------------------------------


def proxy_listen_port() -> str:
    [published] = compose()["services"]["proxy"]["ports"]
    container_port = str(published).rsplit(":", 1)[1]
    assert re.search(rf"^\s*listen {container_port};", NGINX_CONF.read_text(), re.M)
    return container_port


def test_nginx_spreads_requests_over_every_app_replica() -> None:
    conf = NGINX_CONF.read_text()
    services = compose()["services"]
    app_port = services["app"]["command"][services["app"]["command"].index("--port") + 1]
    proxy_listen_port()
    # Docker's DNS, asked again and again, and an upstream that follows it.
    assert re.search(r"^resolver 127\.0\.0\.11 valid=\d+s", conf, re.M)
    upstream = re.search(r"upstream (\w+) \{(.*?)\}", conf, re.S)
    assert upstream is not None
    name, body = upstream.groups()
    assert re.search(r"^\s*zone \w+ \d+k;", body, re.M)
    assert re.search(rf"^\s*server app:{app_port} resolve\b", body, re.M)
    assert f"proxy_pass http://{name};" in conf
    # The headers the app trusts are set by the proxy, never taken from the client.
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in conf
    assert "$proxy_add_x_forwarded_for" not in conf
    # `resolve` in an upstream needs nginx 1.27.3 or later.
    image = services["proxy"]["image"]
    version = re.fullmatch(r"nginx:(\d+)\.(\d+)(?:\.(\d+))?-alpine", image)
    assert version is not None, image
    assert tuple(int(part or 0) for part in version.groups()) >= (1, 27, 3)


# --- Dockerfile -----------------------------------------------------------------------------


@dataclass
class Stage:
    image: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def args(self, keyword: str) -> list[str]:
        return [args for key, args in self.instructions if key == keyword]

    def index(self, keyword: str, containing: str) -> int:
        for number, (key, args) in enumerate(self.instructions):
            if key == keyword and containing in args:
                return number
        raise AssertionError(f"no {keyword} with {containing!r} in stage {self.name}")

    def env(self) -> dict[str, str]:
        items = [item for args in self.args("ENV") for item in shlex.split(args)]
        return dict(item.split("=", 1) for item in items)


def dockerfile_stages() -> list[Stage]:
    """The Dockerfile's stages: instructions with continuation lines joined, comments gone."""
    stages: list[Stage] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, args = (pending + stripped).partition(" ")
        pending = ""
        if keyword.upper() == "FROM":
            image, _, name = args.partition(" AS ")
            stages.append(Stage(image=image.strip(), name=name.strip()))
        else:
            stages[-1].instructions.append((keyword.upper(), args.strip()))
    assert not pending, "a continuation line with nothing after it"
    return stages


def exec_form(args: str) -> list[str]:
    command = json.loads(args)
    assert isinstance(command, list), args
    return [str(arg) for arg in command]


def image_health_command(stage: Stage) -> list[str]:
    [healthcheck] = stage.args("HEALTHCHECK")
    options, _, command = healthcheck.partition(" CMD ")
    assert "--interval=" in options
    return exec_form(command)


def test_dockerfile_builds_in_one_stage_and_runs_slim_in_another() -> None:
    build, runtime = dockerfile_stages()
    assert build.image == runtime.image == "python:3.11-slim"
    assert (build.name, runtime.name) == ("build", "runtime")

    # Dependency wheels come from pyproject.toml alone, before the source is copied.
    copy_pyproject = build.index("COPY", "pyproject.toml")
    dependency_wheels = build.index("RUN", "-r requirements.txt")
    copy_source = build.index("COPY", "src")
    assert copy_pyproject < dependency_wheels < copy_source
    assert "pip wheel" in build.instructions[dependency_wheels][1]
    assert build.instructions[copy_pyproject][1].split()[:-1] == ["pyproject.toml"]
    assert "--no-deps" in build.instructions[build.index("RUN", "/wheels/app")][1]

    # The runtime stage takes nothing from the build context: only wheels from the build.
    for keyword, args in runtime.instructions:
        assert keyword not in {"COPY", "ADD"}, args
        if keyword == "RUN":
            assert "apt-get" not in args and "gcc" not in args, args
            if "pip install" in args:
                assert "--mount=type=bind,from=build" in args, args
                assert "--no-index" in args, args
    assert runtime.env()["WTP_DATABASE_URL"] == DATA_URL

    # A non-root user, by number (Kubernetes' runAsNonRoot can check only a number), owns
    # /data, declared as the volume after it was handed over.
    [user] = runtime.args("USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) > 0 and gid.isdigit() and int(gid) > 0, user
    handed_over = runtime.index("RUN", f"--uid {uid} ")
    created = runtime.instructions[handed_over][1]
    assert f"--gid {gid} " in created
    assert re.search(r"install -d -o (\w+) -g \1 -m 0750 /data$", created), created
    assert handed_over < runtime.index("VOLUME", "/data") > runtime.index("USER", user)
    assert exec_form(runtime.args("VOLUME")[0]) == ["/data"]

    assert "/readyz" in " ".join(image_health_command(runtime))
    [command] = runtime.args("CMD")
    assert exec_form(command)[:2] == ["wtp-oauth", "serve"]
    assert exec_form(command)[exec_form(command).index("--host") + 1] == "0.0.0.0"


def test_dockerignore_sends_only_the_build_inputs() -> None:
    lines = [
        line
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line and line[0] != "#"
    ]
    assert lines[0] == "*"
    assert {line[1:] for line in lines if line.startswith("!")} == {
        "pyproject.toml",
        "README.md",
        "src",
    }


def test_dockerfile_lists_exactly_the_dependencies_of_pyproject(tmp_path: Path) -> None:
    build = dockerfile_stages()[0]
    [listing] = [args for args in build.args("RUN") if "> requirements.txt" in args]
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    env = clean_env(PATH=f"{Path(sys.executable).parent}:{clean_env()['PATH']}")
    listed = run(["/bin/sh", "-c", listing], env, tmp_path)
    assert listed.returncode == 0, listed.stderr
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert (tmp_path / "requirements.txt").read_text().splitlines() == project["dependencies"]


# --- running the commands -------------------------------------------------------------------


def on_loopback(command: Sequence[str], port: int | None = None) -> list[str]:
    """A container's command as run here: its programs from this venv, on 127.0.0.1:port."""
    argv = [PROGRAMS.get(command[0], command[0]), *command[1:]]
    if "--host" in argv:
        argv[argv.index("--host") + 1] = "127.0.0.1"
    if "--port" in argv:
        assert port is not None, command
        argv[argv.index("--port") + 1] = str(port)
    return argv


def health_on_loopback(command: Sequence[str], container_port: str, port: int) -> list[str]:
    target = f"http://127.0.0.1:{container_port}/"
    assert any(target in arg for arg in command), command
    return [PROGRAMS.get(command[0], command[0])] + [
        arg.replace(target, f"http://127.0.0.1:{port}/") for arg in command[1:]
    ]


def test_the_image_command_migrates_and_serves_on_its_volume(tmp_path: Path) -> None:
    """``docker run wtp-oauth`` with nothing set: SQLite in /data, which is a folder here."""
    runtime = dockerfile_stages()[-1]
    data = tmp_path / "data"
    data.mkdir()
    env = clean_env(**runtime.env())
    env["WTP_DATABASE_URL"] = env["WTP_DATABASE_URL"].replace("////data/", f"///{data}/")
    container = exec_form(runtime.args("CMD")[0])
    container_port = container[container.index("--port") + 1]
    port = _free_port()
    check = health_on_loopback(image_health_command(runtime), container_port, port)

    url = f"http://127.0.0.1:{port}"
    with serving(Server(on_loopback(container, port), env, data, url, tmp_path / "image.log")):
        healthy = run(check, clean_env(), tmp_path)
        assert healthy.returncode == 0, healthy.stderr
        assert httpx.get(f"{url}/signup").status_code == 200
    assert (data / "wtp_oauth.db").is_file()
    assert run(check, clean_env(), tmp_path).returncode != 0  # nothing serves: unhealthy


@contextmanager
def compose_replicas(database_url: str, keys: Sequence[str], workdir: Path) -> Iterator[list[str]]:
    """``migrate``, then one app replica for each secret key, as docker-compose.yml runs them.

    Yields the replicas' URLs once every one is ready and its health check passes.
    """
    services = compose()["services"]
    migrate_env = clean_env(**service_env(services["migrate"], {"WTP_SECRET_KEY": keys[0]}))
    migrate_env["WTP_DATABASE_URL"] = database_url
    migrated = run(on_loopback(services["migrate"]["command"]), migrate_env, workdir)
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.strip() == "database is at head"

    app = services["app"]
    container_port = app["command"][app["command"].index("--port") + 1]
    replicas = []
    for number, key in enumerate(keys):
        env = clean_env(**service_env(app, {"WTP_SECRET_KEY": key}))
        env["WTP_DATABASE_URL"] = database_url
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        command = on_loopback(app["command"], port)
        replicas.append(Server(command, env, workdir, url, workdir / f"app-{number}.log"))
    with serving(*replicas):
        for replica in replicas:
            port = int(replica.url.rsplit(":", 1)[1])
            check_command = health_on_loopback(health_command(app), container_port, port)
            check = run(check_command, clean_env(), workdir)
            assert check.returncode == 0, check.stderr
        yield [replica.url for replica in replicas]


def _signup_form(http: httpx.Client, url: str) -> dict[str, str]:
    page = http.get(f"{url}/signup")
    assert page.status_code == 200
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match is not None
    user = f"c{secrets.token_hex(5)}"
    return {
        "username": user,
        "email": f"{user}@example.com",
        "password": PASSWORD,
        "csrf_token": match.group(1),
    }


def test_compose_migrates_once_then_replicas_share_one_database_and_key(tmp_path: Path) -> None:
    """What `docker compose up --scale app=2` runs, on a fresh PostgreSQL database.

    A form one replica serves is accepted by another, as the proxy's round robin needs; a
    node started with another WTP_SECRET_KEY refuses it.
    """
    key, other_key = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with (
        postgres_database("compose") as database_url,
        compose_replicas(database_url, [key, key, other_key], tmp_path) as replicas,
        httpx.Client() as browser,
    ):
        first, second, stranger = replicas
        form = _signup_form(browser, first)
        signed_up = browser.post(f"{second}/signup", data=form)
        assert signed_up.status_code == 303, signed_up.text
        # Signed in on every replica: the session lives in the shared database.
        assert f"Signed in as <strong>{form['username']}</strong>" in browser.get(first).text

        refused = browser.post(f"{stranger}/signup", data=_signup_form(browser, first))
        assert refused.status_code == 400
        assert "Your form expired" in refused.text
