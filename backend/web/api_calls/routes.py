"""API call pages: the list, a form per call (new, edit, delete) and "try it"."""

from __future__ import annotations

import json
from collections import defaultdict
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import select

from backend.api_calls import service
from backend.api_calls.try_it import TryRequest, try_api_call
from backend.app.deps import SessionDep, SettingsDep
from backend.blueprints.models import Blueprint, BlueprintVersion
from backend.blueprints.usage import blueprints_using
from backend.core.errors import NotFound, WaybillError
from backend.credentials.service import list_credentials
from backend.engine.format import ID_PATTERN, ApiCallSpec
from backend.web.api_calls.forms import (
    METHODS,
    ApiCallForm,
    add_service_errors,
    blank_form,
    from_spec,
    to_spec,
)
from backend.web.blueprints.panels import args_read_by
from backend.web.templating import go_to, page

router = APIRouter(prefix="/api-calls")
ApiCallId = Annotated[str, Path(pattern=ID_PATTERN)]
NEW = "_new"


_page = partial(page, active="api-calls")


async def _form_context(session: SessionDep, form: ApiCallForm, *, new: bool,
                        saved: bool = False) -> dict[str, Any]:
    credentials = await list_credentials(session=session)
    return {"form": form, "new": new, "saved": saved, "methods": METHODS,
            "credentials": [(c.id, f"{c.name} ({c.type})") for c in credentials]}


def _try_defaults(spec: ApiCallSpec) -> dict[str, str]:
    args = {name: "" for name in args_read_by(spec)}
    return {"args": json.dumps(args, indent=2), "input": "{}", "vars": "{}"}


async def _usage(session: SessionDep) -> dict[str, list[str]]:
    """Blueprint ids (draft or any version) using each API call, read in one pass."""
    users: dict[str, set[str]] = defaultdict(set)
    for blueprint_id, definition in [
        *(await session.exec(select(Blueprint.id, Blueprint.draft))),
        *(await session.exec(select(BlueprintVersion.blueprint_id, BlueprintVersion.definition))),
    ]:
        for node in definition.get("nodes", []):
            if node.get("api_call"):
                users[node["api_call"]].add(blueprint_id)
    return {call_id: sorted(ids) for call_id, ids in users.items()}


@router.get("", response_class=HTMLResponse)
async def list_page(request: Request, session: SessionDep) -> Response:
    calls = await service.list_api_calls(session=session)
    return _page(request, "api_calls/list.html", {"calls": calls, "users": await _usage(session)})


@router.get("/_new", response_class=HTMLResponse)
async def new_page(request: Request, session: SessionDep) -> Response:
    context = await _form_context(session, blank_form(), new=True)
    return _page(request, "api_calls/edit.html", {**context, "spec": None, "users": []})


@router.get("/{api_call_id}", response_class=HTMLResponse)
async def edit_page(request: Request, api_call_id: ApiCallId, session: SessionDep,
                    saved: bool = False) -> Response:
    try:
        spec = service.spec_of(await service.get_row(session=session, api_call_id=api_call_id))
    except NotFound as exc:
        return _page(request, "not_found.html",
                     {"detail": exc.detail, "back": ("/api-calls", "Back to API calls")}, 404)
    context = await _form_context(session, from_spec(spec), new=False, saved=saved)
    users = await blueprints_using(session=session, key="api_call", value=api_call_id)
    return _page(request, "api_calls/edit.html",
                 {**context, "spec": spec, "users": users, "trial": _try_defaults(spec)})


async def _save(request: Request, session: SessionDep, api_call_id: str | None) -> Response:
    form, spec = to_spec(await request.form())
    if spec is not None:
        try:
            if api_call_id is None:
                await service.create_api_call(session=session, spec=spec)
            else:
                await service.update_api_call(session=session, api_call_id=api_call_id, spec=spec)
        except WaybillError as exc:
            add_service_errors(form, exc)
        else:
            return go_to(request, f"/api-calls/{spec.id}?saved=true")
    context = await _form_context(session, form, new=api_call_id is None)
    return _page(request, "api_calls/_form.html", context, 422)


@router.post("/_new", response_class=HTMLResponse)
async def create(request: Request, session: SessionDep) -> Response:
    return await _save(request, session, None)


@router.post("/{api_call_id}", response_class=HTMLResponse)
async def update(request: Request, api_call_id: ApiCallId, session: SessionDep) -> Response:
    return await _save(request, session, api_call_id)


@router.delete("/{api_call_id}", response_class=HTMLResponse)
async def delete(request: Request, api_call_id: ApiCallId, session: SessionDep) -> Response:
    try:
        await service.delete_api_call(session=session, api_call_id=api_call_id)
    except WaybillError as exc:
        return _page(request, "_flash.html", {"flash": {"tone": "error", "text": exc.detail}}, 409)
    return go_to(request, "/api-calls")


def _object(name: str, text: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise WaybillError(f"{name}: not JSON ({exc.msg}, line {exc.lineno}).") from exc
    if not isinstance(value, dict):
        raise WaybillError(f"{name}: write a JSON object.")
    return value


@router.post("/{api_call_id}/try", response_class=HTMLResponse)
async def try_it(request: Request, api_call_id: ApiCallId, session: SessionDep,
                 settings: SettingsDep, args: Annotated[str, Form()] = "{}",
                 input: Annotated[str, Form()] = "{}", vars: Annotated[str, Form()] = "{}",
                 mock: Annotated[str, Form()] = "") -> Response:
    """Send the saved call once; answer what a step would record (secrets redacted)."""
    try:
        body = TryRequest(args=_object("Arguments", args), input=_object("Input", input),
                          vars=_object("Saved values", vars), mock=bool(mock))
        result = await try_api_call(session=session, settings=settings,
                                    api_call_id=api_call_id, body=body)
    except (WaybillError, ValidationError) as exc:
        detail = exc.detail if isinstance(exc, WaybillError) else str(exc)
        return _page(request, "_flash.html", {"flash": {"tone": "error", "text": detail}}, 422)
    return _page(request, "api_calls/_try_result.html", {"result": result})
