"""Variables: non-secret values in scope of every expression as `variables`."""

from typing import Annotated

from fastapi import APIRouter, Path, status
from pydantic import BaseModel

from backend.app.deps import SessionDep
from backend.variables import service
from backend.variables.service import NAME_PATTERN, VariablePublic, VariableValue

router = APIRouter(prefix="/variables", tags=["variables"])
VariableName = Annotated[str, Path(pattern=NAME_PATTERN)]


class VariableList(BaseModel):
    data: list[VariablePublic]
    next_cursor: str | None = None


def _public(row: object) -> VariablePublic:
    return VariablePublic.model_validate(row, from_attributes=True)


@router.get("")
async def list_variables(session: SessionDep) -> VariableList:
    return VariableList(data=[_public(row) for row in await service.list_variables(session=session)])


@router.put("/{name}")
async def put_variable(name: VariableName, body: VariableValue,
                       session: SessionDep) -> VariablePublic:
    return _public(await service.put_variable(session=session, name=name, value=body.value))


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_variable(name: VariableName, session: SessionDep) -> None:
    await service.delete_variable(session=session, name=name)
