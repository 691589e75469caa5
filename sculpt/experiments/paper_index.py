"""``docs/paper/index.md``: every result of the paper next to ours, from the figure folders' reports.

Reads ``docs/<folder>/summary.json`` (written by :func:`sculpt.experiments.report.build_report`)
for every step of :data:`sculpt.experiments.reproduce.STEPS` and writes one table of every
paper value (:data:`sculpt.experiments.paper_numbers.PAPER_VALUES`) with our rate, its 95 % Wilson
interval and whether the paper's value lies in it; per figure the consistent / compared count
and a link to its report; and every bar outside our interval with what is known about it.
"""
from __future__ import annotations

import json
from pathlib import Path

from sculpt.atomic import write_text_atomic
from sculpt.experiments import paper_numbers
from sculpt.experiments.records import read_packed_records, read_records

INDEX = Path("paper") / "index.md"
# The figures the 90 % goal counts (Figure 12a's X is not stated; section 2 is qualitative).
GOAL_FIGURES = ("fig7", "fig8", "fig10", "fig12b", "tables2_3")
FIGURE_FOLDERS = {"fig7": "figure7", "fig8": "figure8", "fig10": "figure10", "fig12": "figure12",
                  "tables2_3": "tables2_3", "section2": "section2"}

# What was learned about bars that can fall outside our interval (cited, not measured here).
REUSE_GAP = ("the paper's own code run from scratch over the full grid (`replay=\"paper\"`, equal to the paper's "
             "code member for member on the 4 full grids run through both) misses the same bars as sculpt's default: "
             "Figure 7 reused 9/12 at 2 and 2/12 at 3 hidden layers, Figure 8 use-1 2/12 and use-2 7/12 at 2 (default: "
             "8/12, 4/12, 1/12, 5/12), while the authors' stored networks give the published bars under our detector. "
             "Training twice as long closes only the 2-hidden-layer reused cell; the likeliest remaining difference is "
             "the authors' GPU arithmetic, which could not be tested here")
HIERARCHY_GAP = ("our Figure 12 networks are as sparse as the authors' stored networks of the same cell and seed "
                 "(142 trials: median density ratio 1.000, 5-95 % 0.90-1.10), yet under the same detector 82 of them "
                 "show the exact hierarchy against 129 of the stored ones (`bench/fidelity/figure12_density.py`), "
                 "the gap growing with depth: as in the reuse gap, the same sparsity ends in a different wiring")
STORED_FIG10 = {  # spec 5.8: our criteria on the paper's own stored networks differ from its plot here
    ("fig10-inputs", "overlap3-use1"): 0.53, ("fig10-inputs", "overlap3-use2"): 0.58,
    ("fig10-inputs", "overlap3-use4"): 0.69, ("fig10-inputs", "overlap3-use6"): 0.86,
    ("fig10-outputs", "overlap2-use1"): 1.0, ("fig10-outputs", "overlap3-use6"): 0.69,
    ("fig10-hidden", "overlap2-use1"): 0.97,
}

# Tables 2-3 cells that are X in our epoch pre-step, where the paper's code run here with its own random
# draws brings all four seeds' dense networks to 100 % within 120 epochs (bench/fidelity/tables_x_cells.py,
# docs/tables2_3/notes.md): (graph, hidden layers, lr, batch size)
X_BY_DRAW = {
    ("input-separable", 1, 0.005, 8), ("input-separable", 2, 0.05, 1), ("input-separable", 2, 0.1, 4),
    ("input-separable", 3, 0.05, 4), ("non-modular", 2, 0.005, 16), ("non-modular", 2, 0.05, 1),
    ("non-modular", 2, 0.1, 2), ("reused", 2, 0.01, 16), ("reused", 2, 0.1, 4), ("reused", 3, 0.1, 16),
}

