"""Blueprint pages: the list (new, import, delete) and the editor with its config panels."""

from __future__ import annotations

import json
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from backend.api_calls.service import list_api_calls
from backend.app.deps import SessionDep, StateDep
from backend.blueprints import service
from backend.core.errors import Conflict, Invalid, NotFound, WaybillError
from backend.engine.catalogue import catalogue_json
from backend.engine.format import ID_PATTERN, BlueprintDoc
from backend.orders.schemas import OrderFilter
from backend.replay import service as replay_service
from backend.replay.schemas import MAX_ORDERS, ReplayRequest
from backend.web.blueprints import schedules
from backend.web.blueprints.panels import (
    PAIR_SCOPES,
    PanelInputError,
    blueprint_context,
    edge_context,
    node_context,
)
from backend.web.blueprints.replay import ReplayView
from backend.web.templating import go_to, page

router = APIRouter(prefix="/blueprints")
BlueprintId = Annotated[str, Path(pattern=ID_PATTERN)]
MAX_IMPORT_BYTES = 2_000_000


_page = partial(page, active="blueprints")


def starter_doc(blueprint_id: str, name: str, description: str) -> BlueprintDoc:
    """A new blueprint: a start wired to an end, so it is valid from the first moment."""
    return BlueprintDoc.model_validate({
        "id": blueprint_id, "name": name, "description": description,
        "nodes": [{"id": "start", "type": "start"},
                  {"id": "done", "type": "end", "status": "completed"}],
        "edges": [{"source": "start", "target": "done"}],
        "layout": {"start": {"x": 0, "y": 0}, "done": {"x": 320, "y": 0}},
    })


def _shape_errors(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}"
            for e in exc.errors(include_url=False)][:8]


@router.get("", response_class=HTMLResponse)
async def list_page(request: Request, session: SessionDep) -> Response:
    blueprints = await service.list_blueprints(session=session)
    return _page(request, "blueprints/list.html", {"blueprints": blueprints})


@router.post("/new", response_class=HTMLResponse)
async def create(request: Request, session: SessionDep, id: Annotated[str, Form()] = "",
                 name: Annotated[str, Form()] = "",
                 description: Annotated[str, Form()] = "") -> Response:
    form = {"id": id.strip(), "name": name.strip(), "description": description.strip()}
    try:
        doc = starter_doc(form["id"], form["name"], form["description"])
        await service.create_blueprint(session=session, doc=doc)
    except ValidationError as exc:
        errors = _shape_errors(exc)
    except (Conflict, Invalid) as exc:
        errors = [exc.detail]
    else:
        return go_to(request, f"/blueprints/{doc.id}")
    return _page(request, "blueprints/_new_form.html", {"form": form, "errors": errors}, 422)


@router.post("/import", response_class=HTMLResponse)
async def import_file(request: Request, session: SessionDep,
                      file: Annotated[UploadFile, File()],
                      replace: Annotated[bool, Form()] = False) -> Response:
    raw = await file.read(MAX_IMPORT_BYTES + 1)
    try:
        if len(raw) > MAX_IMPORT_BYTES:
            raise Invalid("The file is larger than 2 MB.")
        doc = BlueprintDoc.model_validate(json.loads(raw))
        save = service.save_draft if replace else service.create_blueprint
        await save(session=session, doc=doc)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        errors = [f"Not a JSON file: {exc}"]
    except ValidationError as exc:
        errors = _shape_errors(exc)
    except (Conflict, Invalid) as exc:
        errors = [exc.detail] + [str(e.get("message", e)) for e in exc.errors
                                 if isinstance(e, dict)][:5]
    else:
        return go_to(request, f"/blueprints/{doc.id}")
    return _page(request, "blueprints/_import_form.html", {"errors": errors}, 422)


@router.delete("/{blueprint_id}", response_class=HTMLResponse)
async def delete(request: Request, blueprint_id: BlueprintId, session: SessionDep) -> Response:
    message = None
    try:
        await service.delete_blueprint(session=session, blueprint_id=blueprint_id)
    except (Conflict, NotFound) as exc:
        message = exc.detail
    blueprints = await service.list_blueprints(session=session)
    return _page(request, "blueprints/_list.html", {"blueprints": blueprints, "message": message})


@router.get("/_pair", response_class=HTMLResponse)
async def pair_row(request: Request, field: str = "args", scope: str = "response") -> Response:
    field = field if field in {"args", "save", "input"} else "args"
    scope = scope if scope in PAIR_SCOPES else "response"
    return _page(request, "blueprints/_pair.html",
                 {"field": field, "key": "", "value": "", "scope": scope})


