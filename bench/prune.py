"""Pruning speed: one (p_u, p_e) trial and the full 14 x 5 grid, stacked vs one member at a time.

``python -m bench prune [--repeat N] [--skip-single]``

Cell: input-separable [4,2,4], arch [4,24,4], seed 0, lr 0.05, batch 8, 15 epochs (the issue's
benchmark). Times are after imports and one warm-up call, with ``torch.set_num_threads(1)`` (tiny
tensors: extra threads only add contention and noise). Baselines measured in the same run: the
grid with ``members_per_stack=1`` (the stack speed-up); the paper's published numbers (its code
with DataLoader workers off: 0.92 s compute per trial, 48 s per grid after imports) are printed
for reference only, since they were measured on another machine.
"""
from __future__ import annotations

import argparse
import statistics
import time

PAPER_TRIAL_S = 0.92
PAPER_GRID_S = 48.0
GOAL_TRIAL_S = 0.25
GOAL_GRID_S = 5.0
CELL = dict(arch=[4, 24, 4], seed=0, lr=0.05, batch_size=8, epochs=15, progress=False)


def _time(fn, repeat: int) -> tuple[float, float, object]:
    """(median, min, last result) over ``repeat`` calls; the min is the least disturbed by other load."""
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench prune", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per measurement (median)")
    parser.add_argument("--skip-single", action="store_true", help="skip the one-member-at-a-time grid")
    args = parser.parse_args(argv)

    import torch

    from functiongraphs import Task, catalog
    from sculpt.prune import prune, prune_grid

    torch.set_num_threads(1)
    task = Task(catalog.get("input-separable"), noise=0.1)
    prune(task, p_u=70, p_e=2.5, **CELL)  # warm-up (lazy torch initialisation)

    trial_s, trial_min, trial = _time(lambda: prune(task, p_u=70, p_e=2.5, **CELL), args.repeat)
    rounds = len(trial.history["unit"]) + len(trial.history["edge"]) + 2  # + dense + edge-start retraining
    print(f"trial p_u=70 p_e=2.5: {trial_s:.3f} s (min {trial_min:.3f})  ({rounds} trainings, density {100 * trial.density:.2f} %)"
          f"  goal < {GOAL_TRIAL_S} s: {'met' if trial_s < GOAL_TRIAL_S else 'MISSED'};"
          f"  paper compute {PAPER_TRIAL_S} s -> x{PAPER_TRIAL_S / trial_s:.1f}")

    grid_s, grid_min, grid = _time(lambda: prune_grid(task, **CELL), args.repeat)
    print(f"grid 14x5 stacked   : {grid_s:.3f} s (min {grid_min:.3f})  (kept p_u={grid.meta['p_u']:g} p_e={grid.meta['p_e']:g},"
          f" density {100 * grid.density:.2f} %)  goal < {GOAL_GRID_S} s: {'met' if grid_s < GOAL_GRID_S else 'MISSED'};"
          f"  paper {PAPER_GRID_S} s -> x{PAPER_GRID_S / grid_s:.1f}")
    if not args.skip_single:
        single_s, _, single = _time(lambda: prune_grid(task, members_per_stack=1, **CELL), 1)
        print(f"grid 14x5 E=1       : {single_s:.3f} s  (kept p_u={single.meta['p_u']:g} p_e={single.meta['p_e']:g},"
              f" density {100 * single.density:.2f} %)  stack speed-up x{single_s / grid_s:.1f}")
    print(f"(torch {torch.__version__}, 1 thread, median of {args.repeat}; E=1 grid timed once)")
    return 0
