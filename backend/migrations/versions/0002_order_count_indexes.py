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
- `ix_orders_order_id_pattern` (PostgreSQL): the list's "order id starts with" filter is a
  LIKE 'prefix%', which a plain index serves only under the C collation. (SQLite needs
  `PRAGMA case_sensitive_like = ON` on its connections for the same, see backend/core/db.py.)
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
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.create_index("ix_orders_finished", "orders", ["state", "updated_at"],
                        sqlite_where=sa.text(FINISHED), if_not_exists=True)
    elif dialect == "postgresql":
        op.execute("CREATE INDEX IF NOT EXISTS ix_orders_order_id_pattern "
                   "ON orders (order_id varchar_pattern_ops)")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.drop_index("ix_orders_finished", table_name="orders")
    elif dialect == "postgresql":
        op.drop_index("ix_orders_order_id_pattern", table_name="orders")
    op.drop_index("ix_orders_test_blueprint_state", table_name="orders")
