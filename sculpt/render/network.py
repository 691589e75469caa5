"""Draw a pruned network as graphviz: units in rows by layer, detected modules as coloured boxes.

This is the picture of the paper's figures (spec section 6): inputs at the bottom, outputs on top,
only the units and edges that survive pruning, each module a coloured box spanning its layers.
Unlike the paper's matplotlib drawing, layout is left to ``dot``, so modules never overlap, every
unit is labelled with its original index, a legend lists the modules and a column on the left
names the layers with their surviving / original unit counts.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import graphviz
import numpy as np

# Okabe-Ito inspired, colour-blind safe, then extra distinct hues; (strong, light) pairs.
PALETTE: tuple[tuple[str, str], ...] = (
    ("#0072B2", "#D6E9F5"), ("#E69F00", "#FBEBCB"), ("#009E73", "#CCEDE3"),
    ("#CC79A7", "#F5E1EC"), ("#D55E00", "#F7DCCB"), ("#56B4E9", "#DDF0FB"),
    ("#8C6D31", "#EBE2CF"), ("#7B4173", "#E9D7E6"), ("#637939", "#E0E7D2"),
    ("#843C39", "#EAD3D2"), ("#5254A3", "#DCDCF0"), ("#BD9E39", "#F2EACF"),
)
UNASSIGNED = ("#888888", "#FFFFFF")
FONT = "Helvetica"


@dataclass(frozen=True)
class Module:
    """One detected module: its id and, per layer (0 = inputs), the original unit indices."""

    id: int
    units: dict[int, tuple[int, ...]]

    @property
    def layers(self) -> tuple[int, ...]:
        return tuple(sorted(layer for layer, units in self.units.items() if units))

    @property
    def size(self) -> int:
        return sum(len(units) for units in self.units.values())

    def span_text(self) -> str:
        layers = self.layers
        if not layers:
            return "no layers"
        if len(layers) == 1:
            return f"layer {layers[0]}"
        if layers == tuple(range(layers[0], layers[-1] + 1)):
            return f"layers {layers[0]}-{layers[-1]}"
        return "layers " + ",".join(str(layer) for layer in layers)


def module_colour(index: int) -> tuple[str, str]:
    """(strong, light) colour of the module at position ``index`` (cycles after the palette)."""
    return PALETTE[index % len(PALETTE)]


def normalize_modules(modules: Iterable[Any]) -> list[Module]:
    """Accept the shapes modules come in and return :class:`Module` objects.

    Parameters
    ----------
    modules : iterable
        Each item is a :class:`Module`, a mapping ``{layer: units}`` (``Detection.modules``),
        or a mapping ``{"id": i, "units": {layer: units}}`` (``modules.json``, the reference
        records). Layer keys may be strings (JSON). Items without an id get their position.

    Returns
    -------
    list of Module
    """
    out = []
    for position, item in enumerate(modules):
        if isinstance(item, Module):
            out.append(item)
            continue
        if hasattr(item, "units") and not isinstance(item, Mapping):  # a module object upstream
            ident, units = getattr(item, "id", position), item.units
        elif isinstance(item, Mapping) and "units" in item:
            ident, units = item.get("id", position), item["units"]
        elif isinstance(item, Mapping):
            ident, units = position, item
        else:
            raise TypeError(f"module {position}: expected a mapping of layer -> units, got {type(item).__name__}")
        out.append(Module(int(ident), {int(layer): tuple(sorted(int(u) for u in unit_list))
                                       for layer, unit_list in units.items()}))
    return out


def network_masks(network) -> Sequence[Any]:
    """Masks of a network object (PrunedNet, ``nn.Sequential``) via the adapter; lists pass through."""
    if isinstance(network, (list, tuple)):
        return network
    from sculpt.adapters import as_masks

    return as_masks(network)


def as_bool_masks(masks: Sequence[Any]) -> list[np.ndarray]:
    """Masks as 2-D bool arrays (out x in), checking that consecutive layers fit together."""
    out = [np.asarray(mask) != 0 for mask in masks]
    for layer, mask in enumerate(out):
        if mask.ndim != 2:
            raise ValueError(f"mask {layer} must be 2-D (out x in), got shape {mask.shape}")
        if layer and mask.shape[1] != out[layer - 1].shape[0]:
            raise ValueError(f"mask {layer} has {mask.shape[1]} inputs but layer {layer} has "
                             f"{out[layer - 1].shape[0]} units")
    if not out:
        raise ValueError("a network needs at least one weight layer")
    return out


def surviving_units(masks: Sequence[np.ndarray]) -> list[tuple[int, ...]]:
    """Units on some input-to-output path of the pruned net; all output units are kept.

    The cascade of spec 5.2 run to its fixed point: an input needs an out-edge to a kept unit, a
    hidden unit needs an in-edge from and an out-edge to kept units.
    """
    masks = as_bool_masks(masks)
    alive = [np.ones(masks[0].shape[1], bool)] + [np.ones(m.shape[0], bool) for m in masks]
    changed = True
    while changed:
        changed = False
        for layer in range(len(masks)):  # layer 0 .. L-1 need an outgoing edge to a kept unit
            has_out = (masks[layer] & alive[layer + 1][:, None]).any(axis=0)
            new = alive[layer] & has_out
            if layer > 0:
                new &= (masks[layer - 1] & alive[layer - 1][None, :]).any(axis=1)
            if (new != alive[layer]).any():
                alive[layer], changed = new, True
    return [tuple(int(i) for i in np.flatnonzero(a)) for a in alive]


def unit_node(layer: int, unit: int) -> str:
    """Graphviz node id of a unit (stable, used in the .gv files and by tests)."""
    return f"L{layer}_u{unit}"


def layer_names(n_layers: int) -> list[str]:
    """'inputs', 'hidden 1', ..., 'outputs' for ``n_layers`` unit layers."""
    return ["inputs"] + [f"hidden {i}" for i in range(1, n_layers - 1)] + ["outputs"]


def draw_network(masks: Sequence[Any], modules: Iterable[Any] = (), *, weights: Sequence[Any] | None = None,
                 units: Sequence[Iterable[int]] | None = None, title: str | None = None,
                 subtitle: str | None = None, input_names: Sequence[str] | None = None,
                 output_names: Sequence[str] | None = None) -> graphviz.Digraph:
    """The pruned network with its modules, ready for :func:`sculpt.render.save_graph`.

    Parameters
    ----------
    masks : list of array (out x in), PrunedNet or torch.nn.Sequential
        Weight masks of each layer (PyTorch layout); non-zero = kept edge. A network is read
        through :func:`sculpt.adapters.as_masks` (a Sequential's ``weight_mask`` buffers).
    modules : iterable
        Detected modules (see :func:`normalize_modules`). Units in no module are drawn white.
    weights : list of array, optional
        Weights of each layer; when given, an edge's width follows |w| and negative edges dash.
    units : list of iterables, optional
        Units to draw per layer (e.g. ``Detection.surviving_units``); by default
        :func:`surviving_units` of the masks.
    title, subtitle : str, optional
        Shown above the drawing (graph, architecture, density, seed...).
    input_names, output_names : list of str, optional
        Labels of the input and output units (default ``x0..``, ``y0..``).

    Returns
    -------
    graphviz.Digraph
    """
    masks = as_bool_masks(network_masks(masks))
    mods = normalize_modules(modules)
    kept = [tuple(int(u) for u in layer_units) for layer_units in (units if units is not None
                                                                  else surviving_units(masks))]
    widths = [masks[0].shape[1]] + [m.shape[0] for m in masks]
    n_layers = len(widths)
    if len(kept) != n_layers:
        raise ValueError(f"units lists {len(kept)} layers but the masks have {n_layers}")
    input_names = list(input_names) if input_names is not None else [f"x{i}" for i in range(widths[0])]
    output_names = list(output_names) if output_names is not None else [f"y{i}" for i in range(widths[-1])]

    owner: dict[tuple[int, int], int] = {}
    for position, module in enumerate(mods):
        for layer, unit_list in module.units.items():
            for unit in unit_list:
                owner[(layer, unit)] = position

    graph = graphviz.Digraph("network")
    graph.attr(rankdir="BT", newrank="true", nodesep="0.18", ranksep="0.75", fontname=FONT,
               labelloc="t", label=_title_label(title, subtitle), compound="true")
    graph.attr("node", fontname=FONT, fontsize="10")
    graph.attr("edge", arrowhead="none")

    _add_layer_column(graph, kept, widths)
    _add_units(graph, kept, mods, owner, input_names, output_names)
    _add_edges(graph, masks, kept, owner, mods, weights)
    if mods:
        _add_legend(graph, mods, n_layers, weighted=weights is not None)
    return graph


def _title_label(title: str | None, subtitle: str | None) -> str:
    if not title and not subtitle:
        return ""
    rows = []
    if title:
        rows.append(f'<TR><TD><FONT POINT-SIZE="15"><B>{_html(title)}</B></FONT></TD></TR>')
    if subtitle:
        rows.append(f'<TR><TD><FONT POINT-SIZE="11" COLOR="#444444">{_html(subtitle)}</FONT></TD></TR>')
    return "<<TABLE BORDER=\"0\" CELLSPACING=\"0\">" + "".join(rows) + "</TABLE>>"


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _add_layer_column(graph: graphviz.Digraph, kept: list[tuple[int, ...]], widths: list[int]) -> None:
    # An invisible chain of layer labels fixes the rank of every layer: each unit hangs between
    # the labels below and above it (weight 0, so the chain pulls nothing sideways).
    names = layer_names(len(widths))
    for layer, name in enumerate(names):
        graph.node(f"layer{layer}", f"{name}\n{len(kept[layer])} / {widths[layer]} units",
                   shape="plaintext", fontsize="10", fontcolor="#555555")
    for layer in range(len(widths) - 1):
        graph.edge(f"layer{layer}", f"layer{layer + 1}", style="invis")


def _add_units(graph, kept, mods, owner, input_names, output_names) -> None:
    n_layers = len(kept)
    by_module: dict[int | None, list[tuple[int, int]]] = {}
    for layer, layer_units in enumerate(kept):
        for unit in layer_units:
            by_module.setdefault(owner.get((layer, unit)), []).append((layer, unit))

    def add_unit(target, layer: int, unit: int, colours: tuple[str, str]) -> None:
        if layer == 0:
            label, shape = input_names[unit], "box"
        elif layer == n_layers - 1:
            label, shape = output_names[unit], "box"
        else:
            label, shape = str(unit), "circle"
        strong, light = colours
        target.node(unit_node(layer, unit), label, shape=shape, style="filled,rounded" if shape == "box" else "filled",
                    fillcolor="white" if strong == UNASSIGNED[0] else strong, color=strong,
                    fontcolor="black" if strong == UNASSIGNED[0] else "white", width="0.38", height="0.3",
                    fixedsize="false", margin="0.04,0.02",
                    tooltip=f"{layer_names(n_layers)[layer]} unit {unit}")

    for position, module in enumerate(mods):
        members = by_module.get(position, [])
        if not members:
            continue
        strong, light = module_colour(position)
        # Put the module's name where no edges leave the box: below it when it holds inputs, above
        # it when it holds only the top layers (labelloc is flipped by rankdir=BT: "t" = bottom).
        layers = {layer for layer, _ in members}
        label_at = "t" if 0 in layers or n_layers - 1 not in layers else "b"
        with graph.subgraph(name=f"cluster_module{module.id}") as box:
            box.attr(label=f"M{module.id}", style="filled,rounded", fillcolor=light, color=strong,
                     penwidth="1.6", fontcolor=strong, fontsize="12", fontname=f"{FONT} Bold",
                     labeljust="l", labelloc=label_at)
            for layer, unit in members:
                add_unit(box, layer, unit, (strong, light))
    for layer, unit in by_module.get(None, []):
        add_unit(graph, layer, unit, UNASSIGNED)
    for layer, layer_units in enumerate(kept):
        for unit in layer_units:
            if layer > 0:
                graph.edge(f"layer{layer - 1}", unit_node(layer, unit), style="invis", weight="0")
            if layer < n_layers - 1:
                graph.edge(unit_node(layer, unit), f"layer{layer + 1}", style="invis", weight="0")


def _add_edges(graph, masks, kept, owner, mods, weights) -> None:
    kept_sets = [set(layer_units) for layer_units in kept]
    scale = None
    if weights is not None:
        magnitudes = [np.abs(np.asarray(w, dtype=float)) * m for w, m in zip(weights, masks)]
        scale = max((float(a.max()) for a in magnitudes if a.size), default=0.0) or 1.0
    for layer, mask in enumerate(masks):
        rows, cols = np.nonzero(mask)
        for dst, src in zip(rows.tolist(), cols.tolist()):
            if src not in kept_sets[layer] or dst not in kept_sets[layer + 1]:
                continue
            a, b = owner.get((layer, src)), owner.get((layer + 1, dst))
            colour = module_colour(a)[0] if a is not None and a == b else "#555555"
            attrs = {"color": colour}
            if scale is not None:
                w = float(np.asarray(weights[layer])[dst, src])
                attrs["penwidth"] = f"{0.6 + 2.4 * abs(w) / scale:.2f}"
                if w < 0:
                    attrs["style"] = "dashed"
            graph.edge(unit_node(layer, src), unit_node(layer + 1, dst), **attrs)


def _add_legend(graph, mods: list[Module], n_layers: int, weighted: bool = False) -> None:
    rows = ['<TR><TD ALIGN="LEFT"><B>modules</B> (units per layer, inputs first)</TD></TR>']
    for position, module in enumerate(mods):
        strong, light = module_colour(position)
        counts = "/".join(str(len(module.units.get(layer, ()))) for layer in module.layers)
        rows.append(f'<TR><TD ALIGN="LEFT"><FONT COLOR="{strong}" POINT-SIZE="13">&#9632;</FONT> '
                    f'M{module.id}: {module.span_text()}, units {counts}</TD></TR>')
    rows.append('<TR><TD ALIGN="LEFT"><FONT COLOR="#555555">grey edges join two modules'
                + ('; width ~ |w|, dashed: w &lt; 0' if weighted else '') + '</FONT></TD></TR>')
    label = '<<TABLE BORDER="1" COLOR="#999999" CELLBORDER="0" CELLSPACING="1">' + "".join(rows) + "</TABLE>>"
    graph.node("legend", label, shape="plaintext", fontsize="10")
    # Hang the legend beside the top layer so it never sits between modules.
    graph.edge(f"layer{n_layers - 2}", "legend", style="invis", weight="0")
