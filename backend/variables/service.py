"""Variables: named non-secret values, the `variables` of every expression."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.core.db import utcnow
from backend.core.errors import NotFound
from backend.variables.models import Variable

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"


class VariableValue(BaseModel):
    value: Any = Field(description="any JSON value")


class VariablePublic(VariableValue):
    name: str
    updated_at: Any


async def list_variables(*, session: AsyncSession) -> list[Variable]:
    """Every variable, by name."""
    return list(await session.exec(select(Variable).order_by(col(Variable.name))))


async def as_scope(*, session: AsyncSession) -> dict[str, Any]:
    """`{name: value}` as expressions see it."""
    return {row.name: row.value for row in await list_variables(session=session)}


async def put_variable(*, session: AsyncSession, name: str, value: Any) -> Variable:
    """Create or replace a variable."""
    row = await session.get(Variable, name)
    if row is None:
        row = Variable(name=name, value=value)
        session.add(row)
    else:
        row.value, row.updated_at = value, utcnow()
    await session.commit()
    return row


async def delete_variable(*, session: AsyncSession, name: str) -> None:
    """Delete a variable."""
    row = await session.get(Variable, name)
    if row is None:
        raise NotFound(f"No variable named {name!r}.")
    await session.delete(row)
    await session.commit()
