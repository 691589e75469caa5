"""Cost of the MNIST small preset: one dense epoch, one unit-pruning round, one edge-pruning round.

The baseline measured in the same run is one dense training epoch; a pruning round is reported as
its ratio to it (a round retrains for ``epochs`` epochs and adds the unit scores or the edge
percentile, so the ratio should sit a little above ``epochs``). The projected wall time of a
full prune is ``dense_epochs`` epochs plus the rounds the preset's bounds allow.

Needs the MNIST cache (``sculpt data mnist``). The machine is shared: the load average is printed
with the numbers.

Usage: ``python -m bench mnist [--task mnist-two-digits] [--preset small] [--threads 2] [--repeat 2]``
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch


def _best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _one_round(model, task, stage, rate: float, start: float, p_min: float, threshold: float, train_kwargs):
    """Exactly one scheduled round of ``stage`` (score, prune, retrain, accept or rewind)."""
    from sculpt.prune.driver import run_stage
    from sculpt.prune.schedule import HalvingSchedule

    schedule = HalvingSchedule([rate], start, p_min, max_rounds=1)
    validated = np.zeros(1, dtype=bool)
    return run_stage(model, task, stage, schedule, threshold=threshold, validated=validated,
                     train_kwargs=train_kwargs)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench mnist", description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="mnist-two-digits")
    ap.add_argument("--preset", default="small")
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    ap.add_argument("--repeat", type=int, default=2, help="best of this many timings")
    args = ap.parse_args(argv)

    from sculpt import presets
    from sculpt.nets import MaskedMLP
    from sculpt.prune.edge import EdgeStage
    from sculpt.prune.unit import UnitStage
    from sculpt.train import train

    torch.set_num_threads(args.threads)
    preset = presets.get(args.task, args.preset)
    t0 = time.perf_counter()
    task = preset.build_task()
    build_s = time.perf_counter() - t0
    arch = [task.n_inputs, *preset.hidden, task.n_outputs]
    generator = torch.Generator().manual_seed(0)
    kwargs = dict(lr=preset.lr, batch_size=preset.batch_size, generator=generator)
    model = MaskedMLP(arch, members=1, seed=0)
    print(f"{args.task} / {args.preset}: arch {arch}, {task.train.X.shape[0]} training pairs,"
          f" {task.validation.X.shape[0]} validation pairs, {args.threads} threads,"
          f" load average {os.getloadavg()[0]:.2f}")
    print(f"task build: {build_s:.2f} s")

    epoch_s = _best_of(lambda: train(model, task, epochs=1, **kwargs), args.repeat)
    print(f"dense epoch (baseline): {epoch_s:.2f} s")
    retrain = dict(kwargs, epochs=preset.epochs)
    Xva = torch.as_tensor(task.validation.X)
    Yva = torch.as_tensor(task.validation.Y)
    state = model.state()
    units = UnitStage(Xva, Yva, preset.unit_score_batch_size)
    hidden = sum(preset.hidden)

    def unit_round():
        model.load_state(state)
        _one_round(model, task, units, preset.p_u[0], 0.0, 100.0 / hidden, 0.0, retrain)

    unit_s = _best_of(unit_round, args.repeat)
    print(f"unit round ({preset.epochs} retraining epochs): {unit_s:.2f} s = {unit_s / epoch_s:.2f} x epoch")
    n_weights = sum(a * b for a, b in zip(arch[:-1], arch[1:]))

    def edge_round():
        model.load_state(state)
        _one_round(model, task, EdgeStage(), preset.p_e[0], 50.0, 100.0 / n_weights, 0.0, retrain)

    edge_s = _best_of(edge_round, args.repeat)
    print(f"edge round ({preset.epochs} retraining epochs): {edge_s:.2f} s = {edge_s / epoch_s:.2f} x epoch")
    dense_epochs = preset.dense_epochs or preset.epochs
    if preset.max_rounds is not None:
        worst = dense_epochs * epoch_s + 2 * preset.max_rounds * max(unit_s, edge_s)
        print(f"worst case with max_rounds={preset.max_rounds}: {worst / 60:.1f} min"
              f" ({dense_epochs} dense epochs + 2 x {preset.max_rounds} rounds)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0
