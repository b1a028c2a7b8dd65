"""concurrency keys, and what people did to an order

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

An order of a blueprint with a `concurrency` limit carries its key (`blueprint:value`) and
the limit it was created under; `ix_orders_concurrency` counts a key's active orders and
finds its oldest queued one. `order_audit` keeps what people (or their code) did to an order
beyond running it (its input changed for a rerun, a reprocess): who, when, and the detail,
shown on the order's timeline.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.core.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("concurrency_key", sqlmodel.sql.sqltypes.AutoString(length=300),
                                   nullable=True))
        batch.add_column(sa.Column("concurrency_limit", sa.Integer(), nullable=True))
        batch.create_index("ix_orders_concurrency", ["concurrency_key", "state", "id"])
    op.create_table(
        "order_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_pk", sa.Integer(), nullable=False),
        sa.Column("at", backend.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("detail", backend.core.db.JSONType, nullable=True),
        sa.ForeignKeyConstraint(["order_pk"], ["orders.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_order_audit_order_pk", "order_audit", ["order_pk"])


def downgrade() -> None:
    op.drop_index("ix_order_audit_order_pk", table_name="order_audit")
    op.drop_table("order_audit")
    with op.batch_alter_table("orders") as batch:
        batch.drop_index("ix_orders_concurrency")
        batch.drop_column("concurrency_limit")
        batch.drop_column("concurrency_key")
