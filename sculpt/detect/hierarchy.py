"""The hierarchy of detected modules: which module feeds which, and through how many edges.

The paper's code stops at a flat module label per unit and reads the hierarchy off its drawings.
Here the modules become the nodes of a networkx DiGraph whose edges count the network edges
between two different modules; levels are longest-path depths from the modules nothing feeds.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import networkx as nx

from sculpt.detect.bitsets import bitsets_from_bool
from sculpt.errors import SculptError


@dataclass(frozen=True)
class Hierarchy:
    """Modules as a directed graph.

    Attributes
    ----------
    graph : networkx.DiGraph
        Nodes are module ids with attributes ``units`` (a JSON string ``{"layer": [original unit
        indices]}``, see :func:`module_units`), ``first_layer``, ``last_layer`` and ``size`` (units);
        an edge (a, b) has attribute ``edges``, the number of network edges from a unit of a to a
        unit of b. Every attribute is a string or an int, so ``networkx.write_graphml`` writes it.
    levels : list of list of int
        ``levels[i]`` holds the modules at depth i: 0 for modules nothing feeds, else one more
        than the deepest module feeding them (modules on a feedback cycle share a depth).
    input_modules, output_modules : tuple of int
        Modules holding input units / output units.
    reused_modules : tuple of int
        Modules feeding two or more other modules.

    The graph is built on first access: most callers of detection read modules and k only, and
    a networkx graph, and the JSON strings of its node attributes, cost more than the rest of the
    hierarchy.
    """

    levels: list[list[int]]
    input_modules: tuple[int, ...]
    output_modules: tuple[int, ...]
    reused_modules: tuple[int, ...]
    nodes: tuple = field(default=(), repr=False, compare=False)  # (module id, its units by layer), in id order
    edges: tuple = field(default=(), repr=False, compare=False)  # (source, target, {"edges": count})
    _graph: nx.DiGraph | None = field(default=None, repr=False, compare=False)

    @property
    def graph(self) -> nx.DiGraph:
        """The module graph (see the class docstring)."""
        if self._graph is None:
            graph = nx.DiGraph()
            graph.add_nodes_from(_module_node(ident, units) for ident, units in self.nodes)
            graph.add_edges_from(self.edges)
            object.__setattr__(self, "_graph", graph)
        return self._graph

    def level_of(self, module_id: int) -> int:
        """Depth of one module."""
        for depth, members in enumerate(self.levels):
            if module_id in members:
                return depth
        raise KeyError(f"no module with id {module_id}")

    def to_dict(self) -> dict:
        """JSON-ready form: modules, edges with counts, levels and the module roles."""
        return {
            "modules": [{"id": int(n), "units": {str(l): list(u) for l, u in module_units(self.graph, n).items()},
                         "layer_span": [int(d["first_layer"]), int(d["last_layer"])]}
                        for n, d in sorted(self.graph.nodes(data=True))],
            "edges": [{"source": int(a), "target": int(b), "edges": int(d["edges"])}
                      for a, b, d in sorted(self.graph.edges(data=True))],
            "levels": [list(level) for level in self.levels],
            "input_modules": list(self.input_modules),
            "output_modules": list(self.output_modules),
            "reused_modules": list(self.reused_modules),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Hierarchy":
        """Rebuild from :meth:`to_dict` output (e.g. the ``hierarchy`` entry of ``modules.json``).

        Raises
        ------
        SculptError
            Missing keys or entries of the wrong shape.
        """
        try:
            graph = nx.DiGraph()
            for m in data["modules"]:
                _add_module(graph, int(m["id"]), {int(l): [int(u) for u in us] for l, us in m["units"].items()})
            for e in data["edges"]:
                graph.add_edge(int(e["source"]), int(e["target"]), edges=int(e["edges"]))
            return cls(_graph=graph, levels=[[int(i) for i in level] for level in data["levels"]],
                       input_modules=tuple(int(i) for i in data["input_modules"]),
                       output_modules=tuple(int(i) for i in data["output_modules"]),
                       reused_modules=tuple(int(i) for i in data["reused_modules"]))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SculptError(f"not a hierarchy record: {type(exc).__name__}: {exc}") from None

    def __repr__(self) -> str:
        return (f"Hierarchy(modules={self.graph.number_of_nodes()}, edges={self.graph.number_of_edges()}, "
                f"levels={self.levels})")

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)


def module_units(graph: nx.DiGraph, node: int) -> dict[int, list[int]]:
    """``{layer: [original unit indices]}`` of one module node (its ``units`` JSON attribute)."""
    return {int(l): list(u) for l, u in json.loads(graph.nodes[node]["units"]).items()}


def _units_json(units: dict[int, list[int]], layers: list[int]) -> str:
    # json.dumps of {"layer": [units]} with its default separators, written directly: it runs
    # once per module of every detection
    return "{" + ", ".join(f'"{l}": [' + ", ".join(str(int(u)) for u in units[l]) + "]" for l in layers) + "}"


def _module_node(ident: int, units: dict[int, list[int]]) -> tuple[int, dict]:
    # scalars only (str / int): networkx.write_graphml refuses lists, tuples and dicts
    layers = sorted(units)
    return int(ident), dict(units=_units_json(units, layers),
                            first_layer=int(layers[0]) if layers else -1,
                            last_layer=int(layers[-1]) if layers else -1,
                            size=int(sum(len(units[l]) for l in layers)))


def _add_module(graph: nx.DiGraph, ident: int, units: dict[int, list[int]]) -> None:
    node, attributes = _module_node(ident, units)
    graph.add_node(node, **attributes)


def _module_edges(merged, masks) -> dict[tuple[int, int], int]:
    """Edge counts between distinct modules, summed over all weight layers."""
    counts: dict[tuple[int, int], int] = {}
    for layer, mask in enumerate(masks):
        rows = mask if isinstance(mask, list) else bitsets_from_bool(mask)  # a unit's inputs
        sources: dict[int, int] = {}  # module id -> its units of this layer, as a bit set
        for unit, module in enumerate(merged[layer]):
            sources[int(module)] = sources.get(int(module), 0) | (1 << unit)
        for unit, incoming in enumerate(rows):
            target = int(merged[layer + 1][unit])
            for source, bits in sources.items():
                if source != target:  # edges inside a module are not hierarchy
                    count = (incoming & bits).bit_count()
                    if count:
                        counts[source, target] = counts.get((source, target), 0) + count
    return counts


def _depths(graph: nx.DiGraph) -> dict[int, int]:
    """Longest-path depth of every node; nodes on a cycle share the depth of their strongly
    connected component."""
    try:
        order = list(nx.topological_sort(graph))
    except nx.NetworkXUnfeasible:  # a feedback cycle between modules: work on the components
        dag = nx.condensation(graph)
        component_depth = _depths(dag)
        return {node: component_depth[dag.graph["mapping"][node]] for node in graph.nodes}
    depth: dict[int, int] = {}
    for node in order:
        preds = list(graph.predecessors(node))
        depth[node] = 1 + max(depth[p] for p in preds) if preds else 0
    return depth


def _depths_of_edges(nodes: list[int], edges) -> dict[int, int] | None:
    """Longest-path depths from an edge list by Kahn's order; None when there is a cycle."""
    successors: dict[int, list[int]] = {node: [] for node in nodes}
    pending = dict.fromkeys(nodes, 0)
    for a, b in edges:
        successors[a].append(b)
        pending[b] += 1
    depth = {node: 0 for node in nodes}
    ready = [node for node in nodes if not pending[node]]
    placed = 0
    while ready:
        node = ready.pop()
        placed += 1
        for succ in successors[node]:
            if depth[node] + 1 > depth[succ]:
                depth[succ] = depth[node] + 1
            pending[succ] -= 1
            if not pending[succ]:
                ready.append(succ)
    return depth if placed == len(nodes) else None


