"""Round-by-round trajectories of the paper's code and sculpt's default on the 10 trials.

    PYTHONPATH=. python bench/fidelity/side_by_side.py [--oracle DIR] [--out docs/fidelity/side_by_side.md]

The paper's side is the oracle record ``DIR/<trial>.json`` (bench/fidelity/oracle.py) when present,
else ``replay="paper"`` with workers off (equal to the oracle wherever both were run). sculpt's side is
``sculpt.prune.prune`` (default pipeline) with the same settings. A round is written
``p% A|R|- units/edges acc@epoch`` (A accepted, R rejected, - not trained: target >= 100 %).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import torch

from functiongraphs import Task, catalog
from sculpt.prune import prune
from sculpt.prune.replay import replay_trial

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from trials import TRIALS  # noqa: E402


def _fmt_paper(r) -> str:
    if not r["trained"]:
        return f"{r['p']:.4g}% -"
    return f"{r['p']:.4g}% {'A' if r['accepted'] else 'R'} {r['units']}/{r['edges']} {r['accuracy']:.4g}@{r['best_epoch']}"


def _fmt_default(r, n_weights, widths) -> str:
    if not r["trained"]:
        return f"{r['p']:.4g}% -"
    edges = round(r["density"] * n_weights)
    return f"{r['p']:.4g}% {'A' if r['accepted'] else 'R'} {edges} {r['accuracy']:.4g}"


def main(argv) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--oracle", default="")
    p.add_argument("--out")
    ns = p.parse_args(argv)
    torch.set_num_threads(1)
    lines = ["| trial | code | dense acc@epoch | unit rounds (p% A/R units/edges acc@epoch) | edge start | "
             "edge rounds | final units / edges |", "|---|---|---|---|---|---|---|"]
    for t in TRIALS:
        task = Task(catalog.get(t["graph"]), noise=0.1)
        path = os.path.join(ns.oracle, f"{t['name']}.json") if ns.oracle else ""
        if path and os.path.exists(path):
            with open(path) as f:
                o, src = json.load(f), "paper (oracle)"
        else:
            o = replay_trial(task, t["arch"], t["p_u"], [t["p_e"]], seed=t["seed"], lr=t["lr"],
                             batch_size=t["batch_size"], epochs=t["epochs"], loader_workers=0)
            src = "paper (replay)"
        e = o["edge"][str(float(t["p_e"]))]
        lines.append(f"| {t['name']} | {src} | {o['dense']['accuracy']:.4g}@{o['dense']['best_epoch']} | "
                     + "; ".join(_fmt_paper(r) for r in o["unit"]["rounds"])
                     + f" | {o['edge_start']['accuracy']:.4g}@{o['edge_start']['best_epoch']} | "
                     + "; ".join(_fmt_paper(r) for r in e["rounds"]) + f" | {e['units']} / {e['edges']} |")
        net = prune(task, t["arch"], p_u=t["p_u"], p_e=t["p_e"], seed=t["seed"], lr=t["lr"],
                    batch_size=t["batch_size"], epochs=t["epochs"], progress=False)
        h = net.history
        n_weights = net.n_weights
        units = [int(m.any(axis=1).sum()) for m in net.masks[:-1]]
        lines.append(f"| {t['name']} | sculpt default | {h['dense']['validation_accuracy']:.4g}@{h['dense']['best_epoch']} | "
                     + "; ".join(_fmt_default(r, n_weights, None) for r in h["unit"])
                     + f" | {h['edge_start']['retrained_accuracy']:.4g} | "
                     + "; ".join(_fmt_default(r, n_weights, None) for r in h["edge"])
                     + f" | {units} / {net.kept_weights} |")
        print(lines[-2], lines[-1], sep="\n", flush=True)
    if ns.out:
        with open(ns.out, "w") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
