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
from sculpt.experiments.report import build_report, latest_records, success_rates, tie_rates
from sculpt.stats import wilson_interval

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
    assert len(values) == 12 + 15 + 75 + 4 * 9 + 12 + 264  # 12a at X = 4, 8, 12, 16; Tables 2-3 cells
    fig7 = {(v.graph, v.hidden_layers): v.value for v in paper_numbers.paper_values("fig7")}
    assert fig7[("reused", 1)] == 0.0 and fig7[("reused", 3)] == 0.92
    fig10 = {(v.panel, v.graph): v.value for v in paper_numbers.paper_values("fig10")}
    assert fig10[("fig10-inputs", "overlap3-use6")] == 0.89
    assert fig10[("fig10-hidden", "overlap4-use8")] == 0.17
    fig12b = {(v.graph, v.hidden_layers): v.value for v in paper_numbers.paper_values("fig12") if v.panel == "fig12b"}
    assert fig12b[("hierarchical-use2", 3)] == 0.5 and fig12b[("hierarchical-use8", 2)] == 0.83
    fig12a = {(v.graph, v.criterion, v.hidden_layers): v for v in paper_numbers.paper_values("fig12")
              if v.panel == "fig12a"}
    assert fig12a[("hierarchical-use4", "hierarchical_intermediate", 3)].value == 0.92
    assert fig12a[("hierarchical-use2", "hierarchical_intermediate", 3)].value is None
    assert fig12a[("hierarchical-use2", "hierarchical_intermediate", 3)].mark == "not stated"


def test_tables_2_3_equal_the_shared_extraction(reference_dir):
    """The paper's Tables 2-3 as embedded data equal ../shared/spec/paper_tables_2_3.json."""
    path = reference_dir.parent / "spec" / "paper_tables_2_3.json"
    if not path.is_file():
        pytest.skip(f"the shared spec's extraction of Tables 2-3 is not beside the reference data ({path})")
    spec = json.loads(path.read_text())
    ours = {(v.graph, v.hidden_layers, v.batch_size, v.lr): v for v in paper_numbers.paper_values("tables2_3")}
    assert len(ours) == 264
    for graph, table in spec["tables"].items():
        for depth in ("1", "2", "3"):
            for size, row in zip(table["batch_sizes"], table[depth]):
                for lr, cell in zip(spec["lr"], row):
                    v = ours[(graph, int(depth), size, lr)]
                    assert (v.value, v.mark) == ((cell, "") if isinstance(cell, float) else
                                                 (None, "X" if cell == "X" else "unreadable")), (graph, depth, size, lr)
    assert sum(v.mark == "X" for v in ours.values()) == 40


def test_success_rates_per_depth_and_pooled():
    records = [record("a", "reused", [24], {"reused_success": False}),
               record("b", "reused", [24, 24], {"reused_success": True}),
               record("c", "reused", [36, 36], {"reused_success": False})]
    rates = success_rates(records)
    assert (rates[("reused", "reused_success", 2)].successes, rates[("reused", "reused_success", 2)].trials) == (1, 2)
    pooled = success_rates(records, pooled=True)[("reused", "reused_success", None)]
    assert (pooled.successes, pooled.trials) == (1, 3)


def tied(rec, networks, **counts):
    rec["metrics"]["tied_sparsest"] = networks
    if counts:
        rec["ties"] = {"networks": networks, "score": counts}
    return rec


