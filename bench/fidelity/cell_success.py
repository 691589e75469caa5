"""reused_success of the oracle's networks at the authors' kept cells vs the authors' stored networks.

    PYTHONPATH=. python bench/fidelity/cell_success.py ORACLE_DIR [--refdata ../shared/reference]
"""
import argparse
import json
import os
import sys

import numpy as np

from functiongraphs import Task, catalog
from sculpt.detect import detect_modules
from sculpt.score import compare

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from trials import TRIALS  # noqa: E402

STORED = {"reused_s0": "net0136", "reused_s1": "net0137", "reused_s2": "net0138", "reused_s5": "net0139",
          "use1_s0": "net1345", "use1_s1": "net1346"}


def success(graph, masks, depth):
    task = Task(catalog.get(graph), noise=0.1)
    det = detect_modules(masks, modularity_threshold=-0.2, merge_threshold=0.9)
    return bool(compare(det, task.structure, name=graph, hidden_layers=depth)["criteria"]["reused_success"])


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("oracle")
    p.add_argument("--refdata", default=os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "shared", "reference"))
    ns = p.parse_args(argv)
    npz = np.load(os.path.join(ns.refdata, "pruned_networks.npz"), allow_pickle=False)
    print("| trial | cell (P_u, P_e) | paper's code here: edges, reused_success | authors' stored: edges, reused_success |")
    print("|---|---|---|---|")
    for t in TRIALS:
        if t["name"] not in STORED:
            continue
        with open(os.path.join(ns.oracle, t["name"] + ".json")) as f:
            o = json.load(f)
        e = o["edge"][str(float(t["p_e"]))]
        masks = [np.array([[c == "1" for c in row] for row in m]) for m in e["masks"]]
        sid = STORED[t["name"]]
        stored = [npz[f"{sid}_mask{l}"].astype(bool) for l in range(len(t["arch"]) - 1)]
        depth = len(t["arch"]) - 2
        print(f"| {t['name']} | ({t['p_u']:g}, {t['p_e']:g}) | {e['edges']}, {success(t['graph'], masks, depth)} | "
              f"{int(sum(m.sum() for m in stored))} ({sid}), {success(t['graph'], stored, depth)} |")


if __name__ == "__main__":
    main(sys.argv[1:])
