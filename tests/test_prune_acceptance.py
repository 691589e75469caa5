"""Slow acceptance check: the four validation graphs x seeds 0, 1, 2, 5 against the paper's networks."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "prune_validation_graphs.py"


def _example():
    spec = importlib.util.spec_from_file_location("prune_validation_graphs", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.parametrize("graph", ["input-separable", "reused", "separable-reused", "non-modular"])
@pytest.mark.parametrize("seed", [0, 1, 2, 5])
def test_grid_matches_the_paper_density(graph, seed, reference_dir):
    import torch

    torch.set_num_threads(1)
    row = _example().run_cell(graph, seed, reference=reference_dir)
    assert row["correct"], f"{graph} seed {seed}: kept network is not 100 % correct"
    assert row["ratio"] <= 1.5, f"{graph} seed {seed}: density {row['density']:.4f} vs paper {row['paper_density']:.4f}"
