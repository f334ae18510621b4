"""hot path: HOT code consumption, no expires_at index on the token tables

A code is written once and updated once (``consumed_at``). At fillfactor 50 that update stays
on its page and touches none of the table's five indexes: the database's work per code exchange
fell by a quarter and the exchange's throughput rose a fifth (docs/performance.md). Codes live
five minutes, so the emptier pages cost nothing that lasts. PostgreSQL only: SQLite has no such
setting.

Every grant inserts an access and a refresh token; their ``expires_at`` indexes were written
each time and read by nothing (purge selects on expiry *or* revocation, one pass over the table).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 19:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE authorization_codes SET (fillfactor = 50)")
    for table in ("access_tokens", "refresh_tokens"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_expires_at"))


def downgrade() -> None:
    for table in ("access_tokens", "refresh_tokens"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f(f"ix_{table}_expires_at"), ["expires_at"], unique=False
            )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE authorization_codes RESET (fillfactor)")
