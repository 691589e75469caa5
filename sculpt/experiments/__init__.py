"""Experiment grids: TOML files expanded into trials, run locally (joblib/loky) or on Ray, with
crash-safe JSONL records, resume, and reports that set the results next to the paper's numbers.

::

    from sculpt.experiments import load_experiment, run_grid, build_report
    result = run_grid(load_experiment("examples/experiments/figure7.toml"), jobs=2, out="runs/figure7")
    build_report(result.records_path, "runs/figure7/report")
"""
from sculpt.experiments.config import Experiment, Trial, expand_experiment, load_experiment, trial_id
from sculpt.experiments.records import RecordWriter, finished_ids, read_records
from sculpt.experiments.report import build_report
from sculpt.experiments.runner import GridResult, run_grid

__all__ = ["Experiment", "GridResult", "RecordWriter", "Trial", "build_report", "expand_experiment",
           "finished_ids", "load_experiment", "read_records", "run_grid", "trial_id"]
