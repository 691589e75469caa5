"""The MNIST studies' report (``docs/mnist/``): rates with 95 % intervals next to the paper, and drawings.

Reads the records ``sculpt grid`` writes for ``examples/experiments/mnist_two_digits.toml`` and
``mnist_hierarchical.toml`` (``config.graph``, ``config.arch``, ``score.two_digits_success``, the
Figure 13b criteria ``score.fig13b_*``, ``metrics.accuracy``, ``densities.weights``,
``timings.total_s`` and ``modules``) and writes

* ``report.md``: per task and depth, successes k of n, the rate, its 95 % Wilson interval
  (:func:`sculpt.stats.wilson_interval`), the paper's value and whether it is inside
  (:func:`sculpt.stats.consistent`); per architecture, the mean per-digit (two digits) or
  exact-row (hierarchical) test accuracy, the density reached and the time per trial;
* ``modules_<task>.png``: for a few networks, the 28 x 56 pixel map of the two images coloured by
  the module each surviving pixel belongs to (pruned pixels white), as in the paper's Figures
  32-33.

Examples
--------
>>> rec = {"status": "ok", "trial_id": "t", "config": {"graph": "mnist-two-digits", "arch": [392, 392]},
...        "score": {"two_digits_success": True}}
>>> [(r.hidden_layers, r.successes, r.trials, r.paper) for r in rate_rows([rec])]
[(2, 1, 1, None), (None, 1, 1, 0.9167)]

References
----------
.. [1] Patil, Michael, Dovrolis, "Neural Sculpting", NeurIPS 2023: section 5.5, Figure 13b and
   appendix F (Figures 32-33).
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from sculpt.errors import SnapshotError
from sculpt.stats import consistent, wilson_interval

IMAGE_SHAPE = (28, 56)  # two 28 x 28 digits side by side, flattened row-major
TWO_DIGITS, HIERARCHICAL = "mnist-two-digits", "mnist-hierarchical"

# (graph, criterion, hidden layers or None = all depths pooled) -> (paper rate, trials behind it).
# Section 5.5: 33 of 36 over widths x depths x seeds. Figure 13b: 12 trials per depth; the
# middle-layer bars are drawn at about 0.02, below the 1/12 resolution, so read as 0.
PAPER = {
    (TWO_DIGITS, "two_digits_success", None): (round(33 / 36, 4), 36),
    **{(HIERARCHICAL, "fig13b_input_separability", d): (v, 12) for d, v in zip((2, 3, 4, 5), (0.0, 0.0, 1.0, 1.0))},
    **{(HIERARCHICAL, "fig13b_output_modules", d): (v, 12) for d, v in zip((2, 3, 4, 5), (1.0, 1.0, 0.83, 0.92))},
    **{(HIERARCHICAL, "fig13b_middle_separability", d): (0.0, 12) for d in (2, 3, 4, 5)},
}
CRITERIA = {TWO_DIGITS: ("two_digits_success",),
            HIERARCHICAL: ("fig13b_input_separability", "fig13b_output_modules", "fig13b_middle_separability")}
ACCURACY = {TWO_DIGITS: "block", HIERARCHICAL: "row"}  # the accuracy a reader of the task cares about


@dataclass(frozen=True)
class RateRow:
    """One rate of the report: ``successes`` of ``trials`` for ``criterion`` at ``hidden_layers``."""

    graph: str
    criterion: str
    hidden_layers: int | None
    successes: int
    trials: int
    paper: float | None

    @property
    def rate(self) -> float:
        return self.successes / self.trials

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.successes, self.trials)

    @property
    def paper_inside(self) -> bool | None:
        return None if self.paper is None else consistent(self.paper, self.interval)


def ok_records(records: Iterable[dict], graphs: Sequence[str] = (TWO_DIGITS, HIERARCHICAL)) -> list[dict]:
    """The finished records of the MNIST tasks (failed trials are counted by :func:`write_report`)."""
    return [r for r in records if r.get("status") == "ok" and r.get("config", {}).get("graph") in graphs]


def _depth(record: dict) -> int:
    return len(record["config"]["arch"])


def rate_rows(records: Iterable[dict]) -> list[RateRow]:
    """Success counts per task, criterion and depth, plus the two-digit rate pooled over depths.

    A record without a criterion (written by an older sculpt) is left out of that criterion's
    count rather than counted as a failure.
    """
    counts: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for record in ok_records(records):
        graph = record["config"]["graph"]
        for criterion in CRITERIA[graph]:
            value = (record.get("score") or {}).get(criterion)
            if value is None:
                continue
            keys = [(graph, criterion, _depth(record))]
            if graph == TWO_DIGITS:
                keys.append((graph, criterion, None))
            for key in keys:
                counts[key][0] += bool(value)
                counts[key][1] += 1
    order = sorted(counts, key=lambda k: (k[0], CRITERIA[k[0]].index(k[1]), k[2] is None, k[2] or 0))
    return [RateRow(g, c, d, k, n, PAPER.get((g, c, d), (None, 0))[0]) for (g, c, d), (k, n) in
            ((key, counts[key]) for key in order)]


@dataclass(frozen=True)
class CellRow:
    """Means over the seeds of one architecture: test accuracy, density and time per trial."""

    graph: str
    arch: tuple[int, ...]
    trials: int
    accuracy: float
    density: float
    seconds: float


def cell_rows(records: Iterable[dict]) -> list[CellRow]:
    """Per architecture: mean test accuracy (per digit / exact row), weight density, seconds per trial."""
    cells: dict[tuple, list[dict]] = defaultdict(list)
    for record in ok_records(records):
        cells[(record["config"]["graph"], tuple(record["config"]["arch"]))].append(record)

    def mean(values):
        values = [float(v) for v in values if v is not None]
        return float(np.mean(values)) if values else math.nan

    rows = []
    for (graph, arch), recs in sorted(cells.items(), key=lambda kv: (kv[0][0], len(kv[0][1]), kv[0][1])):
        accuracy = mean(((r.get("metrics") or {}).get("accuracy") or {}).get(ACCURACY[graph]) for r in recs)
        density = mean((r.get("densities") or {}).get("weights") for r in recs)
        seconds = mean((r.get("timings") or {}).get("total_s") for r in recs)
        rows.append(CellRow(graph, arch, len(recs), accuracy, density, seconds))
    return rows


def pixel_modules(modules: dict, shape: tuple[int, int] = IMAGE_SHAPE, where: str = "modules") -> np.ndarray:
    """Module id of every input pixel (-1 where the pixel kept no edge), as a ``shape`` image.

    Parameters
    ----------
    modules : dict
        A record's ``modules`` (:meth:`sculpt.detect.Detection.to_dict`): its first layer lists the
        surviving input units and their module ids after merging.
    shape : (int, int)
    where : str
        Prefix of the error message (e.g. ``records.jsonl:4: modules``).

    Examples
    --------
    >>> pixel_modules({"layers": [{"units": [0, 3], "labels_after_merge": [4, 7]}]}, (2, 2)).tolist()
    [[4, -1], [-1, 7]]
    """
    size = shape[0] * shape[1]
    try:
        layer = modules["layers"][0]
        units, labels = list(layer["units"]), list(layer["labels_after_merge"])
    except (KeyError, IndexError, TypeError):
        raise SnapshotError(f"{where}: needs layers[0] with 'units' and 'labels_after_merge'") from None
    if len(units) != len(labels) or not all(isinstance(u, int) and 0 <= u < size for u in units):
        raise SnapshotError(f"{where}: layers[0] must pair input units in 0..{size - 1} with module ids")
    image = np.full(size, -1, dtype=int)
    image[units] = labels
    return image.reshape(shape)


def draw_pixel_modules(records: Sequence[dict], path: str | Path, title: str = "") -> Path:
    """PNG of the pixel-module maps of ``records`` (one row each), as in the paper's Figures 32-33."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    palette = ListedColormap(["#ffffff"] + [plt.get_cmap("tab10")(i) for i in range(10)])
    fig, axes = plt.subplots(len(records), 1, figsize=(5.6, 2.9 * len(records)), squeeze=False)
    for ax, record in zip(axes[:, 0], records):
        image = pixel_modules(record["modules"])
        ids = sorted(set(image.ravel().tolist()) - {-1})
        # colour k = k-th module present (mod 10); white = pruned pixel
        shown = np.where(image < 0, 0, 1 + np.searchsorted(ids, image) % 10)
        ax.imshow(shown, cmap=palette, vmin=0, vmax=10, interpolation="nearest")
        ax.axvline(27.5, color="black", lw=0.8)
        cfg, score = record["config"], record.get("score") or {}
        passed = [c.replace("fig13b_", "") for c in CRITERIA.get(cfg["graph"], ()) if score.get(c)]
        density = (record.get("densities") or {}).get("weights")
        density_text = "" if density is None else f", density {100 * density:.2f} %"
        ax.set_title(f"{cfg['graph']} arch {cfg['arch']} seed {cfg.get('seed')}: {len(ids)} input module(s)"
                     f"{density_text}\npasses: {', '.join(passed) or 'none'}", fontsize=8)
        ax.set_xticks([]), ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _fmt(value: float, digits: int = 2) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def report_markdown(records: Sequence[dict]) -> str:
    """The text of ``report.md``."""
    failed = sum(1 for r in records if r.get("status") != "ok")
    lines = ["# MNIST studies: rates against the paper", "",
             f"{len(ok_records(records))} finished MNIST trials ({failed} failed records not counted). "
             "Rates carry 95 % Wilson intervals; 'inside' says whether the paper's value (rounded to "
             "2 decimals) lies in ours.", "",
             "| task | criterion | hidden layers | k / n | rate | 95 % interval | paper | paper inside |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rate_rows(records):
        lo, hi = row.interval
        inside = {None: "-", True: "yes", False: "no"}[row.paper_inside]
        depth = "all" if row.hidden_layers is None else str(row.hidden_layers)
        lines.append(f"| {row.graph} | {row.criterion} | {depth} | {row.successes} / {row.trials} | "
                     f"{row.rate:.2f} | [{lo:.2f}, {hi:.2f}] | {_fmt(row.paper)} | {inside} |")
    lines += ["", "| task | arch | trials | test accuracy (%) | density (%) | time per trial (s) |",
              "|---|---|---|---|---|---|"]
    for cell in cell_rows(records):
        kind = "per digit" if ACCURACY[cell.graph] == "block" else "exact row"
        lines.append(f"| {cell.graph} | {list(cell.arch)} | {cell.trials} | {_fmt(cell.accuracy)} ({kind}) | "
                     f"{_fmt(100 * cell.density, 3)} | {_fmt(cell.seconds, 0)} |")
    lines += ["", "Paper densities (Figures 32-33): 0.12 % for [1568, 784, 784, 20], 0.15 % for "
              "[1568, 784, 784, 3], 0.12 % for [1568, 784, 784, 784, 3].", ""]
    return "\n".join(lines)


def write_report(records_path: str | Path, out: str | Path, drawings_per_task: int = 3) -> list[Path]:
    """Write ``report.md`` and one ``modules_<task>.png`` per task present into ``out``.

    Every record is checked first (:func:`sculpt.experiments.report.check_record`), so a damaged
    file gives one :class:`SnapshotError` naming its line and nothing is written.

    Returns
    -------
    list of Path
        The files written.
    """
    from sculpt.experiments.records import read_records
    from sculpt.experiments.report import check_record

    records = read_records(records_path).records
    for number, record in enumerate(records, start=1):
        check_record(record, f"{Path(records_path).name}:{number}")
    mnist = ok_records(records)
    if not mnist:
        raise SnapshotError(f"{records_path}: no finished MNIST trial (config.graph {TWO_DIGITS} or {HIERARCHICAL})")
    for number, record in enumerate(records, start=1):  # refuse a broken one before writing anything
        if any(record is r for r in mnist):
            pixel_modules(record.get("modules") or {}, where=f"{Path(records_path).name}:{number}: modules")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "report.md"]
    written[0].write_text(report_markdown(records), encoding="utf-8")
    for graph in (TWO_DIGITS, HIERARCHICAL):
        chosen = _pick_drawings([r for r in mnist if r["config"]["graph"] == graph], drawings_per_task)
        if chosen:
            written.append(draw_pixel_modules(chosen, out / f"modules_{graph.removeprefix('mnist-')}.png",
                                              title="input pixels coloured by module (white: pruned)"))
    return written


def _pick_drawings(records: list[dict], n: int) -> list[dict]:
    """One network per depth, shallowest first, the sparsest of each (then seed order)."""
    by_depth: dict[int, list[dict]] = defaultdict(list)
    for record in records:
        by_depth[_depth(record)].append(record)
    picks = [min(recs, key=lambda r: ((r.get("densities") or {}).get("weights", 1.0), r["config"].get("seed", 0)))
             for _, recs in sorted(by_depth.items())]
    return picks[:n]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sculpt.experiments.mnist_report RECORDS.jsonl OUT_DIR``: write the report; 2 on bad input."""
    import argparse
    import sys

    from sculpt.errors import SculptError

    parser = argparse.ArgumentParser(prog="python -m sculpt.experiments.mnist_report",
                                     description="Rates, accuracies, densities and pixel-module drawings of "
                                                 "the MNIST studies from sculpt grid records.")
    parser.add_argument("records", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--drawings", type=int, default=3, help="networks drawn per task (default 3)")
    args = parser.parse_args(argv)
    try:
        written = write_report(args.records, args.out, args.drawings)
    except (SculptError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
