"""Replay vs oracle: run ``replay_trial`` on the settings of each oracle record and compare.

    PYTHONPATH=. python bench/fidelity/compare.py --workers 0 ORACLE_DIR_OR_JSON... [--json out.json]

For every oracle record (``bench/fidelity/oracle.py`` output) it reports whether the final masks of
every P_e search are identical and whether the per-round trajectories are identical (dense and
edge-start trainings, and per round: percentage tried, trained, accepted, surviving units, edges,
accuracy, kept epoch), and the first round that differs. It can also compare sculpt's DEFAULT
pipeline (``--default``), which uses other random streams: then only the summary (rounds, final
edges and units) is printed side by side.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import sys

import torch

from functiongraphs import Task, catalog
from sculpt.prune.replay import encode_masks, replay_trial

GRAPHS = {(4, 2, 4): "input-separable", (4, 1, 2, 16): "reused", (6, 3, 3, 3): "separable-reused",
          (4, 1, 4): "non-modular", (4, 1, 2, 2): "reuse-use1", (4, 1, 2, 4): "reuse-use2"}


def load(paths) -> list[tuple[str, dict]]:
    out = []
    for p in paths:
        files = sorted(glob.glob(os.path.join(p, "*.json"))) if os.path.isdir(p) else [p]
        for f in files:
            with open(f) as fh:
                out.append((os.path.splitext(os.path.basename(f))[0], json.load(fh)))
    return out


def first_diff(a: list, b: list):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i, x, y
    if len(a) != len(b):
        return min(len(a), len(b)), len(a), len(b)
    return None


def compare(o: dict, r: dict) -> dict:
    """Field-by-field comparison of one oracle record ``o`` and one replay record ``r``."""
    res = {"dense": o["dense"] == r["dense"], "edge_start": o["edge_start"] == r["edge_start"],
           "unit_rounds": first_diff(o["unit"]["rounds"], r["unit"]["rounds"])}
    res["masks"], res["edge_rounds"] = {}, {}
    for pe, eo in o["edge"].items():
        er = r["edge"][pe]
        res["masks"][pe] = eo["masks"] == encode_masks(er["masks"])
        res["edge_rounds"][pe] = first_diff(eo["rounds"], er["rounds"])
    res["mask_identical"] = all(res["masks"].values())
    res["trajectory_identical"] = (res["dense"] and res["edge_start"] and res["unit_rounds"] is None
                                   and all(v is None for v in res["edge_rounds"].values()))
    return res


def main(argv) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("paths", nargs="+")
    p.add_argument("--workers", type=int, required=True)
    p.add_argument("--adam", default="torch", choices=["torch", "1.12"])
    p.add_argument("--json")
    ns = p.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for name, o in load(ns.paths):
        task = Task(catalog.get(GRAPHS[tuple(o["modularity"])]), noise=0.1)
        r = replay_trial(task, o["arch"], o["p_u"], o["p_e"], seed=o["seed"], lr=o["lr"], batch_size=o["batch_size"],
                         epochs=o["epochs"], loader_workers=ns.workers, adam=ns.adam)
        c = compare(o, r)
        row = {"trial": name, "workers": ns.workers, "mask_identical": c["mask_identical"],
               "trajectory_identical": c["trajectory_identical"], "detail": c,
               "unit_rounds": len(o["unit"]["rounds"]), "edge_rounds": {k: len(v["rounds"]) for k, v in o["edge"].items()},
               "edges": {k: v["edges"] for k, v in o["edge"].items()}}
        rows.append(row)
        print(json.dumps({k: row[k] for k in ("trial", "workers", "mask_identical", "trajectory_identical",
                                               "unit_rounds", "edge_rounds", "edges")}), flush=True)
        if not c["trajectory_identical"]:
            print("   detail:", json.dumps(c, default=str)[:600], flush=True)
    n = len(rows)
    print(f"masks identical {sum(r['mask_identical'] for r in rows)}/{n}, "
          f"trajectories identical {sum(r['trajectory_identical'] for r in rows)}/{n}")
    if ns.json:
        with open(ns.json, "w") as f:
            json.dump(rows, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
