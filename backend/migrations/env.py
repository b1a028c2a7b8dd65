"""Alembic environment: the app passes its own connection (see `backend.core.db.upgrade`)."""

from alembic import context
from sqlmodel import SQLModel

import backend.app.models  # noqa: F401  (registers every table on the metadata)

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("migrations run when `waybill web` or `waybill worker` starts "
                       "(backend.core.db.upgrade); they are not run offline")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
