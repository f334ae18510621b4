"""integrity: an index under every reference an application's deletion follows, one secret
per application

Deleting an application cascades into ``authorization_requests`` and ``consents`` by
``client_id``, which no index led (``consents``' key is ``(user_id, client_id)``): each
deletion read both tables whole. A client secret's digest is now unique, as every other
digest is (tests/faults/test_schema_integrity.py found all three).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 01:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("authorization_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_authorization_requests_client_id"), ["client_id"], unique=False
        )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consents_client_id"), ["client_id"], unique=False)
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            batch_op.f("uq_applications_secret_digest"), ["secret_digest"]
        )


def downgrade() -> None:
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_applications_secret_digest"), type_="unique")
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consents_client_id"))
    with op.batch_alter_table("authorization_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_authorization_requests_client_id"))