FINDINGS = [
    "## What the paper leaves open, and what we chose", "",
    "- **Figure 12a's X** is not stated. `sculpt.score.single_intermediate_module` (the intermediate bar, read off "
    "the module hierarchy) and the split tests give, on the paper's own stored networks, all nine 12a bars exactly "
    "at X = 8 only (intermediate 12/11/12 of 12 at 2/3/4 hidden layers; X = 4: 12/8/10, X = 12: 12/12/12, "
    "X = 16: 10/12/12), so the paper's values sit at X = 8 and ours are reported at X = 4, 8, 12 and 16.",
    "- **Tables 2-3, reused graph, 1 hidden layer**: the tables give 0.5-1.0 where Figure 7 gives 0 for the same "
    "setting. The tables count the structure the depth allows, one module at 1 hidden layer "
    "(`reused_depth_success`): on the paper's four stored [4,24,16] networks of lr 0.1 / batch 8 it holds 4 of 4 "
    "(Table 2: 1.0) and Figure 7's `reused_success` 0 of 4. The Tables 2-3 report counts both.",
    "- **Table 3a's criterion**: scored as Figure 7 does, by the input split, 58 of its 73 cells are consistent and "
    "all 15 outside have ours at 4/4 against the paper's 0.00-0.50. The exact structure (also each output's module "
    "fed by its own two input modules) holds on all 36 of the authors' stored networks of the graph, brings 12 of "
    "those 15 inside and puts 20 others outside (50 of 73; `bench/fidelity/separable_reused_criteria.py`, "
    "docs/tables2_3). The report keeps the input split.",
    "- **Tables 2-3 X cells follow the random draws.** Our pre-step and the paper disagree on 21 readable cells "
    "(ours X where the paper has a rate: 14; the reverse: 7). Retrained as the paper's code draws them "
    "(`sculpt.prune.replay`: its initialisation, shuffles, noise and loader workers; "
    "`bench/fidelity/tables_x_cells.py`), 13 of the 21 agree with the paper: 10 of the 14 train all four seeds "
    "and 3 of the 7 do not; over all 263 readable cells the decision matches the paper's in 242 with our draws and "
    "249 with the paper's. One seed's bad draw makes a cell X, so the X cells are a property of the draws, "
    "not of the method (docs/tables2_3).",
    "- **Tables 2-3 epochs**: chosen per cell by a recorded dense-only pre-step, the smallest of 15, 20, 30, 45, "
    "60, 90, 120 epochs by which all four seeds' dense networks reached 100 % validation accuracy; X where none did "
    "(`sculpt.experiments.epochs`).", "",
]


def known_about(value: paper_numbers.PaperValue, entry: dict) -> str:
    """What is known about a bar outside our interval: the paper's own code from scratch, the
    stored networks, the reuse gap."""
    notes = []
    code = entry.get("paper_code")
    if code:
        notes.append(f"the paper's own code from scratch: {code['successes']}/{code['trials']}"
                     + (f" ({code['note']})" if code.get("note") else ""))
    stored = STORED_FIG10.get((value.panel, value.graph))
    if stored is not None:
        notes.append(f"the paper's own stored networks give {stored:.2f} under our criterion, not the plotted "
                     f"{value.value:.2f} (spec 5.8): the plot used a looser criterion here")
    tie = entry.get("any_tie")
    if tie:
        inside = "inside" if tie["consistent"] else "outside"
        notes.append(f"counting a trial when any of its equally sparse networks shows the structure (the authors "
                     f"chose among ties by hand, spec 4.4): {tie['successes']}/{tie['trials']} "
                     f"[{tie['low']:.2f}, {tie['high']:.2f}], the paper's value {inside}")
    if _is_reuse(value):
        notes.append("the reuse gap (below)")
    if _is_hierarchy(value):
        notes.append("the hierarchy gap (below)")
    if value.panel == "table3a":
        notes.append("Table 3a's criterion (below)")
    trials = entry.get("trials")
    if trials and value.value is not None and abs(value.value * trials - entry["successes"]) <= 1:
        notes.append(f"one trial from the paper's count ({entry['successes']}/{trials} against "
                     f"{value.value * trials:.0f}/{trials}): with {trials} trials a bar moves by {1 / trials:.2f}")
    if not trials and (value.graph, value.hidden_layers, value.lr, value.batch_size) in X_BY_DRAW:
        notes.append("the paper's code run here with its own random draws trains all four seeds: the X is the draw "
                     "(below)")
    return "; ".join(notes) or "nothing yet"


