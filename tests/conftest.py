"""Shared fixtures: where the paper's reference data lives, and a one-thread torch."""
from __future__ import annotations

from pathlib import Path

import pytest

from sculpt.reference import (CONVERT_COMMAND, EXEMPLAR_DETECTIONS, NETWORKS_JSONL, NETWORKS_NPZ,
                              find_reference_dir, load_exemplar_detections, reference_candidates)

# Our own machines keep a converted copy beside the checkout; a clone on its own has none and
# looks only in $SCULPT_REFERENCE and the user cache.
SHARED_REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"


def _where() -> str:
    return ", ".join(str(p) for p in reference_candidates([SHARED_REFERENCE]))


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The paper's truth tables and stored networks (skips, naming the command, when absent)."""
    found = find_reference_dir([SHARED_REFERENCE], needs=NETWORKS_JSONL)
    if found is None or not (found / NETWORKS_NPZ).is_file() or not (found / "truth_tables").is_dir():
        pytest.skip(f"paper reference data not found in {_where()}; convert a clone of the paper's"
                    f" repository once with `{CONVERT_COMMAND}`")
    return found


@pytest.fixture(scope="session")
def exemplar_detections(reference_dir) -> dict[str, dict]:
    """What the paper's own detection code outputs on the 160 exemplar networks, by id.

    ``sculpt data paper`` cannot make this file (it comes from running the paper's code), so a
    converted copy alone skips these tests.
    """
    found = find_reference_dir([SHARED_REFERENCE], needs=EXEMPLAR_DETECTIONS)
    if found is None:
        pytest.skip(f"{EXEMPLAR_DETECTIONS} (output of the paper's own detection code, which"
                    f" `{CONVERT_COMMAND}` does not make) not found in {_where()}")
    return load_exemplar_detections(found)


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny tensors: intra-op threads only add contention, so these tests run torch on one thread."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
