"""``docs/fidelity/paper_code_rates.json``: the paper's own code from scratch, for the reports' column.

The rates come from ``replay="paper"`` (workers off) over the full 14 x 5 grid on the reuse-gap
cells (``docs/fidelity/data/reuse_gap_replay_w0.jsonl``, written by ``reuse_gap.py --replay
paper``): replay is the paper's code bit for bit (every member mask of the 4 trials also run
through the oracle over the full grid, ``reuse_gap_oracle_w0.jsonl``), and the notebook's tie order
is the one the reports use.

    PYTHONPATH=. python bench/fidelity/paper_code_rates.py > docs/fidelity/paper_code_rates.json
"""
from __future__ import annotations

import json
import os
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "docs", "fidelity", "data", "reuse_gap_replay_w0.jsonl")
# which figure's bar each reuse-gap cell is (Figure 7: reused; Figure 8: reuse-use1 / use2)
FIGURE = {"reused": "fig7", "reuse-use1": "fig8", "reuse-use2": "fig8"}


def rates(path: str = DATA) -> dict:
    cells: dict = defaultdict(lambda: [0, 0])
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            cell = cells[(r["graph"], len(r["hidden"]))]
            cell[0] += bool(r["success"]["order"])
            cell[1] += 1
    note = ("replay='paper', DataLoader workers off, full 14 x 5 grid, notebook tie order; equal to the "
            "paper's code member for member on the 4 trials run through both")
    return {"rates": [{"figure": FIGURE[graph], "graph": graph, "criterion": "reused_success", "hidden_layers": depth,
                       "successes": k, "trials": n, "note": note}
                      for (graph, depth), (k, n) in sorted(cells.items())]}


if __name__ == "__main__":
    json.dump(rates(), sys.stdout, indent=1)
    sys.stdout.write("\n")
