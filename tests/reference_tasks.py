"""Test helper: the paper's Boolean tasks as the paper trains them, from the catalog.

The catalog's graphs reproduce the paper's dataset pickles bit for bit
(``test_functiongraphs_catalog.py`` checks it wherever the converted reference data exists), so
these tasks need no reference data on disk.
"""
from __future__ import annotations

import numpy as np

from functiongraphs import catalog
from functiongraphs.task import Split, Task

# catalog name -> (experiment folder, modularity list)
EXEMPLARS = {
    "input-separable": ("exemplar", [4, 2, 4]),
    "reused": ("exemplar", [4, 1, 2, 16]),
    "separable-reused": ("exemplar", [6, 3, 3, 3]),
    "non-modular": ("exemplar", [4, 1, 4]),
}


def truth_table(folder: str, modularity: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """X (rows x n, x0 = MSB) and Y (rows x m) float32 of the task in ``<folder>/boolean[...].json``."""
    wanted = f"{folder}/boolean{list(modularity)}.json"
    name = next(n for n in catalog.names() if catalog.info(n).reference_json == wanted)
    X, Y = catalog.get(name).truth_table()
    return X.astype(np.float32), Y.astype(np.float32)


def reference_task(name: str, noise: float = 0.1) -> Task:
    """The exemplar task ``name`` as the paper trains it: all rows noised on train, clean elsewhere."""
    folder, modularity = EXEMPLARS[name]
    X, Y = truth_table(folder, modularity)
    rows = Split(X, Y)
    return Task.from_arrays(name, rows, rows, noise=noise)
