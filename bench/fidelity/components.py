"""Component check: sculpt's default unit and edge stages vs the paper's, on identical states.

Random streams make whole trajectories of the two codes incomparable, but each pruning decision
is deterministic given the network. This script replays trials (``replay="paper"``) and, at every
unit- and edge-pruning round, hands the very same weights, biases and masks to sculpt's default
``UnitStage`` scores / ``EdgeStage`` scores and ``global_percentile_keep`` and counts the rounds
where the kept units / edges differ from the paper's decision. It also feeds the paper's
accept/reject sequence to ``HalvingSchedule`` and checks the percentages it proposes.

    PYTHONPATH=. python bench/fidelity/components.py [--trials is_s0 reused_s0 ...] [--workers 0]
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import torch

import sculpt.prune.replay as replay
from functiongraphs import Task, catalog
from sculpt.nets import MaskedMLP, PrunedNet
from sculpt.prune.edge import edge_scores
from sculpt.prune.schedule import HalvingSchedule
from sculpt.prune.unit import global_percentile_keep, unit_scores

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from trials import TRIALS  # noqa: E402


def _sculpt_model(net, masks):
    ms = [m.numpy() != 0 for m in masks]
    pn = PrunedNet(arch=net.arch, weights=[(w.detach().numpy() * m).astype(np.float32) for w, m in zip(net.W, ms)],
                   biases=[b.detach().numpy().astype(np.float32) for b in net.b], masks=ms)
    return MaskedMLP.from_pruned_net(pn)


def check(trial: dict, workers: int) -> dict:
    task = Task(catalog.get(trial["graph"]), noise=0.1)
    X = torch.as_tensor(task.validation.X, dtype=torch.float32)
    Y = torch.as_tensor(task.validation.Y, dtype=torch.float32)
    stats = {"unit_rounds": 0, "unit_diff": 0, "unit_score_maxrel": 0.0, "edge_rounds": 0, "edge_diff": 0,
             "edge_diff_edges": 0}
    state = {}
    real_scores, real_pct = replay.PaperProcess.unit_scores, replay.paper_percentile

    def scores_hook(self, net, masks):
        s = real_scores(self, net, masks)
        state["unit"] = (net, masks, s)
        return s

    def pct_hook(values, q):
        t = real_pct(values, q)
        if "unit" in state:  # a unit round
            net, masks, s = state.pop("unit")
            model = _sculpt_model(net, masks)
            # sculpt orders the task's rows as the task does; scores are means, order-free
            mine = unit_scores(model, X, Y)[0].double().numpy()
            keep_paper = s > np.float32(t)
            keep_mine = global_percentile_keep(mine, float(q))
            stats["unit_rounds"] += 1
            stats["unit_diff"] += int(not np.array_equal(keep_paper, keep_mine))
            nz = s > 0
            if nz.any():
                rel = np.abs(mine[nz] - s[nz]) / s[nz]
                stats["unit_score_maxrel"] = max(stats["unit_score_maxrel"], float(rel.max()))
        else:  # an edge round: values are |w| of all weights, in layer order
            keep_paper = values > np.float32(t)
            keep_mine = global_percentile_keep(np.asarray(values, dtype=np.float64), float(q))
            stats["edge_rounds"] += 1
            d = int((keep_paper != keep_mine).sum())
            stats["edge_diff"] += int(d > 0)
            stats["edge_diff_edges"] += d
        return t

    replay.PaperProcess.unit_scores = scores_hook
    replay.paper_percentile = pct_hook
    try:
        out = replay.replay_trial(task, trial["arch"], trial["p_u"], [trial["p_e"]], seed=trial["seed"], lr=trial["lr"],
                                  batch_size=trial["batch_size"], epochs=trial["epochs"], loader_workers=workers)
    finally:
        replay.PaperProcess.unit_scores, replay.paper_percentile = real_scores, real_pct
    # the schedule: feed the paper's accept/reject outcomes to HalvingSchedule
    sched_ok = True
    for rounds, rate, start, p_min in (
            (out["unit"]["rounds"], trial["p_u"], 0.0, 100.0 / sum(trial["arch"][1:-1])),
            (out["edge"][str(float(trial["p_e"]))]["rounds"], trial["p_e"],
             out["edge"][str(float(trial["p_e"]))]["rounds"][0]["p"] - trial["p_e"],
             100.0 / sum(a * b for a, b in zip(trial["arch"][:-1], trial["arch"][1:])))):
        s = HalvingSchedule([rate], start, p_min)
        for r in rounds:
            pp, _ = s.propose()
            sched_ok &= abs(pp[0] - r["p"]) < 1e-4
            s.update([r["accepted"]])
        sched_ok &= bool(s.done[0])
    stats["schedule_identical"] = bool(sched_ok)
    return stats


def main(argv) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", nargs="*")
    p.add_argument("--workers", type=int, default=0)
    ns = p.parse_args(argv)
    torch.set_num_threads(1)
    for t in TRIALS:
        if ns.trials and t["name"] not in ns.trials:
            continue
        print(json.dumps({"trial": t["name"], **check(t, ns.workers)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
