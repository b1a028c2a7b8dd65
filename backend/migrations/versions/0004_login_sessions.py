"""login sessions, so that logging out ends a session on the server

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

A login used to be a stateless signed cookie that stayed valid for 7 days whatever happened.
Now every login makes a `sessions` row keyed by the SHA-256 of the cookie's random token
(the token itself is never stored); every request with a cookie checks that its row exists,
is not revoked and has not expired, and logging out revokes the row. Rows are pruned at
login once expired; `ix_sessions_expires_at` keeps that prune from scanning the table.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.core.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", backend.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", backend.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", backend.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_hash"),
        if_not_exists=True,
    )
    op.create_index("ix_sessions_expires_at", "sessions", ["expires_at"], if_not_exists=True)


def downgrade() -> None:
    op.drop_index("ix_sessions_expires_at", table_name="sessions")
    op.drop_table("sessions")
