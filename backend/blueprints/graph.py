"""Blueprint validation with networkx: structure, expressions and dataflow.

`validate(doc, catalog)` returns every problem it finds, each with a code and the node or
edge it is about, so that the editor can pin it there. Codes:

structure   missing_start, multiple_starts, duplicate_node_id, unknown_node_type,
            dangling_edge, bad_edge_kind, edge_into_start, edge_out_of_end,
            duplicate_edge, condition_branches, dead_end, unreachable, cycle,
            parallel_branches (a parallel needs two or more `branch` edges)
node fields missing_field, unknown_api_call, unknown_function, bad_duration,
            bad_status, bad_expression, unknown_name, missing_arg,
            bad_items (a for_each's `items` is a literal that is not a list)
children    unknown_blueprint, unpublished_blueprint, child_input (the mapped `input`
            cannot satisfy the child's input_schema), blueprint_contains_itself
            (directly or through the children's latest published versions)
parallels   parallel_without_join, join_shared, orphan_join, branch_crossing,
            parallel_write_conflict (two branches of one parallel save the same var);
            checked when there is no cycle, from `backend.engine.structure`
input       unknown_input: `input.x` read where the input_schema's `properties` lack `x`
dataflow    unsaved_var: a `vars.X` read at a node that is not saved on every path from
            start to it (what a node saves does not flow along its `failed` edge; after a
            join, a var is saved if what came before the parallel, or any one branch on
            all of its own paths, saved it; nothing a sibling branch saves is visible)

Flow-control rules live in `backend.blueprints.flow_rules`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import networkx as nx

from backend.blueprints import flow_rules
from backend.blueprints.flow_rules import ChildBlueprint, a_step, called, listed, quoted
from backend.blueprints.schemas import Problem
from backend.engine import expressions
from backend.engine.catalogue import EDGE_KINDS, NODE_TYPE_SPECS, NODE_TYPES
from backend.engine.durations import DurationError, parse_duration
from backend.engine.format import ApiCallSpec, BlueprintDoc, Edge, Node
from backend.engine.structure import Structure, analyse

BASE_SCOPE = frozenset({"input", "vars", "order", "variables", "error"})
SAVE_SCOPE = {  # what a node's `save` sees besides the base scope: its response, result, …
    spec.type: frozenset(spec.saves_from) for spec in NODE_TYPE_SPECS if spec.saves_from
}
INPUT_SCOPE = {  # what a child's `input` sees besides the base scope: a for_each's item, index
    spec.type: frozenset(spec.input_from) for spec in NODE_TYPE_SPECS if spec.input_from
}
TEMPLATE_SCOPE = frozenset({"args", "input", "vars", "order", "node", "variables"})
REQUIRED: dict[str, tuple[str, ...]] = {  # the catalogue's required fields, by node type
    spec.type: tuple(spec_field.name for spec_field in spec.fields if spec_field.required)
    for spec in NODE_TYPE_SPECS
}
NEEDS = {  # what a missing required field means, in words: "An API call step needs …"
    "api_call": "an API call to run: pick one",
    "function": "a function to run: pick one",
    "expression": "a condition to check, like input.country == 'US'",
    "signal": "the name of the signal it waits for",
    "items": "the list to go through, like input.lines",
    "blueprint": "a child blueprint to run: pick one",
}
FIELD_LABELS = {spec_field.name: spec_field.label.lower()  # an expression's field, in words
                for spec in NODE_TYPE_SPECS for spec_field in spec.fields}
MAP_WORDS = {"args": "the argument", "input": "the child input", "save": "the saved value"}


@dataclass(frozen=True)
class Catalog:
    """What a blueprint may refer to: API calls by id, function names, and blueprints it
    may run as children (what is known of their latest published versions)."""

    api_calls: dict[str, ApiCallSpec] = field(default_factory=dict)
    functions: frozenset[str] = frozenset()
    blueprints: dict[str, ChildBlueprint] = field(default_factory=dict)


def validate(doc: BlueprintDoc, catalog: Catalog) -> list[Problem]:
    nodes = {node.id: node for node in doc.nodes}
    problems = [*_node_problems(doc, nodes, catalog), *_edge_problems(doc, nodes),
                *_input_problems(doc, catalog), *_concurrency_problems(doc)]
    graph = _graph(doc, nodes)
    problems += _reachability(doc, graph)
    cycles = _cycles(graph, start_of(doc))
    problems += cycles
    structure = Structure({})
    if not cycles:
        structure = analyse(doc)
        problems += flow_rules.structure_problems(doc, structure)
    if not cycles and not any(p.code in {"missing_start", "multiple_starts"} for p in problems):
        problems += _dataflow(doc, graph, nodes, catalog, structure)
    return problems


def _problem(code: str, message: str, node: str | None = None, edge: Edge | None = None) -> Problem:
    return Problem(code=code, message=message, node=node, edge=edge.key if edge else None)


# -- nodes ---------------------------------------------------------------------------------


def _node_problems(doc: BlueprintDoc, nodes: dict[str, Node], catalog: Catalog) -> Iterator[Problem]:
    starts = [node for node in doc.nodes if node.type == "start"]
    if not starts:
        yield _problem("missing_start", "Every flow needs a start step, where its orders begin: "
                       "add one from the palette.")
    for extra in starts[1:]:
        yield _problem("multiple_starts", "A flow has only one start step: remove this one.",
                       extra.id)
    for node_id, count in Counter(node.id for node in doc.nodes).items():
        if count > 1:
            yield _problem("duplicate_node_id", f"{count} steps have the id “{node_id}”: give "
                           "each step an id of its own.", node_id)
    for node in doc.nodes:
        yield from _fields(node, catalog)
    yield from flow_rules.child_problems(doc, catalog.blueprints)


def _fields(node: Node, catalog: Catalog) -> Iterator[Problem]:
    if node.type not in NODE_TYPES:
        kinds = listed(sorted(NODE_TYPES), "or")
        yield _problem("unknown_node_type", f"“{node.type}” is not a kind of step (the kinds "
                       f"are {kinds}).", node.id)
        return
    for name in REQUIRED.get(node.type, ()):
        if not getattr(node, name):
            needs = NEEDS.get(name, f"its {FIELD_LABELS.get(name, name)}")
            yield _problem("missing_field", f"{a_step(node.type)} needs {needs}.", node.id)
    if node.type == "api_call" and node.api_call and node.api_call not in catalog.api_calls:
        yield _problem("unknown_api_call", f"There is no API call “{node.api_call}”: pick one, "
                       "or create it on the API calls page.", node.id)
    if node.type == "function" and node.function and node.function not in catalog.functions:
        yield _problem("unknown_function", f"There is no function “{node.function}”: pick one "
                       "of the registered functions.", node.id)
    yield from _durations(node)
    yield from flow_rules.items_problems(node)
    if node.type == "end" and node.status not in (None, "completed", "failed"):
        yield _problem("bad_status", f"An end step finishes the order as “completed” or "
                       f"“failed”, not “{node.status}”.", node.id)
    yield from _expression_problems(node, catalog)


def _durations(node: Node) -> Iterator[Problem]:
    if node.type == "sleep" and bool(node.duration) == bool(node.until):
        yield _problem("missing_field", "A sleep step needs either a duration (like 15m) or a "
                       "time to sleep until, not both.", node.id)
    for name in ("duration", "timeout"):
        value = getattr(node, name)
        if value is None:
            continue
        try:
            parse_duration(value)
        except DurationError as exc:
            yield _problem("bad_duration", f"The {name} {exc}.", node.id)


def described(where: str) -> str:
    """Where an expression is (`node_expressions`' first item), in words: `args.id` → the
    argument “id”, `expression` → the condition."""
    field_name, _, key = where.partition(".")
    if key:
        return f"{MAP_WORDS.get(field_name, field_name)} “{key}”"
    return f"the {FIELD_LABELS.get(field_name, field_name)}"


def node_expressions(node: Node) -> Iterator[tuple[str, str, frozenset[str]]]:
    """(where, source, names in scope) for every expression of a node."""
    for name in ("expression", "until", "result", "items"):
        source = getattr(node, name)
        if source is not None:
            yield name, source, BASE_SCOPE
    for key, source in node.args.items():
        yield f"args.{key}", source, BASE_SCOPE
    input_scope = BASE_SCOPE | INPUT_SCOPE.get(node.type, frozenset())
    for key, source in node.input.items():
        yield f"input.{key}", source, input_scope
    save_scope = BASE_SCOPE | SAVE_SCOPE.get(node.type, frozenset())
    for key, source in node.save.items():
        yield f"save.{key}", source, save_scope


def declared_inputs(doc: BlueprintDoc) -> frozenset[str] | None:
    """The input's property names, when the input_schema declares them (None: anything)."""
    properties = doc.input_schema.get("properties")
    return frozenset(properties) if isinstance(properties, dict) else None


def _input_problems(doc: BlueprintDoc, catalog: Catalog) -> Iterator[Problem]:
    """A read of `input.x` (in an expression, or in the templates of the API call a step
    uses) where the input_schema declares its properties and `x` is not one of them."""
    declared = declared_inputs(doc)
    if declared is None:
        return
    for node in doc.nodes:
        reads = {name for _, source, _ in node_expressions(node)
                 if not expressions.parse_error(source)
                 for name in expressions.reads_of(source, "input")}
        spec = catalog.api_calls.get(node.api_call or "") if node.type == "api_call" else None
        if spec is not None:
            reads |= {name for source in api_call_templates(spec)
                      for name in expressions.reads_of(source, "input", template=True)}
        unknown = sorted(reads - declared)
        if unknown:
            names = listed([f"input.{name}" for name in unknown], "and")
            known = f"it has {listed(sorted(declared), 'and')}" if declared else "it has none"
            yield _problem("unknown_input", f"This step reads {names}, but the input schema "
                           f"has no such propert{'y' if len(unknown) == 1 else 'ies'} "
                           f"({known}).", node.id)


def _concurrency_problems(doc: BlueprintDoc) -> Iterator[Problem]:
    """The concurrency key is worked out from the input alone, when the order is created."""
    if doc.concurrency is None:
        return
    source = doc.concurrency.key
    error = expressions.parse_error(source)
    if error:
        yield _problem("bad_expression", f"In the concurrency key: {error}.")
        return
    others = sorted(expressions.undeclared_names(source) - {"input"})
    if others:
        yield _problem("unknown_name", f"The concurrency key uses {listed(others, 'and')}; it "
                       "can read only `input` (it is worked out when the order is created).")
    declared = declared_inputs(doc)
    unknown = sorted(expressions.reads_of(source, "input") - (declared or set()))
    if declared is not None and unknown:
        yield _problem("unknown_input", f"The concurrency key reads "
                       f"{listed([f'input.{name}' for name in unknown], 'and')}, which the input "
                       "schema does not have.")


def _expression_problems(node: Node, catalog: Catalog) -> Iterator[Problem]:
    for where, source, scope in node_expressions(node):
        error = expressions.parse_error(source)
        if error:
            yield _problem("bad_expression", f"In {described(where)}: {error}.", node.id)
            continue
        unknown = sorted(expressions.undeclared_names(source) - scope)
        if unknown:
            names = listed([f"“{name}”" for name in unknown], "and")
            verb = "is" if len(unknown) == 1 else "are"
            yield _problem("unknown_name", f"{described(where).capitalize()} uses {names}, which "
                           f"{verb} not known here (it may use {listed(sorted(scope), 'and')}).",
                           node.id)
    for key in node.save:
        if not key.isidentifier():
            yield _problem("bad_expression", f"“{key}” cannot be the name of a saved value: use "
                           "letters, digits and _, not starting with a digit.", node.id)
    spec = catalog.api_calls.get(node.api_call or "") if node.type == "api_call" else None
    if spec is not None and broken_templates(spec):
        yield _problem("bad_expression", f"The API call {quoted(spec.name, spec.id)} has a "
                       "template with a mistake: fix it on the API calls page.", node.id)
    if spec is not None:
        missing = sorted(api_call_arg_reads(spec) - set(node.args))
        if missing:
            names = listed(missing, "and")
            them = "it" if len(missing) == 1 else "them"
            yield _problem("missing_arg", f"The API call {quoted(spec.name, spec.id)} needs the "
                           f"argument{'s' if len(missing) > 1 else ''} {names}: add {them} "
                           "under Arguments.", node.id)


def api_call_templates(spec: ApiCallSpec) -> list[str]:
    """The API call's templates that parse (the broken ones are reported, not analysed)."""
    parts = [spec.url, spec.idempotency_key, spec.headers, spec.query, spec.body]
    return [source for part in parts for source in expressions.template_sources(part)
            if expressions.parse_error(source, template=True) is None]


def broken_templates(spec: ApiCallSpec) -> list[str]:
    parts = [spec.url, spec.idempotency_key, spec.headers, spec.query, spec.body]
    return [source for part in parts for source in expressions.template_sources(part)
            if expressions.parse_error(source, template=True) is not None]


def api_call_arg_reads(spec: ApiCallSpec) -> set[str]:
    return {
        name for source in api_call_templates(spec)
        for name in expressions.reads_of(source, "args", template=True)
    }


def _api_call_var_reads(spec: ApiCallSpec) -> set[str]:
    return {
        name for source in api_call_templates(spec)
        for name in expressions.reads_of(source, "vars", template=True)
    }


# -- edges and graph -----------------------------------------------------------------------


def _edge_problems(doc: BlueprintDoc, nodes: dict[str, Node]) -> Iterator[Problem]:
    for edge in doc.edges:
        yield from _edge_shape(edge, nodes)
    for node in doc.nodes:
        out = [edge for edge in doc.edges if edge.source == node.id and edge.target in nodes]
        yield from _out_edges(node, out, nodes)


def _edge_shape(edge: Edge, nodes: dict[str, Node]) -> Iterator[Problem]:
    for end, way in (("source", "comes from"), ("target", "leads to")):
        if getattr(edge, end) not in nodes:
            name = getattr(edge, end)
            yield _problem("dangling_edge", f"This edge {way} “{name}”, which is not a step of "
                           "this flow.", edge=edge)
    if edge.kind not in EDGE_KINDS:
        yield _problem("bad_edge_kind", f"“{edge.kind}” is not a kind of edge (the kinds are "
                       f"{listed(EDGE_KINDS, 'and')}).", edge=edge)
    target = nodes.get(edge.target)
    spec = NODE_TYPES.get(target.type) if target is not None else None
    if spec is not None and not spec.accepts_in:
        yield _problem("edge_into_start", "Nothing can lead into the start step: every order "
                       "begins there.", edge=edge)


def _out_edges(node: Node, out: list[Edge], nodes: dict[str, Node]) -> Iterator[Problem]:
    """The node type's catalogue entry decides which kinds may leave it and which must."""
    spec = NODE_TYPES.get(node.type)
    if spec is None:
        return  # reported as unknown_type
    kinds = Counter(edge.kind for edge in out)
    for edge in out:
        if not spec.out:
            yield _problem("edge_out_of_end", f"Nothing comes after {a_step(node.type).lower()}:"
                           " remove this edge.", edge=edge)
        elif edge.kind in EDGE_KINDS and edge.kind not in spec.out:
            allowed = listed([f"“{kind}”" for kind in spec.out], "or")
            yield _problem("bad_edge_kind", f"{a_step(node.type)} cannot have a “{edge.kind}” "
                           f"edge (it can have {allowed}).", edge=edge)
    for kind, count in kinds.items():
        if count > 1 and kind in spec.out and kind != spec.fan_out:
            yield _problem("duplicate_edge", f"{count} “{kind}” edges leave this step: it takes "
                           "only one.", node.id)
    if spec.fan_out:
        yield from _fan_out(node, spec.fan_out, out, nodes)
    missing = [kind for kind in spec.required_out if kinds[kind] == 0 and kind != spec.fan_out]
    if missing and len(spec.required_out) > 1:
        wanted = " and ".join(f"one “{kind}” edge" for kind in spec.required_out)
        lacking = listed([f"“{kind}”" for kind in missing], "and")
        yield _problem("condition_branches", f"{a_step(node.type)} needs {wanted}: the "
                       f"{lacking} edge{'s are' if len(missing) > 1 else ' is'} missing.", node.id)
    elif missing:
        yield _problem("dead_end", "The flow stops at this step: connect it to the next step or "
                       "to an end.", node.id)


def _fan_out(node: Node, kind: str, out: list[Edge], nodes: dict[str, Node]) -> Iterator[Problem]:
    """The fan-out kind (a parallel's `branch`) leaves two or more times, to different nodes."""
    targets = Counter(edge.target for edge in out if edge.kind == kind)
    for target, count in sorted(targets.items()):
        if count > 1:
            yield _problem("duplicate_edge", f"{count} “{kind}” edges lead to "
                           f"{called(nodes, target)}: each branch starts at a step of its own.",
                           node.id)
    if len(targets) < 2:
        yield _problem("parallel_branches", f"{a_step(node.type)} needs two or more “{kind}” "
                       "edges, each to a different step.", node.id)


def _graph(doc: BlueprintDoc, nodes: dict[str, Node]) -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph()
    graph.add_nodes_from((node_id, {"node": node}) for node_id, node in nodes.items())
    for edge in doc.edges:
        if edge.source in nodes and edge.target in nodes:
            graph.add_edge(edge.source, edge.target, kind=edge.kind, edge=edge)
    return graph


def start_of(doc: BlueprintDoc) -> str | None:
    return next((node.id for node in doc.nodes if node.type == "start"), None)


def _reachability(doc: BlueprintDoc, graph: nx.MultiDiGraph) -> Iterator[Problem]:
    start = start_of(doc)
    if start is None:
        return
    reachable = nx.descendants(graph, start) | {start}
    for node in doc.nodes:
        if node.id not in reachable and node.type != "start":
            yield _problem("unreachable", "No path from the start step reaches this step: "
                           "connect it, or remove it.", node.id)


def _cycles(graph: nx.MultiDiGraph, start: str | None) -> list[Problem]:
    """One problem per loop, on the edge that leads back (seen from start)."""
    distance = nx.single_source_shortest_path_length(graph, start) if start in graph else {}
    problems = []
    for component in nx.strongly_connected_components(graph):
        sub = graph.subgraph(component)
        if len(component) == 1 and not sub.number_of_edges():
            continue
        entry = min(component, key=lambda n: (distance.get(n, len(graph)), n))
        source, target, key = nx.find_cycle(sub, source=entry)[-1]
        edge = graph.edges[source, target, key]["edge"]
        steps = {node: data["node"] for node, data in graph.nodes(data=True) if "node" in data}
        problems.append(_problem("cycle", f"This edge leads back to {called(steps, target)}, "
                                 "making a loop: a flow never goes back to an earlier step.",
                                 edge=edge))
    return problems


# -- dataflow ------------------------------------------------------------------------------


def _dataflow(doc: BlueprintDoc, graph: nx.MultiDiGraph, nodes: dict[str, Node],
              catalog: Catalog, structure: Structure) -> Iterator[Problem]:
    """Definitely-assigned `vars`: a must-analysis over the DAG in topological order."""
    for node_id, saved in _saved_before(doc, graph, nodes, structure).items():
        missing = sorted(_var_reads(nodes[node_id], catalog) - saved)
        if missing:
            names = listed([f"vars.{name}" for name in missing], "and")
            it = "it" if len(missing) == 1 else "them"
            yield _problem("unsaved_var", f"This step reads {names}, but not every path from the "
                           f"start step saves {it} first.", node_id)


def saved_before_nodes(doc: BlueprintDoc) -> dict[str, frozenset[str]] | None:
    """The vars saved on every path from start to each reachable node (what the dataflow
    check holds reads to), or None when the graph has no single start or has a cycle."""
    nodes = {node.id: node for node in doc.nodes}
    graph = _graph(doc, nodes)
    start = start_of(doc)
    if start is None or sum(node.type == "start" for node in doc.nodes) != 1 \
            or not nx.is_directed_acyclic_graph(graph):
        return None
    return _saved_before(doc, graph, nodes, analyse(doc))


def missing_downstream(doc: BlueprintDoc, catalog: Catalog, node_id: str,
                       saved: frozenset[str]) -> dict[str, list[str]] | None:
    """For an order resting at `node_id` with `saved` vars: per step from there on (itself
    included), the vars it reads that some path from there does not save first. None when
    the graph has a cycle (a published version never has)."""
    nodes = {node.id: node for node in doc.nodes}
    graph = _graph(doc, nodes)
    if node_id not in nodes or not nx.is_directed_acyclic_graph(graph):
        return None
    before = _saved_before(doc, graph, nodes, analyse(doc), origin=node_id, saved=saved)
    missing = {step: sorted(_var_reads(nodes[step], catalog) - have)
               for step, have in before.items()}
    return {step: names for step, names in missing.items() if names}


def _saved_before(doc: BlueprintDoc, graph: nx.MultiDiGraph, nodes: dict[str, Node],
                  structure: Structure, origin: str | None = None,
                  saved: frozenset[str] = frozenset()) -> dict[str, frozenset[str]]:
    """What is saved on every path from `origin` (default: the start, where nothing is) to
    each node it reaches, in topological order; at a parallel's join, branch by branch
    (`flow_rules.join_saved`)."""
    origin = origin or start_of(doc)
    reachable = nx.descendants(graph, origin) | {origin}
    joins = flow_rules.single_joins(structure)
    saved_before: dict[str, frozenset[str]] = {}
    for node_id in nx.topological_sort(graph.subgraph(reachable)):
        arriving = _arriving(graph, nodes, saved_before, node_id)
        block = joins.get(node_id)
        if node_id == origin:
            saved_before[node_id] = saved
        elif block is not None:
            before = saved_before.get(block.parallel, frozenset())
            saved_before[node_id] = flow_rules.join_saved(block, before, arriving)
        else:
            incoming = [saved for _, saved in arriving]
            saved_before[node_id] = frozenset.intersection(*incoming) if incoming else frozenset()
    return saved_before


def _arriving(graph: nx.MultiDiGraph, nodes: dict[str, Node], saved_before: dict[str, frozenset[str]],
              node_id: str) -> list[tuple[str, frozenset[str]]]:
    """(source, what is saved once the edge is taken) for each in-edge from a reachable node
    (those come first in topological order). Inside a branch, every node has a path in from
    its own branch, so what only a sibling branch saves never survives the intersection."""
    return [
        (source, saved_before[source] | (frozenset() if data["kind"] == "failed"
                                         else frozenset(nodes[source].save)))
        for source, _, data in graph.in_edges(node_id, data=True) if source in saved_before
    ]


def _var_reads(node: Node, catalog: Catalog) -> set[str]:
    reads = {
        name for _, source, _ in node_expressions(node)
        if not expressions.parse_error(source)
        for name in expressions.reads_of(source, "vars")
    }
    spec = catalog.api_calls.get(node.api_call or "") if node.type == "api_call" else None
    return reads | (_api_call_var_reads(spec) if spec else set())
