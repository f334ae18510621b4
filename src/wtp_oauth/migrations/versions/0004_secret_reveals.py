"""secret reveals: a new client secret waits for the one page that shows it

The portal answers the POST that makes a client secret (registering an application, rotating
its secret) with a redirect, so that reloading the page repeats nothing; the secret waits here
for that page, sealed under a key only the browser holds, for five minutes, and is deleted
when shown (SPEC §4, §17).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 23:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from wtp_oauth.models.types import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "secret_reveals",
        sa.Column("id_digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("session_digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("client_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("sealed_secret", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("created", sa.Boolean(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["applications.client_id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["session_digest"], ["sessions.token_digest"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id_digest"),
    )
    with op.batch_alter_table("secret_reveals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_secret_reveals_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_secret_reveals_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_secret_reveals_session_digest"), ["session_digest"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("secret_reveals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_secret_reveals_session_digest"))
        batch_op.drop_index(batch_op.f("ix_secret_reveals_expires_at"))
        batch_op.drop_index(batch_op.f("ix_secret_reveals_client_id"))
    op.drop_table("secret_reveals")
