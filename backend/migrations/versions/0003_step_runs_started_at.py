"""index step runs by start time, for the dashboard's step figures of the last hour

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21

The slowest and most-failing steps (backend/orders/stats.py) read the step runs that started
in the last hour. `step_runs` grows with every attempt of every step (several per order, so
millions at a million orders); without this index both queries scan all of it.

Measured on SQLite, 200,000 orders and 1.2 million step runs (~2 KB of request and response
each), 12,000 of them in the last hour: slowest steps 800 ms -> 120 ms, most-failing steps
780 ms -> 85 ms. (The queries start from this index through a MATERIALIZED CTE; joined
directly, SQLite's planner started from `orders` instead and took 4 s with or without it.)
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_step_runs_started_at", "step_runs", ["started_at"], if_not_exists=True)


def downgrade() -> None:
    op.drop_index("ix_step_runs_started_at", table_name="step_runs")
