"""OpenID Connect: signing keys, nonce, auth_time and sid

ID tokens (SPEC §12) are signed with keys kept in ``signing_keys``, their private parts
encrypted. A browser session records when the password was checked (``auth_time``) and gets an
opaque ``sid``; authorization requests and codes carry the request's ``nonce`` and the
session's ``auth_time`` and ``sid``, and refresh tokens carry ``auth_time`` and ``sid`` through
every rotation, so that a refresh's ID token names the same sign-in. Users get ``updated_at``
(the profile's last change, the ``updated_at`` claim).

Sessions from before this revision keep working: their ``auth_time`` is their creation (a
session is opened by a password check) and each gets a random ``sid``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from wtp_oauth.models.types import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SID = sqlmodel.sql.sqltypes.AutoString(length=32)
_NONCE = sqlmodel.sql.sqltypes.AutoString(length=1000)


def _random_hex() -> str:
    """SQL for 32 random hex digits, in this database's dialect."""
    if op.get_bind().dialect.name == "postgresql":
        return "md5(random()::text || clock_timestamp()::text || token_digest)"
    return "lower(hex(randomblob(16)))"


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("kid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("alg", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("private_key", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("activates_at", UTCDateTime(), nullable=False),
        sa.Column("retires_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("kid"),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("updated_at", UTCDateTime(), nullable=True))

    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("auth_time", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("sid", _SID, nullable=True))
    op.execute(f"UPDATE sessions SET auth_time = created_at, sid = {_random_hex()}")  # noqa: S608
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.alter_column("auth_time", existing_type=UTCDateTime(), nullable=False)
        batch_op.alter_column("sid", existing_type=_SID, nullable=False)
        batch_op.create_index(batch_op.f("ix_sessions_sid"), ["sid"], unique=True)

    with op.batch_alter_table("authorization_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("nonce", _NONCE, nullable=True))
    with op.batch_alter_table("authorization_codes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("nonce", _NONCE, nullable=True))
        batch_op.add_column(sa.Column("auth_time", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("sid", _SID, nullable=True))
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("auth_time", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("sid", _SID, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.drop_column("sid")
        batch_op.drop_column("auth_time")
    with op.batch_alter_table("authorization_codes", schema=None) as batch_op:
        batch_op.drop_column("sid")
        batch_op.drop_column("auth_time")
        batch_op.drop_column("nonce")
    with op.batch_alter_table("authorization_requests", schema=None) as batch_op:
        batch_op.drop_column("nonce")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sessions_sid"))
        batch_op.drop_column("sid")
        batch_op.drop_column("auth_time")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
    op.drop_table("signing_keys")