def _is_reuse(value: paper_numbers.PaperValue) -> bool:
    return value.graph == "reused" or value.graph.startswith("reuse-use")


def _is_hierarchy(value: paper_numbers.PaperValue) -> bool:
    return value.graph.startswith("hierarchical-")


def _load_summaries(docs_dir: Path) -> dict[str, dict]:
    out = {}
    for figure, folder in FIGURE_FOLDERS.items():
        path = docs_dir / folder / "summary.json"
        if path.is_file():
            out[figure] = json.loads(path.read_text(encoding="utf-8")).get("figures", {}).get(figure, {})
    return out


def _entry_key(panel: str, e: dict) -> tuple:
    return (panel, e["graph"], e["criterion"], e["hidden_layers"], e.get("lr"), e.get("batch_size"))


def _goal_group(value: paper_numbers.PaperValue) -> str:
    return "fig12b" if value.panel == "fig12b" else ("fig12a" if value.panel == "fig12a" else value.figure)


def paper_rows(docs_dir: str | Path) -> list[tuple[paper_numbers.PaperValue, dict | None]]:
    """Every paper value with our measured entry from the folders' summaries (None: not run)."""
    summaries = _load_summaries(Path(docs_dir))
    measured = {}
    for figure, panels in summaries.items():
        for panel, entries in panels.items():
            if isinstance(entries, list):
                for e in entries:
                    if isinstance(e, dict) and "criterion" in e and "paper" in e:
                        measured[_entry_key(panel, e)] = e
    rows = []
    for v in paper_numbers.PAPER_VALUES:
        e = measured.get((v.panel, v.graph, v.criterion, v.hidden_layers, v.lr, v.batch_size))
        rows.append((v, e if e and (e.get("trials") or e.get("epochs") == "X") else None))
    return rows


def write_paper_index(docs_dir: str | Path) -> Path:
    """Write ``<docs_dir>/paper/index.md`` from the figure folders' ``summary.json`` files.

    Returns
    -------
    Path
        The file written.
    """
    docs_dir = Path(docs_dir)
    rows = paper_rows(docs_dir)
    lines = ["# Neural Sculpting (NeurIPS 2023): every Boolean result, from scratch, next to the paper", "",
             "Written by `sculpt reproduce` from each figure folder's report. Ours: k successes of n trials and the "
             "95 % Wilson interval; *consistent*: the paper's value (within its two-decimal rounding) lies in that "
             "interval. Paper values come from the paper's figures and appendix H.2 (`sculpt.experiments."
             "paper_numbers`); the paper's own code from scratch comes from `docs/fidelity/` where it was measured.",
             ""]
    lines += _summary_table(rows, docs_dir)
    lines += _last_runs(docs_dir)
    lines += FINDINGS
    lines += _section2(docs_dir)
    lines += _outside_list(rows)
    lines += _all_rows_table(rows)
    target = docs_dir / INDEX
    target.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(target, "\n".join(lines) + "\n")
    return target


