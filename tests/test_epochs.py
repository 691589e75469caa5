"""The epoch pre-step of Tables 2-3: dense runs, the ladder rule, the experiment it yields."""
from __future__ import annotations

from pathlib import Path

import pytest

from sculpt.errors import ConfigError
from sculpt.experiments import expand_experiment, load_experiment
from sculpt.experiments.epochs import LADDER, cell_of, choose_epochs, dense_experiment, with_chosen_epochs
from sculpt.experiments.runner import execute_trial

REPO = Path(__file__).resolve().parents[1]


def dense_record(seed, first, graph="g", arch=(24,), lr=0.1, batch_size=8, status="ok"):
    return {"status": status, "kind": "dense", "metrics": {"first_epoch_at_threshold": first},
            "config": {"kind": "dense", "graph": graph, "arch": list(arch), "lr": lr, "batch_size": batch_size,
                       "seed": seed}}


def test_ladder_rule_on_a_tiny_fake():
    records = [dense_record(s, f) for s, f in zip((0, 1, 2, 5), (3, 15, 16, 9))]            # -> 20
    records += [dense_record(s, f, lr=0.01) for s, f in zip((0, 1, 2, 5), (1, 1, 2, 1))]    # -> 15
    records += [dense_record(s, f, lr=0.005) for s, f in zip((0, 1, 2, 5), (30, None, 2, 1))]  # -> X
    records += [dense_record(s, f, lr=0.05) for s, f in zip((0, 1, 2, 5), (91, 100, 120, 2))]  # -> 120
    records += [dense_record(s, 5, batch_size=1) for s in (0, 1, 2)]                          # seed 5 missing
    records += [dense_record(5, 1, batch_size=1, status="error")]
    choice = choose_epochs(records)
    by_cell = {(c["lr"], c["batch_size"]): c["epochs"] for c in choice["cells"]}
    assert by_cell == {(0.1, 8): 20, (0.01, 8): 15, (0.005, 8): None, (0.05, 8): 120}
    assert choice["ladder"] == list(LADDER) and choice["seeds"] == [0, 1, 2, 5]
    assert [(c["lr"], c["batch_size"], c["first_epochs"]["5"]) for c in choice["pending"]] == [(0.1, 1, None)]
    # a cell whose slowest seed needs more than the largest rung is X too
    short = {(c["lr"], c["batch_size"]): c["epochs"] for c in choose_epochs(records, ladder=(15, 30, 60))["cells"]}
    assert short == {(0.1, 8): 30, (0.01, 8): 15, (0.005, 8): None, (0.05, 8): None}
    assert choose_epochs([dense_record(0, 16)], ladder=(15, 16))["cells"][0]["epochs"] == 16
    # an explicit seed list makes a cell with fewer seeds pending
    assert choose_epochs([dense_record(0, 1)], seeds=(0, 1))["cells"] == []


@pytest.mark.parametrize("ladder", [(), (30, 15), (15, 15), (0, 15), (15.0, 30)])
def test_bad_ladders_are_refused(ladder):
    with pytest.raises(ConfigError, match="epoch ladder must be increasing positive integers"):
        choose_epochs([], ladder=ladder)


TINY = {"name": "t23", "kind": "sculpt", "figure": "tables2_3",
        "defaults": {"noise": 0.1, "epochs": 120, "p_u": [70.0], "p_e": [2.5]},
        "grid": {"lr": [0.05, 0.1], "seed": [0, 1]},
        "cells": [{"graph": "input-separable", "arch": [24], "batch_size": 8},
                  {"graph": "input-separable", "arch": [24, 24], "batch_size": 8}]}


