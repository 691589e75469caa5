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
            val_accuracy = train_trying(model, task, trying, train_kwargs)
            # acceptance reads the VALIDATION split (result.accuracy is the test split, only reported);
            # for Boolean tasks the two are the same rows
            accuracy = np.where(trying, val_accuracy, np.nan)
            passed = trying & (val_accuracy >= threshold)
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


def train_trying(model: MaskedMLP, task, trying: np.ndarray, train_kwargs: dict) -> np.ndarray:
    """Retrain the members in ``trying``; returns every member's validation accuracy (NaN: left out).

    Members that do not try ride along in the stack with loss weight 0 and are restored. In a stack
    of packed trials (``train_kwargs["segments"]``), a trial none of whose members tries this round
    is left out of the stack altogether (once most trials of a pack have finished a stage, the
    stack shrinks to the ones still going). A trial kept in is kept whole, so each of its members
    sits where it sits when the trial runs alone and its numbers stay bit-identical.
    """
    from sculpt.train import member_segments

    E = model.members
    segments = train_kwargs.get("segments")
    spans = member_segments(E, segments)
    keep = [k for k, (lo, hi) in enumerate(spans) if trying[lo:hi].any()]
    if segments is None or len(keep) == len(spans):
        active = None if trying.all() else torch.from_numpy(trying).to(model.device)
        return train(model, task, active=active, **train_kwargs).val_accuracy
    index = np.concatenate([np.arange(*spans[k]) for k in keep])
    part = model.select(index)
    sub_trying = trying[index]
    pick = lambda value: [value[k] for k in keep] if isinstance(value, (list, tuple)) else value
    kwargs = dict(train_kwargs, segments=[spans[k][1] - spans[k][0] for k in keep],
                  generator=pick(train_kwargs["generator"]), lr=pick(train_kwargs["lr"]))
    active = None if sub_trying.all() else torch.from_numpy(sub_trying).to(model.device)
    result = train(part, task, active=active, **kwargs)
    index_t = torch.from_numpy(index).to(model.device)
    with torch.no_grad():
        for w, p in zip(model.parameters(), part.parameters()):
            w[index_t] = p.detach()
    val_accuracy = np.full(E, np.nan)
    val_accuracy[index] = result.val_accuracy
    return val_accuracy