def _summary_table(rows, docs_dir: Path) -> list[str]:
    groups: dict[str, list] = {}
    for v, e in rows:
        groups.setdefault(_goal_group(v), []).append((v, e))
    names = {"fig7": "Figure 7", "fig8": "Figure 8", "fig10": "Figure 10", "fig12a": "Figure 12a",
             "fig12b": "Figure 12b", "tables2_3": "Tables 2-3"}
    lines = ["## Per figure", "", "| result | report | paper values | measured | consistent |", "|---|---|---|---|---|"]
    goal_compared = goal_agree = goal_tie_agree = 0
    for key in ("fig7", "fig8", "fig10", "fig12a", "fig12b", "tables2_3"):
        members = groups.get(key, [])
        with_value = [(v, e) for v, e in members if v.value is not None]
        compared = [(v, e) for v, e in with_value if e is not None and e.get("consistent") is not None]
        agree = sum(bool(e["consistent"]) for _, e in compared)
        folder = FIGURE_FOLDERS["fig12" if key.startswith("fig12") else key]
        link = _report_link(docs_dir, folder)
        lines.append(f"| {names[key]} | {link} | {len(with_value)} | {len(compared)} | "
                     f"{agree} of {len(compared)} |" if compared else
                     f"| {names[key]} | {link} | {len(with_value)} | 0 | - |")
        if key in GOAL_FIGURES:
            goal_compared += len(compared)
            goal_agree += agree
            goal_tie_agree += sum(bool((e.get("any_tie") or e)["consistent"]) for _, e in compared)
    section2 = docs_dir / "section2" / "index.md"
    lines.append(f"| Section 2 (Table 1 Welch tests, N90) | "
                 f"{'[docs/section2](../section2/index.md)' if section2.is_file() else 'not run yet'} | qualitative | | |")
    share = f"{100 * goal_agree / goal_compared:.0f} %" if goal_compared else "-"
    lines += ["", f"**Goal (Figures 7, 8, 10, 12b, Tables 2-3): {goal_agree} of {goal_compared} measured bars "
              f"consistent ({share}); the goal is at least 90 % of all of them.**", ""]
    if goal_tie_agree != goal_agree:
        lines += [f"Counting a trial when any of its equally sparse networks shows the structure, where the records "
                  f"scored their ties (the authors chose among ties by hand, spec 4.4): {goal_tie_agree} of "
                  f"{goal_compared} ({100 * goal_tie_agree / goal_compared:.0f} %).", ""]
    return lines


def _report_link(docs_dir: Path, folder: str) -> str:
    """A link to the folder's report; a run stopped before its report says how far it got."""
    if (docs_dir / folder / "index.md").is_file():
        link = f"[docs/{folder}](../{folder}/index.md)"
        summary = docs_dir / folder / "summary.json"
        counts = json.loads(summary.read_text(encoding="utf-8")) if summary.is_file() else {}
        if counts.get("planned", 0) > counts.get("finished", 0):
            link += f" (partial: {counts['finished']} of {counts['planned']} trials; `sculpt reproduce` resumes)"
        return link
    plain, packed = docs_dir / folder / "records.jsonl", docs_dir / folder / "records.jsonl.gz"
    if plain.is_file() or packed.is_file():
        records = read_records(plain) if plain.is_file() else read_packed_records(packed)
        return (f"in progress: {len(records.records)} trials recorded, no report yet "
                f"(`sculpt reproduce --reports-only` writes one, `sculpt reproduce` resumes)")
    return "not run yet"


# Table 1 (section 2.1): the one-sided Welch tests reject their null hypotheses (the dense network is
# input-separable) for 1 hidden layer (widths 24, 36, 48), never for 2 or 3.
TABLE1_DENSE = {1: 1.0, 2: 0.0, 3: 0.0}


def _section2(docs_dir: Path) -> list[str]:
    """Table 1's claim next to our path-product tests, per stage and depth."""
    from sculpt.stats import consistent, wilson_interval

    path = docs_dir / "section2" / "summary.json"
    tests = []
    if path.is_file():
        tests = json.loads(path.read_text(encoding="utf-8")).get("figures", {}).get("section2", {}).get("path_products", [])
    lines = ["## Section 2, Table 1: input separability of path edge-weight products", ""]
    if not tests:
        return lines + ["Not run yet (`sculpt reproduce --only section2`).", ""]
    lines += ["| stage | hidden layers | separable (k/n) | 95 % CI | paper (dense) | consistent |", "|---|---|---|---|---|---|"]
    for stage in ("dense", "edge", "unit_edge"):
        for depth in (1, 2, 3):
            chosen = [t["separable"] for t in tests if t["stage"] == stage and len(t["arch"]) == depth]
            if not chosen:
                continue
            k, n = sum(chosen), len(chosen)
            low, high = wilson_interval(k, n)
            paper = TABLE1_DENSE[depth] if stage == "dense" else None
            verdict = "" if paper is None else ("yes" if consistent(paper, (low, high)) else "**no**")
            lines.append(f"| {stage} | {depth} | {k / n:.2f} ({k}/{n}) | [{low:.2f}, {high:.2f}] | "
                         f"{'' if paper is None else f'{paper:.2f}'} | {verdict} |")
    return lines + [""]


