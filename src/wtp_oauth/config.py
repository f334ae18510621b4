"""Settings, read from ``WTP_*`` environment variables (SPEC §2)."""

from __future__ import annotations

import os

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./wtp_oauth.db"


class Settings(BaseSettings):
    """Everything the server can be told; every field has a safe default."""

    model_config = SettingsConfigDict(env_prefix="WTP_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    issuer: str = Field(default="http://127.0.0.1:8000")
    # Empty means: generate one on first start and keep it in the database.
    secret_key: str = ""
    code_ttl: int = Field(default=300, gt=0)
    access_token_ttl: int = Field(default=3600, gt=0)
    refresh_token_ttl: int = Field(default=2_592_000, gt=0)
    # OpenID Connect ID tokens (SPEC §12); a retired signing key stays published this long.
    id_token_ttl: int = Field(default=3600, gt=0)
    session_ttl: int = Field(default=1_209_600, gt=0)
    login_failure_limit: int = Field(default=10, gt=0)
    # Largest request body accepted anywhere, in bytes.
    max_body_size: int = Field(default=64 * 1024, gt=0)
    # Connections per worker in the database pool of the cold paths (SQLAlchemy).
    pool_size: int = Field(default=10, gt=0)
    # Worker processes serving this database from this host (``serve --workers`` sets it):
    # the token store sizes its pools from it.
    workers: int = Field(default=1, gt=0)

    @field_validator("issuer")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

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
