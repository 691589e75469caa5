"""Speed of the training engine against a baseline measured in the same run (issue 12).

``python -m bench speed experiment [--baseline DIR] [--repeat N]``
    The 8-trial experiment (Figure 7 reused [24, 24] and Figure 12 hierarchical-use2 [36, 36],
    seeds 0, 1, 2, 5) run end to end with ``sculpt grid --jobs 2`` by this checkout and by the
    checkout at ``--baseline`` (default ``$SCULPT_BASELINE``, e.g. a ``git worktree`` of commit
    156bb56), alternating baseline / current ``--repeat`` times. Prints both walls, their ratio
    and whether the two record files agree (timings aside).
``python -m bench speed trial``
    One Figure 7 reused [4, 24, 24, 16] and one Figure 12 hierarchical-use2 [8, 36, 36, 4] trial:
    CPU seconds with the exact (dense masked) arithmetic and with ``condense=True``, and packing:
    4 seeds in one stack vs one after the other. Ratios within the same run.
``python -m bench speed mnist [--preset small]``
    One edge-stage round of the MNIST preset from a unit-pruned network: dense masked retraining
    vs condensed retraining (live units and live inputs only), alternating, same starting network;
    wall and CPU seconds (with one thread, CPU time is the steadier clock on a loaded machine).
    ``--prior-rounds N`` measures a later round of the stage (N condensed rounds first).
``python -m bench speed mnist-epoch [--preset paper] [--hidden 392 392] [--batch-size 256]``
    CPU seconds of one training epoch on the preset's data: dense, and condensed with 50 % and
    95 % of the hidden units removed (what one (re)training of an MNIST trial costs; the paper's
    settings retrain 40 epochs per round).
``python -m bench speed gpu``
    The Figure 12 trial on ``cuda`` vs ``cpu`` when CUDA is available; otherwise says it is skipped.

Timings are ratios against a baseline measured in the same run, with the load average printed:
the machine is shared, absolute seconds are not comparable between runs.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXPERIMENT_TOML = """
name = "speed8"
kind = "sculpt"
figure = "fig7"
description = "issue 12 benchmark: Figure 7 reused [24, 24] and Figure 12 hierarchical-use2 [36, 36], 4 seeds each"

[defaults]
noise = 0.1
p_u = [5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0, 45.0, 50.0, 55.0, 60.0, 65.0, 70.0]
p_e = [2.5, 2.0, 1.5, 1.0, 0.5]
accuracy_threshold = 100.0
modularity_threshold = -0.2
merge_threshold = 0.9

[grid]
seed = [0, 1, 2, 5]

[[cells]]
graph = "reused"
arch = [24, 24]
lr = 0.1
batch_size = 8
epochs = 40

