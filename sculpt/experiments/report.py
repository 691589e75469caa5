"""Success-rate tables and figures from a records file, next to the paper's numbers.

``build_report(records, out_dir)`` writes ``index.md`` (tables + figures), one PNG and one SVG per
figure panel (bars per depth for Figures 7, 8 and 12, heat maps for Figure 10), and
``summary.json`` with every success rate, so the numbers can be checked by a program too.
"""
from __future__ import annotations

import json
import math
import os
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from sculpt.atomic import write_text_atomic
from sculpt.errors import SnapshotError
from sculpt.experiments import paper_numbers
from sculpt.experiments.records import read_records


@dataclass(frozen=True)
class Rate:
    """Successes out of trials for one (graph, criterion, depth) group."""

    successes: int
    trials: int

    @property
    def value(self) -> float:
        return self.successes / self.trials if self.trials else math.nan


def latest_records(path: str | Path) -> tuple[list[dict], list[dict], str]:
    """Successful records (the last one per trial id), failed records, and a torn-tail note.

    Parameters
    ----------
    path : path-like
        A records file written by :func:`sculpt.experiments.runner.run_grid`.

    Returns
    -------
    ok : list of dict
    failed : list of dict
        Trials whose only records are errors.
    note : str
        Non-empty when the file ends with an incomplete line.
    """
    found = read_records(path)
    if not found.records and found.torn_tail is None and not Path(path).exists():
        raise SnapshotError(f"records file {path} does not exist")
    ok: dict[str, dict] = {}
    failed: dict[str, dict] = {}
    for record in found.records:
        if "trial_id" not in record or "status" not in record:
            raise SnapshotError(f"{path}: a line is not a trial record (no trial_id/status)")
        if record["status"] == "ok":
            ok[record["trial_id"]] = record
            failed.pop(record["trial_id"], None)
        elif record["trial_id"] not in ok:
            failed[record["trial_id"]] = record
    return list(ok.values()), list(failed.values()), found.describe_torn_tail(path)


def hidden_layers(record: dict) -> int:
    """Number of hidden layers of a record's network."""
    return len(record["config"]["arch"])


def success_rates(records: Iterable[dict], pooled: bool = False) -> dict[tuple, Rate]:
    """Success rate of every criterion per (graph, criterion, depth).

    Parameters
    ----------
    records : iterable of dict
        Successful trial records.
    pooled : bool
        Pool all depths: keys become (graph, criterion, None).

    Returns
    -------
    dict mapping (graph, criterion, hidden_layers or None) to Rate
    """
    counts: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for record in records:
        for criterion, success in (record.get("score") or {}).items():
            key = (record["config"].get("graph"), criterion, None if pooled else hidden_layers(record))
            counts[key][0] += bool(success)
            counts[key][1] += 1
    return {key: Rate(*value) for key, value in counts.items()}


