"""device codes (RFC 8628)

One row per device authorization request (SPEC §15): the device code's digest, the normalised
user code (unique), the client and, once the user allowed it, the user; the scope, the polling
interval and when the device last polled; when it was allowed, denied or redeemed; its lifetime
(indexed for purge).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 23:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from wtp_oauth.models.types import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "device_codes",
        sa.Column(
            "device_code_digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False
        ),
        sa.Column("user_code", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("client_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("family_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("poll_interval", sa.Integer(), nullable=False),
        sa.Column("last_polled_at", UTCDateTime(), nullable=True),
        sa.Column("approved_at", UTCDateTime(), nullable=True),
        sa.Column("denied_at", UTCDateTime(), nullable=True),
        sa.Column("consumed_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["applications.client_id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("device_code_digest"),
    )
    with op.batch_alter_table("device_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_codes_client_id"), ["client_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_device_codes_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index("ix_device_codes_user_code", ["user_code"], unique=True)
        batch_op.create_index(batch_op.f("ix_device_codes_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("device_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_codes_user_id"))
        batch_op.drop_index("ix_device_codes_user_code")
        batch_op.drop_index(batch_op.f("ix_device_codes_expires_at"))
        batch_op.drop_index(batch_op.f("ix_device_codes_client_id"))
    op.drop_table("device_codes")
