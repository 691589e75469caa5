"""The epoch pre-step of Tables 2-3: how many epochs each (graph, depth, lr, batch size) cell trains.

Appendix H.2 of the paper: "To determine the appropriate number of epochs, we aim for the NNs
with the four considered seed values to achieve 100% validation accuracy. We set a maximum of
120 epochs [...] Such cases are marked with an X". The paper does not say which epoch counts it
tried, so the choice here is made from a fixed ladder, :data:`LADDER`, and is reproducible:

1. :func:`dense_experiment` turns the Tables 2-3 experiment into ``dense`` trials (one per cell
   and seed, dense training only, ``max(LADDER)`` epochs; :mod:`sculpt.experiments.trial`),
   which record each epoch's validation accuracy. The learning rate is constant and no epoch's
   random draws depend on the total, so epoch E of that run is the end of the run with E epochs.
2. :func:`choose_epochs` picks, per cell, the smallest ladder value E by which every seed's dense
   network has reached the accuracy threshold (100 %) at least once (best-epoch selection then
   keeps such an epoch); when some seed never does within ``max(LADDER)`` epochs the cell is X.
3. :func:`with_chosen_epochs` gives the experiment whose trials use those epochs, X cells left out.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Sequence

from sculpt.errors import ConfigError
from sculpt.experiments.config import Experiment, Trial, trial_id

# Epoch counts tried, smallest first. The largest is the paper's cap of 120 epochs; the steps
# grow about 1.5x so that a cell's epochs are at most ~1.5x what its slowest seed needed.
LADDER: tuple[int, ...] = (15, 20, 30, 45, 60, 90, 120)


def cell_of(params: dict) -> tuple:
    """(graph, hidden layers, lr, batch size): the cell a trial belongs to."""
    return (params["graph"], len(params["arch"]), params["lr"], params["batch_size"])


def dense_experiment(experiment: Experiment, ladder: Sequence[int] = LADDER) -> Experiment:
    """The dense-only pre-step of an experiment: one ``dense`` trial per distinct (cell, seed).

    Parameters
    ----------
    experiment : Experiment
        The Tables 2-3 experiment (kind ``sculpt``).
    ladder : sequence of int
        Epoch counts; the dense runs train ``max(ladder)`` epochs.

    Returns
    -------
    Experiment
        Named ``<name>_epochs``, figure ``<figure>_epochs``.

    Raises
    ------
    ConfigError
        A trial sets ``replay`` (its dense network is not the one the dense kind trains).
    """
    from sculpt.experiments.trial import trial_kind

    ladder = _check_ladder(ladder)
    kind = trial_kind("dense")
    trials, seen = [], set()
    for trial in experiment.trials:
        if trial.params.get("replay") is not None:
            # The replay's dense network comes from the paper's own training loop, which the dense
            # kind does not run: a choice made here would describe other networks than the trials'.
            raise ConfigError(f"{experiment.source}: the epoch pre-step trains sculpt's default dense networks; "
                              f"replay = {trial.params['replay']!r} is not supported by it")
        params = kind.resolve(dict(trial.params, epochs=ladder[-1]), f"{experiment.source}: trial {trial.trial_id}")
        tid = trial_id({"kind": "dense", **params})
        if tid not in seen:
            seen.add(tid)
            trials.append(Trial("dense", params, tid))
    return Experiment(f"{experiment.name}_epochs", "dense", f"{experiment.figure}_epochs",
                      f"Epoch pre-step of {experiment.name}: dense networks, {ladder[-1]} epochs, ladder "
                      f"{', '.join(map(str, ladder))}", experiment.source, tuple(trials))


def choose_epochs(records: Iterable[dict], ladder: Sequence[int] = LADDER,
                  seeds: Sequence[int] | None = None) -> dict:
    """The epochs of every cell from the pre-step's records.

    Parameters
    ----------
    records : iterable of dict
        Finished ``dense`` trial records (``metrics.first_epoch_at_threshold``).
    ladder : sequence of int
    seeds : sequence of int, optional
        The seeds every cell must have (default: all seeds seen in any cell). A cell missing
        one is listed under ``pending`` and gets no choice.

    Returns
    -------
    dict
        JSON-ready: ``{"ladder": [...], "cells": [{"graph", "hidden_layers", "arch", "lr",
        "batch_size", "first_epochs": {seed: epoch or None}, "epochs": E or None (X)}],
        "pending": [cells still missing seeds]}``, cells sorted.

    Examples
    --------
    >>> def rec(seed, first):
    ...     return {"status": "ok", "kind": "dense", "config": {"graph": "g", "arch": [24], "lr": 0.1,
    ...             "batch_size": 8, "seed": seed}, "metrics": {"first_epoch_at_threshold": first}}
    >>> choose_epochs([rec(0, 12), rec(1, 31)])["cells"][0]["epochs"]
    45
    >>> choose_epochs([rec(0, 12), rec(1, None)])["cells"][0]["epochs"] is None
    True
    """
    ladder = _check_ladder(ladder)
    firsts: dict[tuple, dict[int, int | None]] = defaultdict(dict)
    archs: dict[tuple, list[int]] = {}
    for record in records:
        if record.get("status") != "ok" or record.get("kind") != "dense":
            continue
        config = record["config"]
        key = cell_of(config)
        firsts[key][int(config["seed"])] = record["metrics"]["first_epoch_at_threshold"]
        archs[key] = list(config["arch"])
    wanted = sorted({int(s) for s in seeds} if seeds is not None else {s for f in firsts.values() for s in f})
    cells, pending = [], []
    for key in sorted(firsts, key=lambda k: (k[0], k[1], k[2], k[3])):
        found = firsts[key]
        entry = {"graph": key[0], "hidden_layers": key[1], "arch": archs[key], "lr": key[2], "batch_size": key[3],
                 "first_epochs": {str(s): found.get(s) for s in wanted}}
        if any(s not in found for s in wanted):
            pending.append(entry)
            continue
        needed = [found[s] for s in wanted]
        entry["epochs"] = None if None in needed else next((e for e in ladder if e >= max(needed)), None)
        cells.append(entry)
    return {"ladder": list(ladder), "seeds": wanted, "cells": cells, "pending": pending}


def with_chosen_epochs(experiment: Experiment, choice: dict) -> Experiment:
    """The experiment's trials with each cell's chosen epochs; X cells and cells without a choice
    are left out (so the result holds exactly the trials to run)."""
    from sculpt.experiments.trial import trial_kind

    epochs = {(c["graph"], c["hidden_layers"], c["lr"], c["batch_size"]): c["epochs"] for c in choice["cells"]}
    kind = trial_kind(experiment.kind)
    trials = []
    for trial in experiment.trials:
        chosen = epochs.get(cell_of(trial.params))
        if chosen is None:
            continue
        params = kind.resolve(dict(trial.params, epochs=chosen), f"{experiment.source}: trial {trial.trial_id}")
        trials.append(Trial(trial.kind, params, trial_id({"kind": trial.kind, **params})))
    return Experiment(experiment.name, experiment.kind, experiment.figure, experiment.description,
                      experiment.source, tuple(trials))


def _check_ladder(ladder: Sequence[int]) -> tuple[int, ...]:
    values = tuple(ladder)
    if not values or any(isinstance(e, bool) or not isinstance(e, int) or e < 1 for e in values) \
            or list(values) != sorted(set(values)):
        raise ConfigError(f"the epoch ladder must be increasing positive integers, got {list(values)!r}")
    return values