def build_report(records_path: str | Path, out_dir: str | Path) -> Path:
    """Write the report of a records file.

    Parameters
    ----------
    records_path : path-like
    out_dir : path-like
        Created if needed; receives ``index.md``, ``summary.json`` and the figures.

    Returns
    -------
    Path
        The ``index.md`` written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ok, failed, note = latest_records(records_path)
    lines = [f"# Report: {Path(records_path).name}", ""]
    experiments = sorted({r.get("experiment", "") for r in ok + failed})
    lines.append(f"- experiments: {', '.join(e or '(unnamed)' for e in experiments) or 'none'}")
    lines.append(f"- finished trials: {len(ok)}; failed trials: {len(failed)}")
    wall = sum((r.get("timings") or {}).get("wall_s", 0.0) for r in ok)
    lines.append(f"- summed trial time: {wall:.1f} s (CPU-seconds of the workers, not wall clock)")
    if note:
        lines.append(f"- note: {note}")
    lines.append("")
    summary: dict = {"finished": len(ok), "failed": len(failed), "figures": {}}

    by_figure: dict[str, list[dict]] = defaultdict(list)
    for record in ok:
        by_figure[record.get("figure", "")].append(record)
    for figure in sorted(by_figure):
        records = by_figure[figure]
        lines += _figure_section(figure, records, out_dir, summary)
    if failed:
        lines += ["## Failed trials", "", "| trial | graph | error |", "|---|---|---|"]
        for record in failed[:50]:
            lines.append(f"| {record['trial_id']} | {record['config'].get('graph', '')} | "
                         f"{_cell(record.get('error', ''))} |")
        lines.append("")
    write_text_atomic(out_dir / "summary.json", json.dumps(summary, indent=2, sort_keys=True) + "\n")
    index = out_dir / "index.md"
    write_text_atomic(index, "\n".join(lines) + "\n")
    return index


# ------------------------------------------------------------------------------------ sections
def _figure_section(figure: str, records: list[dict], out_dir: Path, summary: dict) -> list[str]:
    lines = [f"## {figure or 'Trials without a figure'} ({len(records)} trials)", ""]
    panels = paper_numbers.panels(figure)
    figure_summary: dict = {}
    for panel in panels:
        lines += _panel_section(panel, records, out_dir, figure_summary)
    if figure == "tables2_3":
        lines += _lr_batch_tables(records, figure_summary)
    if figure == "section2":
        lines += _section2_tables(records, out_dir, figure_summary)
    lines += _generic_table(records, figure_summary)
    lines += _diagrams(records, out_dir)
    summary["figures"][figure] = figure_summary
    return lines


DIAGRAMS_PER_FIGURE = 6
# Recorded for every trial; not a figure's own criterion, so they do not decide "success" here.
GENERIC_SPLITS = ("inputs_split", "outputs_split")


def _diagrams(records: list[dict], out_dir: Path) -> list[str]:
    """Drawings of a few trials: per graph, the first success and the first failure."""
    from sculpt.experiments.trial import masks_from_edges
    from sculpt.render.graphviz_io import save_graph
    from sculpt.render.network import draw_network

    drawable = [r for r in records if r.get("network") and isinstance(r.get("modules"), dict)]
    chosen: dict[tuple, dict] = {}
    for r in sorted(drawable, key=lambda r: (r["config"].get("graph", ""), hidden_layers(r), r["trial_id"])):
        named = {k: v for k, v in (r.get("score") or {}).items() if k not in GENERIC_SPLITS}
        success = all(named.values()) if named else None
        chosen.setdefault((r["config"].get("graph"), success), r)
    picked = list(chosen.values())[:DIAGRAMS_PER_FIGURE]
    if not picked:
        return []
    lines = ["### Detected modules of a few trials", ""]
    (out_dir / "trials").mkdir(exist_ok=True)
    for r in picked:
        config = r["config"]
        masks = masks_from_edges(r["network"])
        passed = [k for k, v in (r.get("score") or {}).items() if v]
        failed = [k for k, v in (r.get("score") or {}).items() if not v]
        title = f"{config.get('graph')} arch {r['network']['arch']} seed {config.get('seed')}"
        subtitle = (f"density {100 * r['densities'].get('weights', float('nan')):.2f} %, "
                    f"{len(r['modules'].get('modules', []))} modules")
        dot = draw_network(masks, r["modules"].get("modules", []), units=r["modules"].get("surviving_units"),
                           title=title, subtitle=subtitle)
        paths, note = save_graph(dot, out_dir / "trials" / r["trial_id"], formats=("svg",))
        picture = next((p for p in paths if str(p).endswith(".svg")), None)
        lines.append(f"**{title}** (trial `{r['trial_id']}`): passed {', '.join(passed) or 'none'}; "
                     f"failed {', '.join(failed) or 'none'}")
        lines.append("")
        lines.append(f"![{title}](trials/{Path(picture).name})" if picture else f"(not drawn: {note})")
        lines.append("")
    return lines


def _panel_section(panel: paper_numbers.Panel, records: list[dict], out_dir: Path,
                   figure_summary: dict) -> list[str]:
    values = [v for v in paper_numbers.paper_values(panel.figure) if v.panel == panel.key]
    per_depth = success_rates(records)
    pooled = success_rates(records, pooled=True)
    rows = []
    for v in values:
        rate = (pooled if v.hidden_layers is None else per_depth).get((v.graph, v.criterion, v.hidden_layers))
        rows.append((v, rate))
    measured = [(v, r) for v, r in rows if r is not None]
    if not measured:
        return []
    lines = [f"### {panel.title}", ""]
    stem = out_dir / panel.key
    if panel.style == "heatmap":
        _plot_heatmap(panel, rows, stem)
    else:
        _plot_bars(panel, rows, stem)
    lines += [f"![{panel.title}]({panel.key}.png)", "",
              "| graph | criterion | hidden layers | measured | trials | paper | difference |",
              "|---|---|---|---|---|---|---|"]
    entries = []
    for v, rate in rows:
        if rate is None:
            continue
        diff = rate.value - v.value
        flag = " **>0.15**" if abs(diff) > 0.15 + 1e-9 else ""
        depth = "all" if v.hidden_layers is None else str(v.hidden_layers)
        lines.append(f"| {v.graph} | {v.criterion} | {depth} | {rate.value:.2f} | {rate.trials} | "
                     f"{v.value:.2f} | {diff:+.2f}{flag} |")
        entries.append({"graph": v.graph, "criterion": v.criterion, "hidden_layers": v.hidden_layers,
                        "measured": rate.value, "successes": rate.successes, "trials": rate.trials,
                        "paper": v.value})
    within = sum(abs(e["measured"] - e["paper"]) <= 0.15 + 1e-9 for e in entries)
    lines += ["", f"{within} of {len(entries)} values within 0.15 of the paper.", ""]
    figure_summary[panel.key] = entries
    return lines


def _generic_table(records: list[dict], figure_summary: dict) -> list[str]:
    rates = success_rates(records)
    if not rates:
        return []
    densities = defaultdict(list)
    for record in records:
        weights = (record.get("densities") or {}).get("weights")
        if weights is not None:
            densities[(record["config"].get("graph"), hidden_layers(record))].append(weights)
    lines = ["### All criteria per graph and depth", "",
             "| graph | hidden layers | criterion | success | trials | mean density |", "|---|---|---|---|---|---|"]
    for (graph, criterion, depth), rate in sorted(rates.items(), key=lambda kv: (str(kv[0][0]), kv[0][2], kv[0][1])):
        dens = densities.get((graph, depth))
        mean_density = f"{100 * sum(dens) / len(dens):.2f} %" if dens else ""
        lines.append(f"| {graph} | {depth} | {criterion} | {rate.value:.2f} | {rate.trials} | {mean_density} |")
    figure_summary["all"] = [{"graph": g, "criterion": c, "hidden_layers": d, "successes": r.successes,
                              "trials": r.trials} for (g, c, d), r in sorted(rates.items(), key=str)]
    lines.append("")
    return lines


def _lr_batch_tables(records: list[dict], figure_summary: dict) -> list[str]:
    counts: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for record in records:
        config = record["config"]
        for criterion, success in (record.get("score") or {}).items():
            key = (config["graph"], criterion, config["lr"], config["batch_size"])
            counts[key][0] += bool(success)
            counts[key][1] += 1
    lines = []
    for graph, criterion in sorted({(k[0], k[1]) for k in counts}):
        lrs = sorted({k[2] for k in counts if k[:2] == (graph, criterion)})
        sizes = sorted({k[3] for k in counts if k[:2] == (graph, criterion)})
        lines += [f"### Tables 2-3: {graph}, {criterion} (rows: learning rate, columns: batch size)", "",
                  "| lr | " + " | ".join(str(s) for s in sizes) + " |", "|---" * (len(sizes) + 1) + "|"]
        for lr in lrs:
            cells = []
            for size in sizes:
                s, n = counts.get((graph, criterion, lr, size), (0, 0))
                cells.append(f"{s / n:.2f} ({n})" if n else "")
            lines.append(f"| {lr:g} | " + " | ".join(cells) + " |")
        lines.append("")
    figure_summary["lr_batch"] = [{"graph": k[0], "criterion": k[1], "lr": k[2], "batch_size": k[3],
                                   "successes": v[0], "trials": v[1]} for k, v in sorted(counts.items(), key=str)]
    return lines


def _section2_tables(records: list[dict], out_dir: Path, figure_summary: dict) -> list[str]:
    lines = []
    tests = [r for r in records if "path_products" in r.get("metrics", {})]
    if tests:
        lines += ["### Table 1: one-sided Welch t-tests on path edge-weight products", "",
                  "| stage | arch | seed | p-values per sub-function | separable (all p < alpha) |",
                  "|---|---|---|---|---|"]
        for r in sorted(tests, key=lambda r: (r["config"]["stage"], r["config"]["arch"], r["config"]["seed"])):
            result = r["metrics"]["path_products"]
            pvalues = ", ".join(f"{t['p_value']:.3g}" for t in result["tests"])
            lines.append(f"| {r['config']['stage']} | {r['config']['arch']} | {r['config']['seed']} | {pvalues} | "
                         f"{'yes' if result['separable'] else 'no'} |")
        lines.append("")
    n90s = [r for r in records if "n90" in r.get("metrics", {})]
    if n90s:
        grouped: dict[tuple, list[list[int]]] = defaultdict(list)
        for r in n90s:
            grouped[(r["config"]["stage"], r["config"]["arch"][0], len(r["config"]["arch"]))].append(r["metrics"]["n90"])
        lines += ["### Figures 2b/4b: N90 per hidden layer (mean over seeds)", "",
                  "| stage | width | hidden layers | N90 per layer | seeds |", "|---|---|---|---|---|"]
        summary = []
        for (stage, width, depth), values in sorted(grouped.items()):
            means = [sum(v[l] for v in values) / len(values) for l in range(depth)]
            lines.append(f"| {stage} | {width} | {depth} | {', '.join(f'{m:.1f}' for m in means)} | {len(values)} |")
            summary.append({"stage": stage, "width": width, "n90_mean": means, "seeds": len(values)})
        lines.append("")
        _plot_n90(summary, out_dir / "n90")
        lines += ["![N90 per width](n90.png)", ""]
        figure_summary["n90"] = summary
    return lines


# ------------------------------------------------------------------------------------ figures
def _use_of(graph: str) -> int | None:
    match = re.search(r"use(\d+)$", graph)
    return int(match.group(1)) if match else None


def _overlap_of(graph: str) -> int | None:
    match = re.match(r"overlap(\d+)-", graph)
    return int(match.group(1)) if match else None


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _plot_bars(panel: paper_numbers.Panel, rows, stem: Path) -> None:
    plt = _pyplot()
    rows = [(v, rate) for v, rate in rows if rate is not None]  # a partial grid draws what it ran
    def group_of(v):
        if panel.group_by == "use":
            return f"use {_use_of(v.graph)}"
        if panel.group_by == "criterion":
            return v.criterion.replace("hierarchical_", "")
        return v.graph
    groups = list(dict.fromkeys(group_of(v) for v, _ in rows))
    depths = sorted({v.hidden_layers for v, _ in rows})
    width = 0.8 / max(len(depths), 1)
    fig, ax = plt.subplots(figsize=(max(6, 2.0 * len(groups)), 3.6))
    colours = plt.get_cmap("viridis")
    for d_index, depth in enumerate(depths):
        xs, measured, paper = [], [], []
        for v, rate in rows:
            if v.hidden_layers != depth:
                continue
            x = groups.index(group_of(v)) + (d_index - (len(depths) - 1) / 2) * width
            xs.append(x)
            measured.append(rate.value if rate else math.nan)
            paper.append(v.value)
        colour = colours(min(depth - 1, 3) / 3 * 0.85)  # the same colour for a depth in every figure
        ax.bar(xs, measured, width=width * 0.95, color=colour, label=f"{depth} hidden layer{'s' if depth != 1 else ''}")
        ax.scatter(xs, paper, marker="_", s=260, color="black", zorder=3,
                   label="paper" if d_index == 0 else None)
    ax.set_xticks(range(len(groups)), groups)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("success rate")
    ax.set_title(panel.title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    _save_figure(fig, stem)
    plt.close(fig)


def _plot_heatmap(panel: paper_numbers.Panel, rows, stem: Path) -> None:
    plt = _pyplot()
    import numpy as np

    overlaps = sorted({_overlap_of(v.graph) for v, _ in rows})
    uses = sorted({_use_of(v.graph) for v, _ in rows})
    grid = np.full((len(overlaps), len(uses)), np.nan)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for v, rate in rows:
        i, j = overlaps.index(_overlap_of(v.graph)), uses.index(_use_of(v.graph))
        if rate is not None:
            grid[i, j] = rate.value
        text = (f"{rate.value:.2f}" if rate else "-") + f"\n(paper {v.value:.2f})"
        ax.text(j, i, text, ha="center", va="center", fontsize=7,
                color="white" if rate is not None and rate.value < 0.5 else "black")
    image = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis")
    ax.set_xticks(range(len(uses)), [str(u) for u in uses])
    ax.set_yticks(range(len(overlaps)), [str(o) for o in overlaps])
    ax.set_xlabel("use")
    ax.set_ylabel("input overlap")
    ax.set_title(panel.title, fontsize=10)
    fig.colorbar(image, ax=ax, label="success rate")
    fig.tight_layout()
    _save_figure(fig, stem)
    plt.close(fig)


def _plot_n90(summary: list[dict], stem: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    stages = sorted({s["stage"] for s in summary})
    for stage in stages:
        entries = sorted((s for s in summary if s["stage"] == stage), key=lambda s: s["width"])
        depth = max(len(s["n90_mean"]) for s in entries)
        for layer in range(depth):
            points = [(s["width"], s["n90_mean"][layer]) for s in entries if len(s["n90_mean"]) > layer]
            ax.plot(*zip(*points), marker="o", label=f"{stage}, hidden layer {layer + 1}")
    ax.set_xlabel("width")
    ax.set_ylabel("N90")
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save_figure(fig, stem)
    plt.close(fig)


def _save_figure(fig, stem: Path) -> None:
    for suffix in (".png", ".svg"):
        target = stem.with_suffix(suffix)
        tmp = target.with_name(target.name + ".part")
        # metadata without dates keeps the SVG byte-stable between runs.
        fig.savefig(tmp, format=suffix[1:], dpi=120, metadata={"Date": None} if suffix == ".svg" else None)
        os.replace(tmp, target)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")[:200]


