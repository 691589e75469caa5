"""docs/compare/index.md: the detector's modules and the spectral partition side by side, per catalog task.

Reads the records of ``sculpt grid examples/experiments/compare.toml`` (each with the ``spectral``
object of :func:`sculpt.spectral.views.two_views`) and writes one row per task: over its seeds, the
mean ARI of each view's partition with the true structure (mean of the input-unit and output-unit
ARI) and how many seeds each view calls modular (p < 0.05 against the same ``layer`` shuffles),
with a 95 % Wilson interval; then a headline per task family and overall.

Run: ``python examples/compare_views_report.py docs/compare/records.jsonl --out docs/compare --headline
docs/compare/headline.md`` (the hand-written headline).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from sculpt.stats import wilson_interval

VIEWS = (("modules", "detector"), ("spectral_modules_k", "spectral, k = modules"),
         ("spectral_eigengap_k", "spectral, k by eigengap"))


def family(graph: str) -> str:
    """Figure family of a catalog task name."""
    for pattern, name in ((r"^reuse-use", "reuse (Fig. 8)"), (r"^overlap\d", "overlap (Fig. 10)"),
                          (r"^hierarchical", "hierarchical (Fig. 12)")):
        if re.match(pattern, graph):
            return name
    return "validation (Fig. 7)"


def load(path: Path) -> list[dict]:
    """Finished records with a spectral object, the last one per (graph, arch, seed)."""
    latest = {}
    for line in path.read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            if r.get("status") == "ok" and isinstance(r.get("spectral"), dict):
                # keyed by the settings, not the trial id: ids of the same trial changed when new
                # (default-valued) config keys appeared during the run
                latest[(r["config"]["graph"], json.dumps(r["config"]["arch"]), r["config"]["seed"])] = r
    return list(latest.values())


def rate(k: int, n: int) -> str:
    lo, hi = wilson_interval(k, n)
    return f"{k}/{n} [{lo:.2f}, {hi:.2f}]"


def mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def f(v, d=2):
    return "-" if v is None else f"{v:.{d}f}"


def summarise(records: list[dict]) -> tuple[list[str], dict]:
    by_task: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        by_task[r["config"]["graph"]].append(r)
    order = list(dict.fromkeys(r["config"]["graph"] for r in sorted(records, key=lambda r: r["config"]["graph"])))
    rows, data = [], {"tasks": {}, "families": {}, "overall": {}}
    head = ("| task | arch | seeds | modules found | k eigengap | " +
            " | ".join(f"ARI {label}" for _, label in VIEWS) + " | " +
            " | ".join(f"modular: {label}" for _, label in VIEWS) + " |")
    rows += [head, "|" + "---|" * (5 + 2 * len(VIEWS))]
    fam: dict[str, list[dict]] = defaultdict(list)
    for task in order:
        group = by_task[task]
        fam[family(task)] += group
        spec = [r["spectral"] for r in group]
        entry = {"arch": group[0]["config"]["arch"], "seeds": sorted(r["config"]["seed"] for r in group),
                 "k_modules": [s["k_modules"] for s in spec], "k_eigengap": [s["k_eigengap"] for s in spec]}
        for view, _ in VIEWS:
            entry[view] = {"ari": mean([s[view].get("ari") for s in spec]),
                           "modular": sum(bool(s[view].get("modular")) for s in spec), "n": len(spec),
                           "ncut": mean([s[view].get("ncut") for s in spec]),
                           "shuffle_mean": mean([s[view].get("shuffle_mean") for s in spec]),
                           "p": [s[view].get("p") for s in spec]}
        data["tasks"][task] = entry
        rows.append(f"| {task} | {entry['arch']} | {len(group)} | {'/'.join(map(str, entry['k_modules']))} | "
                    f"{'/'.join(map(str, entry['k_eigengap']))} | " +
                    " | ".join(f(entry[v]['ari']) for v, _ in VIEWS) + " | " +
                    " | ".join(f"{entry[v]['modular']}/{entry[v]['n']}" for v, _ in VIEWS) + " |")
    fam_rows = ["| family | trials | " + " | ".join(f"ARI {label}" for _, label in VIEWS) + " | " +
                " | ".join(f"modular: {label}" for _, label in VIEWS) + " |", "|" + "---|" * (2 + 2 * len(VIEWS))]
    for name, group in sorted(fam.items()) + [("all tasks", records)]:
        spec = [r["spectral"] for r in group]
        stats = {v: {"ari": mean([s[v].get("ari") for s in spec]),
                     "modular": sum(bool(s[v].get("modular")) for s in spec), "n": len(spec)} for v, _ in VIEWS}
        data["families" if name != "all tasks" else "overall"][name] = stats
        fam_rows.append(f"| {name} | {len(group)} | " + " | ".join(f(stats[v]['ari']) for v, _ in VIEWS) + " | " +
                        " | ".join(rate(stats[v]['modular'], stats[v]['n']) for v, _ in VIEWS) + " |")
    return rows, fam_rows, data


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--headline", type=Path, help="markdown with the headline (written by hand from the tables)")
    args = parser.parse_args(argv)
    records = load(args.records)
    rows, fam_rows, data = summarise(records)
    shuffles = sorted({r["spectral"]["n_shuffles"] for r in records})
    both = sum(bool(r["spectral"]["modules"]["modular"]) and bool(r["spectral"]["spectral_modules_k"]["modular"])
               for r in records)
    neither = sum(not r["spectral"]["modules"]["modular"] and not r["spectral"]["spectral_modules_k"]["modular"]
                  for r in records)
    data["views_agree"] = {"both_modular": both, "neither": neither, "trials": len(records)}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "compare.json").write_text(json.dumps(data, indent=2) + "\n")
    lines = ["# Two views of modularity: the detector's modules and the spectral partition", ""]
    if args.headline and args.headline.exists():
        lines += [args.headline.read_text().rstrip(), ""]
    lines += [f"{len(records)} trials ({len({r['config']['graph'] for r in records})} catalog tasks x seeds 0, 1, 2, 5) "
              "from `examples/experiments/compare.toml` (records: `records.jsonl`; generic report: `report/`; "
              "numbers: `compare.json`). Per trial: train, prune, detect as in the paper; then on the |W| graph "
              "(components not spanning input -> output dropped) the n-cut of the detected modules and of the "
              "spectral partition at k = number of detected modules and at k by the largest eigengap (k <= 12), "
              f"each against the same {'/'.join(map(str, shuffles))} `layer` shuffles (the detector re-run on every "
              "shuffle for its view). *Modular*: p = (1 + #{shuffle <= value}) / (n + 1) < 0.05 (floor 1/21 = 0.048), "
              "where the value is the n-cut for the spectral views (same k on the network and its shuffles) and, for "
              "the detector's view, the n-cut per part (n-cut / number of parts, 1 when fewer than two modules are "
              "found), since the detector picks its own k on every shuffle and one module alone cuts nothing. "
              "*ARI*: mean of the adjusted Rand index of the view's labels on the input units and on the output "
              "units against the true groups (output support groups where every output is its own group).", "",
              f"Both views call the same trial modular in {both} and neither in {neither} of {len(records)} trials.", "",
              "## Per family (95 % Wilson intervals)", ""] + fam_rows + ["", "## Per task", ""] + rows
    (args.out / "index.md").write_text("\n".join(lines) + "\n")
    print(args.out / "index.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
