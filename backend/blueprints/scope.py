"""The names an expression may use at one node of a draft, for the editor's completion.

`scope_at(doc, catalog, node_id, field)` answers what the validator would accept there, and
nothing it would reject: `input.*` from the input_schema's properties (type, description,
the sample input's value), `vars.*` definitely saved on every path to the node (the same
dataflow analysis as validation) and, marked `maybe`, what only some paths save (reading
those is an `unsaved_var` problem); `order.*`, `variables.*`, `error` below a `failed`
edge; and for the field being edited, what the node type adds (`response.*` in an API
call's `save`, with the body's fields from a sample response; `result`, `signal`,
`results`/`errors`; `item`/`index` in a for-each's `input`). Functions and filters come with
their parameters and one-line docs.
"""

from __future__ import annotations

from typing import Any, Literal

import networkx as nx
from pydantic import BaseModel, Field

from backend.blueprints import graph
from backend.engine import functions
from backend.engine.catalogue import NODE_TYPES
from backend.engine.format import BlueprintDoc

MAX_DEPTH = 3  # how deep a sample's fields are listed (`response.body.label.carrier`)
MAX_NAMES = 500
Kind = Literal["input", "var", "maybe", "order", "variable", "error", "local", "response"]


class ScopeName(BaseModel):
    path: str = Field(description="what to type: `input.country`, `vars.return_id`")
    kind: Kind
    type: str | None = Field(default=None, description="a JSON type, when known")
    detail: str | None = None
    sample: Any = Field(default=None, description="a value seen or declared for it")


class Callable_(BaseModel):
    name: str
    params: list[str]
    doc: str


class NodeScope(BaseModel):
    node: str
    field: str | None
    names: list[ScopeName]
    functions: list[Callable_]


def scope_at(doc: BlueprintDoc, catalog: graph.Catalog, node_id: str, field: str | None,
             *, variables: dict[str, Any], sample_response: Any = None) -> NodeScope:
    node = next((item for item in doc.nodes if item.id == node_id), None)
    names = [*_inputs(doc), *_vars(doc, node_id)]
    names += [ScopeName(path=f"order.{key}", kind="order", type=kind)
              for key, kind in (("id", "string"), ("blueprint", "string"), ("version", "integer"))]
    names += [ScopeName(path=f"variables.{name}", kind="variable", type=_json_type(value),
                        sample=value) for name, value in sorted(variables.items())]
    if _below_failed_edge(doc, node_id):
        names += [ScopeName(path=f"error.{key}", kind="error", type="string")
                  for key in ("code", "message", "node")]
    if node is not None:
        names += _locals(doc, node.type, field, sample_response)
    listed = [Callable_(name=item["name"], params=item["params"], doc=item["doc"])
              for item in functions.describe()]
    return NodeScope(node=node_id, field=field, names=names[:MAX_NAMES], functions=listed)


def _inputs(doc: BlueprintDoc) -> list[ScopeName]:
    properties = doc.input_schema.get("properties")
    sample = doc.sample_input or {}
    if not isinstance(properties, dict):  # undeclared: what the sample input shows
        return list(_fields("input", sample, "input", 1))
    found = []
    for key, spec in properties.items():
        spec = spec if isinstance(spec, dict) else {}
        found.append(ScopeName(path=f"input.{key}", kind="input", type=_schema_type(spec),
                               detail=spec.get("description"), sample=sample.get(key)))
        nested = spec.get("properties")
        if isinstance(nested, dict):
            found += [ScopeName(path=f"input.{key}.{name}", kind="input",
                                type=_schema_type(inner if isinstance(inner, dict) else {}),
                                detail=(inner or {}).get("description")
                                if isinstance(inner, dict) else None)
                      for name, inner in nested.items()]
    return found


def _vars(doc: BlueprintDoc, node_id: str) -> list[ScopeName]:
    definite = graph.saved_before_nodes(doc)
    if definite is None or node_id not in definite:
        return []
    sure = definite[node_id]
    upstream = _ancestors(doc, node_id)
    some = {key for node in doc.nodes if node.id in upstream for key in node.save} - sure
    return [*(ScopeName(path=f"vars.{key}", kind="var", detail="saved on every path here")
              for key in sorted(sure)),
            *(ScopeName(path=f"vars.{key}", kind="maybe",
                        detail="saved on some paths only: reading it here is a problem; "
                               f"vars.get('{key}') reads it safely") for key in sorted(some))]


def _ancestors(doc: BlueprintDoc, node_id: str) -> set[str]:
    links = nx.DiGraph([(edge.source, edge.target) for edge in doc.edges])
    return nx.ancestors(links, node_id) if node_id in links else set()


def _below_failed_edge(doc: BlueprintDoc, node_id: str) -> bool:
    """Whether some path into the node took a `failed` edge (then `error` is set)."""
    upstream = _ancestors(doc, node_id) | {node_id}
    return any(edge.kind == "failed" and edge.target in upstream for edge in doc.edges)


def _locals(doc: BlueprintDoc, node_type: str, field: str | None,
            sample_response: Any) -> list[ScopeName]:
    spec = NODE_TYPES.get(node_type)
    if spec is None or field is None:
        return []
    section = field.split(".", 1)[0]
    if section == "save":
        return [name for source in spec.saves_from
                for name in _saved_from(source, sample_response)]
    if section == "input":
        found = [ScopeName(path=name, kind="local") for name in spec.input_from]
        if "item" in spec.input_from:
            first = _first_item(doc)
            found += list(_fields("item", first, "local", 1)) if isinstance(first, dict) else []
        return found
    return []


def _saved_from(source: str, sample: Any) -> list[ScopeName]:
    if source != "response":
        return [ScopeName(path=source, kind="local")]
    found = [ScopeName(path="response.status", kind="response", type="integer"),
             ScopeName(path="response.headers", kind="response", type="object"),
             ScopeName(path="response.body", kind="response", type=_json_type(sample),
                       sample=_small(sample))]
    return found + list(_fields("response.body", sample, "response", 1))


def _first_item(doc: BlueprintDoc) -> Any:
    """The first item of a for-each over `input.X`, from the sample input."""
    sample = doc.sample_input or {}
    for node in doc.nodes:
        if node.type == "for_each" and (node.items or "").startswith("input."):
            items = sample.get((node.items or "")[6:])
            if isinstance(items, list) and items:
                return items[0]
    return None


def _fields(prefix: str, value: Any, kind: Kind, depth: int) -> Any:
    if not isinstance(value, dict) or depth > MAX_DEPTH:
        return
    for key, inner in value.items():
        if not str(key).isidentifier():
            continue
        path = f"{prefix}.{key}"
        yield ScopeName(path=path, kind=kind, type=_json_type(inner), sample=_small(inner))
        yield from _fields(path, inner, kind, depth + 1)


def _small(value: Any) -> Any:
    """A sample worth showing beside a name: scalars, and short strings."""
    if isinstance(value, str):
        return value[:80]
    return value if isinstance(value, int | float | bool) or value is None else None


def _schema_type(spec: dict[str, Any]) -> str | None:
    kind = spec.get("type")
    return kind if isinstance(kind, str) else None


def _json_type(value: Any) -> str | None:
    for kind, name in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"),
                       (list, "array"), (dict, "object")):
        if isinstance(value, kind):
            return name
    return None if value is not None else "null"
