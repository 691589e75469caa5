"""The pruning loop shared by unit and edge pruning (DESIGN decision 2: written once).

Each round: the schedule proposes a cumulative percentage per member, the stage turns it into
masks, the whole stack retrains (fresh Adam, best epoch), members reaching the threshold are
accepted and become the new rewind point, the others are rewound to their last accepted network.
"""
from __future__ import annotations

import math
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

    Members that do not try and cannot be left out ride along in the stack with loss weight 0 and
    are restored. What is left out keeps every number of the members that train bit-identical:

    * a trial of a pack (``train_kwargs["segments"]``) none of whose members tries this round is
      left out altogether (once most trials of a pack have finished a stage, the stack shrinks to
      the ones still going);
    * inside a trial, on one CPU thread, so is every aligned chunk of :func:`member_chunk` members
      none of which tries (late in a stage a few of a grid's 70 members are still going).

    The members kept sit where the element-wise kernels treat them as in the whole trial, and the
    shuffles and noise are drawn for the whole trial (``train(drawn_as=...)``).
    """
    from sculpt.train import member_segments

    E = model.members
    segments = train_kwargs.get("segments")
    spans = member_segments(E, segments)
    chunk = member_chunk(model.arch) if _chunks_are_exact(model) else None
    held = [held_positions(trying[lo:hi], chunk) for lo, hi in spans]
    keep = [k for k, positions in enumerate(held) if len(positions)]
    if all(len(positions) == hi - lo for positions, (lo, hi) in zip(held, spans)):
        active = None if trying.all() else torch.from_numpy(trying).to(model.device)
        return train(model, task, active=active, **train_kwargs).val_accuracy
    index = np.concatenate([spans[k][0] + held[k] for k in keep])
    part = model.select(index)
    sub_trying = trying[index]
    pick = lambda value: [value[k] for k in keep] if isinstance(value, (list, tuple)) else value
    drawn_as = [None if len(held[k]) == spans[k][1] - spans[k][0] else
                (spans[k][1] - spans[k][0], torch.from_numpy(held[k]).to(model.device)) for k in keep]
    kwargs = dict(train_kwargs, segments=[len(held[k]) for k in keep], generator=pick(train_kwargs["generator"]),
                  lr=pick(train_kwargs["lr"]), drawn_as=drawn_as)
    active = None if sub_trying.all() else torch.from_numpy(sub_trying).to(model.device)
    result = train(part, task, active=active, **kwargs)
    index_t = torch.from_numpy(index).to(model.device)
    with torch.no_grad():
        for w, p in zip(model.parameters(), part.parameters()):
            w[index_t] = p.detach()
    val_accuracy = np.full(E, np.nan)
    val_accuracy[index] = result.val_accuracy
    return val_accuracy


# torch's CPU element-wise kernels walk a tensor from its first element in vector steps (2 x 16
# floats with AVX-512) and finish with a scalar tail, and the two can round a transcendental result
# (the sigmoid, Adam's update) differently. A member's elements are walked alike in a shorter stack
# when the members left out before it span a multiple of the step and the trial's last member stays
# last; 64 elements cover every step size torch uses for float32.
ALIGN_ELEMENTS = 64


def member_chunk(arch) -> int:
    """Members per aligned chunk: ``chunk * b`` is a multiple of :data:`ALIGN_ELEMENTS` for every block.

    Each member's block of a per-trial tensor (a weight, a bias, its Adam moments, a batch's
    activations or logits) is a multiple of one layer's width, so the chunk is
    ``ALIGN_ELEMENTS / gcd(ALIGN_ELEMENTS, widths)``: 16 members for widths 36 / 48 / 60 with 4
    outputs, 8 for widths 24 with 16 outputs.
    """
    return ALIGN_ELEMENTS // math.gcd(ALIGN_ELEMENTS, *[int(w) for w in arch[1:]])


def _chunks_are_exact(model: MaskedMLP) -> bool:
    # with several threads a kernel splits its range where the tensor's length says, and on a GPU the
    # vector width follows the pointers' alignment, so leaving members out would move their numbers
    return model.device.type == "cpu" and torch.get_num_threads() == 1


def held_positions(trying: np.ndarray, chunk: int | None) -> np.ndarray:
    """Positions in one trial to keep in the stack: its aligned chunks holding a trying member.

    ``chunk=None``: the whole trial if any member tries, else nothing.

    Examples
    --------
    >>> held_positions(np.array([0, 0, 0, 1, 0, 0, 0], bool), 2).tolist()
    [2, 3]
    >>> held_positions(np.array([1, 0, 0, 0, 0, 0, 1], bool), 4).tolist()
    [0, 1, 2, 3, 4, 5, 6]
    >>> held_positions(np.array([0, 0, 0, 0, 0, 1, 0], bool), 4).tolist()
    [4, 5, 6]
    """
    n = len(trying)
    if chunk is None:
        return np.arange(n) if trying.any() else np.zeros(0, dtype=np.int64)
    starts = [lo for lo in range(0, n, chunk) if trying[lo:lo + chunk].any()]
    if not starts:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([np.arange(lo, min(lo + chunk, n)) for lo in starts])
