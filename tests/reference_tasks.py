"""Test helper: Boolean tasks built from the paper's reference truth tables (no function graph needed)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from functiongraphs.task import Split, Task

TRUTH_TABLES = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "truth_tables"

# catalog name -> (experiment folder, modularity list)
EXEMPLARS = {
    "input-separable": ("exemplar", [4, 2, 4]),
    "reused": ("exemplar", [4, 1, 2, 16]),
    "separable-reused": ("exemplar", [6, 3, 3, 3]),
    "non-modular": ("exemplar", [4, 1, 4]),
}


def truth_table(folder: str, modularity: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """X (rows x n, x0 = MSB) and Y (rows x m) float32 from ``truth_tables/<folder>/boolean[...].json``."""
    data = json.loads((TRUTH_TABLES / folder / f"boolean{modularity}.json").read_text())
    n = data["n_inputs"]
    rows = np.arange(2 ** n)
    X = ((rows[:, None] >> np.arange(n - 1, -1, -1)[None, :]) & 1).astype(np.float32)
    bits = {f["id"]: np.array([int(c) for c in f["truth_table_bits"]], dtype=np.float32)
            for f in data["functions"]}
    Y = np.stack([bits[i] for i in data["output_function_ids"]], axis=1)
    return X, Y


def reference_task(name: str, noise: float = 0.1) -> Task:
    """The exemplar task ``name`` as the paper trains it: all rows noised on train, clean elsewhere."""
    folder, modularity = EXEMPLARS[name]
    X, Y = truth_table(folder, modularity)
    rows = Split(X, Y)
    return Task.from_arrays(name, rows, rows, noise=noise)
