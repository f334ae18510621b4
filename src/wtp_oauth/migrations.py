"""Running Alembic from the command line and from tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config


def _project_root() -> Path:
    """The folder holding ``alembic.ini`` and ``alembic/`` (the source tree, or the CWD)."""
    for candidate in (Path(__file__).resolve().parents[2], Path.cwd()):
        if (candidate / "alembic.ini").is_file() and (candidate / "alembic").is_dir():
            return candidate
    raise RuntimeError("alembic.ini not found: run from the wtp-oauth source tree.")


def alembic_config(database_url: str) -> Config:
    root = _project_root()
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "alembic"))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logger"] = False
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (blocking; runs its own event loop)."""
    command.upgrade(alembic_config(database_url), revision)
