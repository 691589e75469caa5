"""Shared fixtures: where the paper's reference data lives."""
from __future__ import annotations

from pathlib import Path

import pytest

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """``../shared/reference`` beside the checkout (the paper's truth tables and networks)."""
    if not REFERENCE.is_dir():
        pytest.fail(f"reference data not found at {REFERENCE}; the checkout must sit beside shared/")
    return REFERENCE
