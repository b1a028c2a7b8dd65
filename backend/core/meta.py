"""Facts about the installation itself: a key-value table (e.g. examples loaded), and the
generation number of what steps are configured with (migration 0007 keeps it)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Column
from sqlalchemy.engine import Connection
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.core.db import JSONType


class AppMeta(SQLModel, table=True):
    __tablename__ = "app_meta"

    key: str = Field(primary_key=True, max_length=64)
    value: Any = Field(default=None, sa_column=Column(JSONType))


async def get_meta(session: AsyncSession, key: str) -> Any:
    row = await session.get(AppMeta, key)
    return row.value if row else None


async def set_meta(session: AsyncSession, key: str, value: Any) -> None:
    row = await session.get(AppMeta, key)
    if row is None:
        session.add(AppMeta(key=key, value=value))
    else:
        row.value = value


_GENERATION: sa.Select[int] = sa.select(sa.column("n", sa.BigInteger)).select_from(
    sa.table("config_generation"))


def config_generation(connection: Connection) -> int:
    """How many changes API calls, variables and credentials have seen (database triggers
    count them in the changing transaction): a worker's cached copy is current while it is."""
    return connection.execute(_GENERATION).scalar_one()
