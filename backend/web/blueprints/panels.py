"""What the editor's config panel partials need: the node, edge or blueprint the browser sent
(its unsaved state), the node type's catalogue entry (its fields, each drawn by the macro of
its kind, and its note), and the catalog of API calls, functions and child blueprints to
choose from."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.api_calls.service import list_api_calls
from backend.blueprints import plans
from backend.blueprints.models import Blueprint
from backend.core.errors import Conflict, NotFound
from backend.engine import expressions, functions
from backend.engine.catalogue import (
    EDGE_KIND_SPECS,
    EDGE_KINDS,
    NODE_TYPE_SPECS,
    NODE_TYPES,
    FieldSpec,
    NodeTypeSpec,
)
from backend.engine.format import ApiCallSpec, Edge, Node


def has_field(spec: NodeTypeSpec | None, kind: str) -> bool:
    return spec is not None and any(spec_field.kind == kind for spec_field in spec.fields)


# What a child-running node offers its `save` (the catalogue's `saves_from`): the children's
# results (and failures), or the one child's result.
CHILD_OUTPUTS = {spec.type: tuple(spec.saves_from)
                 for spec in NODE_TYPE_SPECS if has_field(spec, "blueprint")}
# The names a new map row's placeholder may read (the `_pair` route's `scope`).
PAIR_SCOPES = frozenset({"input", "response"}).union(
    *(spec.saves_from + spec.input_from for spec in NODE_TYPE_SPECS))


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


@dataclass(frozen=True)
class ChildChoice:
    """A blueprint a node may run as a child; orders run its published version."""

    id: str
    name: str
    published: bool


@dataclass(frozen=True)
class ChildInput:
    name: str
    required: bool


@dataclass(frozen=True)
class Child:
    """The chosen child blueprint: its latest version's inputs (None: never published)."""

    id: str
    version: int | None
    inputs: list[ChildInput] | None


def inputs_of(schema: dict[str, Any]) -> list[ChildInput]:
    """The top-level inputs an input schema names: its properties, then required others."""
    properties = schema.get("properties")
    required = [name for name in schema.get("required") or [] if isinstance(name, str)]
    names = [*properties] if isinstance(properties, dict) else []
    names += [name for name in required if name not in names]
    return [ChildInput(name=name, required=name in required) for name in names]


async def child_choices(*, session: AsyncSession, parent: str) -> list[ChildChoice]:
    """Every blueprint but the parent itself, by name."""
    rows = await session.exec(select(Blueprint.id, Blueprint.name, Blueprint.latest_version)
                              .order_by(col(Blueprint.name), col(Blueprint.id)))
    return [ChildChoice(id=bp_id, name=name, published=version is not None)
            for bp_id, name, version in rows if bp_id != parent]


async def chosen_child(*, session: AsyncSession, blueprint_id: str | None) -> Child | None:
    if not blueprint_id:
        return None
    try:
        version = await plans.latest(session, blueprint_id)
    except (NotFound, Conflict):
        return Child(id=blueprint_id, version=None, inputs=None)
    schema = version.definition.get("input_schema")
    return Child(id=blueprint_id, version=version.number,
                 inputs=inputs_of(schema if isinstance(schema, dict) else {}))


@dataclass(frozen=True)
class PanelField:
    """A catalogue field as the node's panel draws it, with the macro of its kind."""

    spec: FieldSpec
    value: Any
    hint: str  # the catalogue's, or what the choice made tells (the args an API call reads)
    scope: str = "input"  # a map's: the name its rows' placeholders read
    suggested: tuple[str, ...] = ()  # a map's keys still to fill (a call's args, a child's inputs)
    suggested_values: tuple[str, ...] = ()  # a save's values still to keep (a child's results)


@dataclass(frozen=True)
class Alternatives:
    """A type's consecutive alternative fields, of which one is used (a sleep's duration or
    until): a toggle, the radio group `name`, shows the one `chosen`."""

    name: str
    label: str
    fields: tuple[PanelField, ...] = ()
    chosen: str = ""


def map_scope(spec: NodeTypeSpec, name: str) -> str:
    """What a map's expressions mostly read: a save its step's output, a child's input
    the item (for_each) or the parent's input."""
    if name == "save":
        return (spec.saves_from or ["input"])[0]
    if name == "input":
        return (spec.input_from or ["input"])[0]
    return "input"


