"""What the editor's config panel partials need: the node, edge or blueprint the browser sent
(its unsaved state), and the catalog of API calls and functions to choose from."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.api_calls.service import list_api_calls
from backend.engine import expressions, functions
from backend.engine.catalogue import EDGE_KINDS
from backend.engine.format import ApiCallSpec, Edge, Node


class PanelInputError(ValueError):
    """The browser sent something that is not a node, edge or blueprint."""


def parse_json_object(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise PanelInputError(f"not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise PanelInputError("not a JSON object")
    return value


def _model(cls: type[BaseModel], raw: str) -> Any:
    try:
        return cls.model_validate(parse_json_object(raw))
    except ValidationError as exc:
        raise PanelInputError(str(exc.errors(include_url=False)[0]["msg"])) from exc


def args_read_by(spec: ApiCallSpec) -> list[str]:
    """The `args.X` names an API call's templates read: the arguments a node should pass."""
    fields = [spec.url, spec.idempotency_key, spec.headers, spec.query, spec.body]
    names: set[str] = set()
    for source in (s for value in fields for s in expressions.template_sources(value)):
        if expressions.parse_error(source, template=True) is None:
            names |= expressions.reads_of(source, "args", template=True)
    return sorted(names)


async def node_context(*, session: AsyncSession, raw: str) -> dict[str, Any]:
    node = _model(Node, raw)
    calls = await list_api_calls(session=session)
    spec = next((call for call in calls if call.id == node.api_call), None)
    catalog = functions.describe()
    chosen = next((fn for fn in catalog if fn["name"] == node.function), None)
    hints: list[str] = []
    if node.type == "api_call" and spec:
        hints = args_read_by(spec)
    elif node.type == "function" and chosen:
        hints = list(chosen["params"])
    return {
        "node": node, "api_calls": calls, "spec": spec, "functions": catalog,
        "chosen_function": chosen, "arg_hints": hints,
        "missing_args": [name for name in hints if name not in node.args],
        "retry_defaults": spec.retry if spec else None,
    }


def edge_context(*, raw_edge: str, raw_kinds: str) -> dict[str, Any]:
    data = parse_json_object(raw_edge)
    source_type = str(data.pop("source_type", ""))
    edge = _model(Edge, json.dumps({k: v for k, v in data.items() if v not in ("", None)}))
    try:
        kinds = [k for k in json.loads(raw_kinds or "[]") if k in EDGE_KINDS]
    except (json.JSONDecodeError, TypeError) as exc:
        raise PanelInputError("kinds: not a JSON list") from exc
    return {"edge": edge, "kinds": kinds or [edge.kind], "source_type": source_type}


def blueprint_context(*, raw: str) -> dict[str, Any]:
    meta = parse_json_object(raw)
    pretty = {
        key: json.dumps(meta[key], indent=2, ensure_ascii=False) if key in meta else ""
        for key in ("input_schema", "sample_input")
    }
    webhook = meta.get("webhook") if isinstance(meta.get("webhook"), dict) else {}
    return {"meta": meta, "pretty": pretty, "webhook": webhook}
