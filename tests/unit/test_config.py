"""config.py: every setting, its default, the WTP_ environment override, and the values refused."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from wtp_oauth.config import Settings

SPEC_DEFAULTS = {
    "database_url": "sqlite+aiosqlite:///./wtp_oauth.db",
    "issuer": "http://127.0.0.1:8000",
    "secret_key": "",
    "code_ttl": 300,
    "access_token_ttl": 3600,
    "refresh_token_ttl": 2_592_000,
    "session_ttl": 1_209_600,
    "login_failure_limit": 10,
    "max_body_size": 65536,
    "pool_size": 10,
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("WTP_"):
            monkeypatch.delenv(name)


def test_defaults() -> None:
    settings = Settings()
    for name, value in SPEC_DEFAULTS.items():
        assert getattr(settings, name) == value, name
    assert not settings.is_postgres
    assert not settings.secure_cookies


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("WTP_DATABASE_URL", "postgresql+asyncpg://u@db:5432/wtp", None),
        ("WTP_ISSUER", "https://wants-to.party", None),
        ("WTP_SECRET_KEY", "a-fixed-key-of-32-characters-xyz", None),
        ("WTP_CODE_TTL", "60", 60),
        ("WTP_ACCESS_TOKEN_TTL", "120", 120),
        ("WTP_REFRESH_TOKEN_TTL", "86400", 86400),
        ("WTP_SESSION_TTL", "600", 600),
        ("WTP_LOGIN_FAILURE_LIMIT", "3", 3),
        ("WTP_MAX_BODY_SIZE", "1024", 1024),
        ("WTP_POOL_SIZE", "2", 2),
    ],
)
def test_environment_overrides(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: object
) -> None:
    monkeypatch.setenv(variable, value)
    field = variable.removeprefix("WTP_").lower()
    assert getattr(Settings(), field) == (value if expected is None else expected)


def test_environment_names_are_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("wtp_code_ttl", "42")
    assert Settings().code_ttl == 42


def test_issuer_loses_its_trailing_slash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WTP_ISSUER", "https://wants-to.party/")
    settings = Settings()
    assert settings.issuer == "https://wants-to.party"
    assert settings.secure_cookies


def test_postgres_is_recognised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WTP_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/wtp")
    assert Settings().is_postgres


@pytest.mark.parametrize(
    "variable",
    [
        "WTP_CODE_TTL",
        "WTP_ACCESS_TOKEN_TTL",
        "WTP_REFRESH_TOKEN_TTL",
        "WTP_SESSION_TTL",
        "WTP_LOGIN_FAILURE_LIMIT",
        "WTP_MAX_BODY_SIZE",
        "WTP_POOL_SIZE",
        "WTP_WORKERS",
    ],
)
@pytest.mark.parametrize("value", ["0", "-5", "soon", "", "1.5"])
def test_nonsense_values_are_refused(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError):
        Settings()


def test_unrelated_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WTP_SOMETHING_ELSE", "x")
    assert Settings().code_ttl == 300


@pytest.mark.parametrize(
    ("cpus", "workers", "pools"),
    [(2, 2, (3, 8)), (2, 1, (6, 16)), (8, 4, (6, 16)), (1, 4, (2, 4))],
)
def test_token_store_pools_share_the_host_among_workers(
    monkeypatch: pytest.MonkeyPatch, cpus: int, workers: int, pools: tuple[int, int]
) -> None:
    # About three reading and eight writing connections per CPU, never fewer than 2 and 4.
    monkeypatch.setattr("os.cpu_count", lambda: cpus)
    assert Settings(workers=workers).token_pools == pools


@pytest.mark.parametrize(
    "issuer",
    [
        "http://testserver",
        "https://auth.example.com",
        "https://auth.example.com/oauth",
        "http://127.0.0.1:8000",
        "http://[::1]:8000",
    ],
)
def test_issuers_accepted(issuer: str) -> None:
    assert Settings(issuer=issuer).issuer == issuer


def test_the_issuer_scheme_is_read_in_lower_case() -> None:
    settings = Settings(issuer="HTTPS://auth.example.com/")
    assert settings.issuer == "https://auth.example.com"
    assert settings.secure_cookies


@pytest.mark.parametrize(
    ("issuer", "problem"),
    [
        ("foo", "is not an absolute http\\(s\\) URL"),
        ("", "is not an absolute http\\(s\\) URL"),
        ("auth.example.com", "is not an absolute http\\(s\\) URL"),
        ("ftp://auth.example.com", "is not an absolute http\\(s\\) URL"),
        ("https://", "is not an absolute http\\(s\\) URL"),
        ("https://auth.example.com?tenant=1", "must not have a query"),
        ("https://auth.example.com/?", "must not have a query"),
        ("https://auth.example.com#x", "must not have a fragment"),
        ("https://user:pw@auth.example.com", "must not carry a user name or password"),
        ("https://auth.example.com:99999", "has a port out of range"),
    ],
)
def test_issuers_refused(issuer: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        Settings(issuer=issuer)


def test_a_short_secret_key_is_refused_without_repeating_it() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(secret_key="x" * 31)
    (error,) = caught.value.errors()
    assert "is too short (31 characters); use at least 32" in str(error["ctx"]["error"])
    assert Settings(secret_key="x" * 32).secret_key == "x" * 32
    assert Settings(secret_key="").secret_key == ""  # generated and kept in the database


@pytest.mark.parametrize(
    "url",
    [
        "sqlite+aiosqlite:///./wtp_oauth.db",
        "sqlite+aiosqlite:////var/lib/wtp/wtp.db",
        "postgresql+asyncpg://postgres@127.0.0.1:5432/wtp",
        "postgresql+asyncpg://user:p%40ss@db.internal/wtp?ssl=require",
    ],
)
def test_database_urls_accepted(url: str) -> None:
    assert Settings(database_url=url).database_url == url


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("postgres://u@db/wtp", "needs the scheme postgresql\\+asyncpg:// here, not postgres://"),
        ("postgresql://u@db/wtp", "needs the scheme postgresql\\+asyncpg://"),
        ("postgresql+psycopg://u@db/wtp", "not postgresql\\+psycopg://"),
        ("sqlite:///wtp.db", "needs the scheme sqlite\\+aiosqlite://"),
        ("mysql://u@db/wtp", "'mysql' is not supported"),
        ("wtp.db", "is not a database URL"),
        ("", "is not a database URL"),
    ],
)
def test_database_urls_refused(url: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        Settings(database_url=url)


def test_a_refused_database_url_is_not_repeated() -> None:
    """It may hold a password."""
    with pytest.raises(ValidationError) as caught:
        Settings(database_url="postgres ql://user:s3cret@db/wtp")
    assert "s3cret" not in str(caught.value.errors()[0]["ctx"]["error"])


@pytest.mark.parametrize(
    "variable", ["WTP_CODE_TTL", "WTP_ACCESS_TOKEN_TTL", "WTP_REFRESH_TOKEN_TTL", "WTP_SESSION_TTL"]
)
def test_lifetimes_end_within_a_century(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    """Beyond that, expiry dates overflow (datetime ends in 9999)."""
    monkeypatch.setenv(variable, str(100 * 365 * 86400))
    Settings()
    monkeypatch.setenv(variable, str(100 * 365 * 86400 + 1))
    with pytest.raises(ValidationError, match="less than or equal"):
        Settings()
