"""Variable pages: non-secret values in scope as `variables`; add, edit in place, delete."""

from __future__ import annotations

import json
import re
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, Response

from backend.app.deps import SessionDep
from backend.core.errors import WaybillError
from backend.variables import service
from backend.variables.service import NAME_PATTERN
from backend.web.templating import page

router = APIRouter(prefix="/variables")
VariableName = Annotated[str, Path(pattern=NAME_PATTERN)]
NAME = re.compile(NAME_PATTERN)


_page = partial(page, active="variables")


def as_text(value: Any) -> tuple[str, str]:
    """How a value is edited: (text, kind); strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value, "text"
    return json.dumps(value, ensure_ascii=False), "json"


def parse_value(text: str, kind: str) -> Any:
    if kind != "json":
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise WaybillError(f"The value is not JSON: {exc.msg}.") from exc


async def _list(request: Request, session: SessionDep, status: int = 200,
                template: str = "variables/_list.html", **context: Any) -> Response:
    rows = await service.list_variables(session=session)
    base = {"variables": [(row, *as_text(row.value)) for row in rows], "error": None,
            "editing": None, "form": {"name": "", "value": "", "kind": "text"}}
    return _page(request, template, base | context, status)


@router.get("", response_class=HTMLResponse)
async def list_page(request: Request, session: SessionDep) -> Response:
    return await _list(request, session, template="variables/list.html")


async def _put(session: SessionDep, name: str, value: str, kind: str) -> None:
    if not NAME.fullmatch(name):
        raise WaybillError("A name starts with a letter or `_`, then letters, digits or `_` "
                           "(64 at most), so that expressions can say `variables.<name>`.")
    await service.put_variable(session=session, name=name, value=parse_value(value, kind))


@router.post("", response_class=HTMLResponse)
async def add(request: Request, session: SessionDep, name: Annotated[str, Form()] = "",
              value: Annotated[str, Form()] = "", kind: Annotated[str, Form()] = "text",
              ) -> Response:
    try:
        await _put(session, name.strip(), value, kind)
    except WaybillError as exc:
        form = {"name": name, "value": value, "kind": kind}
        return await _list(request, session, 422, form=form, error=exc.detail)
    return await _list(request, session, flash={"tone": "ok", "text": f"Saved “{name.strip()}”."})


@router.get("/{name}/edit", response_class=HTMLResponse)
async def edit(request: Request, name: VariableName, session: SessionDep) -> Response:
    return await _list(request, session, editing=name)


@router.post("/{name}", response_class=HTMLResponse)
async def save(request: Request, name: VariableName, session: SessionDep,
               value: Annotated[str, Form()] = "", kind: Annotated[str, Form()] = "text",
               ) -> Response:
    try:
        await _put(session, name, value, kind)
    except WaybillError as exc:
        return await _list(request, session, 422, editing=name, error=exc.detail,
                           draft={"value": value, "kind": kind})
    return await _list(request, session, flash={"tone": "ok", "text": f"Saved “{name}”."})


@router.delete("/{name}", response_class=HTMLResponse)
async def delete(request: Request, name: VariableName, session: SessionDep) -> Response:
    flash = {"tone": "ok", "text": f"Deleted “{name}”."}
    try:
        await service.delete_variable(session=session, name=name)
    except WaybillError as exc:
        flash = {"tone": "error", "text": exc.detail}
    return await _list(request, session, flash=flash)
