"""examples/clusterability_report.py: the issue-15 checks (sample sd, scaled p-count) and anchors.json's schema."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "clusterability_report.py"


@pytest.fixture(scope="module")
def report():
    spec = importlib.util.spec_from_file_location("clusterability_report", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def record(condition, seed, ncut, p_paper, shuffle_mean=9.2, shuffle_std=0.03):
    return {"condition": condition, "seed": seed, "ncut": ncut, "p_paper": p_paper, "shuffle_mean": shuffle_mean,
            "shuffle_std": shuffle_std, "z": -3.0, "test_acc": 0.98, "train_s": 100.0, "score_s": 5.0,
            "n_components": 1}


def test_sample_sd_and_two_paper_sd_check(report):
    # paper control_pruned: 8.880 +- 0.049, so the band is [8.782, 8.978]
    rows = [record("control_pruned", s, v, 1 / 51) for s, v in enumerate([8.85, 8.90, 8.95])]
    row = report.condition_table(rows, report.PAPER_A10)["control_pruned"]
    assert row["ncut_sd"] == pytest.approx(0.05)  # ddof 1 (the population sd would be 0.0408)
    assert row["ncut_mean"] == pytest.approx(8.90) and row["inside_2sd"] is True and row["enough_runs"] is True
    rows = [record("control_pruned", s, v, 1 / 51) for s, v in enumerate([8.98, 8.98, 8.99])]
    assert report.condition_table(rows, report.PAPER_A10)["control_pruned"]["inside_2sd"] is False


def test_p_count_is_scaled_to_our_runs_without_rounding(report):
    # paper l2_pruned: 3 of 5 significant; with 3 runs that is 1.8 expected, so 1 and 2 pass, 0 and 3 fail
    for n_sig, ok in [(0, False), (1, True), (2, True), (3, False)]:
        rows = [record("l2_pruned", s, 8.3, 1 / 51 if s < n_sig else 0.5) for s in range(3)]
        row = report.condition_table(rows, report.PAPER_A10)["l2_pruned"]
        assert (row["p_below_0.02"], row["p_count_scaled"], row["p_count_ok"]) == (n_sig, pytest.approx(1.8), ok)
    # with the paper's own number of runs the scaled count is the paper's count: 10 A9 runs, paper 7/10
    rows = [record("regularised_pruned", s, 5.5, 1 / 51 if s < 6 else 1.0) for s in range(10)]
    row = report.condition_table(rows, report.PAPER_A9)["regularised_pruned"]
    assert row["p_count_scaled"] == pytest.approx(7.0) and row["p_count_ok"] is True
    # p = 2/51 (one shuffle below) is not p < 0.02
    rows = [record("control_pruned", s, 8.9, 2 / 51) for s in range(3)]
    assert report.condition_table(rows, report.PAPER_A10)["control_pruned"]["p_below_0.02"] == 0


def test_fewer_than_three_runs_do_not_count(report):
    rows = [record("control_pruned", s, 8.88, 1 / 51) for s in range(2)]
    row = report.condition_table(rows, report.PAPER_A10)["control_pruned"]
    assert row["enough_runs"] is False and row["passes"] is False
    rows.append(record("control_pruned", 2, 8.88, 1 / 51))
    assert report.condition_table(rows, report.PAPER_A10)["control_pruned"]["passes"] is True


def test_duplicate_seed_counts_once(report, tmp_path):
    path = tmp_path / "a.jsonl"
    rows = [record("control_pruned", 0, 8.8, 1 / 51), record("control_pruned", 0, 9.9, 1.0),
            record("control_pruned", 1, 8.9, 1 / 51)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    read = report.read([str(path)])
    assert [(r["seed"], r["ncut"]) for r in read] == [(0, 8.8), (1, 8.9)]


def test_anchors_json_has_exactly_the_issue_schema(report, tmp_path):
    a10 = tmp_path / "a10.jsonl"
    a10.write_text("".join(json.dumps(record(c, s, 8.9 + 0.01 * s, 1 / 51)) + "\n"
                           for c in report.PAPER_A10 for s in range(3)))
    a9 = tmp_path / "a9.jsonl"
    a9.write_text("".join(json.dumps(record(c, s, 7.0, 0.5)) + "\n" for c in report.PAPER_A9 for s in range(3)))
    cnn = tmp_path / "cnn.jsonl"
    cnn.write_text("".join(json.dumps({"anchor": a, "norm": norm, "seed": s, "ncut": 10.9 + 0.001 * s,
                                       "n_nodes": 192, "seconds": 0.1}) + "\n"
                           for a in ("A2", "A3") for norm in ("l1_entrywise", "fro") for s in range(4)))
    out = tmp_path / "out"
    assert report.main(["--a10", str(a10), "--a9", str(a9), "--cnn", str(cnn), "--out", str(out)]) == 0
    data = json.loads((out / "anchors.json").read_text())
    assert list(data) == ["A10", "A9", "A2", "A3"]
    per_run = ["ncut_mean", "ncut_sd", "shuffle_mean", "runs", "p_below_0.02"]
    assert list(data["A10"]) == ["control_unpruned", "control_pruned", "dropout_pruned", "l1_pruned", "l2_pruned"]
    assert list(data["A9"]) == ["control_unpruned", "control_pruned", "regularised_unpruned", "regularised_pruned"]
    assert all(list(v) == per_run for part in ("A10", "A9") for v in data[part].values())
    assert list(data["A2"]) == ["ncut_mean", "ncut_sd", "nets"] and list(data["A3"]) == ["ncut_mean", "ncut_sd", "nets"]
    assert data["A10"]["control_pruned"]["runs"] == 3 and data["A10"]["control_pruned"]["p_below_0.02"] == 3
    assert data["A10"]["control_pruned"]["ncut_sd"] == pytest.approx(0.01)
    assert data["A2"] == {"ncut_mean": pytest.approx(10.9015), "ncut_sd": pytest.approx(np.std([0, 1, 2, 3], ddof=1) / 1000),
                          "nets": 4}  # the paper's channel norm (entry-wise L1), not fro
    text = (out / "index.md").read_text()
    assert "| control_pruned | 3 | 8.910 +- 0.010 | 8.880 +- 0.049 | yes |" in text
    assert ("**A10: 1 of 5 conditions pass both checks** (at least 3 runs); not: control_unpruned, dropout_pruned, "
            "l1_pruned, l2_pruned.") in text  # l2: 3 of 3 significant against the paper's 3/5 scaled to 1.8
    assert "**A9: 0 of 4 conditions pass both checks**" in text
