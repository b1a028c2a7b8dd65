"""The block structure of parallel branches, worked out once per blueprint.

A `parallel` node P starts its `branch` edges at once; its matching `join` is P's immediate
post-dominator (every path from P reaches it), found with networkx on the reversed graph
without P's own `failed` edge (it leaves the block: a branch failed). Each
branch is the set of nodes reachable from its first node before the join. The validator
reports what does not fit (no join, a shared join, an edge between branches); at run time
a parallel forks along its `branch` edges and each branch's `Arrive` at a join meets there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from backend.engine.format import BlueprintDoc

EXIT = "\0exit"


@dataclass(frozen=True)
class Block:
    parallel: str
    join: str | None  # None: the branches do not meet at one join (a validation error)
    branches: dict[str, frozenset[str]]  # first node of a branch → the nodes of that branch
    crossing: list[tuple[str, str]] = field(default_factory=list)  # edges between branches


@dataclass(frozen=True)
class Structure:
    blocks: dict[str, Block]  # by parallel node id


def analyse(doc: BlueprintDoc) -> Structure:
    """Blocks of every parallel node; an empty structure when the graph has a cycle."""
    nodes = {node.id: node for node in doc.nodes}
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    failed_of: dict[str, list[tuple[str, str]]] = {}
    for edge in doc.edges:
        if edge.source not in nodes or edge.target not in nodes:
            continue
        graph.add_edge(edge.source, edge.target)
        if edge.kind == "failed" and nodes[edge.source].type == "parallel":
            failed_of.setdefault(edge.source, []).append((edge.source, edge.target))
    parallels = [node.id for node in doc.nodes if node.type == "parallel"]
    if not parallels or not nx.is_directed_acyclic_graph(graph):
        return Structure({})
    blocks = {}
    for parallel in parallels:
        # only this parallel's own `failed` edge leaves its block (a nested parallel's
        # `failed` edge must stay inside the branch it is in)
        inner = graph.copy()
        inner.remove_edges_from(failed_of.get(parallel, []))
        join = _post_dominator(inner, parallel)
        join = join if join in nodes and nodes[join].type == "join" else None
        firsts = [e.target for e in doc.edges
                  if e.source == parallel and e.kind == "branch" and e.target in nodes]
        branches = {first: frozenset(_region(inner, first, join)) for first in firsts}
        blocks[parallel] = Block(parallel, join, branches,
                                 _crossing(inner, parallel, join, branches))
    return Structure(blocks)


def _post_dominator(graph: nx.DiGraph, node: str) -> str | None:
    """The nearest node every path from `node` to an end passes through."""
    reachable = nx.descendants(graph, node) | {node}
    reverse = graph.subgraph(reachable).reverse(copy=True)
    reverse.add_node(EXIT)
    reverse.add_edges_from((EXIT, n) for n in reachable if graph.out_degree(n) == 0)
    found = nx.immediate_dominators(reverse, EXIT).get(node)
    return found if found != EXIT else None


def _region(graph: nx.DiGraph, first: str, join: str | None) -> set[str]:
    """The nodes reachable from `first` without passing the join."""
    if first == join:
        return set()
    seen, stack = {first}, [first]
    while stack:
        for target in graph.successors(stack.pop()):
            if target != join and target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def _crossing(graph: nx.DiGraph, parallel: str, join: str | None,
              branches: dict[str, frozenset[str]]) -> list[tuple[str, str]]:
    """Edges that enter a branch from anywhere but its own nodes (or the parallel, into its
    first node), and edges into the join from outside the branches."""
    inside: set[str] = set().union(*branches.values()) if branches else set()
    edges: list[tuple[str, str]] = []
    for first, members in branches.items():
        for node in members:
            allowed = members | ({parallel} if node == first else set())
            edges += [(source, node) for source in graph.predecessors(node)
                      if source not in allowed]
    if join is not None:
        edges += [(source, join) for source in graph.predecessors(join)
                  if source not in inside and source != parallel]
    return sorted(set(edges))