def test_tie_rates_count_a_trial_when_any_tied_network_meets_the_criterion(tmp_path):
    records = [record("a", "reused", [24, 24], {"reused_success": False}),  # no tie: its own score
               tied(record("b", "reused", [24, 24], {"reused_success": False}), 3, reused_success=1),
               tied(record("c", "reused", [24, 24], {"reused_success": False}), 2, reused_success=0),
               tied(record("d", "reused", [24, 24], {"reused_success": True}), 2, reused_success=1)]
    rate = tie_rates(records)[("reused", "reused_success", 2)]
    assert (rate.successes, rate.trials) == (2, 4)
    assert success_rates(records)[("reused", "reused_success", 2)].successes == 1
    # a tied record written before ties were scored leaves its bar out rather than under-count it
    assert ("reused", "reused_success", 2) not in tie_rates(records + [tied(record("e", "reused", [24, 24], {
        "reused_success": False}), 2)])
    text = build_report(write_records(tmp_path / "r.jsonl", records), tmp_path / "rep").read_text()
    assert "| any tied network (k/n) [95 % CI] |" in text
    assert ("| reused | reused_success | 2 | 0.25 (1/4) | [0.05, 0.70] | 1.00 |  | **no** | 0.50 (2/4) "
            "[0.15, 0.85], paper outside |") in text
    with pytest.raises(SnapshotError, match="'ties' must hold"):
        bad = tied(record("f", "reused", [24, 24], {"reused_success": False}), 2, reused_success=3)
        build_report(write_records(tmp_path / "bad.jsonl", [bad]), tmp_path / "bad")


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
    assert ("| input-separable | input_separable_success | 1 | 0.67 (2/3) | [0.21, 0.94] | 1.00 |  | **no** |"
            in text)
    assert "| reused | reused_success | 2 | 1.00 (2/2) | [0.34, 1.00] | 1.00 |  | yes |" in text
    assert "1 of 2 bars consistent with the paper." in text
    assert "**1 of 2 bars consistent**" in text
    assert "| x | reused | RuntimeError: boom |" in text
    for suffix in (".png", ".svg"):
        assert (tmp_path / "report" / f"fig7{suffix}").stat().st_size > 1000
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert summary["finished"] == 5 and summary["failed"] == 1
    low, high = wilson_interval(2, 3)
    assert summary["figures"]["fig7"]["fig7"][0] == {
        "graph": "input-separable", "criterion": "input_separable_success", "hidden_layers": 1,
        "measured": 2 / 3, "successes": 2, "trials": 3, "paper": 1.0, "paper_mark": "", "low": low,
        "high": high, "consistent": False, "paper_code": None}
    assert summary["figures"]["fig7"]["consistent"] == {"consistent": 1, "compared": 2}


def test_report_heatmap_for_figure10(tmp_path):
    records = [record(f"o{o}u{u}", f"overlap{o}-use{u}", [24], {"overlap_input_separability": o < 3,
                                                                 "overlap_output_subfunctions": True,
                                                                 "overlap_hidden_separability": False},
                      figure="fig10") for o in range(5) for u in (1, 2, 4, 6, 8)]
    index = build_report(write_records(tmp_path / "records.jsonl", records), tmp_path / "rep")
    text = index.read_text()
    assert "| overlap3-use6 | overlap_input_separability | all | 0.00 (0/1) | [0.00, 0.79] | 0.89 |  | **no** |" in text
    assert "**53 of 75 bars consistent**" in text
    for key in ("fig10-inputs", "fig10-outputs", "fig10-hidden"):
        assert (tmp_path / "rep" / f"{key}.svg").exists()


def test_report_command(tmp_path):
    out = tmp_path / "grid"
    write_records(out / "records.jsonl", [record("a", "reused", [24], {"reused_success": False})])
    done = subprocess.run([sys.executable, "-m", "sculpt", "report", str(out)], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out / "report" / "index.md")
    assert "| reused | reused_success | 1 | 0.00 (0/1) | [0.00, 0.79] | 0.00 |  | yes |" in (out / "report" / "index.md").read_text()


def test_report_paper_code_column_and_bad_file(tmp_path):
    records = [record(f"r{k}", "reused", [24, 24], {"reused_success": k < 3}) for k in range(4)]
    path = write_records(tmp_path / "records.jsonl", records)
    code = tmp_path / "paper_code_rates.json"
    code.write_text(json.dumps({"rates": [{"figure": "fig7", "graph": "reused", "criterion": "reused_success",
                                           "hidden_layers": 2, "successes": 5, "trials": 8}]}))
    text = build_report(path, tmp_path / "rep", paper_code=code).read_text()
    assert "| reused | reused_success | 2 | 0.75 (3/4) | [0.30, 0.95] | 1.00 | 0.62 (5/8) [0.31, 0.86] | **no** |" in text
    code.write_text(json.dumps({"rates": [{"figure": "fig7", "graph": "reused", "successes": 9, "trials": 8}]}))
    with pytest.raises(SnapshotError, match="rates entry 1 needs"):
        build_report(path, tmp_path / "rep", paper_code=code)


