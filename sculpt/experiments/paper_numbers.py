"""The paper's success rates (spec neural_sculpting.md section 10) as data, for the reports.

Each :class:`PaperValue` is one bar or heat-map cell: the success rate the paper reports for
``criterion`` on ``graph`` with networks of ``hidden_layers`` hidden layers (``None``: all depths
pooled, as in Figure 10). Criterion names are the keys of the ``score`` of a trial record (:func:`sculpt.score.compare`'s criteria plus ``inputs_split`` and
``outputs_split``). :data:`PANELS` says how each figure is laid out.

Tables 2-3 (appendix H.2) are cells of an lr x batch-size grid per graph and depth
(:data:`TABLES_2_3`, read from the paper's text; ``X`` marks a setting where some seed's dense
network never reached 100 % validation accuracy within 120 epochs, ``None`` a value the PDF's
text extraction lost). A :class:`PaperValue` whose ``value`` is None carries no number to
compare with (its ``mark`` says why).

:func:`load_paper_code_rates` reads the optional rates of the paper's own code run from scratch
(``docs/fidelity/paper_code_rates.json``, written by the fidelity work) for the reports' extra column.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# Criterion names (sculpt.score.CRITERIA keys) the experiment files list for each figure.
INPUT_SEPARABLE = "input_separable_success"
REUSED = "reused_success"
SEPARABLE_REUSED = "separable_reused_success"
NON_MODULAR = "non_modular_success"
OVERLAP_INPUTS = "overlap_input_separability"
OVERLAP_OUTPUTS = "overlap_output_subfunctions"
OVERLAP_HIDDEN = "overlap_hidden_separability"
# Figure 12a: the paper judged these by eye; inputs/outputs use the generic split tests recorded
# for every trial, the intermediate bar sculpt.score.single_intermediate_module.
HIERARCHICAL_INPUTS = "inputs_split"
HIERARCHICAL_INTERMEDIATE = "hierarchical_intermediate"
HIERARCHICAL_OUTPUTS = "outputs_split"
HIERARCHICAL_EXACT = "hierarchical_exact"
REUSED_FOR_DEPTH = "reused_depth_success"

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
    value : float or None
        Success rate in [0, 1]; None when the paper gives no number (see ``mark``).
    trials : int
        Trials behind the value in the paper.
    lr, batch_size : float and int, or None
        The cell of Tables 2-3 (None elsewhere).
    mark : str
        Why ``value`` is None: ``"X"`` (Tables 2-3: no epoch count up to 120 trains all seeds),
        ``"unreadable"`` (lost in the PDF's text) or ``"not stated"`` (Figure 12a at X != 8).
    """

    figure: str
    panel: str
    graph: str
    criterion: str
    hidden_layers: int | None
    value: float | None
    trials: int
    lr: float | None = None
    batch_size: int | None = None
    mark: str = ""

    @property
    def key(self) -> tuple:
        """(figure, graph, criterion, hidden_layers, lr, batch_size): what a measured rate is matched on."""
        return (self.figure, self.graph, self.criterion, self.hidden_layers, self.lr, self.batch_size)


