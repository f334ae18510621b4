"""cli.py without I/O: what ``serve`` hands to uvicorn, the issuer it derives, the help, and
one line with exit status 2 for every mistake a newcomer makes in options and settings."""

from __future__ import annotations

import io
import os
from typing import Any

import pytest
import uvicorn

from wtp_oauth import __version__, cli, migrations, preflight

COMMANDS = {
    "serve": ["serve", "--no-migrate"],
    "migrate": ["migrate"],
    "openapi": ["openapi"],
    "create-user": ["create-user", "--username", "ada", "--email", "a@example.com"],
    "create-client": ["create-client", "--owner", "ada", "--name", "n", "--redirect-uri", "x"],
    "purge": ["purge"],
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("WTP_"):
            monkeypatch.delenv(name)
    # Record the variables so that monkeypatch removes what serve sets.
    for name in ("WTP_ISSUER", "WTP_WORKERS"):
        monkeypatch.setenv(name, "placeholder")
        monkeypatch.delenv(name)


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """No database opened, no port bound: the checks are recorded instead."""
    calls: list[tuple[str, bool]] = []
    monkeypatch.setattr(
        preflight, "check_database", lambda url, *, migrated: calls.append((url, migrated))
    )
    monkeypatch.setattr(preflight, "check_listen", lambda host, port: None)
    return calls


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, checked: list[tuple[str, bool]]) -> dict[str, Any]:
    """Run ``serve`` up to uvicorn, and capture what uvicorn would have been given."""
    captured: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: captured.update(app=app, **kwargs))
    return captured


@pytest.mark.parametrize(
    ("host", "issuer"),
    [
        ("127.0.0.1", "http://127.0.0.1:9123"),
        ("0.0.0.0", "http://127.0.0.1:9123"),
        ("::", "http://127.0.0.1:9123"),
        ("localhost", "http://localhost:9123"),
        ("::1", "http://[::1]:9123"),
    ],
)
def test_issuer_defaults_to_where_serve_listens(
    served: dict[str, Any], host: str, issuer: str
) -> None:
    assert cli.main(["serve", "--host", host, "--port", "9123", "--no-migrate"]) == 0
    assert os.environ["WTP_ISSUER"] == issuer
    assert served["host"] == host
    assert served["port"] == 9123
    assert served["factory"] is True


