"""documents keep their key order on PostgreSQL

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

What a person wrote — a blueprint's draft and versions (its input schema, sample input, each
step's args and save maps), API call definitions, variables, an order's input and a test
order's definition — was stored as `jsonb`, which keeps objects in its own key order, so a
schema typed `z, a, m` came back `a, m, z`. PostgreSQL's `json` keeps the text as written.
No query reads inside these columns, so none needs jsonb's operators. Rows already stored keep
the order jsonb gave them. On SQLite both are the same JSON text: nothing to do.
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

DOCUMENTS = [("blueprints", "draft"), ("blueprint_versions", "definition"),
             ("api_calls", "definition"), ("variables", "value"), ("orders", "definition"),
             ("orders", "input")]


def _retype(kind: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in DOCUMENTS:
        op.execute(f'ALTER TABLE {table} ALTER COLUMN "{column}" TYPE {kind} '
                   f'USING "{column}"::{kind}')


def upgrade() -> None:
    _retype("json")


def downgrade() -> None:
    _retype("jsonb")
