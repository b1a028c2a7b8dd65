"""Small builders for blueprint documents and API call definitions (plain dicts, as the
API and the files take them)."""

from __future__ import annotations

from typing import Any

from backend.blueprints.graph import Catalog
from backend.engine.format import ApiCallSpec, BlueprintDoc
from backend.engine.functions import REGISTRY

Json = dict[str, Any]


def node(node_id: str, node_type: str, **fields: Any) -> Json:
    return {"id": node_id, "type": node_type, **fields}


def start(node_id: str = "start") -> Json:
    return node(node_id, "start")


def end(node_id: str = "end", **fields: Any) -> Json:
    return node(node_id, "end", **fields)


def sleep(node_id: str, duration: str = "1s", **fields: Any) -> Json:
    return node(node_id, "sleep", duration=duration, **fields)


def call(node_id: str, api_call: str = "plain", **fields: Any) -> Json:
    return node(node_id, "api_call", api_call=api_call, **fields)


def fn(node_id: str, function: str = "first", **fields: Any) -> Json:
    return node(node_id, "function", function=function, **fields)


def condition(node_id: str, expression: str = "input.ok", **fields: Any) -> Json:
    return node(node_id, "condition", expression=expression, **fields)


def for_each(node_id: str, blueprint: str = "line", items: str = "input.lines",
             **fields: Any) -> Json:
    return node(node_id, "for_each", items=items, blueprint=blueprint, **fields)


def sub_blueprint(node_id: str, blueprint: str = "label", **fields: Any) -> Json:
    return node(node_id, "sub_blueprint", blueprint=blueprint, **fields)


def parallel(node_id: str = "fan") -> Json:
    return node(node_id, "parallel")


def join(node_id: str = "meet") -> Json:
    return node(node_id, "join")


def edge(source: str, target: str, kind: str | None = None) -> Json:
    return {"source": source, "target": target} | ({"kind": kind} if kind else {})


def chain(*ids: str) -> list[Json]:
    """`next` edges along the given node ids."""
    return [edge(a, b) for a, b in zip(ids, ids[1:], strict=False)]


def blueprint(nodes: list[Json], edges: list[Json], blueprint_id: str = "bp",
              **fields: Any) -> Json:
    return {"id": blueprint_id, "name": fields.pop("name", "Blueprint"), "nodes": nodes,
            "edges": edges, **fields}


def linear(*middle: Json, blueprint_id: str = "bp", **fields: Any) -> Json:
    """start -> middle... -> end."""
    ids = ["start", *(item["id"] for item in middle), "end"]
    return blueprint([start(), *middle, end()], chain(*ids), blueprint_id, **fields)


def diamond(true_branch: Json, false_branch: Json, join: Json,
            expression: str = "input.ok") -> Json:
    """start -> if -(true)-> t / -(false)-> f -> join -> end."""
    t, f, j = true_branch["id"], false_branch["id"], join["id"]
    nodes = [start(), condition("if", expression), true_branch, false_branch, join, end()]
    edges = [edge("start", "if"), edge("if", t, "true"), edge("if", f, "false"),
             edge(t, j), edge(f, j), edge(j, "end")]
    return blueprint(nodes, edges)


def fork(*branches: list[Json], last: Json | None = None, extra: list[Json] | None = None,
         edges: list[Json] | None = None) -> Json:
    """start -> fan -(branch)-> each branch's nodes, chained -> meet -> last (an end), plus
    `extra` nodes and `edges`."""
    last = last or end()
    nodes = [start(), parallel(), *(item for branch in branches for item in branch), join(),
             last, *(extra or [])]
    links = [edge("start", "fan"), edge("meet", last["id"]), *(edges or [])]
    for branch in branches:
        ids = [item["id"] for item in branch]
        links += [edge("fan", ids[0], "branch"), *chain(*ids, "meet")]
    return blueprint(nodes, links)


def doc(data: Json) -> BlueprintDoc:
    return BlueprintDoc.model_validate(data)


def api_call(api_call_id: str = "plain", url: str = "https://api.example.com/x",
             **fields: Any) -> Json:
    return {"id": api_call_id, "name": fields.pop("name", api_call_id), "url": url, **fields}


API_CALLS = {
    "plain": api_call("plain"),
    "create-return": api_call(
        "create-return", "https://api.example.com/returns", method="POST",
        body={"ticket_id": "{{ args.ticket_id }}", "reason": "{{ input.reason }}"}),
    "by-var": api_call("by-var", "https://api.example.com/things/{{ vars.thing_id }}"),
    "var-in-body": api_call("var-in-body", "https://api.example.com/x", method="POST",
                            body={"nested": ["{{ vars.token }}"]}),
}


def catalog() -> Catalog:
    return Catalog(api_calls={key: ApiCallSpec.model_validate(value)
                              for key, value in API_CALLS.items()},
                   functions=frozenset(REGISTRY))