def test_report_tables_2_3_cells_epochs_and_x(tmp_path):
    def cell_record(tid, lr, size, depth, ok):
        r = record(tid, "reused", [24] * depth, {"reused_depth_success": ok, "reused_success": False},
                   figure="tables2_3")
        r["config"].update(lr=lr, batch_size=size)
        return r
    records = [cell_record(f"a{k}", 0.1, 8, 1, True) for k in range(4)]        # paper 1.0
    records += [cell_record(f"b{k}", 0.005, 1, 2, k < 4) for k in range(4)]   # paper 0.25
    choice = {"cells": [{"graph": "reused", "hidden_layers": 1, "lr": 0.1, "batch_size": 8, "epochs": 30},
                        {"graph": "reused", "hidden_layers": 2, "lr": 0.005, "batch_size": 1, "epochs": 120},
                        {"graph": "reused", "hidden_layers": 1, "lr": 0.005, "batch_size": 8, "epochs": None},
                        {"graph": "reused", "hidden_layers": 1, "lr": 0.1, "batch_size": 16, "epochs": None}]}
    path = write_records(tmp_path / "records.jsonl", records)
    text = build_report(path, tmp_path / "rep", epoch_choice=choice).read_text()
    assert "| 8 | X / X | 0.50 (0/0)" not in text
    assert "| 8 | X / X | not run / 0.50 | not run / 0.75 | 1.00 (4/4) [0.51, 1.00] / 1.00, 30 ep |" in text
    assert "| 1 | 1.00 (4/4) [0.51, 1.00] / 0.25, 120 ep **no** |" in text
    assert "X cells: paper 12, ours 2, both 1." in text
    assert "| 16 | not run / X | not run / X | not run / 1.00 | X / 1.00 **no** |" in text
    assert "| 8 | X / X | not run / 0.50 |" in text
    assert "**1 of 3 bars consistent**" in text  # a paper value where our dense networks give X counts as a miss
    assert "| reused_depth_success | 1 | 1 of 1 |" in text and "| reused_success | 1 | 0 of 1 |" in text


def test_complete_scores_adds_new_criteria_from_stored_modules():
    """Old records gain criteria added later (scored from their modules); recorded scores stay."""
    from sculpt.experiments.report import complete_scores

    line = (REPO / "docs" / "figure7" / "records.jsonl").read_text().splitlines()
    reused = [json.loads(l) for l in line if '"graph":"reused"' in l]
    one_layer = next(r for r in reused if len(r["config"]["arch"]) == 1)
    one_layer["score"].pop("reused_depth_success", None)  # as a record written before the criterion existed
    done = complete_scores([one_layer])[0]
    assert done["score"]["reused_depth_success"] is (one_layer["modules"]["num_modules"] == 1)
    assert {k: done["score"][k] for k in one_layer["score"]} == one_layer["score"]
    assert "reused_depth_success" not in one_layer["score"]  # the input is not modified
    assert complete_scores([record("e", "reused", [24], {"reused_success": True})])[0]["score"] == {"reused_success": True}


def test_hand_written_notes_survive_regeneration(tmp_path):
    path = write_records(tmp_path / "records.jsonl", [record("a", "reused", [24], {"reused_success": False})])
    (tmp_path / "rep").mkdir()
    (tmp_path / "rep" / "notes.md").write_text("## How this run was made\n\nby hand\n")
    for _ in range(2):
        text = build_report(path, tmp_path / "rep").read_text()
    assert text.endswith("## How this run was made\n\nby hand\n") and text.count("by hand") == 1


def test_report_figures_are_byte_stable(tmp_path):
    path = write_records(tmp_path / "records.jsonl", [record("a", "reused", [24], {"reused_success": False})])
    build_report(path, tmp_path / "one")
    build_report(path, tmp_path / "two")
    for name in ("fig7.svg", "fig7.png", "index.md", "summary.json"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