def _last_runs(docs_dir: Path) -> list[str]:
    """The `sculpt reproduce` runs logged in ``paper/runs.jsonl``: wall time, load, trials run."""
    path = docs_dir / "paper" / "runs.jsonl"
    if not path.is_file():
        return []
    runs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    lines = ["## Runs of `sculpt reproduce`", "", "| date (UTC) | wall time | trials run (failed) | load before / after | "
             "cpus | backend, jobs |", "|---|---|---|---|---|---|"]
    for r in runs[-10:]:
        ran, failed = sum(s["ran"] for s in r["steps"]), sum(s["failed"] for s in r["steps"])
        load = " / ".join(str(x[0]) if x else "-" for x in (r.get("load_before"), r.get("load_after")))
        stopped = f", stopped during {r['stopped_in']}" if r.get("stopped_in") else ""
        lines.append(f"| {r['date']} | {r['wall_s']:.0f} s | {ran} ({failed}){stopped} | {load} | {r.get('cpus')} | "
                     f"{r.get('backend')}, {r.get('jobs') or 'all cores'} |")
    return lines + [""]


def _label(v: paper_numbers.PaperValue) -> str:
    depth = "all depths" if v.hidden_layers is None else f"{v.hidden_layers} HL"
    cell = f", lr {v.lr:g}, batch {v.batch_size}" if v.lr is not None else ""
    return f"{v.panel} {v.graph} {v.criterion} ({depth}{cell})"


def _ours(e: dict | None) -> tuple[str, str]:
    if e is None:
        return "not run", ""
    if not e.get("trials"):
        return "X (no epoch count up to 120 trains all four seeds)", ""
    return f"{e['measured']:.2f} ({e['successes']}/{e['trials']})", f"[{e['low']:.2f}, {e['high']:.2f}]"


def _outside_list(rows) -> list[str]:
    outside = [(v, e) for v, e in rows if e is not None and e.get("consistent") is False]
    lines = ["## Bars outside our 95 % interval", ""]
    if not outside:
        return lines + ["None among the measured bars.", ""]
    lines += [f"{len(outside)} bars.", "", "| bar | paper | ours (k/n) | 95 % CI | known |", "|---|---|---|---|---|"]
    for v, e in outside:
        ours, interval = _ours(e)
        lines.append(f"| {_label(v)} | {v.value:.2f} | {ours} | {interval} | {known_about(v, e)} |")
    if any(_is_reuse(v) for v, _ in outside):  # said once, not once per bar
        lines += ["", f"**The reuse gap** (issue 11, [docs/fidelity](../fidelity/index.md)): {REUSE_GAP}."]
    if any(_is_hierarchy(v) for v, _ in outside):
        lines += ["", f"**The hierarchy gap** ([docs/figure12](../figure12/index.md)): {HIERARCHY_GAP}."]
    return lines + [""]


def _all_rows_table(rows) -> list[str]:
    lines = ["## Every result", "",
             "| figure | panel | graph | criterion | hidden layers | lr | batch | paper | ours (k/n) | 95 % CI | "
             "consistent | paper's code, from scratch |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for v, e in rows:
        ours, interval = _ours(e)
        paper = f"{v.value:.2f}" if v.value is not None else v.mark
        verdict = "" if e is None or e.get("consistent") is None else ("yes" if e["consistent"] else "**no**")
        code = e.get("paper_code") if e else None
        code_text = f"{code['successes']}/{code['trials']}" if code else ""
        lines.append(f"| {v.figure} | {v.panel} | {v.graph} | {v.criterion} | "
                     f"{'all' if v.hidden_layers is None else v.hidden_layers} | "
                     f"{'' if v.lr is None else f'{v.lr:g}'} | {'' if v.batch_size is None else v.batch_size} | "
                     f"{paper} | {ours} | {interval} | {verdict} | {code_text} |")
    return lines + [""]
