"""The committed from-scratch records still rerun identical: a change to the arithmetic shows up here.

Each record is a digest of a trial's whole pruning trajectory (network, modules, scores, every metric
down to the loss floats and the 70 grid densities), so three cheap trials of Figures 7 and 8, rerun by
``python -m bench rerun`` exactly as ``sculpt grid`` runs them, guard every speed change that claims
to leave results bit-identical.
"""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("records, pick", [("figure7/records.jsonl", "136,139"), ("figure8/records.jsonl", "158")])
def test_committed_records_rerun_identical(records, pick, capsys):
    from bench.rerun import main

    assert main([str(REPO / "docs" / records), "--pick", pick]) == 0
    out = capsys.readouterr().out
    assert out.count(": identical") == len(pick.split(",")) and "DIFFERENT" not in out


def test_a_changed_record_is_reported_with_its_fields(tmp_path, capsys):
    import json

    from bench.rerun import main

    line = (REPO / "docs" / "figure7" / "records.jsonl").read_text().splitlines()[139]
    record = json.loads(line)
    record["densities"]["edges_kept"] += 1
    (tmp_path / "records.jsonl").write_text(json.dumps(record) + "\n")
    assert main([str(tmp_path / "records.jsonl")]) == 1
    assert "DIFFERENT in densities" in capsys.readouterr().out
