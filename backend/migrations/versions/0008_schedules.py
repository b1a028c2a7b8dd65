"""schedules: cron ticks that create a blueprint's orders

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

A schedule is a row of its own, not part of the versioned blueprint document, so switching
one off needs no publish. It goes with its blueprint (ON DELETE CASCADE). `next_tick` is the
next tick due in UTC (NULL while the schedule is off); the workers' ticker reads the rows with
`next_tick <= now` through `ix_schedules_next_tick` every second. A tick's order id holds the
tick's time, so the orders table's unique `order_id` makes each tick one order, whichever
worker gets there first.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.core.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("blueprint_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("cron", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("input", backend.core.db.DocumentType, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("next_tick", backend.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_tick", backend.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_order_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("last_error", backend.core.db.JSONType, nullable=True),
        sa.Column("created_at", backend.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", backend.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["blueprint_id"], ["blueprints.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("blueprint_id", "name", name="uq_schedules_blueprint_name"),
    )
    op.create_index("ix_schedules_next_tick", "schedules", ["next_tick"])


def downgrade() -> None:
    op.drop_index("ix_schedules_next_tick", table_name="schedules")
    op.drop_table("schedules")
