"""child orders and parallel branches

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

A `for_each` or `sub_blueprint` step starts child orders: each knows its parent (`parent_pk`
for joins, `parent_id` for the orders list's filter), the node that started it and its
item's index. `ix_orders_children` serves the parent's progress counts and its results in
item order. `entered_at` is when an order reached its current node (a fan-out re-runs the
children that failed before it). `branches` holds the live branches' positions while an
order is inside a `parallel`, and a step run's `lane` the branch it ran in.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.core.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("entered_at", backend.core.db.UTCDateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column("parent_pk", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("parent_id", sqlmodel.sql.sqltypes.AutoString(length=200),
                                   nullable=True))
        batch.add_column(sa.Column("parent_node", sqlmodel.sql.sqltypes.AutoString(length=64),
                                   nullable=True))
        batch.add_column(sa.Column("child_index", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("branches", backend.core.db.JSONType, nullable=True))
        batch.create_foreign_key("fk_orders_parent_pk", "orders", ["parent_pk"], ["id"],
                                 ondelete="CASCADE")
        batch.create_index("ix_orders_children", ["parent_pk", "parent_node", "child_index"])
        batch.create_index("ix_orders_parent_id", ["parent_id", "id"])
    with op.batch_alter_table("step_runs") as batch:
        batch.add_column(sa.Column("lane", sqlmodel.sql.sqltypes.AutoString(length=500),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("step_runs") as batch:
        batch.drop_column("lane")
    with op.batch_alter_table("orders") as batch:
        batch.drop_index("ix_orders_parent_id")
        batch.drop_index("ix_orders_children")
        batch.drop_constraint("fk_orders_parent_pk", type_="foreignkey")
        for column in ("branches", "child_index", "parent_node", "parent_id", "parent_pk",
                       "entered_at"):
            batch.drop_column(column)
