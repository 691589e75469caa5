"""Regenerate the authors' stored exemplar networks from scratch with ``replay="paper"``.

For each stored network of experiment ``exemplar`` (``../shared/reference/pruned_networks.*``:
arch, seed, lr, batch size, epochs, P_u, P_e), run the paper's two CLI stages as the shell
scripts did (unit stage at P_u, then ONE edge-stage process searching P_e = 2.5, 2.0, 1.5, 1.0,
0.5 in this order) with :func:`sculpt.prune.replay.replay_trial`, and compare the search at the
stored P_e with the stored mask (and weights).

    PYTHONPATH=. python bench/fidelity/regenerate.py --workers 2 --limit 8 --out regen.jsonl

Needs the reference data (``--refdata``, default ``../shared/reference``); appends one JSON line
per network to ``--out`` and skips ids already there (resumable).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

from functiongraphs import Task, catalog
from sculpt.prune.replay import replay_trial

GRAPHS = {(4, 2, 4): "input-separable", (4, 1, 2, 16): "reused", (6, 3, 3, 3): "separable-reused",
          (4, 1, 4): "non-modular"}
P_E = [2.5, 2.0, 1.5, 1.0, 0.5]


def records(refdata: str, experiment: str = "exemplar") -> list[dict]:
    with open(os.path.join(refdata, "pruned_networks.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [r for r in rows if r["experiment"] == experiment]


def cost(r: dict) -> float:
    """A rough relative cost (for --cheapest-first): epochs x weights x rows."""
    arch = r["arch"]
    return r["epochs"] * sum(a * b for a, b in zip(arch[:-1], arch[1:])) * 2 ** arch[0] / r["batch_size"] ** 0.5


def main(argv) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--refdata", default=os.path.join(os.path.dirname(__file__), "..", "..", "..", "..",
                                                     "shared", "reference"))
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--adam", default="torch", choices=["torch", "1.12"])
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--ids", nargs="*")
    p.add_argument("--cheapest-first", action="store_true")
    p.add_argument("--out", required=True)
    ns = p.parse_args(argv)
    torch.set_num_threads(1)
    done = set()
    if os.path.exists(ns.out):
        with open(ns.out) as f:
            done = {json.loads(line)["id"] for line in f if line.strip()}
    recs = records(ns.refdata)
    if ns.ids:
        recs = [r for r in recs if r["id"] in ns.ids]
    if ns.cheapest_first:
        recs = sorted(recs, key=cost)
    if ns.limit:
        recs = recs[:ns.limit]
    npz = np.load(os.path.join(ns.refdata, "pruned_networks.npz"), allow_pickle=False)
    for r in recs:
        if r["id"] in done:
            continue
        task = Task(catalog.get(GRAPHS[tuple(r["modularity"])]), noise=0.1)
        t0 = time.time()
        try:
            out = replay_trial(task, r["arch"], r["p_u"], P_E, seed=r["seed"], lr=r["lr"],
                               batch_size=r["batch_size"], epochs=r["epochs"], loader_workers=ns.workers,
                               adam=ns.adam)
            search = out["edge"][str(float(r["p_e"]))]
            stored = [npz[f"{r['id']}_mask{l}"].astype(bool) for l in range(len(r["arch"]) - 1)]
            mine = [m.numpy() != 0 for m in search["masks"]]
            same = all(np.array_equal(a, b) for a, b in zip(stored, mine))
            wsame = all(np.array_equal(npz[f"{r['id']}_weight{l}"], search["net"].W[l].detach().numpy() * mine[l])
                        for l in range(len(mine)))
            row = {"id": r["id"], "arch": r["arch"], "modularity": r["modularity"], "seed": r["seed"],
                   "p_u": r["p_u"], "p_e": r["p_e"], "mask_identical": bool(same), "weights_identical": bool(wsame),
                   "edges_stored": int(sum(int(m.sum()) for m in stored)), "edges_replay": search["edges"],
                   "workers": ns.workers, "adam": ns.adam, "wall_s": round(time.time() - t0, 1)}
        except Exception as exc:  # reported in the table, not fatal
            row = {"id": r["id"], "error": f"{type(exc).__name__}: {exc}", "workers": ns.workers}
        with open(ns.out, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
