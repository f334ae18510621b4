"""Migration 0004 (secret reveals) up and down on a fresh database of each kind, with
``alembic check`` finding no drift between the models and the migrations at head."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import POSTGRES_SERVER, REQUIRE_POSTGRES, RUN_ID, _admin, _postgres_reachable
from wtp_oauth import migrations


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database, not the run's shared one (this test takes it down and up)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
        return
    if not asyncio.run(_postgres_reachable()):
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_SERVER}")
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_SERVER}")
    name = f"wtp_test_{RUN_ID}_0004"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{POSTGRES_SERVER.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda sync: sa.inspect(sync).get_table_names())
    finally:
        await engine.dispose()
    return set(names)


def test_secret_reveals_up_and_down(fresh_database: str) -> None:
    config = migrations.alembic_config(fresh_database)
    migrations.upgrade(fresh_database)
    command.check(config)  # raises if the models and the migrations disagree
    assert "secret_reveals" in asyncio.run(_tables(fresh_database))

    # The revision below 0004, wherever the chain puts it.
    below = ScriptDirectory.from_config(config).get_revision("0004").down_revision
    assert isinstance(below, str)
    migrations.downgrade(fresh_database, below)
    tables = asyncio.run(_tables(fresh_database))
    assert "secret_reveals" not in tables and "applications" in tables

    migrations.upgrade(fresh_database)
    command.check(config)
    assert "secret_reveals" in asyncio.run(_tables(fresh_database))
