"""The authors' stored networks at the reuse-gap cells against a from-scratch grid's sparsest network.

For each trial of ``docs/fidelity/reuse_gap.toml`` (graph, widths, seed, the cell's lr / batch size /
epochs) the authors' stored network with those settings (``../shared/reference/pruned_networks.*``)
and the sparsest network of a from-scratch grid (a ``reuse_gap.py`` record, e.g. replay's): edges,
surviving hidden units, reused_success under our detector, and how the edge counts compare.

    PYTHONPATH=. python bench/fidelity/stored_vs_grid.py docs/fidelity/data/reuse_gap_replay_w0.jsonl [--trials]
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from functiongraphs import Task, catalog
from sculpt.detect import detect_modules
from sculpt.score import compare

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from reuse_gap import trials  # noqa: E402

# ../shared/reference next to the checkout (or two levels up, for a worktree under wt/)
REFDATA = next((p for p in (os.path.join(HERE, "..", "..", "..", "shared", "reference"),
                            os.path.join(HERE, "..", "..", "..", "..", "shared", "reference")) if os.path.isdir(p)),
               os.path.join(HERE, "..", "..", "..", "shared", "reference"))
MODULARITY = {"reused": [4, 1, 2, 16], "reuse-use1": [4, 1, 2, 2], "reuse-use2": [4, 1, 2, 4]}


def stored_network(rows, npz, t, arch):
    """The first stored network with the trial's modularity, arch, seed, lr, batch size and epochs."""
    for r in rows:
        if (r["modularity"] == MODULARITY[t["graph"]] and r["arch"] == arch and r["seed"] == t["seed"]
                and r["lr"] == t["lr"] and r["batch_size"] == t["batch_size"] and r["epochs"] == t["epochs"]):
            return r, [npz[f"{r['id']}_mask{l}"].astype(bool) for l in range(len(arch) - 1)]
    return None, None


def main(argv) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("records")
    p.add_argument("--refdata", default=REFDATA)
    p.add_argument("--trials", action="store_true", help="one line per trial as well")
    ns = p.parse_args(argv)
    with open(os.path.join(ns.refdata, "pruned_networks.jsonl")) as f:
        rows = [json.loads(line) for line in f]
    npz = np.load(os.path.join(ns.refdata, "pruned_networks.npz"), allow_pickle=False)
    with open(ns.records) as f:
        grid = {(r["graph"], tuple(r["hidden"]), r["seed"]): r for r in map(json.loads, f)}
    groups: dict = {}
    lines = []
    for t in trials():
        task = Task(catalog.get(t["graph"]), noise=0.1)
        arch = [task.n_inputs, *t["hidden"], task.n_outputs]
        rec, masks = stored_network(rows, npz, t, arch)
        g = grid.get((t["graph"], tuple(t["hidden"]), t["seed"]))
        if rec is None or g is None:
            continue
        det = detect_modules(masks, modularity_threshold=-0.2, merge_threshold=0.9)
        ok = bool(compare(det, task.structure, name=t["graph"], hidden_layers=len(t["hidden"]))["criteria"]["reused_success"])
        edges = int(sum(m.sum() for m in masks))
        units = [int((m.sum(axis=1) > 0).sum()) for m in masks[:-1]]
        gu = [m for m in g.get("members", []) if m["p_u"] == g["p_u"]]
        g_units = gu[0]["edge"][str(g["p_e"])]["units"] if gu else None
        groups.setdefault((t["graph"], len(t["hidden"])), []).append((edges, ok, g["edges"], g["success"]["order"],
                                                                      g["success"]["fewest-modules"]))
        lines.append(f"| {t['graph']} {t['hidden']} s{t['seed']} | {rec['id']} ({rec['p_u']:g}, {rec['p_e']:g}) | {edges} "
                     f"{units} | {'yes' if ok else 'no'} | {g['edges']} {g_units} ({g['p_u']:g}, {g['p_e']:g}) | "
                     f"{'yes' if g['success']['order'] else 'no'} |")
    print("| graph | hidden layers | n | authors' stored: success, edges | grid's sparsest: success (order / fewest), edges "
          "| stored has more / equal / fewer edges |")
    print("|---|---|---|---|---|---|")
    for (graph, depth), v in sorted(groups.items()):
        n = len(v)
        se, ge = [x[0] for x in v], [x[2] for x in v]
        cmp = [sum(a > b for a, b in zip(se, ge)), sum(a == b for a, b in zip(se, ge)), sum(a < b for a, b in zip(se, ge))]
        print(f"| {graph} | {depth} | {n} | {sum(x[1] for x in v)}/{n}, {min(se)}-{max(se)} | "
              f"{sum(x[3] for x in v)}/{n} / {sum(x[4] for x in v)}/{n}, {min(ge)}-{max(ge)} | {cmp[0]} / {cmp[1]} / {cmp[2]} |")
    if ns.trials:
        print()
        print("| trial | stored network (P_u, P_e) | its edges [units] | success | grid's sparsest edges [units] (P_u, P_e) | success (order) |")
        print("|---|---|---|---|---|---|")
        print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
