"""Blueprints: CRUD on drafts, validate, publish, versions, export."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, Field

from backend.app.deps import SessionDep, StateDep
from backend.blueprints import service
from backend.blueprints.coverage import Coverage
from backend.blueprints.coverage import coverage as coverage_of
from backend.blueprints.files import export_json
from backend.blueprints.schemas import (
    BlueprintPublic,
    BlueprintSummary,
    ValidationReport,
    VersionPublic,
    VersionSummary,
)
from backend.blueprints.scope import NodeScope
from backend.engine.format import ID_PATTERN, MAX_VERSION, BlueprintDoc
from backend.inflight.impact import in_flight as in_flight_of
from backend.inflight.migrate import migrate as migrate_orders
from backend.inflight.schemas import InFlight, MigrateAnswer, MigrateRequest
from backend.orders.schemas import OrderPublic, TestRunCreate
from backend.orders.service import create_test_order, public
from backend.replay import service as replay_service
from backend.replay.schemas import ReplayAnswer, ReplayRequest

router = APIRouter(prefix="/blueprints", tags=["blueprints"])
BlueprintId = Annotated[str, Path(pattern=ID_PATTERN)]


class BlueprintList(BaseModel):
    data: list[BlueprintSummary]
    next_cursor: str | None = None


class VersionList(BaseModel):
    data: list[VersionSummary]
    next_cursor: str | None = None


@router.get("")
async def list_blueprints(session: SessionDep) -> BlueprintList:
    return BlueprintList(data=await service.list_blueprints(session=session))


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_blueprint(doc: BlueprintDoc, session: SessionDep) -> BlueprintPublic:
    return await service.create_blueprint(session=session, doc=doc)


@router.post("/validate")
async def validate_blueprint(doc: BlueprintDoc, session: SessionDep) -> ValidationReport:
    return await service.check(session=session, doc=doc)


@router.get("/{blueprint_id}")
async def get_blueprint(blueprint_id: BlueprintId, session: SessionDep) -> BlueprintPublic:
    return await service.get_blueprint(session=session, blueprint_id=blueprint_id)


@router.put("/{blueprint_id}")
async def update_draft(blueprint_id: BlueprintId, doc: BlueprintDoc,
                       session: SessionDep) -> BlueprintPublic:
    return await service.update_draft(session=session, blueprint_id=blueprint_id, doc=doc)


@router.delete("/{blueprint_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_blueprint(blueprint_id: BlueprintId, session: SessionDep) -> None:
    await service.delete_blueprint(session=session, blueprint_id=blueprint_id)


class ScopeRequest(BaseModel):
    node: str = Field(max_length=64, description="the step whose expression is being written")
    field: str | None = Field(default=None, max_length=200,
                              description="which of its fields: `save.x`, `input.sku`, `args.a`…")
    draft: BlueprintDoc | None = Field(default=None,
                                       description="the draft as edited; the stored one if absent")


@router.post("/{blueprint_id}/scope")
async def node_scope(blueprint_id: BlueprintId, body: ScopeRequest,
                     session: SessionDep) -> NodeScope:
    """The names an expression may use at a step (and in one of its fields): the input's
    properties, the vars saved on every path there (and, marked `maybe`, on some), `order`,
    `variables`, `error` below a failed edge, what the field adds (`response.body.*` from a
    recorded or mocked response, `result`, `item`…), and the functions with their docs. For
    the editor's completion: it offers no name the validator would refuse."""
    return await service.node_scope(session=session, blueprint_id=blueprint_id, node=body.node,
                                    field=body.field, draft=body.draft)


@router.post("/{blueprint_id}/publish", status_code=status.HTTP_201_CREATED)
async def publish(blueprint_id: BlueprintId, session: SessionDep) -> VersionPublic:
    return await service.publish(session=session, blueprint_id=blueprint_id)


@router.get("/{blueprint_id}/versions")
async def list_versions(blueprint_id: BlueprintId, session: SessionDep) -> VersionList:
    return VersionList(data=await service.list_versions(session=session, blueprint_id=blueprint_id))


@router.get("/{blueprint_id}/versions/{version}")
async def get_version(blueprint_id: BlueprintId,
                      version: Annotated[int, Path(ge=1, le=MAX_VERSION)],
                      session: SessionDep) -> VersionPublic:
    return await service.get_version(session=session, blueprint_id=blueprint_id, version=version)


@router.get("/{blueprint_id}/export", response_class=Response,
            responses={200: {"content": {"application/json": {}}}})
async def export_blueprint(blueprint_id: BlueprintId, session: SessionDep) -> Response:
    row = await service.get_row(session=session, blueprint_id=blueprint_id)
    return Response(export_json(row.draft), media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="{row.id}.json"'})


@router.post("/{blueprint_id}/test-run", status_code=status.HTTP_201_CREATED)
async def test_run(blueprint_id: BlueprintId, body: TestRunCreate, session: SessionDep,
                   state: StateDep) -> OrderPublic:
    """Run the draft as a test order (sleeps fast-forwarded; API calls mocked if asked)."""
    order = await create_test_order(session=session, redis=state.redis, blueprint_id=blueprint_id,
                                    payload=body.input, mock=body.mock)
    return public(order, [])


@router.post("/{blueprint_id}/replay")
async def replay(blueprint_id: BlueprintId, body: ReplayRequest, session: SessionDep,
                 state: StateDep) -> ReplayAnswer:
    """Run past orders' recorded inputs through the draft or a published version without
    calling anything: each API call is answered by the response the order recorded for the
    same API call (a call it never made: the mock, marked `unrecorded`), sleeps pass, waits
    take the recorded signals. Compares each path with the original's (`first_difference`).
    Runs in a worker (bounded: 500 orders, 30 s); writes nothing."""
    return await replay_service.request_replay(session=session, redis=state.redis,
                                               blueprint_id=blueprint_id, request=body)


@router.get("/{blueprint_id}/coverage")
async def coverage(blueprint_id: BlueprintId, session: SessionDep,
                   version: Annotated[str | None, Query(
                       pattern=r"^(draft|[1-9][0-9]{0,8})$",
                       description="a published version (default: the latest), or `draft` "
                                   "for the draft's test runs")] = None) -> Coverage:
    """How many real and test orders took each step and each edge of a version (each order
    once per step or edge), and the edges no order took."""
    chosen = None if version is None else "draft" if version == "draft" else int(version)
    return await coverage_of(session=session, blueprint_id=blueprint_id, version=chosen)


@router.get("/{blueprint_id}/in-flight")
async def in_flight(blueprint_id: BlueprintId, session: SessionDep) -> InFlight:
    """The active orders on published versions, by version, step and state, and whether
    each step is in the draft unchanged: what a publish leaves running on older versions."""
    return await in_flight_of(session=session, blueprint_id=blueprint_id)


@router.post("/{blueprint_id}/migrate")
async def migrate(blueprint_id: BlueprintId, body: MigrateRequest,
                  session: SessionDep) -> MigrateAnswer:
    """Move sleeping and waiting orders from one version to another at the mapped step (the
    same id by default), refusing, with the reason, those that could not go on there (a var
    the new version reads that they never saved, another step type, ...). `dry_run` tells
    what would move, and changes nothing. Each move is on the order's timeline."""
    return await migrate_orders(session=session, blueprint_id=blueprint_id, request=body)
