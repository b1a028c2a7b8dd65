"""Schedules: a blueprint's cron ticks that create its orders (each answer with its next runs)."""

from typing import Annotated

from fastapi import APIRouter, Path, status

from backend.app.deps import SessionDep
from backend.engine.format import ID_PATTERN
from backend.schedules import service
from backend.schedules.schemas import (
    NAME_PATTERN,
    ScheduleCreate,
    ScheduleList,
    SchedulePublic,
    ScheduleUpdate,
)

router = APIRouter(prefix="/blueprints/{blueprint_id}/schedules", tags=["schedules"])
BlueprintId = Annotated[str, Path(pattern=ID_PATTERN)]
ScheduleName = Annotated[str, Path(pattern=NAME_PATTERN)]


@router.get("")
async def list_schedules(blueprint_id: BlueprintId, session: SessionDep) -> ScheduleList:
    rows = await service.list_schedules(session=session, blueprint_id=blueprint_id)
    return ScheduleList(data=[service.public(row) for row in rows])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_schedule(blueprint_id: BlueprintId, body: ScheduleCreate,
                          session: SessionDep) -> SchedulePublic:
    """A new schedule; its first tick is the first after now (422 for a cron expression,
    zone or input template that will not work, 409 for a name the blueprint has)."""
    row = await service.create_schedule(session=session, blueprint_id=blueprint_id, body=body)
    return service.public(row)


@router.get("/{name}")
async def get_schedule(blueprint_id: BlueprintId, name: ScheduleName,
                       session: SessionDep) -> SchedulePublic:
    row = await service.get_schedule(session=session, blueprint_id=blueprint_id, name=name)
    return service.public(row)


@router.put("/{name}")
async def update_schedule(blueprint_id: BlueprintId, name: ScheduleName, body: ScheduleUpdate,
                          session: SessionDep) -> SchedulePublic:
    """Replace the schedule (`"enabled": false` switches it off; switched on again, it starts
    at the next tick after now: the ticks in between are not made)."""
    row = await service.update_schedule(session=session, blueprint_id=blueprint_id, name=name,
                                        body=body)
    return service.public(row)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_schedule(blueprint_id: BlueprintId, name: ScheduleName,
                          session: SessionDep) -> None:
    await service.delete_schedule(session=session, blueprint_id=blueprint_id, name=name)
