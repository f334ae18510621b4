"""The database migrations (Alembic), shipped inside the package (SPEC §10).

``env.py`` and ``versions/`` live beside this module, so a wheel install migrates from any
working directory: the configuration is built here rather than read from ``alembic.ini``. The
``alembic.ini`` at the root of the source tree points at this folder too, for developers'
``alembic revision --autogenerate`` and ``alembic check``.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

SCRIPT_LOCATION = Path(__file__).resolve().parent


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.set_main_option("path_separator", "os")
    config.attributes["database_url"] = database_url
    config.attributes["configure_logger"] = False
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (blocking; runs its own event loop)."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Migrate the database down to ``revision`` (blocking)."""
    command.downgrade(alembic_config(database_url), revision)
