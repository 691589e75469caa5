"""Acceptance check of the pruning engine on the paper's four validation graphs.

For each graph (arch [n_in, 24, 24, n_out]) and seed 0, 1, 2, 5, run the full (p_u, p_e) grid with
the learning rate, batch size and epochs the paper used for that cell
(``pruned_networks.jsonl`` of the converted reference data, ``sculpt data paper --from PATH``), then check that the kept network is 100 % correct
on the truth table and that its density is at most 1.5x the paper's stored network's.

    .venv/bin/python examples/prune_validation_graphs.py [--seeds 0 1 2 5] [--graphs NAME ...]

Prints the table (ours vs the paper) and exits 1 if any cell fails.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

GRAPHS = {"input-separable": [4, 2, 4], "reused": [4, 1, 2, 16], "separable-reused": [6, 3, 3, 3],
          "non-modular": [4, 1, 4]}
SEEDS = (0, 1, 2, 5)
MAX_DENSITY_RATIO = 1.5


def paper_cell(modularity: list[int], arch: list[int], seed: int, reference: Path | None = None) -> dict:
    """The paper's primary stored network for (exemplar modularity, arch, seed)."""
    from sculpt.reference import select_records

    rows = select_records(reference, experiment="exemplar", modularity=modularity, arch=arch, seed=seed,
                          other_structure=False)
    if rows:
        return rows[0]
    raise LookupError(f"no paper network for {modularity} {arch} seed {seed}")


def run_cell(name: str, seed: int, reference: Path | None = None, progress: bool = False) -> dict:
    """Prune one cell and compare it with the paper's network; returns one table row."""
    from functiongraphs import Task, catalog
    from sculpt.prune import prune_grid

    task = Task(catalog.get(name), noise=0.1)
    arch = [task.n_inputs, 24, 24, task.n_outputs]
    paper = paper_cell(GRAPHS[name], arch, seed, reference)
    start = time.perf_counter()
    net = prune_grid(task, arch, seed=seed, lr=paper["lr"], batch_size=paper["batch_size"],
                     epochs=paper["epochs"], progress=progress)
    seconds = time.perf_counter() - start
    X, Y = task.test.X, task.test.Y
    correct = bool(np.array_equal(net.predict(X) > 0.5, Y > 0.5))
    ratio = net.density / paper["density"]
    return {"graph": name, "arch": arch, "seed": seed, "lr": paper["lr"], "batch_size": paper["batch_size"],
            "epochs": paper["epochs"], "density": net.density, "paper_density": paper["density"],
            "ratio": ratio, "p_u": net.meta["p_u"], "p_e": net.meta["p_e"], "paper_p_u": paper["p_u"],
            "paper_p_e": paper["p_e"], "correct": correct, "seconds": seconds,
            "ok": correct and ratio <= MAX_DENSITY_RATIO}


def format_table(rows: list[dict]) -> str:
    lines = ["| graph | arch | seed | lr / bs / ep | ours density (p_u, p_e) | paper density (p_u, p_e) | ratio | 100 % | s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['graph']} | {r['arch']} | {r['seed']} | {r['lr']:g} / {r['batch_size']} / {r['epochs']} | "
                     f"{100 * r['density']:.2f} % ({r['p_u']:g}, {r['p_e']:g}) | "
                     f"{100 * r['paper_density']:.2f} % ({r['paper_p_u']:g}, {r['paper_p_e']:g}) | "
                     f"{r['ratio']:.2f} | {'yes' if r['correct'] else 'NO'} | {r['seconds']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--graphs", nargs="+", default=list(GRAPHS), choices=list(GRAPHS))
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)  # tiny tensors: one thread is fastest and deterministic
    rows = []
    for name in args.graphs:
        for seed in args.seeds:
            rows.append(run_cell(name, seed, progress=args.progress))
            print(format_table(rows[-1:]).splitlines()[-1], flush=True)
    print()
    print(format_table(rows))
    failed = [r for r in rows if not r["ok"]]
    print(f"\n{len(rows) - len(failed)}/{len(rows)} cells pass (100 % correct and density <= "
          f"{MAX_DENSITY_RATIO}x the paper's)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
