"""Validation of flow control: child blueprints (for_each, sub_blueprint), parallel blocks,
their joins, and what is saved when the branches meet.

`backend.blueprints.graph.validate` calls these; its docstring lists the codes. A child
blueprint is checked against what the catalog knows of its latest published version
(`ChildBlueprint`); parallel blocks come from `backend.engine.structure.analyse`, never
worked out again here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
from jinja2 import nodes as ast
from jinja2.parser import Parser

from backend.blueprints.schemas import Problem
from backend.engine import expressions
from backend.engine.catalogue import NODE_TYPE_SPECS
from backend.engine.format import BlueprintDoc, Node
from backend.engine.structure import Block, Structure

# the node types that run a child blueprint: the catalogue gives them a `blueprint` field
CHILD_TYPES = frozenset(spec.type for spec in NODE_TYPE_SPECS
                        if any(spec_field.kind == "blueprint" for spec_field in spec.fields))
JOIN = "join"
_SPECS = {spec.type: spec for spec in NODE_TYPE_SPECS}
_ARTICLES = {"array": "a list", "object": "an object", "string": "text", "integer": "a whole number",
             "number": "a number", "boolean": "true or false", "null": "none"}
_CONSTANTS = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"),
              (type(None), "null"))


def _problem(code: str, message: str, node: str | None = None,
             edge: tuple[str, str] | None = None) -> Problem:
    return Problem(code=code, message=message, node=node, edge=edge)


# -- words: how messages name steps and list things ----------------------------------------


def called(nodes: Mapping[str, Node], node_id: str) -> str:
    """A step as a person knows it: its label, else its id, in quotes."""
    node = nodes.get(node_id)
    label = (node.label or "").strip() if node is not None else ""
    return f"“{label or node_id}”"


def quoted(name: str | None, fallback: str) -> str:
    return f"“{(name or '').strip() or fallback}”"


def a_step(node_type: str) -> str:
    """"An API call step", "A for-each step": a node type as a message begins with it."""
    spec = _SPECS.get(node_type)
    title = spec.title if spec is not None else node_type
    words = title if title.startswith("API") else title.lower().replace(" ", "-")
    return f"{'An' if words[:1].lower() in 'aeiou' else 'A'} {words} step"


def listed(items: Iterable[str], conjunction: str) -> str:
    """"a", "a and b", "a, b and c"."""
    names = list(items)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {conjunction} {names[-1]}"


# -- literals ------------------------------------------------------------------------------


def literal_type(source: str) -> str | None:
    """The JSON type of an expression that is a literal (`'a'`, `-3`, `[1]`, `{'a': 1}`,
    `true`, `none`), else None (an expression whose value is known only when it runs)."""
    if expressions.parse_error(source):
        return None  # reported as bad_expression
    return _json_type(Parser(expressions.ENV, source, state="variable").parse_expression())


def _json_type(expr: ast.Expr) -> str | None:
    if isinstance(expr, ast.Neg | ast.Pos):
        inner = _json_type(expr.node)
        return inner if inner in ("integer", "number") else None
    if isinstance(expr, ast.List | ast.Tuple):
        return "array"
    if isinstance(expr, ast.Dict):
        return "object"
    if not isinstance(expr, ast.Const):
        return None
    if isinstance(expr.value, float) and expr.value.is_integer():
        return "integer"  # as JSON Schema counts 2.0
    return next((name for kind, name in _CONSTANTS if isinstance(expr.value, kind)), None)


def items_problems(node: Node) -> Iterator[Problem]:
    kind = literal_type(node.items) if node.items else None
    if kind not in (None, "array"):
        yield _problem("bad_items", f"The items must be a list (one child per element), but this "
                       f"is {_ARTICLES.get(kind or '', kind)}.", node.id)


# -- child blueprints ----------------------------------------------------------------------


def child_ids(nodes: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """The blueprints that a definition's nodes (as stored: dicts) run as children."""
    return frozenset(node["blueprint"] for node in nodes
                     if node.get("type") in CHILD_TYPES and isinstance(node.get("blueprint"), str))


