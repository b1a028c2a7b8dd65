"""The editor's "Schedules" section (in the blueprint's config panel): list, add, switch on
or off, delete. Every route answers the whole section, which htmx swaps in place; a form's
problems come back beside their fields. Mounted under /blueprints by `routes.py`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from backend.app.deps import SessionDep
from backend.core.db import utcnow
from backend.core.errors import Conflict, Invalid, NotFound
from backend.engine.format import ID_PATTERN
from backend.schedules import service
from backend.schedules.models import Schedule
from backend.schedules.schemas import NAME_PATTERN, ScheduleCreate, SchedulePublic
from backend.web.templating import page

router = APIRouter()
BlueprintId = Annotated[str, Path(pattern=ID_PATTERN)]
ScheduleName = Annotated[str, Path(pattern=NAME_PATTERN)]
SHOWN_RUNS = 3
OVERDUE = timedelta(seconds=10)
BLANK = {"name": "", "cron": "", "timezone": "UTC", "input": ""}

_page = partial(page, active="blueprints")


@dataclass(frozen=True)
class Run:
    iso: str
    text: str  # `Fri 4 Dec 2026, 09:00 +01:00`, in the schedule's zone


@dataclass(frozen=True)
class ScheduleView:
    schedule: SchedulePublic
    runs: list[Run]
    overdue: bool  # due for a while and not made: no worker runs?


def _run(iso: str) -> Run:
    moment = datetime.fromisoformat(iso)
    clock = f"{moment:%H:%M:%S}" if moment.second else f"{moment:%H:%M}"
    return Run(iso, f"{moment:%a} {moment.day} {moment:%b %Y}, {clock} {iso[-6:]}")


def view(row: Schedule, now: datetime) -> ScheduleView:
    shown = service.public(row, now)
    overdue = bool(shown.next_tick and shown.next_tick < now - OVERDUE)
    return ScheduleView(shown, [_run(iso) for iso in shown.next_runs[:SHOWN_RUNS]], overdue)


async def _section(request: Request, session: SessionDep, blueprint_id: str,
                   status: int = 200, **context: Any) -> Response:
    try:
        rows = await service.list_schedules(session=session, blueprint_id=blueprint_id)
    except NotFound as exc:
        return _page(request, "blueprints/_schedules.html", {
            "blueprint_id": blueprint_id, "schedules": [], "missing": exc.detail,
            "errors": {}, "open": True}, 404)
    now = utcnow()
    base = {"blueprint_id": blueprint_id, "schedules": [view(row, now) for row in rows],
            "form": BLANK, "errors": {}, "flash": None, "open": bool(rows)}
    return _page(request, "blueprints/_schedules.html", base | context, status)


def _by_field(problems: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Problems by the form field they are about (`input.day` is the input's text area)."""
    found: dict[str, list[str]] = {}
    for problem in problems:
        where = str(problem.get("field") or problem.get("path") or "").split(".")[0]
        name = where if where in BLANK else ""
        found.setdefault(name, []).append(str(problem.get("message", problem)))
    return found


def _parse_input(text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Invalid("", [{"field": "input", "message": f"Not JSON: {exc.msg} (line "
                            f"{exc.lineno}, column {exc.colno})."}]) from exc
    if not isinstance(value, dict):
        raise Invalid("", [{"field": "input", "message": 'Write a JSON object, like '
                            '{"day": "{{ schedule.tick[:10] }}"}.'}])
    return value


def _shape_problems(exc: ValidationError) -> list[dict[str, Any]]:
    return [{"field": str(error["loc"][0]) if error["loc"] else "", "message": error["msg"]}
            for error in exc.errors(include_url=False)]


@router.get("/{blueprint_id}/schedules", response_class=HTMLResponse)
async def section(request: Request, blueprint_id: BlueprintId, session: SessionDep) -> Response:
    return await _section(request, session, blueprint_id)


@router.post("/{blueprint_id}/schedules", response_class=HTMLResponse)
async def add(request: Request, blueprint_id: BlueprintId, session: SessionDep,
              name: Annotated[str, Form()] = "", cron: Annotated[str, Form()] = "",
              timezone: Annotated[str, Form()] = "UTC",
              input: Annotated[str, Form()] = "") -> Response:
    form = {"name": name.strip(), "cron": cron.strip(), "timezone": timezone.strip() or "UTC",
            "input": input}
    try:
        body = ScheduleCreate.model_validate({
            "name": form["name"], "cron": form["cron"], "timezone": form["timezone"],
            "input": _parse_input(input)})
        await service.create_schedule(session=session, blueprint_id=blueprint_id, body=body)
    except ValidationError as exc:
        errors = _by_field(_shape_problems(exc))
    except Invalid as exc:
        errors = _by_field(exc.errors) if exc.errors else {"": [exc.detail]}
    except Conflict as exc:
        errors = {"name": [exc.detail]}
    except NotFound:  # the blueprint went meanwhile: the section says so
        return await _section(request, session, blueprint_id)
    else:
        flash = {"tone": "ok", "text": f"Added “{form['name']}”."}
        return await _section(request, session, blueprint_id, flash=flash, open=True,
                              form=BLANK | {"timezone": form["timezone"]})
    return await _section(request, session, blueprint_id, 422, form=form, errors=errors,
                          open=True)


@router.post("/{blueprint_id}/schedules/{name}/enabled", response_class=HTMLResponse)
async def switch(request: Request, blueprint_id: BlueprintId, name: ScheduleName,
                 session: SessionDep, enabled: Annotated[bool, Form()]) -> Response:
    try:
        await service.set_enabled(session=session, blueprint_id=blueprint_id, name=name,
                                  enabled=enabled)
    except (Invalid, NotFound) as exc:
        messages = [str(e.get("message", e)) for e in exc.errors if isinstance(e, dict)]
        text = " ".join([exc.detail, *messages[:3]])
        return await _section(request, session, blueprint_id, 422, open=True,
                              flash={"tone": "error", "text": text})
    state = "on" if enabled else "off"
    return await _section(request, session, blueprint_id, open=True,
                          flash={"tone": "ok", "text": f"“{name}” is {state}."})


@router.delete("/{blueprint_id}/schedules/{name}", response_class=HTMLResponse)
async def remove(request: Request, blueprint_id: BlueprintId, name: ScheduleName,
                 session: SessionDep) -> Response:
    flash = {"tone": "ok", "text": f"Deleted “{name}”."}
    try:
        await service.delete_schedule(session=session, blueprint_id=blueprint_id, name=name)
    except NotFound as exc:
        flash = {"tone": "error", "text": exc.detail}
    return await _section(request, session, blueprint_id, open=True, flash=flash)
