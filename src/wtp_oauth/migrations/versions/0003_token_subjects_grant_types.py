"""token subjects, and applications choose their grants

A token speaks for a user or, for a machine client's own token (``client_credentials``), for
the client alone: ``user_id`` becomes nullable and ``subject_type`` says which (SPEC §13); a
check keeps a user token from losing its user. Applications gain ``grant_types``,
``post_logout_redirect_uris`` and ``id_token_signed_response_alg`` (SPEC §11); existing ones
keep the two grants they had.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 23:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TOKEN_TABLES = ("access_tokens", "refresh_tokens")


def upgrade() -> None:
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "grant_types",
                sa.JSON(),
                nullable=False,
                server_default='["authorization_code", "refresh_token"]',
            )
        )
        batch_op.add_column(
            sa.Column("post_logout_redirect_uris", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(
            sa.Column(
                "id_token_signed_response_alg",
                sqlmodel.sql.sqltypes.AutoString(length=8),
                nullable=False,
                server_default="ES256",
            )
        )
    for table in _TOKEN_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column(
                    "subject_type",
                    sqlmodel.sql.sqltypes.AutoString(length=8),
                    nullable=False,
                    server_default="user",
                )
            )
            batch_op.alter_column("user_id", existing_type=sa.VARCHAR(length=32), nullable=True)
            batch_op.create_check_constraint(
                f"ck_{table}_subject", "subject_type = 'client' OR user_id IS NOT NULL"
            )


def downgrade() -> None:
    for table in _TOKEN_TABLES:
        # Tokens without a user cannot exist below this revision.
        op.execute(f"DELETE FROM {table} WHERE user_id IS NULL")  # noqa: S608
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"ck_{table}_subject", type_="check")
            batch_op.alter_column("user_id", existing_type=sa.VARCHAR(length=32), nullable=False)
            batch_op.drop_column("subject_type")
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_column("id_token_signed_response_alg")
        batch_op.drop_column("post_logout_redirect_uris")
        batch_op.drop_column("grant_types")
