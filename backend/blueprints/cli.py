"""What `waybill blueprints ...` does, apart from argument parsing."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.api_calls.service import template_problems
from backend.blueprints.files import export_json, import_file, read_api_calls, read_blueprint
from backend.blueprints.graph import ChildBlueprint, validate
from backend.blueprints.service import get_row, load_catalog
from backend.core.errors import WaybillError


async def validate_files(session: AsyncSession, files: list[Path], out: Console) -> int:
    """Print each file's problems; return how many there were."""
    known = await load_catalog(session=session)
    known = replace(known, blueprints=known.blueprints | _given_blueprints(files))
    total = 0
    for path in files:
        try:
            doc = read_blueprint(path)
            beside = read_api_calls(path.parent)
            catalog = replace(known, api_calls=known.api_calls | beside)
            problems = [f"{p.code} at {p.node or p.edge}: {p.message}"
                        for p in validate(doc, catalog)]
            problems += [f"{item['code']} in API call {spec.id} `{item['field']}`: {item['message']}"
                         for spec in beside.values() for item in template_problems(spec)]
        except WaybillError as exc:
            problems = [exc.detail, *map(str, exc.errors)]
        total += len(problems)
        out.print(f"{path}: " + ("[green]valid[/green]" if not problems else
                                 f"[red]{len(problems)} problem(s)[/red]"))
        for problem in problems:
            out.print(f"  {problem}", markup=False)
    return total


def _given_blueprints(files: list[Path]) -> dict[str, ChildBlueprint]:
    """The blueprints named on the command line, as a parent will see them once they are
    imported and published (over the database's): files that run each other check together."""
    given: dict[str, ChildBlueprint] = {}
    for path in files:
        with suppress(WaybillError):
            doc = read_blueprint(path)
            given[doc.id] = ChildBlueprint.of(doc.canonical())
    return given


async def import_files(session: AsyncSession, files: list[Path], publish: bool,
                       out: Console) -> None:
    for path in files:
        saved = await import_file(session=session, path=path, publish_it=publish)
        state = f"version {saved.latest_version}" if saved.latest_version else "draft"
        out.print(f"imported {saved.id} ({state}, {len(saved.errors)} problem(s))")


async def export_blueprint(session: AsyncSession, blueprint_id: str) -> str:
    return export_json((await get_row(session=session, blueprint_id=blueprint_id)).draft)