def build_hierarchy(modules, merged, masks) -> Hierarchy:
    """Build the module graph of a detection.

    Parameters
    ----------
    modules : list of Module
    merged : list of sequence of int
        Per layer, the module id of each kept unit.
    masks : list of ndarray of bool, or list of list of int
        Condensed masks, one per weight layer (or their rows as bit sets).

    Returns
    -------
    Hierarchy
    """
    counts = sorted(_module_edges(merged, masks).items())
    edge_data = tuple((a, b, {"edges": count}) for (a, b), count in counts)
    nodes = [module.id for module in modules]
    depth = _depths_of_edges(nodes, (edge for edge, _ in counts))
    # the node attributes (JSON strings) are made only when the graph is asked for
    node_data = tuple((module.id, module.units) for module in modules)
    if depth is None:  # a feedback cycle between modules
        depth = _depths(Hierarchy(levels=[], input_modules=(), output_modules=(), reused_modules=(),
                                  nodes=node_data, edges=edge_data).graph)
    levels = [sorted(n for n, d in depth.items() if d == level)
              for level in range(max(depth.values()) + 1)] if depth else []
    out_degree = dict.fromkeys(nodes, 0)
    for (a, _), _ in counts:
        out_degree[a] += 1
    last_layer = len(merged) - 1
    return Hierarchy(
        nodes=node_data, edges=edge_data, levels=levels,
        input_modules=tuple(sorted(set(merged[0]))),
        output_modules=tuple(sorted(set(merged[last_layer]))),
        reused_modules=tuple(sorted(n for n in nodes if out_degree[n] >= 2)),
    )
