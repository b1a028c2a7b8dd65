"""indexes for the orders list's live counts and the dashboard's throughput

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21

Measured at 1,000,000 orders on SQLite (bench/orders_list.py):

- `ix_orders_test_blueprint_state` (test, blueprint_id, state) covers the count queries:
  counts by state for one blueprint 855 ms -> 33 ms, per-blueprint counts (the /blueprints
  page) 1.1 s -> 88 ms. `test` and `blueprint_id` never change; `state` is indexed already,
  so on PostgreSQL it does not stop HOT updates.
- `ix_orders_finished` (state, updated_at) for completed and failed orders only: orders
  finished per minute over the last hour, 310 ms -> 2 ms. SQLite only: running orders have no
  entry in it, so the step path does not pay for it there, but on PostgreSQL any index on
  `updated_at` (partial or not) would make every step's UPDATE a non-HOT update.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

FINISHED = "state IN ('completed', 'failed')"


def upgrade() -> None:
    op.create_index("ix_orders_test_blueprint_state", "orders", ["test", "blueprint_id", "state"],
                    if_not_exists=True)
    if op.get_bind().dialect.name == "sqlite":
        op.create_index("ix_orders_finished", "orders", ["state", "updated_at"],
                        sqlite_where=sa.text(FINISHED), if_not_exists=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("ix_orders_finished", table_name="orders")
    op.drop_index("ix_orders_test_blueprint_state", table_name="orders")