@dataclass(frozen=True)
class ChildBlueprint:
    """What a parent may rely on of a blueprint it runs: its latest published version's
    input schema and the blueprints that version runs in turn."""

    published: bool
    input_schema: dict[str, Any] = field(default_factory=dict)
    children: frozenset[str] = frozenset()

    @classmethod
    def of(cls, definition: Mapping[str, Any] | None) -> ChildBlueprint:
        """From the latest published definition (None: never published)."""
        if definition is None:
            return cls(published=False)
        return cls(True, dict(definition.get("input_schema") or {}),
                   child_ids(definition.get("nodes") or []))


def child_problems(doc: BlueprintDoc, blueprints: Mapping[str, ChildBlueprint]) -> Iterator[Problem]:
    """unknown_blueprint, unpublished_blueprint, child_input, blueprint_contains_itself."""
    parents = [node for node in doc.nodes if node.type in CHILD_TYPES and node.blueprint]
    if not parents:
        return
    runs = _runs(doc, parents, blueprints)
    for node in parents:
        assert node.blueprint is not None
        child = blueprints.get(node.blueprint)
        loop = _path_back(runs, node.blueprint, doc.id)
        if loop:
            path = " → ".join([doc.id, *loop])
            yield _problem("blueprint_contains_itself", f"This would run the blueprint "
                           f"“{doc.id}” inside itself ({path}): a blueprint cannot contain "
                           "itself.", node.id)
        elif child is None:
            yield _problem("unknown_blueprint", f"There is no blueprint “{node.blueprint}”: pick "
                           "one from the list.", node.id)
        elif not child.published:
            yield _problem("unpublished_blueprint", f"The blueprint “{node.blueprint}” has no "
                           "published version yet: publish it first (a child always runs a "
                           "published version).", node.id)
        else:
            yield from _input_problems(node, child.input_schema)


def _runs(doc: BlueprintDoc, parents: list[Node],
          blueprints: Mapping[str, ChildBlueprint]) -> nx.DiGraph:
    """Which blueprint runs which: the published versions, and this draft for its own id."""
    graph = nx.DiGraph()
    for parent, known in blueprints.items():
        if parent != doc.id:
            graph.add_edges_from((parent, child) for child in known.children)
    graph.add_edges_from((doc.id, node.blueprint) for node in parents)
    return graph


def _path_back(runs: nx.DiGraph, child: str, home: str) -> list[str] | None:
    try:
        return nx.shortest_path(runs, child, home)
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        return None


def _input_problems(node: Node, schema: Mapping[str, Any]) -> Iterator[Problem]:
    """Whether the mapped `input` can satisfy the child's input schema (its top level)."""
    child = node.blueprint
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    missing = [name for name in schema.get("required") or [] if name not in node.input]
    if missing:
        them = "it" if len(missing) == 1 else "them"
        yield _problem("child_input", f"The blueprint “{child}” needs the input "
                       f"{listed(missing, 'and')}: add {them} under Child input.", node.id)
    extra = sorted(set(node.input) - set(properties))
    if extra and schema.get("additionalProperties") is False:
        yield _problem("child_input", f"The blueprint “{child}” takes no input named "
                       f"{listed(extra, 'or')}.", node.id)
    for key, source in node.input.items():
        wanted = _schema_types(properties.get(key))
        found = literal_type(source)
        if wanted and found and not (found in wanted or (found == "integer" and "number" in wanted)):
            wants = listed([_ARTICLES.get(kind, kind) for kind in sorted(wanted)], "or")
            yield _problem("child_input", f"The child input “{key}” is "
                           f"{_ARTICLES.get(found, found)}, but the blueprint “{child}” wants "
                           f"{wants}.", node.id)


def _schema_types(schema: Any) -> set[str]:
    kind = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(kind, str):
        return {kind}
    return {item for item in kind if isinstance(item, str)} if isinstance(kind, list) else set()


