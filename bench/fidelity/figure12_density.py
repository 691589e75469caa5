"""Figure 12: our kept density and hierarchy per cell next to the authors' stored networks of that cell.

For every finished trial of ``docs/figure12/records.jsonl`` the authors' stored network with the same
task (number of outputs), hidden widths and seed (``../shared/reference/pruned_networks.*``,
experiment ``increasing_hierarchical_levels``) is looked up; per cell (graph, hidden layers, width)
the mean density of both and how many trials show the exact hierarchy (Figure 12b's criterion,
``score.hierarchical_exact``) under our detector, for ours and for the stored networks.

    PYTHONPATH=. python bench/fidelity/figure12_density.py [docs/figure12/records.jsonl]
"""
from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from sculpt import score
from sculpt.reference import find_reference_dir, select_records

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
from reproduce_figures import detect_all, true_groups  # noqa: E402  (the stored networks' own scoring)

OUTPUTS = {"hierarchical-use2": 4, "hierarchical-use4": 8, "hierarchical-use6": 12, "hierarchical-use8": 16}


REPO = Path(__file__).resolve().parents[2]


def stored_by_cell() -> dict:
    """(outputs, hidden widths, seed) -> (record, exact hierarchy under our detector) of the stored networks."""
    # $SCULPT_REFERENCE, the user cache, or ../shared/reference beside the checkout (or its worktree folder)
    reference = find_reference_dir([REPO.parent / "shared" / "reference", REPO.parents[1] / "shared" / "reference"])
    records = select_records(reference, experiment="increasing_hierarchical_levels", other_structure=False)
    detections = detect_all(records, reference)
    by = {}
    for r in records:
        groups = true_groups(r)
        exact = score.hierarchical_exact(detections[r["id"]], groups["input_groups"], groups["output_groups"],
                                         len(r["arch"]) - 2)
        by[(r["arch"][-1], tuple(r["arch"][1:-1]), r["seed"])] = (r, bool(exact))
    return by


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else Path("docs/figure12/records.jsonl")
    ours = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    stored = stored_by_cell()
    cells = defaultdict(list)
    for o in ours:
        c = o["config"]
        hit = stored.get((OUTPUTS[c["graph"]], tuple(c["arch"]), c["seed"]))
        if hit is None:
            continue
        record, stored_exact = hit
        cells[(c["graph"], len(c["arch"]), c["arch"][0])].append(
            (o["densities"]["weights"], record["density"], bool(o["score"].get("hierarchical_exact")), stored_exact))
    print("| graph | hidden layers | width | trials | our density | stored density | exact hierarchy: ours | stored |")
    print("|---|---|---|---|---|---|---|---|")
    for key in sorted(cells):
        rows = cells[key]
        n = len(rows)
        print(f"| {key[0]} | {key[1]} | {key[2]} | {n} | {statistics.mean(r[0] for r in rows):.4f} | "
              f"{statistics.mean(r[1] for r in rows):.4f} | {sum(r[2] for r in rows)}/{n} | {sum(r[3] for r in rows)}/{n} |")
    ratio = np.array([r[0] / r[1] for rows in cells.values() for r in rows])
    print(f"\n{ratio.size} trials: our density / stored density, median {np.median(ratio):.3f} "
          f"(5-95 %: {np.percentile(ratio, 5):.3f}-{np.percentile(ratio, 95):.3f}); exact hierarchy ours "
          f"{sum(r[2] for rows in cells.values() for r in rows)}, stored {sum(r[3] for rows in cells.values() for r in rows)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
