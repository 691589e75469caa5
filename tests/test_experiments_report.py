"""Reports: success rates per figure next to the paper's numbers, figures, summary.json."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sculpt.errors import SnapshotError
from sculpt.experiments import paper_numbers
from sculpt.experiments.records import RecordWriter
from sculpt.experiments.report import build_report, latest_records, success_rates

REPO = Path(__file__).resolve().parents[1]


def record(trial_id, graph, arch, score, figure="fig7", status="ok", density=0.05):
    return {"trial_id": trial_id, "experiment": figure, "figure": figure, "kind": "sculpt", "status": status,
            "config": {"kind": "sculpt", "graph": graph, "arch": arch, "seed": 0},
            "metrics": {}, "densities": {"weights": density}, "modules": None, "score": score,
            "timings": {"wall_s": 1.5}}


def write_records(path: Path, records: list[dict]) -> Path:
    with RecordWriter(path) as writer:
        for r in records:
            writer.write(r)
    return path


def test_paper_numbers_cover_the_spec_table():
    values = paper_numbers.PAPER_VALUES
    assert len(values) == 12 + 15 + 75 + 9 + 12
    fig7 = {(v.graph, v.hidden_layers): v.value for v in paper_numbers.paper_values("fig7")}
    assert fig7[("reused", 1)] == 0.0 and fig7[("reused", 3)] == 0.92
    fig10 = {(v.panel, v.graph): v.value for v in paper_numbers.paper_values("fig10")}
    assert fig10[("fig10-inputs", "overlap3-use6")] == 0.89
    assert fig10[("fig10-hidden", "overlap4-use8")] == 0.17
    fig12b = {(v.graph, v.hidden_layers): v.value for v in paper_numbers.paper_values("fig12") if v.panel == "fig12b"}
    assert fig12b[("hierarchical-use2", 3)] == 0.5 and fig12b[("hierarchical-use8", 2)] == 0.83


def test_success_rates_per_depth_and_pooled():
    records = [record("a", "reused", [24], {"reused_success": False}),
               record("b", "reused", [24, 24], {"reused_success": True}),
               record("c", "reused", [36, 36], {"reused_success": False})]
    rates = success_rates(records)
    assert (rates[("reused", "reused_success", 2)].successes, rates[("reused", "reused_success", 2)].trials) == (1, 2)
    pooled = success_rates(records, pooled=True)[("reused", "reused_success", None)]
    assert (pooled.successes, pooled.trials) == (1, 3)


def test_latest_records_keeps_the_last_success_per_trial(tmp_path):
    path = write_records(tmp_path / "r.jsonl", [
        record("a", "reused", [24], {}, status="error"),
        record("a", "reused", [24], {"reused_success": True}),
        record("b", "reused", [24], {}, status="error"),
    ])
    ok, failed, note = latest_records(path)
    assert [r["trial_id"] for r in ok] == ["a"] and [r["trial_id"] for r in failed] == ["b"] and note == ""
    with pytest.raises(SnapshotError, match="does not exist"):
        latest_records(tmp_path / "missing.jsonl")


def test_report_tables_figures_and_summary(tmp_path):
    records = [record(f"i{k}", "input-separable", [24], {"input_separable_success": k < 2}) for k in range(3)]
    records += [record(f"r{k}", "reused", [36, 36], {"reused_success": True}) for k in range(2)]
    records += [record("x", "reused", [36, 36], {}, status="error")]
    records[-1]["error"] = "RuntimeError: boom"
    path = write_records(tmp_path / "records.jsonl", records)
    with open(path, "ab") as handle:
        handle.write(b'{"trial_id": "torn')
    index = build_report(path, tmp_path / "report")
    text = index.read_text()
    assert "- finished trials: 5; failed trials: 1" in text
    assert "ignoring an incomplete last line" in text
    assert "| input-separable | input_separable_success | 1 | 0.67 | 3 | 1.00 | -0.33 **>0.15** |" in text
    assert "| reused | reused_success | 2 | 1.00 | 2 | 1.00 | +0.00 |" in text
    assert "1 of 2 values within 0.15 of the paper." in text
    assert "| x | reused | RuntimeError: boom |" in text
    for suffix in (".png", ".svg"):
        assert (tmp_path / "report" / f"fig7{suffix}").stat().st_size > 1000
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert summary["finished"] == 5 and summary["failed"] == 1
    assert summary["figures"]["fig7"]["fig7"] == [
        {"graph": "input-separable", "criterion": "input_separable_success", "hidden_layers": 1,
         "measured": 2 / 3, "successes": 2, "trials": 3, "paper": 1.0},
        {"graph": "reused", "criterion": "reused_success", "hidden_layers": 2,
         "measured": 1.0, "successes": 2, "trials": 2, "paper": 1.0}]


def test_report_heatmap_for_figure10(tmp_path):
    records = [record(f"o{o}u{u}", f"overlap{o}-use{u}", [24], {"overlap_input_separability": o < 3,
                                                                 "overlap_output_subfunctions": True,
                                                                 "overlap_hidden_separability": False},
                      figure="fig10") for o in range(5) for u in (1, 2, 4, 6, 8)]
    index = build_report(write_records(tmp_path / "records.jsonl", records), tmp_path / "rep")
    text = index.read_text()
    assert "| overlap3-use6 | overlap_input_separability | all | 0.00 | 1 | 0.89 | -0.89 **>0.15** |" in text
    for key in ("fig10-inputs", "fig10-outputs", "fig10-hidden"):
        assert (tmp_path / "rep" / f"{key}.svg").exists()


def test_report_command(tmp_path):
    out = tmp_path / "grid"
    write_records(out / "records.jsonl", [record("a", "reused", [24], {"reused_success": False})])
    done = subprocess.run([sys.executable, "-m", "sculpt", "report", str(out)], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out / "report" / "index.md")
    assert "| reused | reused_success | 1 | 0.00 | 1 | 0.00 | +0.00 |" in (out / "report" / "index.md").read_text()