[[cells]]
graph = "hierarchical-use2"
arch = [36, 36]
lr = 0.05
batch_size = 32
epochs = 30
"""

CELLS = {
    "fig7-reused-24x24": ("reused", [24, 24], dict(lr=0.1, batch_size=8, epochs=40)),
    "fig12-use2-36x36": ("hierarchical-use2", [36, 36], dict(lr=0.05, batch_size=32, epochs=30)),
}


def _load() -> str:
    return f"load average {os.getloadavg()[0]:.2f}"


def _grid_once(tree: Path, toml: Path, out: Path, jobs: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the grid and its workers) of one ``sculpt grid`` run."""
    import resource

    env = dict(os.environ, PYTHONPATH=str(tree))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sculpt", "grid", str(toml), "--jobs", str(jobs), "--out", str(out)],
                   cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _networks(path: Path) -> dict:
    """(graph, arch, seed) -> the kept edges of each trial (record formats differ between versions)."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {(r["config"]["graph"], tuple(r["config"]["arch"]), r["config"]["seed"]): r.get("network") for r in rows}


def experiment(args) -> int:
    baseline = Path(args.baseline or os.environ.get("SCULPT_BASELINE", "")).resolve()
    if not (baseline / "sculpt" / "__init__.py").is_file():
        print("bench speed experiment: give --baseline DIR (a checkout of the baseline commit, e.g. "
              "`git worktree add ../baseline156 156bb56`) or set SCULPT_BASELINE", file=sys.stderr)
        return 2
    here = Path(__file__).resolve().parents[1]
    walls = {"baseline": [], "current": []}
    cpus = {"baseline": [], "current": []}
    with tempfile.TemporaryDirectory() as tmp:
        toml = Path(tmp) / "speed8.toml"
        toml.write_text(EXPERIMENT_TOML)
        print(f"8-trial experiment, --jobs {args.jobs}, {args.repeat} alternating pairs; {_load()}")
        for r in range(args.repeat):
            for name, tree in (("baseline", baseline), ("current", here)):
                out = Path(tmp) / f"{name}{r}"
                wall, cpu = _grid_once(tree, toml, out, args.jobs)
                walls[name].append(wall)
                cpus[name].append(cpu)
                print(f"  {name:8s} run {r + 1}: {wall:7.1f} s wall, {cpu:7.1f} CPU s  ({_load()})", flush=True)
        base_nets = _networks(Path(tmp) / "baseline0" / "records.jsonl")
        cur_nets = _networks(Path(tmp) / "current0" / "records.jsonl")
        same = sum(base_nets[k] == cur_nets.get(k) for k in base_nets)
    b, c = statistics.median(walls["baseline"]), statistics.median(walls["current"])
    ratios = [x / y for x, y in zip(walls["baseline"], walls["current"])]
    bc, cc = statistics.median(cpus["baseline"]), statistics.median(cpus["current"])
    print(f"wall: baseline {b:.1f} s, current {c:.1f} s (medians): x{b / c:.2f} faster"
          f" (pairs: {', '.join(f'x{q:.2f}' for q in ratios)}); goal x5: {'met' if b / c >= 5 else 'MISSED'}")
    print(f"CPU:  baseline {bc:.1f} s, current {cc:.1f} s (medians): x{bc / cc:.2f}"
          " (the robust figure on a loaded machine: wall also counts waiting for other processes)")
    print(f"pruned networks identical to the baseline's: {same} of {len(base_nets)} trials")
    return 0


def _cpu(fn):
    start = time.process_time()
    out = fn()
    return time.process_time() - start, out


def trial(args) -> int:
    import torch

    from functiongraphs import Task, catalog
    from sculpt.prune import prune_grid
    from sculpt.prune.grid import prune_grids

    torch.set_num_threads(1)
    print(f"one trial per cell, CPU seconds, 1 thread; {_load()}")
    for name, (graph, hidden, kw) in CELLS.items():
        task = Task(catalog.get(graph), noise=0.1)
        arch = [task.n_inputs, *hidden, task.n_outputs]
        exact_s, exact = _cpu(lambda: prune_grid(task, arch, seed=0, progress=False, **kw))
        cond_s, cond = _cpu(lambda: prune_grid(task, arch, seed=0, progress=False, condense=True, **kw))
        print(f"  {name}: exact {exact_s:.2f} s (density {100 * exact.density:.2f} %), condensed {cond_s:.2f} s"
              f" (density {100 * cond.density:.2f} %): x{exact_s / cond_s:.2f}")
        seeds = [0, 1, 2, 5]
        lr = kw["lr"]
        rest = {k: v for k, v in kw.items() if k != "lr"}
        alone_s, _ = _cpu(lambda: [prune_grid(task, arch, seed=s, progress=False, **kw) for s in seeds])
        packed_s, _ = _cpu(lambda: prune_grids(task, arch, seeds, lr, progress=False, **rest))
        print(f"  {name}: 4 seeds one after the other {alone_s:.2f} s, packed in one stack {packed_s:.2f} s:"
              f" x{alone_s / packed_s:.2f}  ({_load()})")
    return 0


def _mnist_preset_task(args):
    """The two-digit preset named by ``args.preset`` and its task, torch on ``args.threads`` threads."""
    import torch

    from sculpt import presets

    torch.set_num_threads(args.threads)
    preset = presets.get("mnist-two-digits", args.preset)
    return preset, preset.build_task()


def _remove_units(model, task, preset, percent: float) -> None:
    """Remove the lowest-scoring ``percent`` of the hidden units, as one unit-pruning round does."""
    import numpy as np
    import torch

    from sculpt.prune.unit import UnitStage

    X, Y = torch.as_tensor(task.validation.X), torch.as_tensor(task.validation.Y)
    UnitStage(X, Y, preset.unit_score_batch_size).prune(model, np.array([percent]), np.array([True]))


def mnist(args) -> int:
    import numpy as np
    import torch

    from sculpt import condensed
    from sculpt.nets import MaskedMLP
    from sculpt.prune.driver import run_stage
    from sculpt.prune.edge import EdgeStage
    from sculpt.prune.schedule import HalvingSchedule
    from sculpt.train import train

    preset, task = _mnist_preset_task(args)
    if args.train_rows:  # a cheaper benchmark: both sides retrain on the same subset
        import dataclasses

        task.train = dataclasses.replace(task.train, X=task.train.X[:args.train_rows],
                                         Y=task.train.Y[:args.train_rows])
    arch = [task.n_inputs, *preset.hidden, task.n_outputs]
    model = MaskedMLP(arch, members=1, seed=0)
    kwargs = dict(lr=preset.lr, batch_size=preset.batch_size, generator=torch.Generator().manual_seed(0))
    train(model, task, epochs=1, **kwargs)
    # a unit-pruned start like the preset's edge stage: the lowest-scoring units removed
    _remove_units(model, task, preset, args.unit_pp)
    n_weights = sum(a * b for a, b in zip(arch[:-1], arch[1:]))

    def edge_round(condense: bool) -> tuple[float, float]:
        """(wall, CPU) seconds of one edge round from the current state of ``model``."""
        start_pp = 100.0 * (1 - float(model.kept_weights()[0]) / n_weights)
        # the preset's rate, or less so that the round's target stays below 100 % (a round that
        # would prune everything does not train)
        rate = min(preset.p_e[0], (100.0 - start_pp) / 2)
        schedule = HalvingSchedule([rate], start_pp, 100.0 / n_weights, max_rounds=1)
        t0, c0 = time.perf_counter(), time.process_time()
        run_stage(model, task, EdgeStage(), schedule, threshold=0.0, validated=np.zeros(1, dtype=bool),
                  train_kwargs=dict(kwargs, epochs=preset.epochs, condense=condense))
        return time.perf_counter() - t0, time.process_time() - c0

    # optionally start deeper into the edge stage: earlier (condensed) rounds thin the inputs too
    for _ in range(args.prior_rounds):
        edge_round(True)
    alive = [int(u.sum()) for u in model.unit_masks]
    state = model.state()
    kept_pp = 100.0 * float(model.kept_weights()[0]) / n_weights

    def measured(condense: bool) -> tuple[float, float]:
        model.load_state(state)
        return edge_round(condense)

    print(f"mnist-two-digits / {args.preset}: arch {arch}, live hidden units {alive}, {kept_pp:.2f} % of the"
          f" weights kept after {args.prior_rounds} earlier edge rounds, {task.train.X.shape[0]} training pairs,"
          f" {args.threads} threads; {_load()}")
    dense, cond = [], []
    for _ in range(args.repeat):
        dense.append(measured(False))
        cond.append(measured(True))
    live_in = int(condensed.live_inputs(model).numel())  # after the measured round's pruning
    (d, dc), (c, cc) = [tuple(min(t[i] for t in times) for i in (0, 1)) for times in (dense, cond)]
    print(f"edge round ({preset.epochs} epochs, {live_in} of {arch[0]} inputs live while retraining):"
          f" dense masked {d:.2f} s wall / {dc:.2f} s CPU, condensed {c:.2f} s wall / {cc:.2f} s CPU:"
          f" x{d / c:.1f} wall, x{dc / cc:.1f} CPU (best of {args.repeat});"
          f" goal x10: {'met' if d / c >= 10 else 'MISSED'} (wall); {_load()}")
    return 0


def mnist_epoch(args) -> int:
    """CPU seconds of one training epoch on an MNIST preset's data, dense and condensed."""
    import torch

    from sculpt.nets import MaskedMLP
    from sculpt.train import train

    preset, task = _mnist_preset_task(args)
    arch = [task.n_inputs, *(args.hidden or preset.hidden), task.n_outputs]
    batch_size = args.batch_size or preset.batch_size
    print(f"mnist-two-digits / {args.preset}: arch {arch}, {task.train.X.shape[0]} training pairs,"
          f" batch {batch_size}, {args.threads} threads; {_load()}")
    for removed in (0.0, 50.0, 95.0):
        model = MaskedMLP(arch, members=1, seed=0)
        if removed:
            _remove_units(model, task, preset, removed)
        alive = [int(u.sum()) for u in model.unit_masks]
        seconds, _ = _cpu(lambda: train(model, task, epochs=1, lr=preset.lr, batch_size=batch_size,
                                        generator=torch.Generator().manual_seed(0), condense=bool(removed)))
        print(f"  {removed:g} % of the hidden units removed (live {alive}), {'condensed' if removed else 'dense'}:"
              f" {seconds:.2f} CPU s per epoch, {preset.epochs * seconds:.0f} CPU s per {preset.epochs}-epoch"
              f" (re)training; {_load()}")
    return 0


