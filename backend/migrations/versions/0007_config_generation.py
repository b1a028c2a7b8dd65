"""a generation number for what steps are configured with

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

Workers keep API calls, variables and credentials in memory between activations. Triggers on
those three tables count every change into the one row of `config_generation`, in the same
transaction as the change, so a worker that reads the number at the start of an activation
sees any change committed before it — a variable set just before "Reprocess" is the value the
reprocessed orders use — whoever wrote it (the API, a settings page, examples at start).
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLES = ("api_calls", "variables", "credentials")
BUMP = "UPDATE config_generation SET n = n + 1"


def upgrade() -> None:
    op.create_table("config_generation",
                    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
                    sa.Column("n", sa.BigInteger(), nullable=False))
    op.execute("INSERT INTO config_generation (id, n) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION config_generation_bump() RETURNS trigger LANGUAGE plpgsql "
                   f"AS $$ BEGIN {BUMP}; RETURN NULL; END $$")
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_config_generation AFTER INSERT OR UPDATE OR "
                       f"DELETE ON {table} FOR EACH STATEMENT "
                       "EXECUTE FUNCTION config_generation_bump()")
        return
    for table in TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_config_generation_{event.lower()} AFTER {event} "
                       f"ON {table} BEGIN {BUMP}; END")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in TABLES:
        if postgresql:
            op.execute(f"DROP TRIGGER {table}_config_generation ON {table}")
        else:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_config_generation_{event}")
    if postgresql:
        op.execute("DROP FUNCTION config_generation_bump()")
    op.drop_table("config_generation")
