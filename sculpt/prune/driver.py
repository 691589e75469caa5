"""The pruning loop shared by unit and edge pruning (DESIGN decision 2: written once).

Each round: the schedule proposes a cumulative percentage per member, the stage turns it into
masks, the whole stack retrains (fresh Adam, best epoch), members reaching the threshold are
accepted and become the new rewind point, the others are rewound to their last accepted network.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch

from sculpt.nets import MaskedMLP
from sculpt.prune.schedule import HalvingSchedule
from sculpt.train import train


class Stage(Protocol):
    """How a stage turns target percentages into masks (``UnitStage``, ``EdgeStage``)."""

    name: str

    def prune(self, model: MaskedMLP, pp: np.ndarray, members: np.ndarray) -> None:  # pragma: no cover
        ...


@dataclass
class StageLog:
    """Per-round arrays of one stage, each of shape (E,): what the history is built from."""

    pp: list = field(default_factory=list)
    step: list = field(default_factory=list)
    live: list = field(default_factory=list)
    trained: list = field(default_factory=list)
    accepted: list = field(default_factory=list)
    density: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)  # validation accuracy, what acceptance compared

    def member_rounds(self, member: int) -> list[dict]:
        """JSON-able rounds of one member (only rounds it took part in)."""
        rounds = []
        for r in range(len(self.pp)):
            if not self.live[r][member]:
                continue
            rounds.append({"round": r + 1, "p": round(float(self.pp[r][member]), 10),
                           "step": round(float(self.step[r][member]), 10),
                           "trained": bool(self.trained[r][member]),
                           "accepted": bool(self.accepted[r][member]),
                           "density": float(self.density[r][member]),
                           "accuracy": _json_float(self.accuracy[r][member])})
        return rounds


def _json_float(x) -> float | None:
    # rounds that did not train (target >= 100 %) have no accuracy; JSON has no NaN
    return None if np.isnan(x) else float(x)


def run_stage(model: MaskedMLP, task, stage: Stage, schedule: HalvingSchedule, *, threshold: float,
              validated: np.ndarray, train_kwargs: dict, on_round=None) -> StageLog:
    """Prune every member of ``model`` until its schedule stops; leave each at its last accepted net.

    Parameters
    ----------
    model : MaskedMLP
        Its current state is every member's starting (and first rewind) network.
    task : functiongraphs.Task
    stage : Stage
    schedule : HalvingSchedule
        One entry per member.
    threshold : float
        Acceptance: the retrained member's validation accuracy (``task.acceptance`` metric, at its
        kept epoch) >= threshold. Test accuracy is never used to select.
    validated : ndarray of bool (E,)
        Updated in place: set for members once a step of theirs is accepted.
    train_kwargs : dict
        ``lr``, ``batch_size``, ``epochs``, ``generator`` and other :func:`sculpt.train.train` options.
    on_round : callable(stage_name, schedule, log), optional
        Progress hook, called after every round.

    Returns
    -------
    StageLog
    """
    log = StageLog()
    accepted_state = model.state()
    while not schedule.done.all():
        live = ~schedule.done
        pp, trying = schedule.propose()
        passed = np.zeros(schedule.members, dtype=bool)
        accuracy = np.full(schedule.members, np.nan)
        if trying.any():
            stage.prune(model, pp, trying)
            active = None if trying.all() else torch.from_numpy(trying).to(model.device)
            result = train(model, task, active=active, **train_kwargs)
            # acceptance reads the VALIDATION split (result.accuracy is the test split, only reported);
            # for Boolean tasks the two are the same rows
            accuracy = np.where(trying, result.val_accuracy, np.nan)
            passed = trying & (result.val_accuracy >= threshold)
        log.pp.append(pp)
        log.step.append(schedule.step.copy())
        log.live.append(live)
        log.trained.append(trying)
        log.accepted.append(passed)
        log.density.append(model.density())
        log.accuracy.append(accuracy)
        keep = torch.from_numpy(passed).to(model.device)
        accepted_state = MaskedMLP.merge_state(accepted_state, model.state(), keep)
        model.load_state(accepted_state)
        validated |= passed
        schedule.update(passed)
        if on_round is not None:
            on_round(stage.name, schedule, log)
    return log
