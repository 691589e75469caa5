"""Tables 2-3: the cells where our epoch pre-step and the paper disagree about X, trained with the paper's RNG.

A Tables 2-3 cell is X when no epoch count up to 120 brings all four seeds' dense networks to 100 %
validation accuracy. Our pre-step (``docs/tables2_3/epochs/choice.json``) and the paper's tables
disagree on 21 readable cells. This script retrains the dense networks of those cells, every seed, for 120
epochs, as the paper's code draws them (``sculpt.prune.replay``: its initialisation, shuffles, noise
and DataLoader workers), and prints per cell which seeds reach 100 % under each.

    PYTHONPATH=. python bench/fidelity/tables_x_cells.py [--all [--part I/N]]

``--all`` retrains every readable cell instead (``--part 1/2`` and ``2/2`` split them between two
processes) and counts the cells where each engine's X / not-X matches the paper's.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

from sculpt.experiments.paper_numbers import paper_values
from sculpt.experiments.trial import build_task
from sculpt.prune.replay import PaperProcess, _Data, _Net

REPO = Path(__file__).resolve().parents[2]
MAX_EPOCHS = 120


def replay_dense_reaches(task, arch, seed: int, lr: float, batch_size: int) -> bool:
    """The paper's dense training of this cell and seed reaches 100 % validation accuracy in 120 epochs."""
    proc = PaperProcess(_Data(task), arch, seed, lr, batch_size, MAX_EPOCHS, loader_workers=2, threshold=100.0,
                        adam="torch")
    _, accuracy, _ = proc.train(_Net(arch, proc.g))
    return accuracy >= 100.0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    every = "--all" in argv
    part, parts = (map(int, argv[argv.index("--part") + 1].split("/")) if "--part" in argv else (1, 1))
    torch.set_num_threads(1)
    choice = json.loads((REPO / "docs" / "tables2_3" / "epochs" / "choice.json").read_text())
    print("| graph | hidden layers | lr | batch | paper | ours: seeds at 100 % | paper's code here: seeds at 100 % |")
    print("|---|---|---|---|---|---|---|")
    # the paper's rate of each cell, "X" where its tables mark one, None where the text lost it
    papers = {(v.graph, v.hidden_layers, v.lr, v.batch_size): v.value if v.value is not None else
              ("X" if v.mark == "X" else None) for v in paper_values("tables2_3")}
    agree = {"ours": 0, "code": 0}
    cells = 0
    start = time.perf_counter()
    for number, cell in enumerate(choice["cells"]):
        graph, depth, lr, batch = cell["graph"], cell["hidden_layers"], cell["lr"], cell["batch_size"]
        paper = papers[(graph, depth, lr, batch)]
        if paper is None or (not every and (cell["epochs"] is None) == (paper == "X")) or number % parts != part - 1:
            continue
        task = build_task(graph, 0.1)
        arch = [task.n_inputs, *cell["arch"], task.n_outputs]
        seeds = sorted(int(s) for s in cell["first_epochs"])
        ours = [s for s in seeds if cell["first_epochs"][str(s)] is not None]
        replay = [s for s in seeds if replay_dense_reaches(task, arch, s, lr, batch)]
        cells += 1
        agree["ours"] += (len(ours) == len(seeds)) == (paper != "X")
        agree["code"] += (len(replay) == len(seeds)) == (paper != "X")
        print(f"| {graph} | {depth} | {lr} | {batch} | {paper} | {ours} | {replay} |", flush=True)
    print(f"\n{cells} cells; X / not-X as the paper's: ours {agree['ours']}, the paper's code here "
          f"{agree['code']} ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
