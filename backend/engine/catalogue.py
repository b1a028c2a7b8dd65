"""The node-type catalogue: the one source of what each node type is and how it connects.

The validator (`backend.blueprints.graph`) checks edges against it, and the server serves it
(`GET /api/node-types`, and inside the editor and order pages), so the editor's palette, ports,
connection rules and edge styles are built from it and never copied into JavaScript, and the
editor's config panel draws each type's `fields` (one macro per field kind), its `note`, and
what its `save` expressions read (`saves_from`, also the validator's scope).

Each type names the edge kinds that may leave it (at most one of each, except its `fan_out`
kind, which leaves two or more times: a parallel's `branch` edges) and the ones that must
(`required_out`); `failed` is the seed's onFailed path, taken when the step fails after its
retries. Icons are names the frontend draws. A field's `hint` and a type's `note` are plain
text that may mark `code` with backticks and an edge kind in brackets (`[true]`, drawn as
that kind's chip).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

NodeType = Literal["start", "api_call", "function", "condition", "sleep", "wait_signal",
                   "for_each", "sub_blueprint", "parallel", "join", "end"]
EdgeKind = Literal["next", "true", "false", "failed", "branch"]
StepStatus = Literal["completed", "failed", "retrying", "sleeping", "waiting", "throttled"]


class FieldSpec(BaseModel):
    name: str
    label: str
    kind: Literal["expression", "template", "text", "duration", "api_call", "function", "map",
                  "select", "retry", "blueprint", "number"]
    required: bool = False
    placeholder: str = ""
    hint: str = Field(default="", description="a few words shown by the label")
    rows: int | None = Field(default=None, description="an expression's lines (else 2)")
    options: list[str] = Field(default_factory=list, description="a select's choices, the "
                               "first the default")
    alternative: str | None = Field(
        default=None, description="set on a type's alternative fields, of which one is used (a "
        "sleep's duration or until): this field's label in the toggle that picks it")


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
    note: str = Field(default="", description="what its config panel explains below the fields")
    saves_from: list[str] = Field(
        default_factory=list, description="the names its `save` expressions see besides the "
        "base scope (input, vars, …), the first the one they mostly read")
    input_from: list[str] = Field(
        default_factory=list, description="the names a child's `input` expressions see besides "
        "the base scope (a for_each's item and index)")


class EdgeKindSpec(BaseModel):
    kind: EdgeKind
    label: str | None
    stroke: str
    dash: str | None = None
    tone: Literal["good", "warn", "bad", "muted"] = Field(
        default="muted", description="the chip it is shown as in a note")


class Catalogue(BaseModel):
    node_types: list[NodeTypeSpec]
    edge_kinds: list[EdgeKindSpec]


def _field(name: str, label: str, kind: str, required: bool = False, **more: object) -> FieldSpec:
    return FieldSpec(name=name, label=label, kind=kind, required=required, **more)  # type: ignore[arg-type]


_STEP_OUT: list[EdgeKind] = ["next", "failed"]
_RETRY = _field("retry", "Retries", "retry")
NODE_TYPE_SPECS: list[NodeTypeSpec] = [  # in palette order
    NodeTypeSpec(type="api_call", title="API call", color="#2563eb", icon="arrow",
                 hint="Send an HTTP request, keep parts of the response", accepts_in=True,
                 out=_STEP_OUT, required_out=["next"], saves_from=["response"],
                 fields=[_field("api_call", "API call", "api_call", True),
                         _field("args", "Arguments", "map",
                                hint="expressions, seen by the call as `args`"),
                         _field("save", "Keep from the response", "map",
                                hint="saved into `vars`"),
                         _RETRY]),
    NodeTypeSpec(type="function", title="Function", color="#7c3aed", icon="braces",
                 hint="Run a registered function", accepts_in=True, out=_STEP_OUT,
                 required_out=["next"], saves_from=["result"],
                 fields=[_field("function", "Function", "function", True),
                         _field("args", "Arguments", "map"),
                         _field("save", "Keep the result", "map", hint="e.g. `item ← result`"),
                         _RETRY]),
    NodeTypeSpec(type="condition", title="Condition", color="#d97706", icon="diamond",
                 hint="Branch on an expression: true or false", accepts_in=True,
                 out=["true", "false", "failed"], required_out=["true", "false"],
                 fields=[_field("expression", "Condition", "expression", True,
                                placeholder="input.country == 'US'", rows=3)],
                 note="Draw two edges out of this step: one taken when the condition is [true], "
                      "one when it is [false]."),
    NodeTypeSpec(type="sleep", title="Sleep", color="#0891b2", icon="clock",
                 hint="Wait for a duration or until a time", accepts_in=True, out=_STEP_OUT,
                 required_out=["next"],
                 fields=[_field("duration", "Duration", "duration", placeholder="15m",
                                hint="90s, 15m, 3d", alternative="For a duration"),
                         _field("until", "Until", "expression", placeholder="vars.ship_by",
                                hint="an ISO time or epoch seconds", alternative="Until a time")]),
    NodeTypeSpec(type="wait_signal", title="Wait for signal", color="#db2777", icon="flag",
                 hint="Pause until a signal arrives", accepts_in=True, out=_STEP_OUT,
                 required_out=["next"], saves_from=["signal"],
                 fields=[_field("signal", "Signal name", "text", True, placeholder="approved"),
                         _field("timeout", "Timeout", "duration", placeholder="7d",
                                hint="optional; then the failed path"),
                         _field("save", "Keep from the signal", "map")]),
    NodeTypeSpec(type="for_each", title="For each", color="#0d9488", icon="stack",
                 hint="Run a child blueprint once per item of a list", accepts_in=True,
                 out=_STEP_OUT, required_out=["next"], saves_from=["results", "errors"],
                 input_from=["item", "index"],
                 fields=[_field("items", "Items", "expression", True, placeholder="input.lines",
                                hint="a list: one child per element"),
                         _field("blueprint", "Child blueprint", "blueprint", True),
                         _field("input", "Child input", "map",
                                hint="expressions; also `item` and `index`"),
                         _field("concurrency", "At most running at once", "number",
                                placeholder="10", hint="default 10"),
                         _field("tolerated_failures", "Failures tolerated", "text",
                                placeholder="0", hint="a count like 3, or a share like 10%"),
                         _field("save", "Save", "map", hint="into `vars`")],
                 note="One child order per item, on the child's published version. This step "
                      "waits until every child is done; more failures than tolerated take its "
                      "failed path."),
    NodeTypeSpec(type="sub_blueprint", title="Sub-blueprint", color="#4f46e5", icon="nest",
                 hint="Run another blueprint as one child order", accepts_in=True,
                 out=_STEP_OUT, required_out=["next"], saves_from=["result"],
                 fields=[_field("blueprint", "Child blueprint", "blueprint", True),
                         _field("input", "Child input", "map", hint="expressions"),
                         _field("save", "Save", "map", hint="into `vars`")],
                 note="Runs the child blueprint's published version as one order and waits "
                      "for it."),
    NodeTypeSpec(type="parallel", title="Parallel", color="#9333ea", icon="fork",
                 hint="Run two or more branches at once, up to their join", accepts_in=True,
                 out=["branch", "failed"], required_out=["branch"], fan_out="branch",
                 note="Draw two or more branch edges out of this step: they run at once, each up "
                      "to the join where they meet. A step failing inside a branch stops the "
                      "others and takes this step's failed path."),
    NodeTypeSpec(type="join", title="Join", color="#9333ea", icon="merge",
                 hint="Continue when every branch of its parallel arrived", accepts_in=True,
                 out=["next"], required_out=["next"],
                 note="Waits until every branch of its parallel has arrived, then continues "
                      "along next. What a branch saves is seen after the join."),
    NodeTypeSpec(type="end", title="End", color="#475569", icon="square",
                 hint="Finish the order with a result", accepts_in=True, out=[], required_out=[],
                 fields=[_field("status", "Order ends as", "select",
                                options=["completed", "failed"]),
                         _field("result", "Result", "expression", placeholder="'refunded'",
                                hint="optional expression")]),
    NodeTypeSpec(type="start", title="Start", color="#16a34a", icon="play",
                 hint="Where every order begins", accepts_in=False, out=["next"],
                 required_out=["next"], unique=True,
                 note="Every order begins here. Its input is described by the blueprint's input "
                      "schema (click the empty canvas to edit it)."),
]
EDGE_KIND_SPECS: list[EdgeKindSpec] = [
    EdgeKindSpec(kind="next", label=None, stroke="#94a3b8"),
    EdgeKindSpec(kind="true", label="true", stroke="#16a34a", tone="good"),
    EdgeKindSpec(kind="false", label="false", stroke="#ea580c", tone="warn"),
    EdgeKindSpec(kind="failed", label="failed", stroke="#dc2626", dash="5 4", tone="bad"),
    EdgeKindSpec(kind="branch", label="branch", stroke="#9333ea", dash="8 3"),
]

NODE_TYPES: dict[str, NodeTypeSpec] = {spec.type: spec for spec in NODE_TYPE_SPECS}
EDGE_KINDS: tuple[str, ...] = tuple(spec.kind for spec in EDGE_KIND_SPECS)
CATALOGUE = Catalogue(node_types=NODE_TYPE_SPECS, edge_kinds=EDGE_KIND_SPECS)


def catalogue_json() -> dict:
    """What the server serves and embeds in pages."""
    return CATALOGUE.model_dump(mode="json")
