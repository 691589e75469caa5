"""Table 3a (separable-reused graph): the Figure 7 criterion against the exact-structure criterion.

Figure 7 scores the separable-reused graph [6,3,3,3] by its input split alone
(``score.separable_reused_success``); Table 3a says "the same hierarchical structure as the function
graph", which could mean more: the three input modules, one module per output, and each output
module fed by exactly the two input modules its OR reads (h1, h2 -> y0; h1, h3 -> y1; h2, h3 -> y2).
This script scores both on every committed Tables 2-3 record of the graph and counts the cells whose
paper value lies inside our 95 % Wilson interval under each, and scores the exact criterion on the
authors' 36 stored networks of the graph (lr 0.05, batch 32, where Table 3a gives 1.0 at every depth).

    PYTHONPATH=. python bench/fidelity/separable_reused_criteria.py
"""
from __future__ import annotations

import gzip
import json
import sys
from collections import defaultdict
from pathlib import Path

from sculpt.experiments.paper_numbers import paper_values
from sculpt.reference import find_reference_dir, select_records
from sculpt.stats import consistent, wilson_interval

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
from reproduce_figures import detect_all  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
INPUT_GROUPS = [{0, 1}, {2, 3}, {4, 5}]
PARENTS = {0: ({0, 1}, {2, 3}), 1: ({0, 1}, {4, 5}), 2: ({2, 3}, {4, 5})}  # output -> its two h's inputs


def exact_structure(detection: dict) -> bool:
    """Three input modules on the input pairs, one module per output, each fed by its two h modules."""
    hierarchy = detection["hierarchy"]
    modules = {m["id"]: m for m in hierarchy["modules"]}
    inputs = {mid: frozenset(modules[mid]["units"].get("0", [])) for mid in hierarchy["input_modules"]}
    if len(modules) != 6 or sorted(map(sorted, inputs.values())) != sorted(map(sorted, INPUT_GROUPS)):
        return False
    last = str(len(detection["arch"]) - 1)
    outputs = {}
    for mid in hierarchy["output_modules"]:
        units = modules[mid]["units"].get(last, [])
        if len(units) != 1:
            return False
        outputs[units[0]] = mid
    if sorted(outputs) != [0, 1, 2]:
        return False
    sources = defaultdict(set)
    for edge in hierarchy["edges"]:
        sources[edge["target"]].add(edge["source"])
    return all(sources[mid] <= set(inputs) and {inputs[s] for s in sources[mid]} == set(map(frozenset, PARENTS[y]))
               and len(sources[mid]) == 2 for y, mid in outputs.items())


def our_cells() -> dict:
    """(hidden layers, lr, batch size) -> [(Figure 7 criterion, exact structure)] of the committed records."""
    cells = defaultdict(list)
    with gzip.open(REPO / "docs" / "tables2_3" / "records.jsonl.gz", "rt") as fh:
        for line in fh:
            r = json.loads(line)
            c = r["config"]
            if c.get("graph") == "separable-reused" and r.get("modules"):
                cells[(len(c["arch"]), c["lr"], c["batch_size"])].append(
                    (bool(r["score"]["separable_reused_success"]), exact_structure(r["modules"])))
    return cells


def main() -> int:
    paper_rates = {(v.hidden_layers, v.lr, v.batch_size): v.value for v in paper_values("tables2_3")
                   if v.graph == "separable-reused"}
    counts = {"Figure 7 criterion": 0, "exact structure": 0}
    cells = 0
    print("| hidden layers | lr | batch | paper | Figure 7 criterion | exact structure |")
    print("|---|---|---|---|---|---|")
    for (depth, lr, batch), scored in sorted(our_cells().items()):
        paper = paper_rates[(depth, lr, batch)]
        if paper is None:  # X or unreadable
            continue
        cells += 1
        n = len(scored)
        fig7, exact = sum(a for a, _ in scored), sum(b for _, b in scored)
        counts["Figure 7 criterion"] += consistent(paper, wilson_interval(fig7, n))
        counts["exact structure"] += consistent(paper, wilson_interval(exact, n))
        print(f"| {depth} | {lr} | {batch} | {paper:.2f} | {fig7}/{n} | {exact}/{n} |")
    print()
    print("cells consistent: " + ", ".join(f"{name} {k}/{cells}" for name, k in counts.items()))
    reference = find_reference_dir([REPO.parent / "shared" / "reference", REPO.parents[1] / "shared" / "reference"])
    stored = [r for r in select_records(reference, experiment="exemplar", other_structure=False)
              if list(r["modularity"]) == [6, 3, 3, 3]]
    detections = detect_all(stored, reference)
    by_depth = defaultdict(list)
    for r in stored:
        by_depth[len(r["arch"]) - 2].append(exact_structure(detections[r["id"]].to_dict()))
    print("authors' stored networks (lr 0.05, batch 32), exact structure: "
          + ", ".join(f"{d} HL {sum(v)}/{len(v)}" for d, v in sorted(by_depth.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