# -- parallel blocks -----------------------------------------------------------------------


def structure_problems(doc: BlueprintDoc, structure: Structure) -> Iterator[Problem]:
    """parallel_without_join, join_shared, orphan_join, branch_crossing and
    parallel_write_conflict, from the blocks `structure.analyse` found. A parallel with
    fewer than two branches is parallel_branches already; a shared join is reported alone
    (the crossings it implies are its consequence)."""
    nodes = {node.id: node for node in doc.nodes}
    for block in structure.blocks.values():
        if block.join is None and len(block.branches) > 1:
            yield _problem("parallel_without_join", "The branches of this parallel step do not "
                           "all meet at one join step (or a path inside a branch ends somewhere "
                           "else).", block.parallel)
    yield from _join_problems(doc, nodes, _by_join(structure))
    blocks = single_joins(structure).values()
    crossing = {edge: block.parallel for block in blocks for edge in block.crossing}
    for edge, parallel in sorted(crossing.items()):
        yield _problem("branch_crossing", f"This edge jumps into a branch of the parallel step "
                       f"{called(nodes, parallel)} (or into its join) from outside that branch: "
                       "branches meet only at their join.", edge=edge)
    for block in blocks:
        yield from _write_conflicts(nodes, block)


def _by_join(structure: Structure) -> dict[str, list[Block]]:
    by_join: dict[str, list[Block]] = defaultdict(list)
    for block in structure.blocks.values():
        if block.join is not None:
            by_join[block.join].append(block)
    return by_join


def single_joins(structure: Structure) -> dict[str, Block]:
    """Each join matched by exactly one parallel, with that parallel's block."""
    return {join: blocks[0] for join, blocks in _by_join(structure).items() if len(blocks) == 1}


def _join_problems(doc: BlueprintDoc, nodes: Mapping[str, Node],
                   by_join: Mapping[str, list[Block]]) -> Iterator[Problem]:
    for join, blocks in by_join.items():
        if len(blocks) > 1:
            names = listed(sorted(called(nodes, block.parallel) for block in blocks), "and")
            yield _problem("join_shared", f"The parallel steps {names} all end at this join: "
                           "each parallel needs a join of its own.", join)
    for node in doc.nodes:
        if node.type == JOIN and node.id not in by_join:
            yield _problem("orphan_join", "No parallel step's branches meet at this join: draw "
                           "the branches of a parallel to it, or remove it.", node.id)


def _write_conflicts(nodes: Mapping[str, Node], block: Block) -> Iterator[Problem]:
    """A var saved in two branches of one parallel: which save wins is not defined."""
    savers: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for first, members in block.branches.items():
        for node_id in members:
            for var in nodes[node_id].save:
                savers[var][first].add(node_id)
    for var, by_branch in sorted(savers.items()):
        if len(by_branch) < 2:
            continue
        for first, saving in by_branch.items():
            others = {other for branch, ids in by_branch.items() if branch != first for other in ids}
            for node_id in sorted(saving):
                names = [called(nodes, other) for other in sorted(others - {node_id})]
                if names:
                    yield _problem("parallel_write_conflict", f"vars.{var} is also saved by "
                                   f"{listed(names, 'and')} in another branch of the parallel "
                                   f"step {called(nodes, block.parallel)}: which save wins is "
                                   "not defined.", node_id)


def join_saved(block: Block, before: frozenset[str],
               arriving: list[tuple[str, frozenset[str]]]) -> frozenset[str]:
    """What is definitely saved at a parallel's join: what was saved `before` the parallel,
    and what each branch saves on all of its own paths into the join (`arriving`: the
    source of each in-edge, and what is saved once it is taken)."""
    per_branch = []
    for first, members in block.branches.items():
        saved = [found for source, found in arriving
                 if source in members or (first == block.join and source == block.parallel)]
        if saved:
            per_branch.append(frozenset.intersection(*saved))
    return before.union(*per_branch)
