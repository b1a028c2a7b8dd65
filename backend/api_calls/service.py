"""API call definitions: CRUD, with every template checked before anything is written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.api_calls.models import ApiCall
from backend.api_calls.schemas import ApiCallPublic
from backend.blueprints.graph import TEMPLATE_SCOPE
from backend.blueprints.usage import blueprints_using
from backend.core.db import insert_new, utcnow
from backend.core.errors import Conflict, Invalid, NotFound
from backend.credentials.models import Credential
from backend.engine import expressions
from backend.engine.format import ApiCallSpec


def to_public(row: ApiCall) -> ApiCallPublic:
    return ApiCallPublic.model_validate(
        row.definition | {"created_at": row.created_at, "updated_at": row.updated_at}
    )


def spec_of(row: ApiCall) -> ApiCallSpec:
    return ApiCallSpec.model_validate(row.definition)


def template_problems(spec: ApiCallSpec) -> Iterator[dict[str, Any]]:
    """Templates that do not parse or read names an API call cannot see."""
    fields: list[tuple[str, Any]] = [("url", spec.url), ("idempotency_key", spec.idempotency_key)]
    fields += [(f"headers.{k}", v) for k, v in spec.headers.items()]
    fields += [(f"query.{k}", v) for k, v in spec.query.items()]
    fields.append(("body", spec.body))
    for where, value in fields:
        for source in expressions.template_sources(value):
            error = expressions.parse_error(source, template=True)
            if error:
                yield {"field": where, "code": "bad_template", "message": error}
                continue
            unknown = expressions.undeclared_names(source, template=True) - TEMPLATE_SCOPE
            if unknown:
                message = f"unknown name(s): {', '.join(sorted(unknown))}"
                yield {"field": where, "code": "unknown_name", "message": message}


async def _check(session: AsyncSession, spec: ApiCallSpec) -> None:
    problems = list(template_problems(spec))
    if spec.credential and await session.get(Credential, spec.credential) is None:
        problems.append({"field": "credential", "code": "unknown_credential",
                         "message": f"No credential with id {spec.credential!r}."})
    if problems:
        raise Invalid(f"API call {spec.id!r} has {len(problems)} problem(s).", problems)


async def list_api_calls(*, session: AsyncSession) -> list[ApiCallPublic]:
    """Every API call definition, by id."""
    rows = await session.exec(select(ApiCall).order_by(col(ApiCall.id)))
    return [to_public(row) for row in rows]


async def all_specs(*, session: AsyncSession) -> dict[str, ApiCallSpec]:
    """Every API call as a spec, keyed by id (the validator's catalog)."""
    return {row.id: spec_of(row) for row in await session.exec(select(ApiCall))}


async def get_row(*, session: AsyncSession, api_call_id: str) -> ApiCall:
    row = await session.get(ApiCall, api_call_id)
    if row is None:
        raise NotFound(f"No API call with id {api_call_id!r}.")
    return row


async def create_api_call(*, session: AsyncSession, spec: ApiCallSpec) -> ApiCallPublic:
    """Check the templates, then store a new definition (an existing id is a conflict)."""
    await _check(session, spec)
    row = ApiCall(id=spec.id, name=spec.name, definition=spec.model_dump(mode="json"))
    await insert_new(session, row, f"An API call with id {spec.id!r}")
    return to_public(row)


async def update_api_call(*, session: AsyncSession, api_call_id: str,
                          spec: ApiCallSpec) -> ApiCallPublic:
    """Replace a definition after checking it."""
    if spec.id != api_call_id:
        raise Invalid("The body's id must match the path.", [{"field": "id", "code": "id_mismatch",
                                                              "message": "id differs from URL"}])
    row = await get_row(session=session, api_call_id=api_call_id)
    await _check(session, spec)
    row.name, row.definition, row.updated_at = spec.name, spec.model_dump(mode="json"), utcnow()
    await session.commit()
    return to_public(row)


async def delete_api_call(*, session: AsyncSession, api_call_id: str) -> None:
    """Delete a definition that no blueprint draft or version uses."""
    row = await get_row(session=session, api_call_id=api_call_id)
    users = await blueprints_using(session=session, key="api_call", value=api_call_id)
    if users:
        raise Conflict(f"API call {api_call_id!r} is used by: {', '.join(users)}.")
    await session.delete(row)
    await session.commit()
