"""The paper's code (the oracle) over a full (P_u, P_e) grid, and its reuse-gap row (issue 11 section 3 (a)).

For one trial of ``docs/fidelity/reuse_gap.toml``: one ``oracle.py`` run per P_u (its unit stage,
then one edge process searching the five P_e in order, as the paper's shell scripts ran
``main.py``), each kept as ``DIR/<graph>_<widths>_s<seed>/pu<P_u>.json``, then the notebook's
selection over every saved network (the sparsest; the notebook's order P_e decreasing then P_u
decreasing, or fewest modules among the tied sparsest) and ``reused_success`` under both tie
orders - the same row ``reuse_gap.py`` writes, with ``"code": "oracle"`` and the same per-member
fields (edges, units, mask digest), so the two grids can be compared member by member:

    PY=$NSREF/venv/bin/python
    PYTHONPATH=. python bench/fidelity/oracle_grid.py --python $PY --src $NSREF/src \\
        --graph reused --hidden 24 24 --seed 0 --dir runs/oracle_grid --out runs/rg_oracle_w0.jsonl
    PYTHONPATH=. python bench/fidelity/oracle_grid.py --compare runs/rg_oracle_w0.jsonl runs/rg_replay_w0.jsonl

Resumable: a P_u whose JSON exists is not run again. Run it from the project checkout, single-threaded.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from functiongraphs import Task, catalog
from sculpt.detect import detect_modules
from sculpt.prune.grid import sparsest_members
from sculpt.score import compare

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from reuse_gap import mask_digest, trials  # noqa: E402

# the paper's dataset folder and modularity vector of each graph (its file names)
FAMILY = {"reused": ("exemplar", [4, 1, 2, 16]), "reuse-use1": ("increasing_reuse_non_separable", [4, 1, 2, 2]),
          "reuse-use2": ("increasing_reuse_non_separable", [4, 1, 2, 4])}


def trial_name(t: dict) -> str:
    return f"{t['graph']}_{'x'.join(map(str, t['hidden']))}_s{t['seed']}"


def run_pu(ns, t: dict, p_u: float, folder: str) -> dict:
    path = os.path.join(folder, f"pu{p_u:g}.json")
    if not os.path.exists(path):
        family, modularity = FAMILY[t["graph"]]
        task = Task(catalog.get(t["graph"]), noise=0.1)
        arch = [task.n_inputs, *t["hidden"], task.n_outputs]
        cmd = [ns.python, os.path.join(HERE, "oracle.py"), "--src", ns.src, "--family", family,
               "--modularity", *map(str, modularity), "--arch", *map(str, arch), "--seed", str(t["seed"]),
               "--lr", str(t["lr"]), "--batch-size", str(t["batch_size"]), "--epochs", str(t["epochs"]),
               "--pu", str(float(p_u)), "--pe", *map(str, map(float, t["p_e"])), "--out", path + ".part"]
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
        subprocess.run(["nice", "-n", "10", *cmd], check=True, env=env)
        os.replace(path + ".part", path)
    with open(path) as f:
        return json.load(f)


def decode(encoded) -> list:
    return [np.array([[c == "1" for c in row] for row in m]) for m in encoded]


def grid_row(t: dict, records: list, workers: int) -> dict:
    """The reuse-gap row of an oracle grid (``records``: one oracle JSON per P_u, in t's P_u order)."""
    p_u, p_e = [float(u) for u in t["p_u"]], [float(e) for e in t["p_e"]]
    search = [records[i_u]["edge"][str(e)] for i_u in range(len(p_u)) for e in p_e]
    kept = np.array([s["edges"] for s in search])
    ties = sparsest_members(p_u, p_e, kept, np.ones(len(search), dtype=bool))
    task = Task(catalog.get(t["graph"]), noise=0.1)
    dets = [detect_modules(decode(search[m]["masks"]), modularity_threshold=-0.2, merge_threshold=0.9) for m in ties]
    counts = [d.num_modules for d in dets]
    out = {}
    for rule, i in (("order", 0), ("fewest-modules", counts.index(min(counts)))):
        c = compare(dets[i], task.structure, name=t["graph"], hidden_layers=len(t["hidden"]))
        out[rule] = bool(c["criteria"]["reused_success"])
    best = ties[0]
    members = [{"p_u": float(r["p_u"]), "wall_s": r["wall_s"], "unit": r["unit"]["units"],
                "edge": {pe: {"edges": s["edges"], "units": s["units"], "masks": mask_digest(s["masks"])}
                         for pe, s in r["edge"].items()}} for r in records]
    return {**{k: t[k] for k in ("graph", "hidden", "seed")}, "replay": None, "code": "oracle", "workers": workers,
            "edges": int(kept[best]), "tied": len(ties), "p_u": p_u[best // len(p_e)], "p_e": p_e[best % len(p_e)],
            "success": out, "wall_s": round(sum(r["wall_s"] for r in records), 1), "epochs": t["epochs"],
            "epochs_scale": 1.0, "members": members}


def compare_grids(oracle_path: str, replay_path: str) -> str:
    """Member-by-member agreement of oracle and replay rows of the same trials (a markdown table)."""
    def load(path):
        with open(path) as f:
            return {(r["graph"], tuple(r["hidden"]), r["seed"]): r for r in map(json.loads, f) if r.get("members")}
    o, r = load(oracle_path), load(replay_path)
    lines = ["| trial | members with identical masks | unit stages identical | sparsest (edges, P_u, P_e) oracle / replay | "
             "success order / fewest: oracle, replay |", "|---|---|---|---|---|"]
    for key in sorted(set(o) & set(r)):
        a, b = o[key], r[key]
        ma = {(m["p_u"], pe): s for m in a["members"] for pe, s in m["edge"].items()}
        mb = {(m["p_u"], pe): s for m in b["members"] for pe, s in m["edge"].items()}
        same = sum(ma[k]["masks"] == mb[k]["masks"] for k in ma if k in mb)
        ua = {m["p_u"]: m["unit"] for m in a["members"]}
        ub = {m["p_u"]: m["unit"] for m in b["members"]}
        su = sum(ua[k] == ub[k] for k in ua if k in ub)
        fmt = lambda x: f"{x['edges']}, {x['p_u']:g}, {x['p_e']:g}"  # noqa: E731
        ok = lambda x: f"{'yes' if x['success']['order'] else 'no'} / {'yes' if x['success']['fewest-modules'] else 'no'}"  # noqa: E731
        lines.append(f"| {key[0]} {list(key[1])} s{key[2]} | {same} / {len(ma)} | {su} / {len(ua)} | "
                     f"{fmt(a)} / {fmt(b)} | {ok(a)}, {ok(b)} |")
    return "\n".join(lines)


def main(argv) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--compare", nargs=2, metavar=("ORACLE_JSONL", "REPLAY_JSONL"))
    p.add_argument("--python", help="the paper venv's python")
    p.add_argument("--src", help="the patched paper tree ($NSREF/src workers off, a PAPERBENCH_WORKERS=2 tree on)")
    p.add_argument("--workers", type=int, default=0, help="the tree's DataLoader workers (recorded only)")
    p.add_argument("--graph", default="reused")
    p.add_argument("--hidden", type=int, nargs="+", default=[24, 24])
    p.add_argument("--seed", type=int, nargs="+", default=[0])
    p.add_argument("--dir", default="runs/oracle_grid")
    p.add_argument("--out")
    ns = p.parse_args(argv)
    if ns.compare:
        print(compare_grids(*ns.compare))
        return 0
    for t in trials():
        if t["graph"] != ns.graph or list(t["hidden"]) != ns.hidden or t["seed"] not in ns.seed:
            continue
        folder = os.path.join(ns.dir, trial_name(t))
        os.makedirs(folder, exist_ok=True)
        t0 = time.time()
        records = []
        for u in t["p_u"]:
            records.append(run_pu(ns, t, float(u), folder))
            print(f"{trial_name(t)} p_u {u:g}: {records[-1]['wall_s']} s", file=sys.stderr, flush=True)
        row = grid_row(t, records, ns.workers)
        row["elapsed_s"] = round(time.time() - t0, 1)
        with open(ns.out, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps({k: v for k, v in row.items() if k != "members"}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
