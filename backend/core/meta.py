"""A key-value table for facts about the installation itself (e.g. examples loaded)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column
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
