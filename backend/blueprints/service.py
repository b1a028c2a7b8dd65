"""Blueprints: drafts saved with their validation errors, versions published only when valid."""

from __future__ import annotations

from collections import defaultdict

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from sqlalchemy import and_, delete, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.api_calls.service import all_specs
from backend.blueprints import plans
from backend.blueprints.graph import Catalog, ChildBlueprint, validate
from backend.blueprints.models import Blueprint, BlueprintVersion
from backend.blueprints.schemas import (
    BlueprintPublic,
    BlueprintSummary,
    Problem,
    ValidationReport,
    VersionPublic,
    VersionSummary,
)
from backend.blueprints.scope import NodeScope, scope_at
from backend.core.db import insert_new, utcnow
from backend.core.errors import Conflict, Invalid, NotFound
from backend.engine.format import BlueprintDoc
from backend.engine.functions import REGISTRY
from backend.orders.models import Order, StepRun
from backend.variables.service import as_scope


async def load_catalog(*, session: AsyncSession) -> Catalog:
    """The API calls, functions and child blueprints a blueprint may use."""
    return Catalog(api_calls=await all_specs(session=session), functions=frozenset(REGISTRY),
                   blueprints=await _child_blueprints(session))


async def _child_blueprints(session: AsyncSession) -> dict[str, ChildBlueprint]:
    """Every blueprint with what its latest published version offers a parent (one query)."""
    latest = and_(col(BlueprintVersion.blueprint_id) == col(Blueprint.id),
                  col(BlueprintVersion.version) == col(Blueprint.latest_version))
    query = select(Blueprint.id, BlueprintVersion.definition).outerjoin(BlueprintVersion, latest)
    return {blueprint_id: ChildBlueprint.of(definition)
            for blueprint_id, definition in await session.exec(query)}


def input_schema_problems(doc: BlueprintDoc) -> list[Problem]:
    """The input schema must itself be a valid JSON Schema (draft 2020-12), or every order
    would be checked against something else than what was meant (or not at all)."""
    try:
        Draft202012Validator.check_schema(doc.input_schema)
    except SchemaError as exc:
        where = "/" + "/".join(map(str, exc.absolute_path))
        return [Problem(code="input_schema",
                        message=f"input_schema is not a valid JSON Schema at {where}: {exc.message}")]
    return []


async def check(*, session: AsyncSession, doc: BlueprintDoc) -> ValidationReport:
    """Validate a blueprint against the current catalog."""
    errors = [*input_schema_problems(doc), *validate(doc, await load_catalog(session=session))]
    return ValidationReport(valid=not errors, errors=errors)


async def _latest_definition(session: AsyncSession, row: Blueprint) -> dict | None:
    if row.latest_version is None:
        return None
    version = await session.get(BlueprintVersion, (row.id, row.latest_version))
    return version.definition if version else None


async def _summary_fields(session: AsyncSession, row: Blueprint) -> dict:
    latest = await _latest_definition(session, row)
    return {
        "id": row.id, "name": row.name, "description": row.draft.get("description", ""),
        "latest_version": row.latest_version, "draft_changed": latest != row.draft,
        "valid": not row.errors, "created_at": row.created_at, "updated_at": row.updated_at,
    }


async def _order_counts(session: AsyncSession) -> dict[str, dict[str, int]]:
    query = select(Order.blueprint_id, Order.state, func.count()).where(
        col(Order.test).is_(False)).group_by(Order.blueprint_id, Order.state)
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for blueprint_id, state, count in await session.exec(query):
        counts[blueprint_id][state] = count
    return counts


async def list_blueprints(*, session: AsyncSession) -> list[BlueprintSummary]:
    """Every blueprint with its version, draft state and order counts."""
    counts = await _order_counts(session)
    rows = await session.exec(select(Blueprint).order_by(col(Blueprint.name), col(Blueprint.id)))
    return [
        BlueprintSummary(**await _summary_fields(session, row), order_counts=counts[row.id])
        for row in rows
    ]


