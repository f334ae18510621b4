"""Settings, read from ``WTP_*`` environment variables.

Every field has a safe default, and every value is checked when the settings are read, so a
mistyped setting stops the command line with one line naming it (``wtp_oauth.cli``) instead
of failing later, in the middle of a request.
"""

from __future__ import annotations

import os
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./wtp_oauth.db"
# The drivers the server runs on: asyncpg (PostgreSQL) and aiosqlite (SQLite).
DRIVERS = {"postgresql": "postgresql+asyncpg", "sqlite": "sqlite+aiosqlite"}
_EXAMPLE_URLS = (
    "postgresql+asyncpg://user:password@host:5432/database or sqlite+aiosqlite:///file.db"
)
# Signing keys shorter than this are guessable; 32 characters of token_urlsafe are 192 bits.
SECRET_KEY_MIN_LENGTH = 32
# Lifetimes beyond a century overflow dates (year 9999) somewhere; none is meant that long.
MAX_TTL = 100 * 365 * 86400

Seconds = Annotated[int, Field(gt=0, le=MAX_TTL)]
Positive = Annotated[int, Field(gt=0)]


def check_database_url(value: str) -> str:
    """The URL if SQLAlchemy can open it with one of the server's drivers, else ValueError."""
    try:
        url = make_url(value)
    except ArgumentError:
        # Not repeated: a URL holds a password.
        raise ValueError(f"is not a database URL; use {_EXAMPLE_URLS}") from None
    backend = url.drivername.partition("+")[0]
    backend = "postgresql" if backend == "postgres" else backend
    if backend not in DRIVERS:
        raise ValueError(
            f"{backend!r} is not supported; wtp-oauth runs on PostgreSQL or SQLite: "
            f"use {_EXAMPLE_URLS}"
        )
    if url.drivername != DRIVERS[backend]:
        raise ValueError(
            f"SQLAlchemy needs the scheme {DRIVERS[backend]}:// here, not {url.drivername}://"
        )
    return value


def check_issuer(value: str) -> str:
    """An absolute http(s) URL without query or fragment (RFC 8414 §2), trailing slash dropped."""
    parts = urlsplit(value)
    problem = None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        problem = "is not an absolute http(s) URL"
    elif parts.query or value.endswith("?"):
        problem = "must not have a query (RFC 8414 §2)"
    elif parts.fragment or "#" in value:
        problem = "must not have a fragment (RFC 8414 §2)"
    elif parts.username is not None or parts.password is not None:
        problem = "must not carry a user name or password"
    if problem is None:
        try:
            parts.port  # noqa: B018 (raises on a port out of range)
        except ValueError:
            problem = "has a port out of range"
    if problem is not None:
        raise ValueError(
            f"{value!r} {problem}; use the server's public URL, such as https://auth.example.com"
        )
    # The scheme in lower case, as urlsplit reads it: "HTTPS://" is https too.
    return (parts.scheme + value[len(parts.scheme) :]).rstrip("/")


class Settings(BaseSettings):
    """Everything the server can be told; every field has a safe default."""

    model_config = SettingsConfigDict(env_prefix="WTP_", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="the database: postgresql+asyncpg://user:password@host:5432/database "
        "or sqlite+aiosqlite:///path/to/file.db",
    )
    issuer: str = Field(
        default="http://127.0.0.1:8000",
        description="the public base URL, the iss of every answer; https:// makes cookies Secure",
    )
    secret_key: str = Field(
        default="",
        description=f"signs CSRF tokens; at least {SECRET_KEY_MIN_LENGTH} characters",
    )
    code_ttl: Seconds = Field(default=300, description="authorization code lifetime, seconds")
    access_token_ttl: Seconds = Field(default=3600, description="access token lifetime, seconds")
    refresh_token_ttl: Seconds = Field(
        default=2_592_000, description="refresh token lifetime, seconds"
    )
    # OpenID Connect ID tokens (SPEC §12); a retired signing key stays published this long.
    id_token_ttl: Seconds = Field(default=3600, description="ID token lifetime, seconds")
    session_ttl: Seconds = Field(
        default=1_209_600, description="browser sign-in session lifetime, seconds"
    )
    login_failure_limit: Positive = Field(
        default=10,
        description="failed sign-ins for one username (ten times as many per address) or "
        "one client in 15 minutes before 429",
    )
    device_code_ttl: Seconds = Field(
        default=600, description="device code lifetime (RFC 8628), seconds"
    )
    # RFC 8628 §3.2's default of 5 seconds is right outside development and tests.
    device_poll_interval: Seconds = Field(
        default=5, description="the polling interval devices are told (development and tests)"
    )
    max_body_size: Positive = Field(
        default=64 * 1024, description="largest request body accepted, bytes"
    )
    pool_size: Positive = Field(
        default=10, description="database connections per worker for the pages and the JSON API"
    )
    # Worker processes serving this database from this host (``serve --workers`` sets it):
    # the token store sizes its pools from it.
    workers: Positive = Field(
        default=1,
        description="worker processes on this host; the token store sizes its pools from it",
    )

    allow_loopback_client_metadata: bool = Field(
        default=False,
        description="development and tests only: also fetch client metadata documents "
        "from http://127.0.0.1:<port>/",
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="json: one JSON object per log line, with the request id"
    )

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return check_database_url(value)

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        return check_issuer(value)

    @field_validator("secret_key")
    @classmethod
    def _secret_key(cls, value: str) -> str:
        # The key itself is never repeated in the message.
        if value and len(value) < SECRET_KEY_MIN_LENGTH:
            raise ValueError(
                f"is too short ({len(value)} characters); use at least {SECRET_KEY_MIN_LENGTH} "
                "(python3 -c 'import secrets; print(secrets.token_urlsafe(32))'), "
                "or leave it unset to have one generated"
            )
        return value

    @property
    def token_pools(self) -> tuple[int, int]:
        """Connections per worker of the token store on PostgreSQL: (reads, writes).

        In all, about three reading and eight writing connections per CPU of this host, shared
        by the workers. Writers spend most of their time waiting for the WAL flush of their
        commit, which they share. Readers are few, so that a burst of bearer checks queues in
        the worker rather than in the database; with two per CPU, the bearer checks of a busy
        sign-in mix waited 13–25 ms for one while the writers were busy (docs/performance.md).
        """
        cpus = os.cpu_count() or 1
        return max(2, round(3 * cpus / self.workers)), max(4, round(8 * cpus / self.workers))

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")

    @property
    def secure_cookies(self) -> bool:
        return self.issuer.startswith("https://")