@dataclass(frozen=True)
class Panel:
    """Layout of one figure panel.

    Attributes
    ----------
    figure, key, title : str
    style : {"bars", "heatmap", "lrbatch"}
        Bars: one group per ``group_by`` value, one bar per depth. Heat map: rows = overlap,
        columns = use. lrbatch: one table per depth, rows = batch size, columns = lr.
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
    Panel("fig12", "fig12a", "Figure 12a: sub-function detection, hierarchical graph (paper: X = 8; ours at X = 4, 8, 12, 16)",
          "bars", "criterion"),
    Panel("fig12", "fig12b", "Figure 12b: exact structure for the NN depth", "bars", "use"),
    Panel("tables2_3", "table2a", "Table 2a: input-separable graph, lr x batch size", "lrbatch"),
    Panel("tables2_3", "table2b", "Table 2b: reused graph, lr x batch size", "lrbatch"),
    Panel("tables2_3", "table3a", "Table 3a: separable-reused graph, lr x batch size", "lrbatch"),
    Panel("tables2_3", "table3b", "Table 3b: non-modular graph, lr x batch size", "lrbatch"),
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


FIG12A_USE = 4  # X = 8: the only X whose stored networks give all nine 12a bars (tests/test_detect_figures.py)


def _fig12() -> list[PaperValue]:
    values = []
    # 12a: the X used is not stated; ours is reported at every X, the paper's values sit at X = 8.
    for criterion, rates in ((HIERARCHICAL_INPUTS, (1.0, 1.0, 1.0)), (HIERARCHICAL_INTERMEDIATE, (1.0, 0.92, 1.0)),
                             (HIERARCHICAL_OUTPUTS, (0.0, 0.92, 0.92))):
        for use in (2, 4, 6, 8):
            values += [PaperValue("fig12", "fig12a", f"hierarchical-use{use}", criterion, depth,
                                  value if use == FIG12A_USE else None, 12,
                                  mark="" if use == FIG12A_USE else "not stated")
                       for depth, value in zip((2, 3, 4), rates)]
    rates = {2: (1, 1, 1, 0.83), 3: (0.5, 0.83, 1, 1), 4: (0.75, 0.92, 1, 1)}
    values += [PaperValue("fig12", "fig12b", f"hierarchical-use{use}", HIERARCHICAL_EXACT, depth, float(value), 12)
               for depth, row in rates.items() for use, value in zip((2, 4, 6, 8), row)]
    return values


TABLES_LR = (0.005, 0.01, 0.05, 0.1)
# Appendix H.2: {graph: (panel, criterion, batch sizes, {hidden layers: rows per batch size of
# values per lr})}. Read from papers/neural_sculpting.txt; Table 3 is partly garbled there (one
# cell lost: None). Rates are of 4 seeds (0, 1, 2, 5) at width 24.
TABLES_2_3 = {
    "input-separable": ("table2a", INPUT_SEPARABLE, (1, 2, 4, 8, 16), {
        1: ((1.0, "X", 1.0, "X"), (1.0, 1.0, 1.0, 1.0), (1.0, 1.0, 1.0, 1.0), (1.0, 1.0, 1.0, 1.0), ("X", 1.0, 1.0, 1.0)),
        2: ((1.0, 1.0, 1.0, "X"), (1.0, 1.0, 1.0, "X"), (1.0, 1.0, 1.0, 1.0), (1.0, 1.0, 1.0, 1.0), (1.0, 1.0, 1.0, 1.0)),
        3: ((1.0, 1.0, "X", "X"), (1.0, 1.0, "X", "X"), (1.0, 1.0, 1.0, "X"), (1.0, 1.0, 1.0, "X"), (1.0, 1.0, 1.0, 1.0))}),
    # The 1-hidden-layer rates are non-zero where Figure 7 gives 0: the tables count the structure
    # the depth allows (one module at 1 hidden layer; sculpt.score.reused_depth_success).
    "reused": ("table2b", REUSED_FOR_DEPTH, (1, 2, 4, 8, 16), {
        1: ((0.5, 0.5, 1.0, 1.0), (0.5, 0.5, 1.0, 1.0), (0.5, 1.0, 1.0, 1.0), ("X", 0.5, 0.75, 1.0), ("X", "X", 1.0, 1.0)),
        2: ((0.25, 0.25, 0.5, "X"), (0.5, 0.0, 0.75, 1.0), (0.0, 0.25, 1.0, 1.0), (0.25, 0.0, 0.5, 1.0), ("X", 0.25, 0.75, 0.5)),
        3: ((0.25, 0.5, "X", "X"), (0.25, 0.5, "X", "X"), (0.5, 0.5, 0.75, "X"), (0.25, 0.25, 0.75, 1.0), ("X", "X", 0.75, 1.0))}),
    "separable-reused": ("table3a", SEPARABLE_REUSED, (1, 2, 4, 8, 16, 32, 64), {
        1: ((0.75, 1.0, 1.0, "X"), (0.75, 0.75, 1.0, 1.0), (0.75, 0.5, 1.0, 1.0), (0.5, 0.75, 1.0, 1.0),
            (0.75, 1.0, 1.0, 1.0), (0.75, 1.0, 1.0, 1.0), ("X", 0.75, 1.0, 1.0)),
        2: ((0.75, 1.0, 0.25, "X"), (1.0, 1.0, 0.25, "X"), (0.75, 1.0, 0.0, "X"), (1.0, 1.0, 1.0, "X"),
            (1.0, 1.0, 1.0, 0.25), (1.0, 1.0, 1.0, 0.5), (1.0, 0.75, 1.0, 1.0)),
        3: ((1.0, 1.0, None, "X"), (0.75, 1.0, "X", "X"), (1.0, 0.75, 0.5, "X"), (0.75, 1.0, 0.5, 0.25),
            (0.75, 0.75, 0.75, 0.25), (0.5, 0.75, 1.0, 0.5), (0.5, 0.75, 1.0, 0.5))}),
    "non-modular": ("table3b", NON_MODULAR, (1, 2, 4, 8, 16), {
        1: ((1.0, 1.0, 1.0, 1.0), (1.0, 1.0, 1.0, 1.0), (1.0, 1.0, 1.0, 1.0), ("X", 1.0, 1.0, 1.0), ("X", "X", 1.0, 1.0)),
        2: ((1.0, 1.0, 1.0, "X"), (0.75, 0.75, 1.0, 1.0), (1.0, 0.75, 1.0, 1.0), (0.75, 1.0, 1.0, 1.0), (1.0, 1.0, 1.0, 1.0)),
        3: ((0.25, 1.0, 1.0, "X"), (0.5, 0.75, 0.5, "X"), (0.75, 1.0, 1.0, "X"), (1.0, 1.0, 1.0, 1.0), (1.0, 0.75, 0.75, 1.0))}),
}


def _tables_2_3() -> list[PaperValue]:
    values = []
    for graph, (panel, criterion, sizes, depths) in TABLES_2_3.items():
        for depth, rows in depths.items():
            for size, row in zip(sizes, rows):
                for lr, cell in zip(TABLES_LR, row):
                    number = cell if isinstance(cell, float) else None
                    mark = "" if number is not None else ("X" if cell == "X" else "unreadable")
                    values.append(PaperValue("tables2_3", panel, graph, criterion, depth, number, 4,
                                             lr=lr, batch_size=size, mark=mark))
    return values


PAPER_VALUES: tuple[PaperValue, ...] = tuple(_fig7() + _fig8() + _fig10() + _fig12() + _tables_2_3())


def load_paper_code_rates(path: str | Path | None) -> dict[tuple, dict]:
    """Rates of the paper's own code run from scratch, by :attr:`PaperValue.key`.

    The file (JSON) holds ``{"rates": [{"figure", "graph", "criterion", "hidden_layers",
    "successes", "trials", optional "lr", "batch_size", "note"}, ...]}``. A missing file (or None)
    gives an empty mapping: the column is optional.

    Raises
    ------
    sculpt.errors.SnapshotError
        The file exists but is not such a document (the message names the file and entry).
    """
    from sculpt.errors import SnapshotError

    from sculpt.json_input import read_json_file

    if path is None or not os.path.lexists(path):
        return {}
    document = read_json_file(path, lambda message: SnapshotError(f"{message} (expected paper-code rates)"))
    entries = document.get("rates") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise SnapshotError(f"{path}: expected an object with a 'rates' list")
    out = {}
    for number, entry in enumerate(entries, start=1):
        try:
            k, n = entry["successes"], entry["trials"]
            if not (isinstance(k, int) and isinstance(n, int) and 0 <= k <= n and n >= 1):
                raise ValueError
            key = (str(entry["figure"]), str(entry["graph"]), str(entry["criterion"]), entry["hidden_layers"],
                   entry.get("lr"), entry.get("batch_size"))
        except (KeyError, TypeError, ValueError):
            raise SnapshotError(f"{path}: rates entry {number} needs figure, graph, criterion, hidden_layers "
                                "and integer successes <= trials (>= 1)") from None
        out[key] = {"successes": k, "trials": n, "note": str(entry.get("note", ""))}
    return out


def paper_values(figure: str) -> list[PaperValue]:
    """The paper's values for one figure key (empty for figures without reported rates)."""
    return [v for v in PAPER_VALUES if v.figure == figure]


def panels(figure: str) -> list[Panel]:
    """The panels of one figure key."""
    return [p for p in PANELS if p.figure == figure]
