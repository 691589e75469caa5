"""Draw the recovered hierarchy: one node per detected module, edges between modules with counts.

Inputs sit at the bottom and outputs on top, as in the network drawing. Each module node says
which layers it spans and how many units it holds per layer; the input units feeding a module and
the output units it computes are named in small boxes below / above it, so the picture reads like
the function graph it is compared with (:mod:`sculpt.render.comparison`).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import graphviz

from sculpt.render.network import FONT, _html, _title_label, layer_names, module_colour

NODE_PREFIX = "rec_"


def hierarchy_data(hierarchy: Any) -> dict:
    """The JSON form of a hierarchy (:meth:`sculpt.detect.Hierarchy.to_dict`), from either form.

    Parameters
    ----------
    hierarchy : Hierarchy or dict
        A :class:`sculpt.detect.Hierarchy`, its ``to_dict()`` or the ``hierarchy`` entry of
        ``modules.json``.

    Returns
    -------
    dict
        With ``modules`` (id, units by layer as int keys), ``edges``, ``levels``,
        ``input_modules``, ``output_modules``, ``reused_modules``.
    """
    data = hierarchy.to_dict() if hasattr(hierarchy, "to_dict") else dict(hierarchy)
    for key in ("modules", "edges"):
        if key not in data:
            raise ValueError(f"hierarchy data has no '{key}' entry")
    modules = [{"id": int(m["id"]),
                "units": {int(layer): [int(u) for u in units] for layer, units in m["units"].items()}}
               for m in data["modules"]]
    return {"modules": modules,
            "edges": [{"source": int(e["source"]), "target": int(e["target"]), "edges": int(e["edges"])}
                      for e in data["edges"]],
            "levels": [[int(i) for i in level] for level in data.get("levels", [])],
            "input_modules": [int(i) for i in data.get("input_modules", [])],
            "output_modules": [int(i) for i in data.get("output_modules", [])],
            "reused_modules": [int(i) for i in data.get("reused_modules", [])]}


def unit_list_text(names: Sequence[str], limit: int = 12) -> str:
    """Unit names separated by spaces; long lists keep their ends and say how many there are."""
    if len(names) <= limit:
        return " ".join(names)
    return f"{' '.join(names[:4])} ... {' '.join(names[-2:])} ({len(names)} units)"


def module_node(module_id: int) -> str:
    """Graphviz node id of a module in hierarchy drawings (stable, used by tests)."""
    return f"{NODE_PREFIX}M{module_id}"


def module_label(module: Mapping[str, Any], n_layers: int, colour: str, reused: bool) -> str:
    """HTML label: module id, layers spanned, and unit counts per layer (top layer first)."""
    units = module["units"]
    layers = sorted(layer for layer, members in units.items() if members)
    names = layer_names(n_layers)
    span = (f"layer {layers[0]}" if len(layers) == 1 else f"layers {layers[0]}-{layers[-1]}"
            if layers == list(range(layers[0], layers[-1] + 1)) else "layers " + ",".join(map(str, layers)))
    rows = [f'<TR><TD><FONT COLOR="{colour}" POINT-SIZE="13"><B>M{module["id"]}</B></FONT>'
            f'{" (reused)" if reused else ""}</TD></TR>',
            f'<TR><TD><FONT POINT-SIZE="9">{span}</FONT></TD></TR>']
    for layer in reversed(layers):  # top layer first, as drawn
        rows.append(f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="9">{_html(names[layer])}: '
                    f'{len(units[layer])} unit{"s" if len(units[layer]) != 1 else ""}</FONT></TD></TR>')
    return '<<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="1">' + "".join(rows) + "</TABLE>>"


def add_hierarchy(target: graphviz.Digraph, hierarchy: Any, n_layers: int, *,
                  input_names: Sequence[str] | None = None,
                  output_names: Sequence[str] | None = None, align_rows: bool = True
                  ) -> tuple[list[str], list[str]]:
    """Add the hierarchy's nodes and edges to ``target`` (a graph or a subgraph cluster).

    Parameters
    ----------
    target : graphviz.Digraph
    hierarchy : Hierarchy or dict
        See :func:`hierarchy_data`.
    n_layers : int
        Unit layers of the network (inputs and outputs included): the last one is the outputs.
    input_names, output_names : list of str, optional
        Names of the input / output units (default ``x0..`` / ``y0..``).
    """
    data = hierarchy_data(hierarchy)
    out_layer = n_layers - 1
    reused = set(data["reused_modules"])
    inputs_row, outputs_row = [], []
    for position, module in enumerate(data["modules"]):
        strong, light = module_colour(position)
        ident = module["id"]
        target.node(module_node(ident), module_label(module, n_layers, strong, ident in reused),
                    shape="box", style="filled,rounded", fillcolor=light, color=strong,
                    penwidth="2.4" if ident in reused else "1.6", fontname=FONT, margin="0.12,0.06")
        ins = module["units"].get(0, [])
        outs = module["units"].get(out_layer, [])
        if ins:
            names = [input_names[u] if input_names else f"x{u}" for u in ins]
            node = f"{NODE_PREFIX}in{ident}"
            target.node(node, unit_list_text(names), shape="box", style="filled,rounded", fillcolor="#d5d8dc",
                        color="#7f8c8d", fontname=FONT, fontsize="10", height="0.3")
            target.edge(node, module_node(ident), label=f" {len(ins)}", fontsize="9", fontcolor="#555555",
                        color="#7f8c8d", arrowsize="0.6")
            inputs_row.append(node)
        if outs:
            names = [output_names[u] if output_names else f"y{u}" for u in outs]
            node = f"{NODE_PREFIX}out{ident}"
            target.node(node, unit_list_text(names), shape="box", style="filled,rounded", fillcolor="white",
                        color=strong, fontname=FONT, fontsize="10", height="0.3")
            target.edge(module_node(ident), node, label=f" {len(outs)}", fontsize="9", fontcolor="#555555",
                        color=strong, arrowsize="0.6")
            outputs_row.append(node)
    for edge in data["edges"]:
        position = next(i for i, m in enumerate(data["modules"]) if m["id"] == edge["source"])
        count = edge["edges"]
        target.edge(module_node(edge["source"]), module_node(edge["target"]),
                    label=f" {count} edge{'s' if count != 1 else ''}", fontsize="9", fontname=FONT,
                    color=module_colour(position)[0], penwidth=f"{min(1.0 + count / 6, 4.0):.2f}",
                    arrowsize="0.7")
    if align_rows:  # input boxes on one bottom row, output boxes on one top row
        for row, rank in ((inputs_row, "min"), (outputs_row, "max")):
            if row:
                with target.subgraph() as same:
                    same.attr(rank=rank)
                    for node in row:
                        same.node(node)
    return inputs_row, outputs_row


def draw_hierarchy(hierarchy: Any, n_layers: int, *, title: str | None = None, subtitle: str | None = None,
                   input_names: Sequence[str] | None = None,
                   output_names: Sequence[str] | None = None) -> graphviz.Digraph:
    """The recovered module hierarchy, ready for :func:`sculpt.render.save_graph`.

    Parameters
    ----------
    hierarchy : Hierarchy or dict
        ``Detection.hierarchy``, its ``to_dict()`` or ``hierarchy.json``.
    n_layers : int
        Unit layers of the network (``len(arch)``).
    title, subtitle : str, optional
    input_names, output_names : list of str, optional
        Names of the input / output units (default ``x0..`` / ``y0..``).

    Returns
    -------
    graphviz.Digraph
        One box per module (label: id, layers spanned, units per layer; reused modules drawn
        bold), module-to-module edges labelled with the number of network edges, and the input
        and output units named in boxes below and above their modules.
    """
    graph = graphviz.Digraph("hierarchy")
    graph.attr(rankdir="BT", newrank="true", nodesep="0.35", ranksep="0.55", fontname=FONT,
               labelloc="t", label=_title_label(title, subtitle))
    graph.attr("node", fontname=FONT)
    graph.attr("edge", fontname=FONT)
    add_hierarchy(graph, hierarchy, n_layers, input_names=input_names, output_names=output_names)
    return graph
