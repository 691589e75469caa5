"""Shared fixtures: where the paper's reference data lives."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

# SCULPT_REFERENCE (as sculpt.reference reads it) lets a worktree elsewhere use the shared copy.
REFERENCE = Path(os.environ.get("SCULPT_REFERENCE") or Path(__file__).resolve().parents[1].parent / "shared" / "reference")


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """``../shared/reference`` beside the checkout (the paper's truth tables and networks)."""
    if not REFERENCE.is_dir():
        pytest.fail(f"reference data not found at {REFERENCE}; the checkout must sit beside shared/")
    return REFERENCE


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny tensors: intra-op threads only add contention, so these tests run torch on one thread."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
