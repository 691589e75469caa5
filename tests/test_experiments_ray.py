"""The same experiment gives identical records under loky and Ray (skipped when Ray is not installed)."""
from __future__ import annotations

import importlib.util

import pytest

from sculpt.experiments.config import expand_experiment
from sculpt.experiments.records import read_records
from sculpt.experiments.runner import run_grid

pytestmark = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                                reason="ray is not installed (optional extra: pip install 'neural-sculpt[ray]')")


def without_timings(records):
    return sorted(({k: v for k, v in r.items() if k not in ("timings", "provenance")} for r in records),
                  key=lambda r: r["trial_id"])


def test_loky_and_ray_give_identical_records(tmp_path, monkeypatch):
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    exp = expand_experiment({"name": "same", "kind": "echo", "defaults": {"sleep": 0.01},
                             "grid": {"value": [1, 2, -3], "seed": [0, 5]}})
    loky = run_grid(exp, backend="loky", jobs=2, out=tmp_path / "loky", progress=False)
    ray = run_grid(exp, backend="ray", jobs=2, out=tmp_path / "ray", progress=False)
    assert (loky.ran, ray.ran, ray.failed, ray.remaining) == (6, 6, 0, 0)
    a = without_timings(read_records(loky.records_path).records)
    b = without_timings(read_records(ray.records_path).records)
    assert a == b and len(b) == 6