def test_dense_experiment_and_the_chosen_epochs_experiment():
    experiment = expand_experiment(TINY)
    dense = dense_experiment(experiment)
    assert (dense.name, dense.kind, dense.figure, len(dense)) == ("t23_epochs", "dense", "tables2_3_epochs", 8)
    assert all(t.params["epochs"] == 120 and "p_u" not in t.params for t in dense.trials)
    # pruning settings do not enter a dense trial's id
    other = expand_experiment({**TINY, "defaults": {**TINY["defaults"], "p_u": [50.0]}})
    assert [t.trial_id for t in dense_experiment(other).trials] == [t.trial_id for t in dense.trials]
    records = [{"status": "ok", "kind": "dense", "config": t.config(),
                "metrics": {"first_epoch_at_threshold": 40 if t.params["lr"] == 0.1 else None}}
               for t in dense.trials]
    choice = choose_epochs(records)
    final = with_chosen_epochs(experiment, choice)
    assert len(final) == 4 and {t.params["epochs"] for t in final.trials} == {45}
    assert {cell_of(t.params)[2] for t in final.trials} == {0.1}
    assert not {t.trial_id for t in final.trials} & {t.trial_id for t in experiment.trials}


def test_the_pre_step_refuses_replayed_trials():
    replayed = expand_experiment({**TINY, "defaults": {**TINY["defaults"], "replay": "paper"}})
    with pytest.raises(ConfigError, match="epoch pre-step trains sculpt's default dense networks; replay = 'paper'"):
        dense_experiment(replayed)


def test_tables2_3_file_is_the_papers_grid():
    experiment = load_experiment(REPO / "examples" / "experiments" / "tables2_3.toml")
    cells = {cell_of(t.params) for t in experiment.trials}
    assert len(experiment) == 1056 and len(cells) == 264
    sizes = {g: sorted({c[3] for c in cells if c[0] == g}) for g in {c[0] for c in cells}}
    assert sizes == {"input-separable": [1, 2, 4, 8, 16], "reused": [1, 2, 4, 8, 16], "non-modular": [1, 2, 4, 8, 16],
                     "separable-reused": [1, 2, 4, 8, 16, 32, 64]}
    assert {c[1] for c in cells} == {1, 2, 3} and {c[2] for c in cells} == {0.005, 0.01, 0.05, 0.1}
    assert {t.params["seed"] for t in experiment.trials} == {0, 1, 2, 5}
    assert {tuple(t.params["arch"]) for t in experiment.trials} == {(24,), (24, 24), (24, 24, 24)}


def dense_trial(epochs, seed=0):
    params = {"graph": "input-separable", "arch": [24], "seed": seed, "lr": 0.05, "batch_size": 8,
              "epochs": epochs, "noise": 0.1, "accuracy_threshold": 100.0}
    return execute_trial("dense", params, "t", "e", "f", None, limit_threads=True)


def test_dense_runs_are_prefixes_of_longer_runs(one_torch_thread):
    short, long = dense_trial(12), dense_trial(40)
    assert short["status"] == long["status"] == "ok"
    assert short["metrics"]["val_accuracy_curve"] == long["metrics"]["val_accuracy_curve"][:12]
    first = long["metrics"]["first_epoch_at_threshold"]
    curve = long["metrics"]["val_accuracy_curve"]
    assert first is not None and curve[first - 1] >= 100.0 and all(a < 100.0 for a in curve[:first - 1])


def test_dense_trial_trains_the_dense_network_of_prune_grid(one_torch_thread):
    """The pre-step's dense network is the one pruning starts from (same accuracy, same best epoch)."""
    from functiongraphs import Task, catalog
    from sculpt.prune import prune_grid

    record = dense_trial(15, seed=1)
    task = Task(catalog.get("input-separable"), noise=0.1)
    net = prune_grid(task, [4, 24, 4], seed=1, p_u=[70.0], p_e=[2.5], lr=0.05, batch_size=8, epochs=15,
                     progress=False)
    dense = net.history["dense"]
    assert dense["validation_accuracy"] == pytest.approx(record["metrics"]["validation_accuracy"], abs=0)
    assert dense["best_epoch"] == record["metrics"]["best_epoch"]
