"""A user's own nn.Sequential through the engine: cost per training against the paper's path.

``python -m bench own_model [--repeat N]``

Cell: input-separable [4,2,4], one (p_u, p_e) = (70, 2.5) trial, lr 0.05, batch 8, 15 epochs,
noise 0.1, threshold 100 %, ``torch.set_num_threads(1)``. The baseline, measured in the same run,
is ``sculpt.prune.prune`` on the same task and architecture (the paper's ReLU / BCE MLP, which
takes the hand-written fast path). The user's models go through autograd: a ReLU model with
``loss="bce"``, a Tanh model, and the ReLU model with a callable loss
(``torch.nn.functional.binary_cross_entropy_with_logits``, rows by ``torch.func.vmap``). Their
initial weights differ from the baseline's, so their schedules take different numbers of rounds:
the figure of merit is seconds per training (dense + unit rounds + edge-start + edge rounds).
"""
from __future__ import annotations

import argparse
import statistics
import time

CELL = dict(p_u=[70.0], p_e=[2.5], lr=0.05, batch_size=8, epochs=15, noise=0.1, threshold=100.0)


def _trainings(net) -> int:
    return len(net.history["unit"]) + len(net.history["edge"]) + 2


def _time(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench own_model", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per measurement (median)")
    args = parser.parse_args(argv)

    import torch
    import torch.nn.functional as F

    from functiongraphs import Task, catalog
    from sculpt.prune import prune, prune_sequential

    torch.set_num_threads(1)
    graph = catalog.get("input-separable")
    task = Task(graph, noise=0.1)
    X, Y = (torch.as_tensor(a, dtype=torch.float32) for a in graph.truth_table())

    def model(act):
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Linear(4, 24), act(), torch.nn.Linear(24, 4))

    cases = {
        "paper path (prune_grid)": lambda: prune(task, [4, 24, 4], p_u=70, p_e=2.5, seed=0, lr=0.05,
                                                 batch_size=8, epochs=15, progress=False),
        "Sequential ReLU, 'bce'": lambda: prune_sequential(model(torch.nn.ReLU), (X, Y), loss="bce", **CELL),
        "Sequential Tanh, 'bce'": lambda: prune_sequential(model(torch.nn.Tanh), (X, Y), loss="bce", **CELL),
        "Sequential ReLU, callable": lambda: prune_sequential(
            model(torch.nn.ReLU), (X, Y), loss=F.binary_cross_entropy_with_logits, metric="bit_accuracy", **CELL),
    }
    for fn in cases.values():  # warm-up
        fn()
    base = None
    for name, fn in cases.items():
        seconds, net = _time(fn, args.repeat)
        per = seconds / _trainings(net)
        base = base or per
        print(f"{name:28s}: {seconds:6.3f} s, {_trainings(net):3d} trainings, {1e3 * per:6.1f} ms/training"
              f"  x{per / base:.2f} of the paper path  (density {100 * net.density:.1f} %)")
    print(f"(torch {torch.__version__}, 1 thread, median of {args.repeat})")
    return 0