def gpu(args) -> int:
    import torch

    if not torch.cuda.is_available():
        print("bench speed gpu: skipped, no CUDA device (torch.cuda.is_available() is False)")
        return 0
    from functiongraphs import Task, catalog
    from sculpt.prune import prune_grid

    graph, hidden, kw = CELLS["fig12-use2-36x36"]
    task = Task(catalog.get(graph), noise=0.1)
    arch = [task.n_inputs, *hidden, task.n_outputs]
    times = {}
    for device in ("cuda", "cpu"):
        prune_grid(task, arch, seed=0, progress=False, device=device, epochs=1,
                   p_u=(70.0,), p_e=(2.5,), lr=kw["lr"], batch_size=kw["batch_size"])  # warm-up
        t0 = time.perf_counter()
        net = prune_grid(task, arch, seed=0, progress=False, device=device, **kw)
        if device == "cuda":
            torch.cuda.synchronize()
        times[device] = (time.perf_counter() - t0, net.density)
    (g, gd), (c, cd) = times["cuda"], times["cpu"]
    print(f"fig12 use2 [36, 36] trial: cuda {g:.1f} s (density {100 * gd:.2f} %), cpu {c:.1f} s"
          f" (density {100 * cd:.2f} %): x{c / g:.2f}; {torch.cuda.get_device_name()}")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench speed", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("experiment")
    p.add_argument("--baseline", help="checkout of the baseline commit (default $SCULPT_BASELINE)")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--jobs", type=int, default=2)
    sub.add_parser("trial")
    p = sub.add_parser("mnist")
    p.add_argument("--preset", default="small")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--unit-pp", type=float, default=90.0, help="percent of hidden units removed first")
    p.add_argument("--train-rows", type=int, default=0, help="retrain on the first N training pairs (0: all)")
    p.add_argument("--prior-rounds", type=int, default=0,
                   help="condensed edge rounds run before the measured one (a later round of the stage)")
    p = sub.add_parser("mnist-epoch")
    p.add_argument("--preset", default="paper")
    p.add_argument("--hidden", type=int, nargs="+", help="hidden widths (default: the preset's)")
    p.add_argument("--batch-size", type=int, help="default: the preset's")
    p.add_argument("--threads", type=int, default=1)
    sub.add_parser("gpu")
    args = parser.parse_args(argv)
    return {"experiment": experiment, "trial": trial, "mnist": mnist, "mnist-epoch": mnist_epoch, "gpu": gpu}[args.what](args)
