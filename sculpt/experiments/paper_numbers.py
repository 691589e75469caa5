"""The paper's success rates (spec neural_sculpting.md section 10) as data, for the reports.

Each :class:`PaperValue` is one bar or heat-map cell: the success rate the paper reports for
``criterion`` on ``graph`` with networks of ``hidden_layers`` hidden layers (``None``: all depths
pooled, as in Figure 10). Criterion names are the keys of the ``score`` of a trial record (:func:`sculpt.score.compare`'s criteria plus ``inputs_split`` and
``outputs_split``). :data:`PANELS` says how each figure is laid out.
"""
from __future__ import annotations

from dataclasses import dataclass

# Criterion names (sculpt.score.CRITERIA keys) the experiment files list for each figure.
INPUT_SEPARABLE = "input_separable_success"
REUSED = "reused_success"
SEPARABLE_REUSED = "separable_reused_success"
NON_MODULAR = "non_modular_success"
OVERLAP_INPUTS = "overlap_input_separability"
OVERLAP_OUTPUTS = "overlap_output_subfunctions"
OVERLAP_HIDDEN = "overlap_hidden_separability"
# Figure 12a: the paper judged these by eye; inputs/outputs use the generic split tests recorded
# for every trial. No criterion for "single intermediate module" exists yet, so that bar has no
# measured value.
HIERARCHICAL_INPUTS = "inputs_split"
HIERARCHICAL_INTERMEDIATE = "hierarchical_intermediate"
HIERARCHICAL_OUTPUTS = "outputs_split"
HIERARCHICAL_EXACT = "hierarchical_exact"

# The criterion that decides each Figure 7 bar.
FIG7_CRITERIA = {
    "input-separable": INPUT_SEPARABLE,
    "reused": REUSED,
    "separable-reused": SEPARABLE_REUSED,
    "non-modular": NON_MODULAR,
}


@dataclass(frozen=True)
class PaperValue:
    """One success rate reported by the paper.

    Attributes
    ----------
    figure : str
        Experiment ``figure`` key (``fig7``, ``fig8``, ``fig10``, ``fig12``).
    panel : str
        Panel of that figure (see :data:`PANELS`).
    graph : str
        Catalog name of the task.
    criterion : str
    hidden_layers : int or None
        Depth of the networks; None pools all depths.
    value : float
        Success rate in [0, 1].
    trials : int
        Trials behind the value in the paper.
    """

    figure: str
    panel: str
    graph: str
    criterion: str
    hidden_layers: int | None
    value: float
    trials: int


@dataclass(frozen=True)
class Panel:
    """Layout of one figure panel.

    Attributes
    ----------
    figure, key, title : str
    style : {"bars", "heatmap"}
        Bars: one group per ``group_by`` value, one bar per depth. Heat map: rows = overlap,
        columns = use.
    group_by : {"graph", "use", "criterion"}
        What a bar group is (bars only).
    """

    figure: str
    key: str
    title: str
    style: str
    group_by: str = "graph"


PANELS: tuple[Panel, ...] = (
    Panel("fig7", "fig7", "Figure 7: validation graphs (success rate per depth)", "bars", "graph"),
    Panel("fig8", "fig8", "Figure 8: reused graph, increasing use (success rate per depth)", "bars", "use"),
    Panel("fig10", "fig10-inputs", "Figure 10: input separability", "heatmap"),
    Panel("fig10", "fig10-outputs", "Figure 10: output sub-functions", "heatmap"),
    Panel("fig10", "fig10-hidden", "Figure 10: hidden-unit separability", "heatmap"),
    Panel("fig12", "fig12a", "Figure 12a: sub-function detection, hierarchical graph X = 8", "bars", "criterion"),
    Panel("fig12", "fig12b", "Figure 12b: exact structure for the NN depth", "bars", "use"),
)


def _fig7() -> list[PaperValue]:
    rates = {"input-separable": (1.0, 1.0, 1.0), "reused": (0.0, 1.0, 0.92),
             "separable-reused": (1.0, 1.0, 1.0), "non-modular": (1.0, 1.0, 1.0)}
    return [PaperValue("fig7", "fig7", graph, FIG7_CRITERIA[graph], depth, value, 12)
            for graph, values in rates.items() for depth, value in zip((1, 2, 3), values)]


def _fig8() -> list[PaperValue]:
    rates = {1: (0, 0, 0, 0, 0), 2: (0.58, 0.92, 1, 1, 1), 3: (0.67, 0.75, 0.83, 0.83, 0.92)}
    return [PaperValue("fig8", "fig8", f"reuse-use{use}", REUSED, depth, float(value), 12)
            for depth, values in rates.items() for use, value in zip((1, 2, 4, 6, 8), values)]


def _fig10() -> list[PaperValue]:
    panels = {
        ("fig10-inputs", OVERLAP_INPUTS): ((1, 1, 1, 1, 1), (0.97, 1, 1, 1, 1), (0.92, 1, 1, 1, 1),
                                           (0.64, 0.72, 0.78, 0.89, 0.86), (0.94, 0.94, 1, 1, 0.89)),
        ("fig10-outputs", OVERLAP_OUTPUTS): ((1, 1, 1, 1, 1), (1, 1, 1, 1, 1), (0.97, 1, 1, 1, 1),
                                             (0.58, 0.58, 0.69, 0.67, 0.72), (0.25, 0.31, 0.44, 0.53, 0.61)),
        ("fig10-hidden", OVERLAP_HIDDEN): ((1, 1, 1, 1, 1), (1, 1, 1, 1, 1), (1, 1, 1, 1, 1),
                                           (0, 0, 0.03, 0.06, 0.06), (0, 0, 0.06, 0.17, 0.17)),
    }
    return [PaperValue("fig10", panel, f"overlap{overlap}-use{use}", criterion, None, float(value), 36)
            for (panel, criterion), rows in panels.items()
            for overlap, row in enumerate(rows) for use, value in zip((1, 2, 4, 6, 8), row)]


def _fig12() -> list[PaperValue]:
    values = []
    # 12a: the X used is not stated; X = 8 (use 4) matches the output bars (spec section 10).
    for criterion, rates in ((HIERARCHICAL_INPUTS, (1.0, 1.0, 1.0)), (HIERARCHICAL_INTERMEDIATE, (1.0, 0.92, 1.0)),
                             (HIERARCHICAL_OUTPUTS, (0.0, 0.92, 0.92))):
        values += [PaperValue("fig12", "fig12a", "hierarchical-use4", criterion, depth, value, 12)
                   for depth, value in zip((2, 3, 4), rates)]
    rates = {2: (1, 1, 1, 0.83), 3: (0.5, 0.83, 1, 1), 4: (0.75, 0.92, 1, 1)}
    values += [PaperValue("fig12", "fig12b", f"hierarchical-use{use}", HIERARCHICAL_EXACT, depth, float(value), 12)
               for depth, row in rates.items() for use, value in zip((2, 4, 6, 8), row)]
    return values


PAPER_VALUES: tuple[PaperValue, ...] = tuple(_fig7() + _fig8() + _fig10() + _fig12())


def paper_values(figure: str) -> list[PaperValue]:
    """The paper's values for one figure key (empty for figures without reported rates)."""
    return [v for v in PAPER_VALUES if v.figure == figure]


def panels(figure: str) -> list[Panel]:
    """The panels of one figure key."""
    return [p for p in PANELS if p.figure == figure]