def panel_fields(node: Node, spec: NodeTypeSpec | None, *, hints: dict[str, str],
                 suggested: dict[str, list[str]],
                 suggested_values: dict[str, list[str]]) -> list[PanelField | Alternatives]:
    """The node type's catalogue fields in order, alternatives grouped behind their toggle."""
    if spec is None:
        return []
    shown: list[PanelField | Alternatives] = []
    for spec_field in spec.fields:
        one = PanelField(spec=spec_field, value=getattr(node, spec_field.name, None),
                         hint=hints.get(spec_field.name, spec_field.hint),
                         scope=map_scope(spec, spec_field.name),
                         suggested=tuple(suggested.get(spec_field.name, ())),
                         suggested_values=tuple(suggested_values.get(spec_field.name, ())))
        last = shown[-1] if shown else None
        if spec_field.alternative and isinstance(last, Alternatives):
            shown[-1] = replace(last, fields=(*last.fields, one))
        elif spec_field.alternative:
            shown.append(Alternatives(name=f"{spec.type}_mode", label=f"{spec.title} mode",
                                      fields=(one,)))
        else:
            shown.append(one)
    return [replace(item, chosen=next((f.spec.name for f in item.fields if f.value),
                                      item.fields[0].spec.name))
            if isinstance(item, Alternatives) else item for item in shown]


async def child_context(*, session: AsyncSession, node: Node, parent: str) -> dict[str, Any]:
    """The child-blueprint picker's choices, and what the chosen child's input asks for."""
    child = await chosen_child(session=session, blueprint_id=node.blueprint)
    inputs = child.inputs if child and child.inputs else []
    outputs = CHILD_OUTPUTS.get(node.type, ())
    return {
        "blueprints": await child_choices(session=session, parent=parent), "child": child,
        "missing_inputs": [i.name for i in inputs if i.name not in node.input],
        "child_outputs": outputs,
        "save_suggestions": [name for name in outputs if name not in node.save.values()],
    }


async def node_context(*, session: AsyncSession, raw: str, parent: str = "") -> dict[str, Any]:
    node = _model(Node, raw)
    node_type = NODE_TYPES.get(node.type)
    calls = await list_api_calls(session=session)
    spec = next((call for call in calls if call.id == node.api_call), None)
    catalog = functions.describe()
    chosen = next((fn for fn in catalog if fn["name"] == node.function), None)
    reads: list[str] = []
    hints: dict[str, str] = {}
    if has_field(node_type, "api_call") and spec:
        reads = args_read_by(spec)
        if reads:
            hints["args"] = f"the call reads {', '.join(reads)}"
    elif has_field(node_type, "function") and chosen:
        reads = list(chosen["params"])
    children = (await child_context(session=session, node=node, parent=parent)
                if has_field(node_type, "blueprint") else {})
    missing_args = [name for name in reads if name not in node.args]
    save_suggestions = children.get("save_suggestions", [])
    if save_suggestions and node_type:
        save = next((f for f in node_type.fields if f.name == "save"), None)
        if save:
            hints["save"] = ": ".join(filter(None, [save.hint, "name what to keep"]))
    fields = panel_fields(node, node_type, hints=hints,
                          suggested={"args": missing_args,
                                     "input": children.get("missing_inputs", [])},
                          suggested_values={"save": save_suggestions})
    return {
        "node": node, "node_type": node_type, "fields": fields, "api_calls": calls,
        "spec": spec, "functions": catalog, "chosen_function": chosen, "arg_hints": reads,
        "missing_args": missing_args, "retry_defaults": spec.retry if spec else None, **children,
    }


def edge_context(*, raw_edge: str, raw_kinds: str) -> dict[str, Any]:
    data = parse_json_object(raw_edge)
    source_type = str(data.pop("source_type", ""))
    names = {end: str(data.pop(f"{end}_label", "") or "").strip() for end in ("source", "target")}
    edge = _model(Edge, json.dumps({k: v for k, v in data.items() if v not in ("", None)}))
    try:
        kinds = [k for k in json.loads(raw_kinds or "[]") if k in EDGE_KINDS]
    except (json.JSONDecodeError, TypeError) as exc:
        raise PanelInputError("kinds: not a JSON list") from exc
    colors = {spec.kind: spec.stroke for spec in EDGE_KIND_SPECS}
    return {"edge": edge, "kinds": kinds or [edge.kind], "source_type": source_type,
            "color": colors.get(edge.kind), "source_label": names["source"],
            "target_label": names["target"]}


def blueprint_context(*, raw: str) -> dict[str, Any]:
    meta = parse_json_object(raw)
    pretty = {
        key: json.dumps(meta[key], indent=2, ensure_ascii=False) if key in meta else ""
        for key in ("input_schema", "sample_input")
    }
    webhook = meta.get("webhook") if isinstance(meta.get("webhook"), dict) else {}
    concurrency = meta.get("concurrency") if isinstance(meta.get("concurrency"), dict) else {}
    return {"meta": meta, "pretty": pretty, "webhook": webhook, "concurrency": concurrency}
