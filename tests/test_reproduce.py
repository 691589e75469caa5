"""`sculpt reproduce`: the plan behind the docs folders, a resumable run, gzip, the paper index."""
from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sculpt.errors import ConfigError
from sculpt.experiments import reproduce as rp

REPO = Path(__file__).resolve().parents[1]
EXPERIMENTS = REPO / "examples" / "experiments"


def test_dry_run_counts_every_trial_behind_the_docs_folders(tmp_path):
    stages = rp.plan(EXPERIMENTS, tmp_path)
    counts = [(s.step, str(s.folder.relative_to(tmp_path)), s.trials, s.finished, s.upper_bound) for s in stages]
    assert counts == [("figure7", "figure7", 144, 0, 0), ("figure8", "figure8", 180, 0, 0),
                      ("figure10", "figure10", 900, 0, 0), ("figure12", "figure12", 144, 0, 0),
                      ("tables2_3 (epoch pre-step)", "tables2_3/epochs", 1056, 0, 0),
                      ("tables2_3", "tables2_3", 0, 0, 1056), ("section2", "section2", 192, 0, 0)]
    # the committed Figure 7 folder holds 144 trials: all of them finished when the code that wrote them
    # resolves settings as today's does, all of them stale (to rerun) once a new setting enters trial ids
    figure7 = rp.plan(EXPERIMENTS, REPO / "docs", only=["figure7"])[0]
    assert figure7.trials == 144 and (figure7.finished, figure7.stale) in ((144, 0), (0, 144))