@router.get("/{blueprint_id}", response_class=HTMLResponse)
async def editor(request: Request, blueprint_id: BlueprintId, session: SessionDep) -> Response:
    """The editor page. The draft's stored errors come along; the editor revalidates at once
    in the background, so a large blueprint's page is not held up by validation."""
    try:
        row = await service.get_row(session=session, blueprint_id=blueprint_id)
    except NotFound as exc:
        return _page(request, "not_found.html", {"detail": exc.detail}, 404)
    calls = await list_api_calls(session=session)
    boot = {
        "blueprint": row.draft,
        "errors": row.errors,
        "api_calls": [{"id": c.id, "name": c.name, "method": c.method} for c in calls],
        "catalogue": catalogue_json(),
    }
    return _page(request, "blueprints/editor.html", {"blueprint": row, "boot": boot})


ReplayVersion = Annotated[str, Query(pattern=r"^(draft|[1-9][0-9]{0,8})$")]
ReplayLimit = Annotated[int, Query(ge=1, le=MAX_ORDERS)]
ReplayState = Annotated[str, Query(pattern=r"^(completed|failed|finished)$")]


@router.get("/{blueprint_id}/replay", response_class=HTMLResponse)
async def replay_page(request: Request, blueprint_id: BlueprintId, session: SessionDep,
                      version: ReplayVersion = "draft", limit: ReplayLimit = 100,
                      state: ReplayState = "finished") -> Response:
    """The replay lab: the form, and the answer loaded into it (a replay takes seconds)."""
    try:
        row = await service.get_row(session=session, blueprint_id=blueprint_id)
    except NotFound as exc:
        return _page(request, "not_found.html", {"detail": exc.detail}, 404)
    versions = await service.list_versions(session=session, blueprint_id=blueprint_id)
    return _page(request, "blueprints/replay.html", {
        "blueprint": row, "versions": versions,
        "form": {"version": version, "limit": limit, "state": state}})


@router.get("/{blueprint_id}/replay/results", response_class=HTMLResponse)
async def replay_results(request: Request, blueprint_id: BlueprintId, session: SessionDep,
                         state: StateDep, version: ReplayVersion = "draft",
                         limit: ReplayLimit = 100, of: ReplayState = "finished") -> Response:
    chosen: str | int = version if version == "draft" else int(version)
    body = ReplayRequest(version=chosen, limit=limit,  # type: ignore[arg-type]
                         filter=OrderFilter(state=None if of == "finished" else of))
    try:
        answer = await replay_service.request_replay(session=session, redis=state.redis,
                                                     blueprint_id=blueprint_id, request=body)
        plan = await replay_service.target_plan(session, blueprint_id, chosen)
    except WaybillError as exc:
        return _page(request, "blueprints/_replay_results.html", {"problem": exc.detail},
                     exc.status_code)
    return _page(request, "blueprints/_replay_results.html", {
        "view": ReplayView(answer, plan), "blueprint_id": blueprint_id})


def _panel(request: Request, name: str, build: Any, read_only: str, cell: str = "") -> Response:
    try:
        context = build()
    except PanelInputError as exc:
        return _page(request, "blueprints/_panel_error.html", {"detail": str(exc)}, 422)
    return _page(request, name, {**context, "read_only": bool(read_only), "cell": cell})


@router.post("/{blueprint_id}/panel/node", response_class=HTMLResponse)
async def node_panel(request: Request, blueprint_id: BlueprintId, session: SessionDep,
                     node: Annotated[str, Form()], cell: Annotated[str, Form()] = "",
                     read_only: Annotated[str, Form()] = "") -> Response:
    try:
        context = await node_context(session=session, raw=node, parent=blueprint_id)
    except PanelInputError as exc:
        return _page(request, "blueprints/_panel_error.html", {"detail": str(exc)}, 422)
    return _page(request, "blueprints/_node_config.html",
                 {**context, "read_only": bool(read_only), "cell": cell})


@router.post("/{blueprint_id}/panel/edge", response_class=HTMLResponse)
async def edge_panel(request: Request, blueprint_id: BlueprintId, edge: Annotated[str, Form()],
                     kinds: Annotated[str, Form()] = "[]", cell: Annotated[str, Form()] = "",
                     read_only: Annotated[str, Form()] = "") -> Response:
    return _panel(request, "blueprints/_edge_config.html",
                  lambda: edge_context(raw_edge=edge, raw_kinds=kinds), read_only, cell)


@router.post("/{blueprint_id}/panel/blueprint", response_class=HTMLResponse)
async def blueprint_panel(request: Request, blueprint_id: BlueprintId,
                          blueprint: Annotated[str, Form()],
                          read_only: Annotated[str, Form()] = "") -> Response:
    return _panel(request, "blueprints/_blueprint_config.html",
                  lambda: blueprint_context(raw=blueprint), read_only)


router.include_router(schedules.router)  # the config panel's Schedules section
