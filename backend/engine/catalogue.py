"""The node-type catalogue: the one source of what each node type is and how it connects.

The validator (`backend.blueprints.graph`) checks edges against it, and the server serves it
(`GET /api/node-types`, and inside the editor and order pages), so the editor's palette, ports,
connection rules and edge styles are built from it and never copied into JavaScript.

Each type names the edge kinds that may leave it (at most one of each, except its `fan_out`
kind, which leaves two or more times: a parallel's `branch` edges) and the ones that must
(`required_out`); `failed` is the seed's onFailed path, taken when the step fails after its
retries. Icons are names the frontend draws.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

NodeType = Literal["start", "api_call", "function", "condition", "sleep", "wait_signal",
                   "for_each", "sub_blueprint", "parallel", "join", "end"]
EdgeKind = Literal["next", "true", "false", "failed", "branch"]
StepStatus = Literal["completed", "failed", "retrying", "sleeping", "waiting"]


class FieldSpec(BaseModel):
    name: str
    label: str
    kind: Literal["expression", "template", "text", "duration", "api_call", "function", "map",
                  "select", "retry", "blueprint", "number"]
    required: bool = False


class NodeTypeSpec(BaseModel):
    type: NodeType
    title: str
    hint: str = Field(description="one line for the palette")
    color: str
    icon: str = Field(description="the name of the icon the frontend draws")
    accepts_in: bool = Field(description="whether edges may lead into it")
    out: list[EdgeKind] = Field(description="edge kinds that may leave it, at most one each")
    required_out: list[EdgeKind] = Field(description="edge kinds that must leave it")
    fan_out: EdgeKind | None = Field(
        default=None, description="the one kind that leaves two or more times (a parallel's branches)")
    fields: list[FieldSpec] = Field(default_factory=list)
    unique: bool = Field(default=False, description="exactly one per blueprint")


class EdgeKindSpec(BaseModel):
    kind: EdgeKind
    label: str | None
    stroke: str
    dash: str | None = None


class Catalogue(BaseModel):
    node_types: list[NodeTypeSpec]
    edge_kinds: list[EdgeKindSpec]


def _field(name: str, label: str, kind: str, required: bool = False) -> FieldSpec:
    return FieldSpec(name=name, label=label, kind=kind, required=required)  # type: ignore[arg-type]


_STEP_OUT: list[EdgeKind] = ["next", "failed"]
NODE_TYPE_SPECS: list[NodeTypeSpec] = [  # in palette order
    NodeTypeSpec(type="api_call", title="API call", color="#2563eb", icon="arrow",
                 hint="Send an HTTP request, keep parts of the response", accepts_in=True,
                 out=_STEP_OUT, required_out=["next"],
                 fields=[_field("api_call", "API call", "api_call", True),
                         _field("args", "Arguments", "map"), _field("save", "Save", "map"),
                         _field("retry", "Retry", "retry")]),
    NodeTypeSpec(type="function", title="Function", color="#7c3aed", icon="braces",
                 hint="Run a registered function", accepts_in=True, out=_STEP_OUT,
                 required_out=["next"],
                 fields=[_field("function", "Function", "function", True),
                         _field("args", "Arguments", "map"), _field("save", "Save", "map")]),
    NodeTypeSpec(type="condition", title="Condition", color="#d97706", icon="diamond",
                 hint="Branch on an expression: true or false", accepts_in=True,
                 out=["true", "false", "failed"], required_out=["true", "false"],
                 fields=[_field("expression", "Condition", "expression", True)]),
    NodeTypeSpec(type="sleep", title="Sleep", color="#0891b2", icon="clock",
                 hint="Wait for a duration or until a time", accepts_in=True, out=_STEP_OUT,
                 required_out=["next"],
                 fields=[_field("duration", "Duration", "duration"),
                         _field("until", "Until", "expression")]),
    NodeTypeSpec(type="wait_signal", title="Wait for signal", color="#db2777", icon="flag",
                 hint="Pause until a signal arrives", accepts_in=True, out=_STEP_OUT,
                 required_out=["next"],
                 fields=[_field("signal", "Signal", "text", True),
                         _field("timeout", "Timeout", "duration"), _field("save", "Save", "map")]),
    NodeTypeSpec(type="for_each", title="For each", color="#0d9488", icon="stack",
                 hint="Run a child blueprint once per item of a list", accepts_in=True,
                 out=_STEP_OUT, required_out=["next"],
                 fields=[_field("items", "Items", "expression", True),
                         _field("blueprint", "Child blueprint", "blueprint", True),
                         _field("input", "Child input", "map"),
                         _field("concurrency", "At most running at once", "number"),
                         _field("tolerated_failures", "Failures tolerated", "text"),
                         _field("save", "Save", "map")]),
    NodeTypeSpec(type="sub_blueprint", title="Sub-blueprint", color="#4f46e5", icon="nest",
                 hint="Run another blueprint as one child order", accepts_in=True,
                 out=_STEP_OUT, required_out=["next"],
                 fields=[_field("blueprint", "Child blueprint", "blueprint", True),
                         _field("input", "Child input", "map"), _field("save", "Save", "map")]),
    NodeTypeSpec(type="parallel", title="Parallel", color="#9333ea", icon="fork",
                 hint="Run two or more branches at once, up to their join", accepts_in=True,
                 out=["branch", "failed"], required_out=["branch"], fan_out="branch"),
    NodeTypeSpec(type="join", title="Join", color="#9333ea", icon="merge",
                 hint="Continue when every branch of its parallel arrived", accepts_in=True,
                 out=["next"], required_out=["next"]),
    NodeTypeSpec(type="end", title="End", color="#475569", icon="square",
                 hint="Finish the order with a result", accepts_in=True, out=[], required_out=[],
                 fields=[_field("result", "Result", "expression"),
                         _field("status", "Status", "select")]),
    NodeTypeSpec(type="start", title="Start", color="#16a34a", icon="play",
                 hint="Where every order begins", accepts_in=False, out=["next"],
                 required_out=["next"], unique=True),
]
EDGE_KIND_SPECS: list[EdgeKindSpec] = [
    EdgeKindSpec(kind="next", label=None, stroke="#94a3b8"),
    EdgeKindSpec(kind="true", label="true", stroke="#16a34a"),
    EdgeKindSpec(kind="false", label="false", stroke="#ea580c"),
    EdgeKindSpec(kind="failed", label="failed", stroke="#dc2626", dash="5 4"),
    EdgeKindSpec(kind="branch", label="branch", stroke="#9333ea", dash="8 3"),
]

NODE_TYPES: dict[str, NodeTypeSpec] = {spec.type: spec for spec in NODE_TYPE_SPECS}
EDGE_KINDS: tuple[str, ...] = tuple(spec.kind for spec in EDGE_KIND_SPECS)
CATALOGUE = Catalogue(node_types=NODE_TYPE_SPECS, edge_kinds=EDGE_KIND_SPECS)


def catalogue_json() -> dict:
    """What the server serves and embeds in pages."""
    return CATALOGUE.model_dump(mode="json")