async def get_row(*, session: AsyncSession, blueprint_id: str) -> Blueprint:
    row = await session.get(Blueprint, blueprint_id)
    if row is None:
        raise NotFound(f"No blueprint with id {blueprint_id!r}.")
    return row


async def _public(session: AsyncSession, row: Blueprint) -> BlueprintPublic:
    counts = (await _order_counts(session)).get(row.id, {})
    return BlueprintPublic(**await _summary_fields(session, row), order_counts=counts,
                           draft=row.draft, errors=[Problem(**e) for e in row.errors])


async def get_blueprint(*, session: AsyncSession, blueprint_id: str) -> BlueprintPublic:
    """One blueprint with its draft, revalidated against the current catalog."""
    row = await get_row(session=session, blueprint_id=blueprint_id)
    report = await check(session=session, doc=BlueprintDoc.model_validate(row.draft))
    row.errors = [error.model_dump(mode="json") for error in report.errors]
    return await _public(session, row)


def _refuse_unsavable(report: ValidationReport) -> None:
    """Drafts are saved with their problems, except these two: duplicate node ids, and an
    input schema that is not a JSON Schema."""
    duplicates = [error for error in report.errors if error.code == "duplicate_node_id"]
    if duplicates:
        raise Invalid("Node ids must be unique.", [d.model_dump(mode="json") for d in duplicates])
    bad_schema = [error for error in report.errors if error.code == "input_schema"]
    if bad_schema:
        raise Invalid("The input schema is not a valid JSON Schema.",
                      [error.model_dump(mode="json") for error in bad_schema])


async def create_blueprint(*, session: AsyncSession, doc: BlueprintDoc) -> BlueprintPublic:
    """Store a new blueprint draft with its validation errors (an existing id conflicts)."""
    report = await check(session=session, doc=doc)
    _refuse_unsavable(report)
    row = Blueprint(id=doc.id, name=doc.name, draft=doc.canonical(),
                    errors=[error.model_dump(mode="json") for error in report.errors])
    await insert_new(session, row, f"A blueprint with id {doc.id!r}")
    return await _public(session, row)


async def update_draft(*, session: AsyncSession, blueprint_id: str,
                       doc: BlueprintDoc) -> BlueprintPublic:
    """Replace the draft (saved even with validation errors, which come back with it)."""
    if doc.id != blueprint_id:
        raise Invalid("The body's id must match the path.",
                      [{"node": None, "edge": None, "code": "id_mismatch",
                        "message": f"body id {doc.id!r} differs from {blueprint_id!r}"}])
    row = await get_row(session=session, blueprint_id=blueprint_id)
    report = await check(session=session, doc=doc)
    _refuse_unsavable(report)
    row.name, row.draft, row.updated_at = doc.name, doc.canonical(), utcnow()
    row.errors = [error.model_dump(mode="json") for error in report.errors]
    await session.commit()
    return await _public(session, row)


async def delete_blueprint(*, session: AsyncSession, blueprint_id: str) -> None:
    """Delete a blueprint, its versions and its test orders; refused while real orders exist."""
    await get_row(session=session, blueprint_id=blueprint_id)
    live = await session.exec(select(func.count()).select_from(Order).where(
        Order.blueprint_id == blueprint_id, col(Order.test).is_(False)))
    if live.one():
        raise Conflict(f"Blueprint {blueprint_id!r} has orders; it cannot be deleted.")
    for table, column in ((Order, Order.blueprint_id),
                          (BlueprintVersion, BlueprintVersion.blueprint_id),
                          (Blueprint, Blueprint.id)):
        await session.exec(delete(table).where(column == blueprint_id))  # type: ignore[call-overload]
    await session.commit()
    plans.forget(blueprint_id)


