"""Experiment grids: TOML expansion, crash-safe records, runner backends, resume after kill -9."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sculpt.errors import ConfigError, SnapshotError
from sculpt.experiments.config import expand_experiment, load_experiment, trial_id
from sculpt.experiments.records import RecordWriter, finished_ids, read_records
from sculpt.experiments.runner import run_grid

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "experiments"

ECHO_TOML = """
name = "echo-test"
kind = "echo"
[defaults]
sleep = {sleep}
[grid]
value = [1, 2, 3, -1]
seed = [0, 1, 2]
"""


def write_echo(tmp_path: Path, sleep: float = 0.0, name: str = "echo.toml") -> Path:
    path = tmp_path / name
    path.write_text(ECHO_TOML.format(sleep=sleep))
    return path


def without_timings(records: list[dict]) -> list[dict]:
    """Records without what may differ between identical trials: timings and provenance (its time)."""
    return sorted(({k: v for k, v in r.items() if k not in ("timings", "provenance")} for r in records),
                  key=lambda r: r["trial_id"])


# ------------------------------------------------------------------------------------ config
def test_trial_id_is_sha256_prefix_of_canonical_json():
    assert trial_id({"kind": "echo", "value": 1, "seed": 0, "sleep": 0.0, "fail": False}) == "524bad4a398668a4"
    # key order does not matter, values do
    assert trial_id({"seed": 0, "value": 1, "kind": "echo", "fail": False, "sleep": 0.0}) == "524bad4a398668a4"
    assert trial_id({"kind": "echo", "value": 2, "seed": 0, "sleep": 0.0, "fail": False}) != "524bad4a398668a4"


def test_expansion_order_defaults_and_cells(tmp_path):
    doc = {"name": "x", "kind": "echo", "defaults": {"sleep": 0.5},
           "grid": {"seed": [0, 1]}, "cells": [{"value": 7}, {"value": 8, "sleep": 0.0}]}
    exp = expand_experiment(doc, source="x.toml")
    assert [(t.params["value"], t.params["seed"], t.params["sleep"]) for t in exp.trials] == [
        (7, 0, 0.5), (7, 1, 0.5), (8, 0, 0.0), (8, 1, 0.0)]
    assert exp.trials[0].params == {"value": 7, "seed": 0, "sleep": 0.5, "fail": False}
    assert exp.trials[0].trial_id == trial_id({"kind": "echo", **exp.trials[0].params})
    assert len({t.trial_id for t in exp.trials}) == 4


@pytest.mark.parametrize("doc, message", [
    ({"kind": "echo", "colour": 1}, "x.toml: unknown key 'colour' at top level"),
    ({"kind": "echo", "defaults": {"valu": 1}}, "x.toml: unknown key 'valu' in [defaults] for trial kind 'echo'; did you mean 'value'?"),
    ({"kind": "echo", "grid": {"sed": [1]}}, "x.toml: unknown key 'sed' in [grid] for trial kind 'echo'; did you mean 'seed'?"),
    ({"kind": "echo", "cells": [{}, {"zzz": 1}]}, "x.toml: [[cells]] #2: unknown key 'zzz' for trial kind 'echo'"),
    ({"kind": "echo", "grid": {"seed": [0]}, "cells": [{"seed": 1}]}, "x.toml: [[cells]] #1: key 'seed' is also a [grid] axis"),
    ({"kind": "echo", "grid": {"seed": [0, 0]}}, "the same trial as x.toml: [[cells]] #1 seed=0"),
    ({"kind": "echo", "grid": {"seed": []}}, "x.toml: [grid] axis 'seed' must be a non-empty list"),
    ({"kind": "teleport"}, "x.toml: unknown trial kind 'teleport'; known kinds: sculpt, analysis, dense, echo"),
    ({"kind": "echo", "defaults": {"sleep": -1}}, "x.toml: [[cells]] #1: sleep must be a number of seconds >= 0"),
    ({"kind": "sculpt", "cells": [{"graph": "reused", "lrr": 0.1}]}, "x.toml: [[cells]] #1: unknown key 'lrr' for trial kind 'sculpt'; did you mean 'lr'?"),
    ({"kind": "sculpt", "cells": [{"graph": "reused", "batch_size": 0}]}, "x.toml: [[cells]] #1: batch_size must be at least 1"),
    ({"kind": "sculpt", "cells": [{"graph": "reusd"}]}, "x.toml: [[cells]] #1: unknown graph 'reusd'; did you mean 'reused'?"),
    ({"kind": "sculpt", "cells": [{"graph": "nowhere/g.fg"}]}, "x.toml: [[cells]] #1: graph file 'nowhere/g.fg' does not exist"),
    ({"kind": "analysis", "cells": [{"graph": "reused", "stage": "edge_only"}]}, "x.toml: [[cells]] #1: stage must be one of dense, edge, unit_edge"),
    ({"kind": "analysis", "cells": [{"graph": "reused", "analyses": ["n80"]}]}, "x.toml: [[cells]] #1: unknown analysis 'n80'"),
])
def test_bad_experiments_name_the_problem(doc, message):
    with pytest.raises(ConfigError) as info:
        expand_experiment(doc, source="x.toml")
    assert message in str(info.value)


def test_load_experiment_names_the_file_on_bad_toml(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("name = \n")
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid TOML"):
        load_experiment(path)
    path.write_text('name = "b"\nkind = "echo"\nwidth = 3\n')
    with pytest.raises(ConfigError, match=r"bad\.toml: unknown key 'width' at top level"):
        load_experiment(path)


def test_sculpt_trials_are_resolved_run_configs():
    exp = expand_experiment({"kind": "sculpt", "cells": [{"graph": "input-separable", "arch": [24]}]})
    params = exp.trials[0].params
    # defaults filled in from sculpt.config (training defaults per graph, the paper's grid)
    assert params["arch"] == [24] and params["lr"] == 0.05 and params["batch_size"] == 8 and params["epochs"] == 15
    assert params["p_u"] == [float(p) for p in range(5, 75, 5)] and params["p_e"] == [2.5, 2.0, 1.5, 1.0, 0.5]


# ------------------------------------------------------------------------------------ records
def test_records_round_trip_and_torn_tail(tmp_path):
    path = tmp_path / "r.jsonl"
    with RecordWriter(path) as writer:
        writer.write({"trial_id": "a", "status": "ok", "x": 1})
        writer.write({"trial_id": "b", "status": "error"})
    assert read_records(path).records == [{"trial_id": "a", "status": "ok", "x": 1}, {"trial_id": "b", "status": "error"}]
    assert finished_ids(read_records(path).records) == {"a"}
    size = path.stat().st_size
    with open(path, "ab") as handle:
        handle.write(b'{"trial_id": "c", "sta')  # a writer killed mid-line
    found = read_records(path)
    assert [r["trial_id"] for r in found.records] == ["a", "b"]
    assert found.torn_tail == '{"trial_id": "c", "sta' and found.torn_offset == size
    assert "ignoring an incomplete last line (22 bytes at offset" in found.describe_torn_tail(path)
    # resuming cuts the torn tail off, so the next record starts on its own line
    with RecordWriter(path, truncate_at=found.torn_offset) as writer:
        writer.write({"trial_id": "c", "status": "ok"})
    again = read_records(path)
    assert [r["trial_id"] for r in again.records] == ["a", "b", "c"] and again.torn_tail is None


def test_records_damaged_middle_line_is_an_error(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"trial_id": "a", "status": "ok"}\nnot json\n{"trial_id": "b", "status": "ok"}\n')
    with pytest.raises(SnapshotError, match=r"r\.jsonl:2: not a JSON record"):
        read_records(path)


def test_records_missing_file_reads_empty(tmp_path):
    found = read_records(tmp_path / "none.jsonl")
    assert found.records == [] and found.torn_tail is None


# ------------------------------------------------------------------------------------ runner
def test_serial_and_loky_give_identical_records(tmp_path):
    exp = load_experiment(write_echo(tmp_path))
    serial = run_grid(exp, backend="serial", out=tmp_path / "serial", progress=False)
    loky = run_grid(exp, backend="loky", jobs=2, out=tmp_path / "loky", progress=False)
    assert (serial.ran, serial.failed, serial.remaining) == (12, 0, 0)
    a = read_records(serial.records_path).records
    b = read_records(loky.records_path).records
    assert without_timings(a) == without_timings(b)
    first = next(r for r in a if r["config"] == {"kind": "echo", "value": 1, "seed": 0, "sleep": 0.0, "fail": False})
    assert first["metrics"] == {"value": 1, "draw": 0.6369616873214543}
    assert first["score"] == {"echo_positive": True} and first["status"] == "ok"
    assert first["experiment"] == "echo-test" and first["trial_id"] == exp.trials[0].trial_id


def test_resume_limit_and_refusal_to_overwrite(tmp_path):
    exp = load_experiment(write_echo(tmp_path))
    out = tmp_path / "out"
    first = run_grid(exp, backend="serial", out=out, limit=5, progress=False)
    assert (first.ran, first.skipped, first.remaining) == (5, 0, 7)
    with pytest.raises(ConfigError, match="already holds 5 records; pass --resume"):
        run_grid(exp, backend="serial", out=out, progress=False)
    second = run_grid(exp, backend="serial", out=out, resume=True, progress=False)
    assert (second.ran, second.skipped, second.remaining) == (7, 5, 0)
    ids = [r["trial_id"] for r in read_records(out / "records.jsonl").records]
    assert sorted(ids) == sorted(t.trial_id for t in exp.trials)


def test_failed_trials_are_recorded_and_retried_on_resume(tmp_path):
    doc = {"name": "f", "kind": "echo", "cells": [{"value": 1}, {"value": 2, "fail": True}]}
    exp = expand_experiment(doc)
    result = run_grid(exp, backend="serial", out=tmp_path, progress=False)
    assert (result.ran, result.failed, result.remaining) == (2, 1, 1)
    records = read_records(tmp_path / "records.jsonl").records
    error = next(r for r in records if r["status"] == "error")
    assert error["error"].startswith("RuntimeError: echo trial asked to fail (value=2) (trial.py:")
    again = run_grid(exp, backend="serial", out=tmp_path, resume=True, progress=False)
    assert (again.ran, again.failed, again.skipped) == (1, 1, 1)


def test_keep_runs_writes_one_directory_per_trial(tmp_path):
    exp = expand_experiment({"name": "k", "kind": "echo", "grid": {"value": [1, 2]}})
    run_grid(exp, backend="serial", out=tmp_path, keep_runs=True, progress=False)
    dirs = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert dirs == sorted(t.trial_id for t in exp.trials)
    assert (tmp_path / "runs" / exp.trials[0].trial_id / "echo.txt").read_text() == "1 0.6369616873214543\n"


def test_bad_runner_arguments():
    exp = expand_experiment({"kind": "echo"})
    with pytest.raises(ConfigError, match="unknown backend 'dask'"):
        run_grid(exp, backend="dask")
    with pytest.raises(ConfigError, match="jobs must be at least 1"):
        run_grid(exp, jobs=0)


# ------------------------------------------------------------------------------------ CLI + kill -9
def sculpt_cli(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "sculpt", *args], capture_output=True, text=True, cwd=REPO, **kwargs)


def test_cli_reports_config_errors_in_one_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('kind = "echo"\n[defaults]\nvalu = 3\n')
    done = sculpt_cli("grid", str(path), "--out", str(tmp_path / "o"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"sculpt grid: error: {path}: unknown key 'valu' in [defaults] for trial kind 'echo'; did you mean 'value'?"]


def test_kill_minus_nine_then_resume_finishes_every_trial_exactly_once(tmp_path):
    exp_path = write_echo(tmp_path, sleep=0.4)
    exp = load_experiment(exp_path)
    out = tmp_path / "out"
    records = out / "records.jsonl"
    process = subprocess.Popen([sys.executable, "-m", "sculpt", "grid", str(exp_path), "--jobs", "2", "--out", str(out), "-q"],
                               cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if records.exists() and len(read_records(records).records) >= 3:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the grid wrote no records within 60 s")
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the grid and its loky workers (its own session)
        process.wait()
    killed = read_records(records)
    assert 3 <= len(killed.records) < len(exp), "the kill must land mid-way"
    # a kill during a write leaves an unfinished line: the reader reports it, resume cuts it off
    with open(records, "ab") as handle:
        handle.write(b'{"trial_id":"' + exp.trials[-1].trial_id.encode() + b'","status":"o')
    assert read_records(records).torn_tail is not None
    done = sculpt_cli("grid", str(exp_path), "--jobs", "2", "--out", str(out), "--resume", "-q")
    assert done.returncode == 0, done.stderr
    assert "ignoring an incomplete last line" in done.stderr
    final = read_records(records)
    assert final.torn_tail is None
    ids = [r["trial_id"] for r in final.records]
    assert sorted(ids) == sorted(t.trial_id for t in exp.trials)  # every trial exactly once
    assert all(r["status"] == "ok" for r in final.records)


def test_cli_dry_run_lists_trials(tmp_path):
    done = sculpt_cli("grid", str(write_echo(tmp_path)), "--dry-run")
    assert done.returncode == 0
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 12
    assert lines[0] == '524bad4a398668a4 {"fail":false,"seed":0,"sleep":0.0,"value":1}'


# ------------------------------------------------------------------------------------ real trials
def test_sculpt_trial_record_is_complete(tmp_path):
    doc = {"name": "real", "kind": "sculpt", "figure": "fig7",
           "cells": [{"graph": "input-separable", "arch": [24], "seed": 0, "p_u": [70.0], "p_e": [2.5]}]}
    first = run_grid(expand_experiment(doc), backend="serial", out=tmp_path / "a", progress=False, keep_runs=True)
    assert (first.ran, first.failed) == (1, 0)
    record = read_records(first.records_path).records[0]
    assert set(record) == {"version", "trial_id", "experiment", "figure", "kind", "config", "status", "metrics",
                           "densities", "network", "modules", "score", "timings", "provenance"}
    assert set(record["score"]) == {"input_separable_success", "inputs_split", "outputs_split"}
    assert record["metrics"]["p_u"] == 70.0 and record["metrics"]["accuracy"]["bit"] == 100.0
    assert record["network"]["arch"] == [4, 24, 4]
    assert record["densities"]["edges_kept"] == sum(len(e) for e in record["network"]["edges"])
    assert set(record["timings"]) >= {"prune_s", "detect_s", "score_s", "total_s", "wall_s"}
    from sculpt.experiments.trial import masks_from_edges
    from sculpt.nets import PrunedNet

    saved = PrunedNet.load(tmp_path / "a" / "runs" / record["trial_id"] / "net")
    assert all((m == s).all() for m, s in zip(masks_from_edges(record["network"]), saved.masks))


def test_sculpt_trial_scores_every_tied_sparsest_network(tmp_path):
    # input-separable [4, 24, 4] seed 0 reaches its sparsest density at several (p_u, p_e) of this grid
    doc = {"name": "ties", "kind": "sculpt", "figure": "fig7",
           "cells": [{"graph": "input-separable", "arch": [24], "seed": 0, "p_u": [50.0, 60.0, 70.0],
                      "p_e": [2.5, 2.0]}]}
    record = read_records(run_grid(expand_experiment(doc), backend="serial", out=tmp_path,
                                   progress=False).records_path).records[0]
    ties = record["ties"]
    assert ties["networks"] == record["metrics"]["tied_sparsest"] >= 2
    assert set(ties["score"]) == set(record["score"])
    # the chosen network is one of the tied ones, so each count is at least its own success
    assert all(record["score"][c] <= ties["score"][c] <= ties["networks"] for c in ties["score"])


def test_analysis_trial_of_a_dense_network(tmp_path):
    doc = {"name": "s2", "kind": "analysis", "figure": "section2",
           "cells": [{"graph": "input-separable", "arch": [24], "stage": "dense", "analyses": ["path_products", "n90"]}]}
    result = run_grid(expand_experiment(doc), backend="serial", out=tmp_path, progress=False)
    assert result.failed == 0
    record = read_records(result.records_path).records[0]
    tests = record["metrics"]["path_products"]["tests"]
    assert [(t["inputs"], t["outputs"]) for t in tests] == [([0, 1], [0, 1]), ([2, 3], [2, 3])]
    assert all(0.0 <= t["p_value"] <= 1.0 for t in tests)
    assert len(record["metrics"]["n90"]) == 1 and 1 <= record["metrics"]["n90"][0] <= 24
    assert record["densities"]["weights"] == 1.0 and record["metrics"]["accuracy"] == 100.0


@pytest.mark.slow
def test_tiny_real_grid_is_identical_serial_and_loky(tmp_path):
    exp = load_experiment(EXAMPLES / "tiny.toml")
    serial = run_grid(exp, backend="serial", out=tmp_path / "serial", progress=False)
    loky = run_grid(exp, backend="loky", jobs=2, out=tmp_path / "loky", progress=False)
    assert (serial.ran, serial.failed, loky.ran, loky.failed) == (4, 0, 4, 0)
    assert without_timings(read_records(serial.records_path).records) == \
        without_timings(read_records(loky.records_path).records)


def test_example_experiments_expand_to_the_paper_grids():
    counts = {path.stem: len(load_experiment(path)) for path in sorted(EXAMPLES.glob("*.toml"))}
    assert counts == {"figure10": 900, "figure12": 144, "figure7": 144, "figure8": 180, "section2": 192,
                      "tables2_3": 1056, "tiny": 4, "mnist_two_digits": 36, "mnist_hierarchical": 48,
                      "compare": 156}
    fig7 = load_experiment(EXAMPLES / "figure7.toml")
    cells = {(t.params["graph"], tuple(t.params["arch"])): (t.params["lr"], t.params["batch_size"], t.params["epochs"])
             for t in fig7.trials}
    assert len(cells) == 36
    # per-cell settings as the paper's runs used them (spec section 9.1)
    assert cells[("reused", (48, 48, 48))] == (0.1, 16, 30)
    assert cells[("non-modular", (24, 24))] == (0.05, 8, 30)
    assert cells[("separable-reused", (36,))] == (0.05, 32, 15)
    assert sorted({t.params["seed"] for t in fig7.trials}) == [0, 1, 2, 5]


def test_analysis_trial_of_an_edge_only_network(tmp_path):
    doc = {"name": "s2", "kind": "analysis", "figure": "section2",
           "cells": [{"graph": "input-separable", "arch": [24], "stage": "edge", "p_e": [2.5],
                      "analyses": ["path_products"]}]}
    result = run_grid(expand_experiment(doc), backend="serial", out=tmp_path, progress=False)
    assert result.failed == 0
    record = read_records(result.records_path).records[0]
    assert record["config"]["stage"] == "edge"
    assert record["densities"]["weights"] < 0.2 and record["metrics"]["validation_accuracy"] == 100.0
    assert record["metrics"]["p_u"] is None  # no unit stage in the edge-only pipeline
