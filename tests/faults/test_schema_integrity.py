"""Issue 11 §2.6: the migrated schema keeps the data whole, on both databases.

- Every reference column has a foreign key; every digest column is unique (or is itself a
  reference); every column that rows are looked up or cascaded by leads an index.
- Every migration Alembic lists upgrades and downgrades step by step, and a downgrade leaves
  the schema exactly as it was before the upgrade; at head, ``alembic check`` finds no drift
  between the models and the migrations.

The rules are written generally, so that a table or migration added later is held to them
too. What the schema does not meet today is listed in ``GAPS``, each with its reason; the
tests compare what they find with that list exactly, so fixing a gap (or opening a new one)
fails them until the list says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from wtp_oauth import migrations

pytestmark = pytest.mark.faults

# Columns that group rows but refer to no table: a family is one authorization (models/grants).
NOT_REFERENCES = {"family_id"}

GAPS: dict[str, set[str]] = {
    "digest without a unique index": set(),
    "reference leading no index": {
        # Never looked up by family: a replayed device code revokes its tokens, which are
        # found by their own family index; an index here would only cost every insert.
        "device_codes.family_id",
    },
}


def _schema(connection: Connection) -> dict[str, Any]:
    """Everything the rules look at, table by table (``alembic_version`` left out)."""
    inspector = inspect(connection)
    tables: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        if table == "alembic_version":
            continue
        pk = inspector.get_pk_constraint(table)["constrained_columns"]
        uniques = [u["column_names"] for u in inspector.get_unique_constraints(table)]
        indexes = [
            (tuple(i["column_names"]), bool(i["unique"])) for i in inspector.get_indexes(table)
        ]
        foreign_keys = [
            (tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]))
            for fk in inspector.get_foreign_keys(table)
        ]
        columns = [
            (c["name"], str(c["type"]), bool(c["nullable"])) for c in inspector.get_columns(table)
        ]
        tables[table] = {
            "columns": columns,
            "pk": tuple(pk),
            "uniques": sorted(tuple(u) for u in uniques),
            "indexes": sorted(indexes),
            "foreign_keys": sorted(foreign_keys),
        }
    return tables


def snapshot(url: str) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(_schema)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def _column_names(table: dict[str, Any]) -> list[str]:
    return [name for name, _type, _nullable in table["columns"]]


def _references(table: dict[str, Any]) -> set[str]:
    return {column for columns, _, _ in table["foreign_keys"] for column in columns}


def _is_reference_name(name: str, table: dict[str, Any]) -> bool:
    """A column that names another table's row: ``…_id`` (or ``session_digest``), unless it
    is this table's own key or a grouping key."""
    if name in NOT_REFERENCES or table["pk"] == (name,):
        return False
    return name.endswith("_id") or name == "session_digest"


def _leads_an_index(name: str, table: dict[str, Any]) -> bool:
    keys = [table["pk"], *table["uniques"], *(columns for columns, _ in table["indexes"])]
    return any(key and key[0] == name for key in keys)


def _is_unique(name: str, table: dict[str, Any]) -> bool:
    keys = [table["pk"], *table["uniques"], *(cols for cols, unique in table["indexes"] if unique)]
    return (name,) in [tuple(key) for key in keys]


def violations(schema: dict[str, Any]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {
        "reference without a foreign key": set(),
        "digest without a unique index": set(),
        "reference leading no index": set(),
    }
    for name, table in schema.items():
        references = _references(table)
        for column in _column_names(table):
            where = f"{name}.{column}"
            if _is_reference_name(column, table) and column not in references:
                found["reference without a foreign key"].add(where)
            digest = column.endswith("_digest") and column not in references
            if digest and not _is_unique(column, table):
                found["digest without a unique index"].add(where)
            looked_up = column in references or column in NOT_REFERENCES
            if looked_up and not _leads_an_index(column, table):
                found["reference leading no index"].add(where)
    return found


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_keys_and_indexes_of_the_migrated_schema(
    kind: str, fresh_database: Callable[..., str]
) -> None:
    schema = snapshot(fresh_database(kind))
    # The tables the rules must at least have seen.
    assert {"users", "applications", "authorization_codes", "access_tokens"} <= set(schema)
    found = violations(schema)
    for rule, where in found.items():
        assert where == GAPS.get(rule, set()), f"{rule}: {sorted(where)}"
    # The lookups of the hot path, by name: what a grant, a bearer check or a replay reads.
    for table in ("authorization_codes", "access_tokens", "refresh_tokens"):
        for column in ("client_id", "user_id", "family_id"):
            assert _leads_an_index(column, schema[table]), f"{table}.{column}"
    assert _leads_an_index("user_id", schema["sessions"])
    assert _leads_an_index("owner_id", schema["applications"])


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_every_migration_upgrades_and_downgrades_step_by_step(
    kind: str, fresh_database: Callable[..., str]
) -> None:
    url = fresh_database(kind, migrate=False)
    script = ScriptDirectory.from_config(migrations.alembic_config(url))
    # Base to head, as Alembic orders them (walk_revisions goes from head down).
    revisions = list(reversed(list(script.walk_revisions())))
    assert revisions, "Alembic lists no migration"
    before = snapshot(url)
    for revision in revisions:
        down = revision.down_revision
        target = "base" if down is None else down if isinstance(down, str) else None
        migrations.upgrade(url, revision.revision)
        after = snapshot(url)
        if target is not None:  # a merge point has no single revision to go back to
            migrations.downgrade(url, target)
            assert snapshot(url) == before, f"downgrading {revision.revision} left changes"
            migrations.upgrade(url, revision.revision)
            assert snapshot(url) == after, f"{revision.revision} upgraded differently again"
        before = after

    # At head the models and the migrations agree (raises AutogenerateDiffsDetected if not).
    command.check(migrations.alembic_config(url))

    # And all the way down, one step at a time, to an empty database.
    for revision in reversed(revisions):
        if isinstance(revision.down_revision, tuple):
            break
        migrations.downgrade(url, revision.down_revision or "base")
    else:
        assert snapshot(url) == {}
