"""Slow anchors of spec clusterability.md section 8 (A1, A4, A7); also printed by ``python -m bench spectral anchors``."""
from __future__ import annotations

import pytest

from bench.spectral import init_ncuts, island_ncuts

pytestmark = pytest.mark.slow


def test_a1_glorot_init_mean_ncut():
    values = init_ncuts(20)
    assert abs(values.mean() - 10.295) <= 0.03


def test_a4_clusterable_init_mean_ncut():
    values = init_ncuts(20, clusterable=True)
    assert abs(values.mean() - 6.80) <= 0.05


def test_a7_island_artefact():
    out = island_ncuts()
    value, components, _ = out["degree0"]
    assert value == pytest.approx(0.0, abs=1e-3) and components == 12
    value, components, dropped = out["components"]
    assert 9.0 <= value <= 9.6 and components == 1 and dropped >= 22
