"""The true function graph beside the recovered module hierarchy, in one drawing.

Left: :func:`sculpt.render.functiongraph.draw_function_graph` (input-separable groups shaded,
outputs of one function sharing a fill). Right: :func:`sculpt.render.hierarchy.add_hierarchy`.
Both share the bottom row (inputs) and the top row (outputs), so a reader sees at a glance
whether the modules line up with the sub-functions.
"""
from __future__ import annotations

import re
from typing import Any, Sequence

import graphviz

from functiongraphs.structure import structure as true_structure
from sculpt.render.functiongraph import draw_function_graph
from sculpt.render.hierarchy import add_hierarchy
from sculpt.render.network import FONT, _title_label


def draw_comparison(graph, hierarchy: Any, n_layers: int, *, structure=None, title: str | None = None,
                    subtitle: str | None = None, recovered_label: str = "recovered module hierarchy"
                    ) -> graphviz.Digraph:
    """True structure (left) and recovered hierarchy (right), ready for :func:`sculpt.render.save_graph`.

    Parameters
    ----------
    graph : functiongraphs.FunctionGraph
        The task's function graph.
    hierarchy : Hierarchy or dict
        ``Detection.hierarchy``, its ``to_dict()`` or ``hierarchy.json``.
    n_layers : int
        Unit layers of the network (``len(arch)``).
    structure : functiongraphs.Structure, optional
        The true structure; computed from ``graph`` when omitted.
    title, subtitle : str, optional
        Shown above both panels (e.g. the run's success per criterion).
    recovered_label : str
        Caption of the right panel.

    Returns
    -------
    graphviz.Digraph
    """
    if structure is None:
        structure = true_structure(graph)
    true_graph = draw_function_graph(graph, structure)
    caption = (f"true function graph: {graph.name or 'graph'}  ({graph.n_inputs} inputs, "
               f"{graph.n_outputs} outputs, {len(graph.gates)} gates)")
    dot = graphviz.Digraph("comparison")
    dot.attr(rankdir="BT", newrank="true", nodesep="0.3", ranksep="0.5", fontname=FONT, labelloc="t",
             label=_title_label(title, subtitle))
    dot.attr("node", fontname=FONT)
    dot.attr("edge", fontname=FONT)
    with dot.subgraph(name="cluster_true") as left:
        left.attr(label=caption, labelloc="t", style="rounded", color="#7f8c8d",
                  fontsize="13", fontname=FONT)
        # The function graph's body: its nodes, groups, rows and legend, without its own graph
        # attributes (rankdir, title) which belong to the outer drawing now.
        left.attr("node", fontname=FONT, fontsize="11")
        left.attr("edge", arrowsize="0.6")
        left.body.extend(_statements(true_graph.body))
    with dot.subgraph(name="cluster_recovered") as right:
        right.attr(label=recovered_label, labelloc="t", style="rounded", color="#7f8c8d", fontsize="13",
                   fontname=FONT)
        rec_inputs, rec_outputs = add_hierarchy(right, hierarchy, n_layers, input_names=list(graph.inputs),
                                                output_names=list(graph.outputs), align_rows=False)
    # One bottom row (all inputs) and one top row (all outputs) across both panels; the true
    # graph's gates of one level share a row so its layers stay readable when stretched.
    outputs = set(graph.outputs)
    gate_rows: dict[int, list[str]] = {}
    for gate in graph.gates:
        if gate.name not in outputs:
            gate_rows.setdefault(structure.levels.get(gate.name, 0), []).append(gate.name)
    rows = [[*graph.inputs, *rec_inputs], *(gate_rows[level] for level in sorted(gate_rows)),
            [*graph.outputs, *rec_outputs]]
    for row in rows:
        with dot.subgraph() as same:
            same.attr(rank="same")
            for node in row:
                same.node(node)
    return dot


def _statements(body: list[str]) -> list[str]:
    """A drawing's body without its top-level graph attributes (``key=value`` lines)."""
    return [line for line in body if not re.match(r"^\t[A-Za-z_]+=", line)]


def input_output_names(graph, n_inputs: int, n_outputs: int) -> tuple[Sequence[str], Sequence[str]]:
    """Names of the input and output units: the function graph's, else ``x0..`` / ``y0..``."""
    if graph is not None:
        return list(graph.inputs), list(graph.outputs)
    return [f"x{i}" for i in range(n_inputs)], [f"y{i}" for i in range(n_outputs)]