def _version_public(version: BlueprintVersion) -> VersionPublic:
    return VersionPublic.model_validate(version, from_attributes=True)


async def publish(*, session: AsyncSession, blueprint_id: str) -> VersionPublic:
    """Make the draft an immutable version if it is valid (unchanged: the latest version)."""
    row = await get_row(session=session, blueprint_id=blueprint_id)
    report = await check(session=session, doc=BlueprintDoc.model_validate(row.draft))
    if not report.valid:
        raise Invalid("The draft has validation errors; fix them before publishing.",
                      [error.model_dump(mode="json") for error in report.errors])
    latest = await _latest_definition(session, row)
    if latest == row.draft:
        return await get_version(session=session, blueprint_id=row.id, version=row.latest_version)
    version = BlueprintVersion(blueprint_id=row.id, version=(row.latest_version or 0) + 1,
                               definition=row.draft)
    row.latest_version, row.errors = version.version, []
    session.add(version)
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict("Another publish of this blueprint happened at the same time.") from exc
    return _version_public(version)


async def list_versions(*, session: AsyncSession, blueprint_id: str) -> list[VersionSummary]:
    """Published versions, newest first."""
    await get_row(session=session, blueprint_id=blueprint_id)
    rows = await session.exec(select(BlueprintVersion).where(
        BlueprintVersion.blueprint_id == blueprint_id).order_by(col(BlueprintVersion.version).desc()))
    return [VersionSummary(version=row.version, created_at=row.created_at) for row in rows]


async def get_version(*, session: AsyncSession, blueprint_id: str, version: int) -> VersionPublic:
    """One published version with its definition."""
    row = await session.get(BlueprintVersion, (blueprint_id, version))
    if row is None:
        raise NotFound(f"Blueprint {blueprint_id!r} has no version {version}.")
    return _version_public(row)


async def save_draft(*, session: AsyncSession, doc: BlueprintDoc) -> BlueprintPublic:
    """Create the blueprint, or replace its draft when it exists (imports)."""
    if await session.get(Blueprint, doc.id) is None:
        return await create_blueprint(session=session, doc=doc)
    return await update_draft(session=session, blueprint_id=doc.id, doc=doc)


RECENT_ORDERS = 200  # where the last recorded response of a step is looked for


async def node_scope(*, session: AsyncSession, blueprint_id: str, node: str, field: str | None,
                     draft: BlueprintDoc | None = None) -> NodeScope:
    """The names an expression may use at `node` of the draft (the one given, e.g. with
    unsaved edits, or the stored one): see `backend.blueprints.scope`."""
    row = await get_row(session=session, blueprint_id=blueprint_id)
    doc = draft or BlueprintDoc.model_validate(row.draft)
    if all(item.id != node for item in doc.nodes):
        raise NotFound(f"The draft has no step {node!r}.")
    catalog = await load_catalog(session=session)
    return scope_at(doc, catalog, node, field, variables=await as_scope(session=session),
                    sample_response=await _sample_body(session, doc, catalog, node))


async def _sample_body(session: AsyncSession, doc: BlueprintDoc, catalog: Catalog,
                       node_id: str) -> object:
    """An API call step's response body as last recorded (among the blueprint's recent
    orders), else its API call's mock body."""
    node = next(item for item in doc.nodes if item.id == node_id)
    if node.type != "api_call":
        return None
    recent = (select(Order.id).where(Order.blueprint_id == doc.id)
              .order_by(col(Order.id).desc()).limit(RECENT_ORDERS))
    found = (await session.exec(
        select(StepRun.response).where(col(StepRun.order_pk).in_(recent),
                                       StepRun.node == node_id, StepRun.status == "completed")
        .order_by(col(StepRun.id).desc()).limit(1))).first()
    if isinstance(found, dict) and "body" in found:
        return found["body"]
    spec = catalog.api_calls.get(node.api_call or "")
    return spec.mock.body if spec is not None and spec.mock is not None else None
