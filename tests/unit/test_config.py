"""config.py: every setting of SPEC §2, its default, and the WTP_ environment override."""

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
        ("WTP_SECRET_KEY", "a-fixed-key", None),
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
    "variable", ["WTP_CODE_TTL", "WTP_ACCESS_TOKEN_TTL", "WTP_SESSION_TTL", "WTP_POOL_SIZE"]
)
@pytest.mark.parametrize("value", ["0", "-5", "soon"])
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
