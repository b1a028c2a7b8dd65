"""Credential pages: the list (never a secret), add one, replace one's secret, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import TypeAdapter, ValidationError

from backend.app.deps import SessionDep, SettingsDep
from backend.core.errors import NotFound, WaybillError
from backend.credentials import service
from backend.credentials.crypto import SecretBox
from backend.credentials.schemas import SECRET_FIELDS, CredentialCreate
from backend.engine.format import ID_PATTERN
from backend.web.templating import page

router = APIRouter(prefix="/credentials")
CredentialId = Annotated[str, Path(pattern=ID_PATTERN)]
TYPES = {"bearer": "Bearer token", "basic": "Basic auth", "header": "Header",
         "query": "Query parameter", "hmac": "Webhook signing secret (HMAC)"}
FIELDS = {"bearer": ("token",), "basic": ("username", "password"), "header": ("header", "value"),
          "query": ("param", "value"), "hmac": ("secret",)}
PARSE = TypeAdapter(CredentialCreate)


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200,
          headers: dict[str, str] | None = None) -> Response:
    base = {"types": TYPES, "fields": FIELDS, "secrets": SECRET_FIELDS}
    return page(request, name, base | context, status, headers, active="credentials")


def _blank(kind: str = "bearer") -> dict[str, str]:
    return {"id": "", "name": "", "type": kind if kind in TYPES else "bearer"}


@router.get("", response_class=HTMLResponse)
async def list_page(request: Request, session: SessionDep) -> Response:
    credentials = await service.list_credentials(session=session)
    return _page(request, "credentials/list.html",
                 {"credentials": credentials, "form": _blank(), "errors": [], "replacing": False})


@router.get("/_fields", response_class=HTMLResponse)
async def type_fields(request: Request, type: str = "bearer") -> Response:
    """The inputs a credential type needs (the form swaps them when the type changes)."""
    return _page(request, "credentials/_fields.html", {"form": _blank(type)})


@router.get("/{credential_id}/replace", response_class=HTMLResponse)
async def replace_form(request: Request, credential_id: CredentialId,
                       session: SessionDep) -> Response:
    try:
        row = await service.get_row(session=session, credential_id=credential_id)
    except NotFound as exc:
        return _page(request, "_flash.html", {"flash": {"tone": "error", "text": exc.detail}}, 404)
    form = {"id": row.id, "name": row.name, "type": row.type, **row.meta}
    return _page(request, "credentials/_form.html",
                 {"form": form, "errors": [], "replacing": True})


def _errors(exc: ValidationError) -> list[str]:
    return [f"{error['loc'][-1]}: {error['msg']}" if error["loc"] else str(error["msg"])
            for error in exc.errors(include_url=False)]


async def _save(request: Request, session: SessionDep, settings: SettingsDep,
                replacing: bool) -> Response:
    raw = await request.form()
    form = {key: str(value) for key, value in raw.items()}
    kind = form.get("type", "")
    data = {key: form.get(key, "") for key in ("id", "name", "type", *FIELDS.get(kind, ()))}
    try:
        body = PARSE.validate_python(data)
        box = SecretBox(settings.resolved_secret_key)
        if replacing:
            await service.replace_credential(session=session, box=box, credential_id=body.id,
                                             body=body)
        else:
            await service.create_credential(session=session, box=box, body=body)
    except ValidationError as exc:
        errors = _errors(exc)
    except WaybillError as exc:
        errors = [exc.detail]
    else:
        credentials = await service.list_credentials(session=session)
        verb = "replaced" if replacing else "added"
        return _page(request, "credentials/_list.html", {
            "credentials": credentials, "form": _blank(), "errors": [], "replacing": False,
            "flash": {"tone": "ok", "text": f"Credential “{body.name}” {verb}."}})
    public = {key: value for key, value in form.items() if key not in SECRET_FIELDS.get(kind, ())}
    return _page(request, "credentials/_form.html",
                 {"form": public, "errors": errors, "replacing": replacing}, 422,
                 headers={"HX-Retarget": "#credential-form", "HX-Reswap": "outerHTML"})


@router.post("", response_class=HTMLResponse)
async def create(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    return await _save(request, session, settings, replacing=False)


@router.post("/{credential_id}", response_class=HTMLResponse)
async def replace(request: Request, credential_id: CredentialId, session: SessionDep,
                  settings: SettingsDep) -> Response:
    return await _save(request, session, settings, replacing=True)


@router.delete("/{credential_id}", response_class=HTMLResponse)
async def delete(request: Request, credential_id: CredentialId, session: SessionDep) -> Response:
    flash = {"tone": "ok", "text": f"Credential “{credential_id}” deleted."}
    try:
        await service.delete_credential(session=session, credential_id=credential_id)
    except WaybillError as exc:
        flash = {"tone": "error", "text": exc.detail}
    credentials = await service.list_credentials(session=session)
    return _page(request, "credentials/_list.html", {
        "credentials": credentials, "form": _blank(), "errors": [], "replacing": False,
        "flash": flash})
