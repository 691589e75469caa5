"""The reuse gap (issue 11 section 3): success with 95 % Wilson CIs under both tie orders.

One pruning per trial (the full 14 x 5 grid; ``--replay paper`` for the paper's code replayed),
both tie orders taken from the same grid: the notebook's order (first of the tied sparsest) and
fewest modules among the tied sparsest. Cells: the ones of ``docs/fidelity/reuse_gap.toml``.

    PYTHONPATH=. python bench/fidelity/reuse_gap.py --out runs/reuse_gap_default.jsonl [--replay paper]
    PYTHONPATH=. python bench/fidelity/reuse_gap.py --table runs/reuse_gap_default.jsonl

Appends one JSON line per trial (resumable: finished trials are skipped).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import tomllib

import torch

from functiongraphs import Task, catalog
import sculpt.prune.replay as replay_mod
from sculpt.detect import detect_modules
from sculpt.experiments.paper_numbers import paper_values
from sculpt.prune import prune_grid
from sculpt.score import compare
from sculpt.stats import wilson_interval

HERE = os.path.dirname(os.path.abspath(__file__))
TOML = os.path.join(HERE, "..", "..", "docs", "fidelity", "reuse_gap.toml")
# the paper's success criterion of each graph (the Figure 7 / 8 bars); reused and reuse-use*: reused_success
CRITERION = {"input-separable": "input_separable_success", "separable-reused": "separable_reused_success",
             "non-modular": "non_modular_success"}
# the paper's published bars (Figures 7 and 8), keyed (graph, hidden layers), for each graph's criterion
PAPER = {(v.graph, v.hidden_layers): v.value for fig in ("fig7", "fig8") for v in paper_values(fig)
         if v.criterion == CRITERION.get(v.graph, "reused_success")}


def trials(toml: str = TOML):
    with open(toml, "rb") as f:
        doc = tomllib.load(f)
    d = doc["defaults"]
    for cell in doc["cells"]:
        for seed in doc["grid"]["seed"]:
            yield dict(graph=cell["graph"], hidden=cell["arch"], lr=cell["lr"], batch_size=cell["batch_size"],
                       epochs=cell["epochs"], seed=seed, p_u=d["p_u"], p_e=d["p_e"])


def mask_digest(encoded) -> str:
    """A short digest of masks given as '0'/'1' row strings (the oracle's JSON format)."""
    return hashlib.sha1(json.dumps(encoded, separators=(",", ":")).encode()).hexdigest()[:16]


def record_members(sink: list):
    """Wrap replay_trial so that every P_u's searches (edges, units, checked, mask digest, wall) are kept.

    Returns the function that undoes the wrap. The oracle's grid (``oracle_grid.py``) records the
    same fields, so the two grids can be compared member by member.
    """
    real = replay_mod.replay_trial

    def wrapped(task, arch, p_u, p_e, **kw):
        t0 = time.time()
        out = real(task, arch, p_u, p_e, **kw)
        sink.append({"p_u": float(p_u), "wall_s": round(time.time() - t0, 1), "unit": out["unit"]["units"],
                     "edge": {pe: {"edges": s["edges"], "units": s["units"], "checked": bool(s["checked"]),
                                   "masks": mask_digest(replay_mod.encode_masks(s["masks"]))}
                              for pe, s in out["edge"].items()}})
        print(f"  p_u {p_u:g}: {sink[-1]['wall_s']} s", file=sys.stderr, flush=True)
        return out

    replay_mod.replay_trial = wrapped
    return lambda: setattr(replay_mod, "replay_trial", real)


def run_one(t: dict, replay: str | None, workers: int, knobs: dict | None = None) -> dict:
    task = Task(catalog.get(t["graph"]), noise=0.1)
    arch = [task.n_inputs, *t["hidden"], task.n_outputs]
    tied = []

    def keep_ties(nets):  # record the tied sparsest networks, keep the notebook's first
        tied.extend(nets)
        return 0

    kw = dict(replay=replay, loader_workers=workers) if replay else dict(knobs or {})
    members: list = []
    undo = record_members(members) if replay else (lambda: None)
    t0 = time.time()
    try:
        net = prune_grid(task, arch, seed=t["seed"], p_u=t["p_u"], p_e=t["p_e"], lr=t["lr"],
                         batch_size=t["batch_size"], epochs=t["epochs"], prefer=keep_ties, progress=False, **kw)
    finally:
        undo()
    tied = tied or [net]
    dets = [detect_modules(n, modularity_threshold=-0.2, merge_threshold=0.9) for n in tied]
    counts = [d.num_modules for d in dets]
    fewest = counts.index(min(counts))
    out = {}
    for rule, i in (("order", 0), ("fewest-modules", fewest)):
        c = compare(dets[i], task.structure, name=t["graph"], hidden_layers=len(t["hidden"]))
        out[rule] = bool(c["criteria"][CRITERION.get(t["graph"], "reused_success")])
    return {**{k: t[k] for k in ("graph", "hidden", "seed")}, "replay": replay, "workers": workers if replay else None,
            "edges": int(net.kept_weights), "tied": len(tied), "p_u": net.meta["p_u"], "p_e": net.meta["p_e"],
            "success": out, "wall_s": round(time.time() - t0, 1), **({"members": members} if replay else {}),
            **({"knobs": knobs} if knobs and not replay else {})}


def table(*paths: str) -> str:
    rows = []
    for path in paths:
        with open(path) as f:
            rows += [json.loads(line) for line in f if line.strip()]
    groups: dict = {}
    for r in rows:
        code = r.get("code") or ("replay" if r.get("replay") else "default")
        if r.get("code") or r.get("replay"):
            code += f" (workers {r.get('workers') or 0})"
        for k, v in sorted((r.get("knobs") or {}).items()):
            code += f", {k}={v}"
        if r.get("epochs_scale", 1.0) != 1.0:
            code += f", epochs x{r['epochs_scale']:g}"
        key = (r["graph"], len(r["hidden"]), code)
        groups.setdefault(key, []).append(r)
    lines = ["| graph | hidden layers | code | n | success (order) [95 % CI] | success (fewest modules) [95 % CI] | "
             "edges (min-max) | paper | paper inside (order / fewest) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for (graph, depth, code), rs in sorted(groups.items()):
        cells, inside = [], []
        paper = PAPER.get((graph, depth))
        for rule in ("order", "fewest-modules"):
            k = sum(r["success"][rule] for r in rs)
            lo, hi = wilson_interval(k, len(rs))
            cells.append(f"{k}/{len(rs)} = {k / len(rs):.2f} [{lo:.2f}, {hi:.2f}]")
            # the paper prints two decimals: its value is inside if its rounding interval meets ours
            inside.append("?" if paper is None else "yes" if lo - 0.005 <= paper <= hi + 0.005 else "**no**")
        edges = [r["edges"] for r in rs]
        lines.append(f"| {graph} | {depth} | {code} | {len(rs)} | {cells[0]} | {cells[1]} | {min(edges)}-{max(edges)} | "
                     f"{'' if paper is None else f'{paper:.2f}'} | {inside[0]} / {inside[1]} |")
    return "\n".join(lines)


def main(argv) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out")
    p.add_argument("--replay", choices=["paper"])
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--only", help="graph name filter, e.g. reused")
    p.add_argument("--depth", type=int, help="only cells with this many hidden layers")
    p.add_argument("--hidden", type=int, nargs="+", help="only the cell with these hidden widths")
    p.add_argument("--seeds", type=int, nargs="+", help="only these seeds")
    p.add_argument("--epochs-scale", type=float, default=1.0,
                   help="multiply every cell's epochs (a probe of longer training per step)")
    p.add_argument("--validation-loss", choices=["mean", "paper"], help="default engine: this validation_loss")
    p.add_argument("--save-unchecked", action="store_true", help="default engine: save_unchecked=True")
    p.add_argument("--toml", default=TOML, help="the cells (default docs/fidelity/reuse_gap.toml; e.g. "
                   "examples/experiments/figure7.toml to check other graphs)")
    p.add_argument("--table", nargs="+", help="print the table of these JSONL records")
    ns = p.parse_args(argv)
    if ns.table:
        print(table(*ns.table))
        return 0
    torch.set_num_threads(1)
    done = set()
    if os.path.exists(ns.out):
        with open(ns.out) as f:
            done = {(r["graph"], tuple(r["hidden"]), r["seed"]) for r in map(json.loads, f)}
    for t in trials(ns.toml):
        if (t["graph"], tuple(t["hidden"]), t["seed"]) in done:
            continue
        if (ns.only and t["graph"] != ns.only) or (ns.depth and len(t["hidden"]) != ns.depth):
            continue
        if (ns.hidden and list(t["hidden"]) != ns.hidden) or (ns.seeds and t["seed"] not in ns.seeds):
            continue
        t["epochs"] = int(round(t["epochs"] * ns.epochs_scale))
        knobs = {**({"validation_loss": ns.validation_loss} if ns.validation_loss else {}),
                 **({"save_unchecked": True} if ns.save_unchecked else {})}
        row = run_one(t, ns.replay, ns.workers, knobs)
        row["epochs"], row["epochs_scale"] = t["epochs"], ns.epochs_scale
        with open(ns.out, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
