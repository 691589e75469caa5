"""Draw a function graph: inputs at the bottom, outputs on top, negation edges red and dashed."""
from __future__ import annotations

import graphviz

from functiongraphs.graph import FunctionGraph
from functiongraphs.structure import structure as true_structure
from functiongraphs.structure_types import Structure

NEGATION_STYLE = {"color": "#c0392b", "style": "dashed", "arrowhead": "odot"}
TRANSFER_STYLE = {"color": "#333333"}
# Fill colours of the output groups (outputs computing the same function share one).
OUTPUT_COLORS = ("#aed6f1", "#f9e79f", "#abebc6", "#f5b7b1", "#d7bde2", "#fad7a0", "#a3e4d7", "#d5dbdb")
CLUSTER_COLORS = ("#eaf2f8", "#fef9e7", "#e9f7ef", "#fdedec", "#f4ecf7", "#fef5e7")


def draw_function_graph(graph: FunctionGraph, structure: Structure | None = None) -> graphviz.Digraph:
    """A graphviz drawing of a function graph and its true modular structure.

    Inputs sit on the bottom row and outputs on the top row (``rankdir=BT``); gates are labelled
    AND / OR / ID with their name; negation edges are red, dashed and end in a circle, transfer
    edges are plain (a small legend says so). When the inputs split into several input-separable
    groups, each group is a shaded cluster holding its inputs and every gate that depends on that
    group only; outputs computing the same function share a fill colour.

    Parameters
    ----------
    graph : FunctionGraph
    structure : Structure, optional
        The true structure to show; computed with :func:`functiongraphs.structure` when omitted.

    Returns
    -------
    graphviz.Digraph
    """
    if structure is None:
        structure = true_structure(graph)
    dot = graphviz.Digraph(name=graph.name or "function_graph")
    dot.attr(rankdir="BT", newrank="true", nodesep="0.25", ranksep="0.45", fontname="Helvetica",
             label=_title(graph, structure), labelloc="t", fontsize="14")
    dot.attr("node", fontname="Helvetica", fontsize="11")
    dot.attr("edge", arrowsize="0.6")

    clustered = _cluster_members(graph, structure)
    for k, members in enumerate(clustered):
        with dot.subgraph(name=f"cluster_group{k}") as sub:
            indices = ", ".join(f"x{i}" if graph.inputs[i] == f"x{i}" else graph.inputs[i]
                                for i in structure.input_groups[k])
            sub.attr(label=f"input group {k}: {indices}", style="filled,rounded",
                     fillcolor=CLUSTER_COLORS[k % len(CLUSTER_COLORS)], color="#7f8c8d", fontsize="10")
            for name in members:
                _add_node(sub, graph, structure, name)
    placed = {name for members in clustered for name in members}
    for name in (*graph.inputs, *(g.name for g in graph.gates)):
        if name not in placed:
            _add_node(dot, graph, structure, name)

    with dot.subgraph() as row:
        row.attr(rank="min")
        for name in graph.inputs:
            row.node(name)
        for left, right in zip(graph.inputs, graph.inputs[1:]):
            row.edge(left, right, style="invis")  # keeps x0, x1, ... left to right
    with dot.subgraph() as row:
        row.attr(rank="max")
        for name in graph.outputs:
            row.node(name)

    for gate in graph.gates:
        for src, negated in gate.args:
            dot.edge(src, gate.name, **(NEGATION_STYLE if negated else TRANSFER_STYLE))
    _add_legend(dot)
    return dot


def _title(graph: FunctionGraph, structure: Structure) -> str:
    name = graph.name or "function graph"
    return f"{name}  ({graph.n_inputs} inputs, {graph.n_outputs} outputs, {len(graph.gates)} gates)"


def _cluster_members(graph: FunctionGraph, structure: Structure) -> list[list[str]]:
    """Per input group: its inputs and the non-output gates depending on that group only."""
    if len(structure.input_groups) < 2:
        return []
    outputs = set(graph.outputs)
    members = []
    for group in structure.input_groups:
        allowed = frozenset(group)
        names = [graph.inputs[i] for i in group]
        names += [g.name for g in graph.gates if g.name not in outputs and graph.supports[g.name] <= allowed]
        members.append(names)
    return members


def _add_node(dot: graphviz.Digraph, graph: FunctionGraph, structure: Structure, name: str) -> None:
    gate = graph.gate_by_name.get(name)
    if gate is None:
        dot.node(name, label=name, shape="box", style="filled,rounded", fillcolor="#d5d8dc", width="0.4")
        return
    label = f"{gate.op.upper()}\n{name}"
    if name in graph.outputs:
        k = graph.outputs.index(name)
        group = next(i for i, g in enumerate(structure.output_groups) if k in g)
        dot.node(name, label=label, shape="ellipse", peripheries="2", style="filled",
                 fillcolor=OUTPUT_COLORS[group % len(OUTPUT_COLORS)])
    else:
        bold = {"penwidth": "2"} if name in structure.reused_nodes else {}
        dot.node(name, label=label, shape="ellipse", style="filled", fillcolor="white", **bold)


def _add_legend(dot: graphviz.Digraph) -> None:
    with dot.subgraph(name="cluster_legend") as legend:
        legend.attr(label=r"bold: reused gate\lsame fill: same output function\lshaded box: input group\l",
                    style="rounded", color="#bdc3c7", fontsize="9")
        legend.attr("node", shape="plaintext", fontsize="9", width="0.1", height="0.1")
        legend.node("legend_t0", "")
        legend.node("legend_t1", "transfer")
        legend.node("legend_n0", "")
        legend.node("legend_n1", "negation")
        legend.edge("legend_t0", "legend_t1", **TRANSFER_STYLE)
        legend.edge("legend_n0", "legend_n1", **NEGATION_STYLE)