def test_dry_run_command_lists_counts_and_trials(tmp_path):
    done = subprocess.run([sys.executable, "-m", "sculpt", "reproduce", "--dry-run", "--docs", str(tmp_path),
                           "--only", "figure12", "tables2_3", "--list"], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"figure12: {tmp_path / 'figure12'}: 144 trials, 0 finished, 144 to run"
    assert sum(line.startswith("  ") for line in lines) == 144 + 1056
    assert lines[-1] == "total: 1200 trials, 0 finished, 1200 to run; plus at most 1056 once the epoch pre-step has finished"
    bad = subprocess.run([sys.executable, "-m", "sculpt", "reproduce", "--dry-run", "--only", "figure9"],
                         capture_output=True, text=True, cwd=REPO)
    assert bad.returncode == 2 and bad.stderr.strip() == (
        "sculpt reproduce: error: unknown experiment 'figure9'; choose from figure7, figure8, figure10, "
        "figure12, tables2_3, section2")


TINY_DEFAULTS = '''
[defaults]
noise = 0.1
p_u = [70.0]
p_e = [2.5]
accuracy_threshold = 100.0
'''


@pytest.fixture()
def tiny_experiments(tmp_path):
    folder = tmp_path / "experiments"
    folder.mkdir()
    (folder / "figure7.toml").write_text('name = "figure7"\nkind = "sculpt"\nfigure = "fig7"\n' + TINY_DEFAULTS +
                                         'epochs = 15\nlr = 0.05\nbatch_size = 8\n\n[grid]\nseed = [0, 1]\n\n'
                                         '[[cells]]\ngraph = "input-separable"\narch = [24]\n')
    (folder / "tables2_3.toml").write_text('name = "tables2_3"\nkind = "sculpt"\nfigure = "tables2_3"\n' + TINY_DEFAULTS +
                                           'epochs = 120\n\n[grid]\nlr = [0.05]\nseed = [0, 1]\n\n'
                                           '[[cells]]\ngraph = "input-separable"\narch = [24]\nbatch_size = 8\n')
    return folder


def test_reproduce_runs_resumes_and_indexes(tiny_experiments, tmp_path, one_torch_thread):
    docs = tmp_path / "docs"
    results = rp.reproduce(tiny_experiments, docs, only=["figure7", "tables2_3"], backend="serial", progress=False)
    assert [(r.step, r.ran, r.failed) for r in results] == [
        ("figure7", 2, 0), ("tables2_3 (epoch pre-step)", 2, 0), ("tables2_3", 2, 0)]
    choice = json.loads((docs / "tables2_3" / "epochs" / "choice.json").read_text())
    assert [c["epochs"] for c in choice["cells"]] == [15] and choice["pending"] == []
    report = (docs / "tables2_3" / "index.md").read_text()
    assert "| 8 | not run / 1.00 | not run / 1.00 | 1.00 (2/2) [0.34, 1.00] / 1.00, 15 ep | not run / 1.00 |" in report
    assert "| input-separable | input_separable_success | 1 | 1.00 (2/2) | [0.34, 1.00] | 1.00 |  | yes |" in \
        (docs / "figure7" / "index.md").read_text()
    index = (docs / "paper" / "index.md").read_text()
    assert "| Figure 7 | [docs/figure7](../figure7/index.md) | 12 | 1 | 1 of 1 |" in index
    assert "| Tables 2-3 | [docs/tables2_3](../tables2_3/index.md) | 223 | 1 | 1 of 1 |" in index
    assert "**Goal (Figures 7, 8, 10, 12b, Tables 2-3): 2 of 2 measured bars consistent (100 %)" in index
    assert "| tables2_3 | table2a | input-separable | input_separable_success | 1 | 0.05 | 8 | 1.00 | 1.00 (2/2) |" in index
    # everything is recorded: a second run runs nothing, and the plan agrees
    again = rp.reproduce(tiny_experiments, docs, only=["figure7", "tables2_3"], backend="serial", progress=False)
    assert [r.ran for r in again] == [0, 0, 0]
    runs = [json.loads(line) for line in (docs / "paper" / "runs.jsonl").read_text().splitlines()]
    assert [[s["ran"] for s in r["steps"]] for r in runs] == [[2, 2, 2], [0, 0, 0]]
    assert runs[0]["backend"] == "serial" and runs[0]["wall_s"] > 0
    assert "## Runs of `sculpt reproduce`" in (docs / "paper" / "index.md").read_text()
    assert [(s.trials, s.finished) for s in rp.plan(tiny_experiments, docs, only=["figure7", "tables2_3"])] == [
        (2, 2), (2, 2), (2, 2)]


def test_a_stopped_run_logs_what_it_recorded(tiny_experiments, tmp_path, monkeypatch, one_torch_thread):
    # stopped (Ctrl-C, or SIGTERM through the CLI) after one trial of the Tables 2-3 pre-step
    from sculpt.experiments import runner

    real = runner.run_grid
    calls = []

    def stopping_run_grid(experiment, **kwargs):
        calls.append(experiment.name)
        if len(calls) == 1:
            return real(experiment, **kwargs)
        real(experiment, **{**kwargs, "limit": 1})
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_grid", stopping_run_grid)
    docs = tmp_path / "docs"
    with pytest.raises(KeyboardInterrupt):
        rp.reproduce(tiny_experiments, docs, only=["figure7", "tables2_3"], backend="serial", progress=False)
    (run,) = [json.loads(line) for line in (docs / "paper" / "runs.jsonl").read_text().splitlines()]
    assert run["stopped_in"] == "tables2_3 (epoch pre-step)"
    assert [(s["step"], s["ran"], s["failed"], s["skipped"], s["remaining"]) for s in run["steps"]] == [
        ("figure7", 2, 0, 0, 0), ("tables2_3 (epoch pre-step)", 1, 0, 0, 1)]
    # the next run resumes: the pre-step's one missing trial, then the rest
    monkeypatch.setattr(runner, "run_grid", real)
    results = rp.reproduce(tiny_experiments, docs, only=["figure7", "tables2_3"], backend="serial", progress=False)
    assert [(r.step, r.ran, r.skipped) for r in results] == [
        ("figure7", 0, 2), ("tables2_3 (epoch pre-step)", 1, 1), ("tables2_3", 2, 0)]
    assert "| 3 (0), stopped during tables2_3 (epoch pre-step) |" in (docs / "paper" / "index.md").read_text()


def test_stale_records_are_refused_unless_restarted(tiny_experiments, tmp_path, one_torch_thread):
    docs = tmp_path / "docs"
    (docs / "figure7").mkdir(parents=True)
    (docs / "figure7" / "records.jsonl").write_text(json.dumps(
        {"trial_id": "0123456789abcdef", "status": "ok", "config": {}}) + "\n")
    assert rp.plan(tiny_experiments, docs, only=["figure7"])[0].stale == 1
    with pytest.raises(ConfigError, match="holds 1 finished trials that are not in experiment 'figure7'.*--restart"):
        rp.reproduce(tiny_experiments, docs, only=["figure7"], backend="serial", progress=False)
    results = rp.reproduce(tiny_experiments, docs, only=["figure7"], backend="serial", progress=False, restart=True)
    assert results[0].ran == 2 and rp.plan(tiny_experiments, docs, only=["figure7"])[0].stale == 0


def test_large_records_are_gzipped_byte_stably_and_resumed(tiny_experiments, tmp_path, monkeypatch, one_torch_thread):
    monkeypatch.setattr(rp, "GZIP_ABOVE", 0)
    docs = tmp_path / "docs"
    rp.reproduce(tiny_experiments, docs, only=["figure7"], backend="serial", progress=False)
    packed = docs / "figure7" / "records.jsonl.gz"
    assert packed.exists() and not (docs / "figure7" / "records.jsonl").exists()
    first = packed.read_bytes()
    assert len(gzip.decompress(first).splitlines()) == 2
    assert rp.plan(tiny_experiments, docs, only=["figure7"])[0].finished == 2
    assert rp.reproduce(tiny_experiments, docs, only=["figure7"], backend="serial", progress=False)[0].ran == 0
    assert packed.read_bytes() == first  # unpacked, resumed, packed again: the same bytes
    done = subprocess.run([sys.executable, "-m", "sculpt", "report", str(docs / "figure7"), "-o", str(tmp_path / "r")],
                          capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert "finished trials: 2" in (tmp_path / "r" / "index.md").read_text()


def test_paper_index_lists_outside_bars_with_what_is_known_and_table1(tmp_path):
    from sculpt.experiments.paper_index import write_paper_index
    from sculpt.experiments.records import RecordWriter
    from sculpt.experiments.report import build_report

    docs = tmp_path / "docs"
    records = [{"trial_id": f"u{k}", "experiment": "figure8", "figure": "fig8", "kind": "sculpt", "status": "ok",
                "config": {"graph": "reuse-use1", "arch": [24, 24], "seed": k}, "metrics": {}, "densities": {},
                "modules": None, "score": {"reused_success": False}, "timings": {}} for k in range(12)]
    with RecordWriter(docs / "figure8" / "records.jsonl") as writer:
        for r in records:
            writer.write(r)
    code = tmp_path / "code.json"
    code.write_text(json.dumps({"rates": [{"figure": "fig8", "graph": "reuse-use1", "criterion": "reused_success",
                                           "hidden_layers": 2, "successes": 3, "trials": 12, "note": "workers off"}]}))
    build_report(docs / "figure8" / "records.jsonl", docs / "figure8", paper_code=code)
    (docs / "section2").mkdir()
    (docs / "section2" / "summary.json").write_text(json.dumps({"figures": {"section2": {"path_products": [
        {"stage": "dense", "arch": [24], "seed": s, "separable": True} for s in (0, 1, 2, 5)] + [
        {"stage": "dense", "arch": [24, 24], "seed": s, "separable": s == 0} for s in (0, 1, 2, 5)]}}}))
    text = write_paper_index(docs).read_text()
    assert ("| fig8 reuse-use1 reused_success (2 HL) | 0.58 | 0.00 (0/12) | [0.00, 0.24] | the paper's "
            "own code from scratch: 3/12 (workers off); the reuse gap (below) |") in text
    assert text.count("**The reuse gap** (issue 11, [docs/fidelity](../fidelity/index.md)): the paper's own code") == 1
    assert "| Figure 8 | [docs/figure8](../figure8/index.md) | 15 | 1 | 0 of 1 |" in text
    assert "| Figure 10 | not run yet |" in text
    with RecordWriter(docs / "figure10" / "records.jsonl") as writer:  # a run stopped before its report
        writer.write({**records[0], "experiment": "figure10", "figure": "fig10"})
    assert ("| Figure 10 | in progress: 1 trials recorded, no report yet (`sculpt reproduce --reports-only` "
            "writes one, `sculpt reproduce` resumes) |") in write_paper_index(docs).read_text()
    assert "| dense | 1 | 1.00 (4/4) | [0.51, 1.00] | 1.00 | yes |" in text
    assert "| dense | 2 | 0.25 (1/4) | [0.05, 0.70] | 0.00 | **no** |" in text
    assert "| fig8 | fig8 | reuse-use1 | reused_success | 2 |  |  | 0.58 | 0.00 (0/12) | [0.00, 0.24] | **no** | 3/12 |" in text
    assert "Counting a trial when any of its equally sparse networks" not in text  # no tie was scored

    for r in records[:7]:  # seven trials had a tied network with the structure: 7/12 puts 0.58 inside
        r["metrics"] = {"tied_sparsest": 2}
        r["ties"] = {"networks": 2, "score": {"reused_success": 1}}
    (docs / "figure10" / "records.jsonl").unlink()
    with RecordWriter(docs / "figure8" / "records.jsonl") as writer:
        for r in records:
            writer.write(r)
    build_report(docs / "figure8" / "records.jsonl", docs / "figure8", paper_code=code)
    text = write_paper_index(docs).read_text()
    assert ("counting a trial when any of its equally sparse networks shows the structure (the authors chose among "
            "ties by hand, spec 4.4): 7/12 [0.32, 0.81], the paper's value inside; the reuse gap (below) |") in text
    assert "spec 4.4): 1 of 1 (100 %)." in text


def test_reports_only_marks_a_stopped_run_partial_and_runs_nothing(tmp_path):
    from sculpt.experiments.records import RecordWriter

    docs = tmp_path / "docs"
    records = [{"trial_id": f"u{k}", "experiment": "figure8", "figure": "fig8", "kind": "sculpt", "status": "ok",
                "config": {"graph": "reuse-use1", "arch": [24, 24], "seed": k}, "metrics": {}, "densities": {},
                "modules": None, "score": {"reused_success": k < 3}, "timings": {}} for k in range(12)]
    with RecordWriter(docs / "figure8" / "records.jsonl") as writer:
        for r in records:
            writer.write(r)
    before = (docs / "figure8" / "records.jsonl").read_bytes()
    done = subprocess.run([sys.executable, "-m", "sculpt", "reproduce", "--docs", str(docs), "--reports-only",
                           "--only", "figure8", "figure10"], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    report = (docs / "figure8" / "index.md").read_text()
    assert "- finished trials: 12 of 180 planned; failed trials: 0" in report
    assert "- **partial**: 168 trials have not run yet (`sculpt reproduce` resumes)" in report
    assert "| 0.25 (3/12) | [0.09, 0.53] |" in report  # rates over the finished trials, with their interval
    assert json.loads((docs / "figure8" / "summary.json").read_text())["planned"] == 180
    assert (docs / "figure8" / "records.jsonl").read_bytes() == before  # nothing ran, nothing appended
    assert not (docs / "figure10").exists()  # no records: no report
    index = (docs / "paper" / "index.md").read_text()
    assert ("| Figure 8 | [docs/figure8](../figure8/index.md) (partial: 12 of 180 trials; `sculpt reproduce` "
            "resumes) |") in index


@pytest.mark.slow
@pytest.mark.skipif(__import__("importlib").util.find_spec("ray") is None, reason="Ray is not installed")
def test_reproduce_on_ray_gives_the_serial_records(tiny_experiments, tmp_path):
    """`sculpt reproduce --backend ray` writes the same science as a serial run."""
    def science(folder):
        lines = (folder / "figure7" / "records.jsonl").read_text().splitlines()
        return sorted((r["trial_id"], json.dumps(r["score"], sort_keys=True), json.dumps(r["network"]))
                      for r in map(json.loads, lines))
    for backend in ("serial", "ray"):
        done = subprocess.run([sys.executable, "-m", "sculpt", "reproduce", "--experiments", str(tiny_experiments),
                               "--docs", str(tmp_path / backend), "--only", "figure7", "--backend", backend,
                               "--jobs", "2", "-q"], capture_output=True, text=True, cwd=REPO)
        assert done.returncode == 0, done.stderr
    assert science(tmp_path / "ray") == science(tmp_path / "serial")
    assert (tmp_path / "ray" / "paper" / "index.md").is_file()


def test_corrupt_gzipped_records_are_one_error_and_left_in_place(tiny_experiments, tmp_path):
    from sculpt.errors import SnapshotError

    packed = tmp_path / "docs" / "figure7" / "records.jsonl.gz"
    packed.parent.mkdir(parents=True)
    good = gzip.compress(b'{"trial_id": "0123456789abcdef", "status": "ok", "config": {}}\n')
    packed.write_bytes(good[:12] + bytes(b ^ 0xFF for b in good[12:30]) + good[30:])
    with pytest.raises(SnapshotError, match="records.jsonl.gz: not a readable gzip file"):
        rp.reproduce(tiny_experiments, tmp_path / "docs", only=["figure7"], backend="serial", progress=False)
    assert sorted(p.name for p in packed.parent.iterdir()) == ["records.jsonl.gz"]


def test_a_bar_one_trial_from_the_papers_count_says_so():
    from sculpt.experiments.paper_index import known_about
    from sculpt.experiments.paper_numbers import PaperValue

    cell = PaperValue("tables2_3", "table3b", "non-modular", "non_modular_success", 1, 1.0, 4, lr=0.005,
                      batch_size=1)
    assert known_about(cell, {"successes": 3, "trials": 4}) == (
        "one trial from the paper's count (3/4 against 4/4): with 4 trials a bar moves by 0.25")
    assert known_about(cell, {"successes": 2, "trials": 4}) == "nothing yet"


def test_paper_index_names_the_hierarchy_gap_for_figure12_bars_outside(tmp_path):
    from sculpt.experiments.paper_index import write_paper_index
    from sculpt.experiments.records import RecordWriter
    from sculpt.experiments.report import build_report

    docs = tmp_path / "docs"
    with RecordWriter(docs / "figure12" / "records.jsonl") as writer:
        for k in range(8):
            writer.write({"trial_id": f"h{k}", "experiment": "figure12", "figure": "fig12", "kind": "sculpt",
                          "status": "ok", "config": {"graph": "hierarchical-use2", "arch": [36, 36], "seed": k},
                          "metrics": {}, "densities": {}, "modules": None, "timings": {},
                          "score": {"hierarchical_exact": k == 0, "inputs_split": True, "outputs_split": True,
                                    "hierarchical_intermediate": True}})
    build_report(docs / "figure12" / "records.jsonl", docs / "figure12", planned=144)
    text = write_paper_index(docs).read_text()
    assert "| fig12b hierarchical-use2 hierarchical_exact (2 HL) | 1.00 | 0.12 (1/8) |" in text
    assert "| nothing yet |" not in text and "the hierarchy gap (below) |" in text
    assert text.count("**The hierarchy gap** ([docs/figure12](../figure12/index.md)):") == 1
    assert "(partial: 8 of 144 trials;" in text