def test_an_explicit_issuer_wins(served: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WTP_ISSUER", "https://wants-to.party")
    assert cli.main(["serve", "--host", "0.0.0.0", "--no-migrate"]) == 0
    assert os.environ["WTP_ISSUER"] == "https://wants-to.party"


def test_serve_defaults(served: dict[str, Any]) -> None:
    assert cli.main(["serve", "--no-migrate"]) == 0
    assert (served["host"], served["port"], served["workers"]) == ("127.0.0.1", 8000, 1)
    assert os.environ["WTP_ISSUER"] == "http://127.0.0.1:8000"


def test_serve_answers_in_one_write(served: dict[str, Any]) -> None:
    assert cli.main(["serve", "--no-migrate"]) == 0
    assert served["http"] == "wtp_oauth.http_protocol:OneWriteHttpToolsProtocol"
    assert served["loop"] == "uvloop"


def test_serve_migrates_first_unless_told_not_to(
    served: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    migrated: list[str] = []
    monkeypatch.setattr(migrations, "upgrade", migrated.append)
    monkeypatch.setenv("WTP_DATABASE_URL", "sqlite+aiosqlite:///./somewhere.db")
    assert cli.main(["serve", "--workers", "3"]) == 0
    assert migrated == ["sqlite+aiosqlite:///./somewhere.db"]
    assert served["workers"] == 3
    assert cli.main(["serve", "--no-migrate"]) == 0
    assert len(migrated) == 1


def test_serve_checks_the_database_first(
    served: dict[str, Any], checked: list[tuple[str, bool]]
) -> None:
    """Reachable and writable before migrating; migrated too, when it will not migrate."""
    assert cli.main(["serve", "--no-migrate"]) == 0
    assert checked == [("sqlite+aiosqlite:///./wtp_oauth.db", True)]


def test_unknown_command_exits_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["frobnicate"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "invalid choice: 'frobnicate'" in err and "wtp-oauth --help" in err


def test_no_command_prints_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "serve" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out == f"wtp-oauth {__version__}\n"


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_says_what_each_command_does_and_reads(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main([command, "--help"] if command else ["--help"])
    assert caught.value.code == 0
    text = capsys.readouterr().out
    assert "SPEC" not in text and "§" not in text
    if command in ("serve", "migrate", "create-user", "create-client", "purge"):
        assert "WTP_DATABASE_URL" in text
        assert "sqlite+aiosqlite:///./wtp_oauth.db" in text  # its default
    if command == "serve":
        for variable in ("WTP_ISSUER", "WTP_SECRET_KEY", "WTP_ACCESS_TOKEN_TTL", "WTP_POOL_SIZE"):
            assert variable in text
        assert "(default: 8000)" in text and "(default: 127.0.0.1)" in text
        assert "(default: 3600)" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", "--port", "99999"], "argument --port: 99999 is not a port (1 to 65535)"),
        (["serve", "--port", "0"], "argument --port: 0 is not a port (1 to 65535)"),
        (["serve", "--port", "http"], "argument --port: 'http' is not a whole number"),
        (["serve", "--workers", "0"], "argument --workers: 0 is not at least 1"),
        (["create-user", "--username", "ada"], "required: --email"),
    ],
)
def test_bad_options_are_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(args)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


BAD_SETTINGS = [
    ("WTP_ISSUER", "foo", "WTP_ISSUER: 'foo' is not an absolute http(s) URL"),
    ("WTP_ISSUER", "https://a.example/?x=1", "WTP_ISSUER: 'https://a.example/?x=1' must not"),
    ("WTP_ISSUER", "https://a.example/#top", "must not have a fragment"),
    ("WTP_SECRET_KEY", "hunter2", "WTP_SECRET_KEY: is too short (7 characters); use at least 32"),
    ("WTP_ACCESS_TOKEN_TTL", "soon", "WTP_ACCESS_TOKEN_TTL: 'soon' is not a whole number"),
    ("WTP_ACCESS_TOKEN_TTL", "0", "WTP_ACCESS_TOKEN_TTL: must be at least 1, not 0"),
    ("WTP_CODE_TTL", "-5", "WTP_CODE_TTL: must be at least 1, not -5"),
    ("WTP_SESSION_TTL", "1e99", "WTP_SESSION_TTL: '1e99' is not a whole number"),
    ("WTP_REFRESH_TOKEN_TTL", str(10**15), "WTP_REFRESH_TOKEN_TTL: must be at most"),
    ("WTP_POOL_SIZE", "", "WTP_POOL_SIZE: '' is not a whole number"),
    (
        "WTP_DATABASE_URL",
        "postgres://u@db/wtp",
        "needs the scheme postgresql+asyncpg:// here, not postgres://",
    ),
    ("WTP_DATABASE_URL", "sqlite:///wtp.db", "needs the scheme sqlite+aiosqlite://"),
    ("WTP_DATABASE_URL", "wtp.db", "WTP_DATABASE_URL: is not a database URL"),
    ("WTP_DATABASE_URL", "mysql://u@db/wtp", "WTP_DATABASE_URL: 'mysql' is not supported"),
]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(("variable", "value", "message"), BAD_SETTINGS)
def test_a_bad_setting_is_one_line_for_every_command(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    checked: list[tuple[str, bool]],
    command: str,
    variable: str,
    value: str,
    message: str,
) -> None:
    monkeypatch.setenv(variable, value)
    assert cli.main(COMMANDS[command]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("wtp-oauth: ")
    assert captured.err.count("\n") == 1 and message in captured.err, captured.err
    assert captured.out == ""
    assert checked == []  # refused before any database is opened
    if variable == "WTP_SECRET_KEY":
        assert value not in captured.err


def test_every_bad_setting_is_named_on_the_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WTP_ISSUER", "foo")
    monkeypatch.setenv("WTP_CODE_TTL", "x")
    assert cli.main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "WTP_ISSUER: " in err and "; WTP_CODE_TTL: " in err


def test_a_database_problem_is_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def unreachable(url: str, *, migrated: bool) -> None:
        raise preflight.Refused("WTP_DATABASE_URL: nothing is listening on db:5432")

    monkeypatch.setattr(preflight, "check_database", unreachable)
    for args in COMMANDS.values():
        if args[0] == "openapi":
            continue
        assert cli.main(args) == 2
        err = capsys.readouterr().err
        assert err == "wtp-oauth: WTP_DATABASE_URL: nothing is listening on db:5432\n"


def test_the_password_is_read_from_standard_input_without_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a long password\r\nignored\n"))
    assert cli._password(None) == "a long password"
    monkeypatch.setattr("sys.stdin", io.StringIO("no newline at the end"))
    assert cli._password(None) == "no newline at the end"
    assert cli._password("given") == "given"


def test_without_terminal_or_input_the_password_option_is_required(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], checked: list[Any]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert cli.main(COMMANDS["create-user"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "wtp-oauth: --password is required when there is no terminal (or pipe the password, "
        "one line, to standard input)\n"
    )


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_password_is_typed_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", _Terminal())
    typed = iter(["a long password", "a long password", "one", "another"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(typed))
    assert cli._password(None) == "a long password"
    with pytest.raises(preflight.Refused, match="the two passwords typed differ"):
        cli._password(None)
