"""Blueprints as files: `blueprints/<id>.json` with API calls in `blueprints/api_calls/`."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.api_calls.models import ApiCall
from backend.api_calls.service import create_api_call
from backend.blueprints.schemas import BlueprintPublic
from backend.blueprints.service import get_row, publish, save_draft
from backend.core.config import Settings
from backend.core.errors import Invalid
from backend.core.meta import get_meta, set_meta
from backend.engine.format import ApiCallSpec, BlueprintDoc

EXAMPLES = Path(__file__).resolve().parents[2] / "blueprints"


def _load_json(path: Path) -> object:
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Invalid(f"{path}: cannot read JSON: {exc}") from exc


def read_blueprint(path: Path) -> BlueprintDoc:
    try:
        return BlueprintDoc.model_validate(_load_json(path))
    except ValidationError as exc:
        raise Invalid(f"{path}: not a blueprint", exc.errors(include_url=False)) from exc


def read_api_calls(folder: Path) -> dict[str, ApiCallSpec]:
    """The API call files beside a blueprint (`<folder>/api_calls/*.json`)."""
    specs = {}
    for path in sorted((folder / "api_calls").glob("*.json")):
        try:
            spec = ApiCallSpec.model_validate(_load_json(path))
        except ValidationError as exc:
            raise Invalid(f"{path}: not an API call", exc.errors(include_url=False)) from exc
        specs[spec.id] = spec
    return specs


def export_json(definition: dict) -> str:
    return json.dumps(definition, indent=2, ensure_ascii=False) + "\n"


async def import_file(*, session: AsyncSession, path: Path,
                      publish_it: bool = False) -> BlueprintPublic:
    """Import a blueprint file, creating the API calls beside it that the database lacks."""
    doc = read_blueprint(path)
    if len({node.id for node in doc.nodes}) != len(doc.nodes):
        raise Invalid(f"Node ids must be unique. ({path})")  # refused before anything is written
    used = {node.api_call for node in doc.nodes if node.api_call}
    for spec_id, spec in read_api_calls(path.parent).items():
        if spec_id in used and await session.get(ApiCall, spec_id) is None:
            await create_api_call(session=session, spec=spec)
    saved = await save_draft(session=session, doc=doc)
    if publish_it and saved.valid:
        await publish(session=session, blueprint_id=doc.id)
        return saved.model_copy(update={"latest_version": (await get_row(
            session=session, blueprint_id=doc.id)).latest_version, "draft_changed": False})
    return saved


def children_first(paths: list[Path]) -> list[Path]:
    """The blueprint files, each after the files of the child blueprints it names (a
    `for_each` or `sub_blueprint` node's `blueprint`), else in the order given: a parent
    validates only once its children are published."""
    docs = {path: read_blueprint(path) for path in paths}
    by_id = {doc.id: path for path, doc in docs.items()}
    ordered: list[Path] = []

    def visit(path: Path, visiting: frozenset[Path]) -> None:
        if path in ordered or path in visiting:  # done, or a cycle (the validator says so)
            return
        for node in docs[path].nodes:
            if node.blueprint in by_id:
                visit(by_id[node.blueprint], visiting | {path})
        ordered.append(path)

    for path in paths:
        visit(path, frozenset())
    return ordered


async def load_examples_once(*, session: AsyncSession, settings: Settings) -> None:
    """On the first start of a database, import and publish the example blueprints."""
    if await get_meta(session, "examples_loaded"):
        return
    for path in children_first(sorted(EXAMPLES.glob("*.json"))):
        await import_file(session=session, path=path, publish_it=True)
    await set_meta(session, "examples_loaded", True)
    await session.commit()
