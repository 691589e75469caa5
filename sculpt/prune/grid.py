"""The (p_u, p_e) grid as stacks of networks, and the single (p_u, p_e) trial.

Spec sections 3.1, 4.1 and 4.4. Flow for one (task, arch, seed):

1. One dense network is trained (seed -> init). The paper retrains the dense net with the same
   seed for every p_u run, which gives the same dense network each time, so every grid member
   starts from this one dense network.
2. Unit pruning for all p_u values at once: a stack of len(p_u) members.
3. Each unit-pruned member is retrained once (spec 4.1), then copied len(p_e) times: edge pruning
   for every (p_u, p_e) pair at once, a stack of len(p_u) * len(p_e) members (member
   ``i_u * len(p_e) + i_e``). Stopped members idle in the stack until the last one stops.
4. The sparsest accepted network is kept. Tie-break (the paper's notebook, spec 4.4): scan p_e in
   decreasing order, p_u in decreasing order inside, and keep the first with the fewest weights.

Fix of bug 11.1.1 (default, ``save_unchecked=False``): a network is only ever kept or used as a
rewind point if it reached the threshold. If the retrained unit-pruned net fails, edge pruning
starts from the accepted unit-pruned net it came from; if no network of the grid ever passed,
``prune_grid`` raises. ``save_unchecked=True`` reproduces the paper: the retrained unit-pruned
net (and the dense net when no unit step was accepted) count as accepted without a check.

Acceptance (every threshold check, and the dense accuracy of ``accept_relative_to_dense``) reads
the retrained network's VALIDATION accuracy; test accuracy is only reported (``meta["accuracy"]``,
the grid summary). For the Boolean tasks validation and test are the same rows, so nothing
changes there; for MNIST the test pairs never select a network.

Bounding the run (MNIST-size networks, not in the paper; defaults off): ``dense_epochs`` trains
the dense network longer than each retraining, and ``min_step`` / ``max_rounds`` cut each member's
halving tail (:class:`sculpt.prune.schedule.HalvingSchedule`).

Random streams: one generator (derived from ``seed``) drives every shuffle and noise draw, in a
fixed order, so the same configuration gives bit-identical masks. Members of one stack share
each draw (one slice per member), so results depend on the stack layout (``members_per_stack``).
"""
from __future__ import annotations

import sys
from typing import Sequence

import numpy as np
import torch

from sculpt.errors import ConfigError, SculptError
from sculpt.nets import EVALUATION_CHUNK, MaskedMLP, PrunedNet, check_stack_memory, resolve_device, validate_arch
from sculpt.prune.driver import StageLog, run_stage
from sculpt.prune.edge import EdgeStage
from sculpt.prune.schedule import HalvingSchedule
from sculpt.prune.threads import single_threaded_for_small_nets
from sculpt.prune.unit import UnitStage
from sculpt.train import check_training_settings, evaluate, train

DEFAULT_P_U = tuple(float(p) for p in range(5, 75, 5))
DEFAULT_P_E = (2.5, 2.0, 1.5, 1.0, 0.5)


def check_config(task, arch, p_u, p_e, lr, batch_size, epochs, accuracy_threshold, dense_epochs=None,
                 min_step=None, max_rounds=None) -> list[int]:
    """Refuse impossible settings up front; returns the architecture as a list of ints.

    Raises
    ------
    ConfigError
    """
    arch = validate_arch(arch)
    if arch[0] != task.n_inputs:
        raise ConfigError(f"arch {arch} starts with {arch[0]} inputs but task {task.name!r} has {task.n_inputs}")
    if arch[-1] != task.n_outputs:
        raise ConfigError(f"arch {arch} ends with {arch[-1]} outputs but task {task.name!r} has {task.n_outputs}")
    for name, rates in (("p_u", p_u), ("p_e", p_e)):
        if name == "p_u" and rates is None:
            continue  # the edge-only pipeline (spec 4.3)
        if len(rates) == 0:
            raise ConfigError(f"{name} needs at least one pruning rate")
        for r in rates:
            if not (isinstance(r, (int, float, np.number)) and 0 < r < 100):
                raise ConfigError(f"{name} rates are percentages in (0, 100), got {r!r}")
        if len(set(float(r) for r in rates)) != len(rates):
            raise ConfigError(f"{name} lists a rate twice: {list(rates)}")
    if getattr(task, "acceptance", None) == "metric":  # a user's metric has its own scale
        if not (isinstance(accuracy_threshold, (int, float, np.number)) and np.isfinite(accuracy_threshold)):
            raise ConfigError(f"the acceptance threshold must be a finite number, got {accuracy_threshold!r}")
    elif not (isinstance(accuracy_threshold, (int, float, np.number)) and 0 <= accuracy_threshold <= 100):
        raise ConfigError(f"accuracy_threshold is a percentage in [0, 100], got {accuracy_threshold!r}")
    check_training_settings(lr, batch_size, epochs)
    if dense_epochs is not None and not (isinstance(dense_epochs, (int, np.integer))
                                         and not isinstance(dense_epochs, bool) and dense_epochs >= 0):
        raise ConfigError(f"dense_epochs must be a non-negative integer or None, got {dense_epochs!r}")
    if max_rounds is not None and not (isinstance(max_rounds, (int, np.integer))
                                       and not isinstance(max_rounds, bool) and max_rounds >= 1):
        raise ConfigError(f"max_rounds must be a positive integer or None, got {max_rounds!r}")
    if min_step is not None and not (isinstance(min_step, (int, float, np.number)) and 0 < min_step < 100):
        raise ConfigError(f"min_step is a percentage in (0, 100) or None, got {min_step!r}")
    return arch


def _derived_seed(seed: int, stream: int) -> int:
    return int(np.random.SeedSequence([int(seed), stream]).generate_state(1)[0])


class _Progress:
    """tqdm bar over the grid's member runs (unit stage then edge stage), with a known total.

    A member's number of halving rounds is not known in advance, the number of members is: the
    bar advances when a member's schedule finishes; the postfix shows the stage, rounds so far,
    accepted/rejected steps and the best accepted density.
    """

    def __init__(self, enabled: bool, desc: str, total: int | None = None):
        self.bar = None
        if enabled:  # a disabled tqdm still imports tqdm.auto and creates a multiprocessing lock
            from tqdm.auto import tqdm

            self.bar = tqdm(desc=desc, total=total, unit="member", file=sys.stderr, leave=False)
        self.accepted = 0
        self.rejected = 0
        self.rounds = 0
        self.best = None
        self._finished: dict[int, tuple[HalvingSchedule, int]] = {}

    def __call__(self, stage_name: str, schedule: HalvingSchedule, log: StageLog) -> None:
        self.rounds += 1
        _, before = self._finished.get(id(schedule), (schedule, 0))
        now = int(schedule.done.sum())
        self._finished[id(schedule)] = (schedule, now)  # the schedule is kept: its id stays unique
        live, passed = log.live[-1], log.accepted[-1]
        self.accepted += int(passed.sum())
        self.rejected += int((live & ~passed).sum())
        if passed.any():
            lowest = float(np.min(log.density[-1][passed]))
            self.best = lowest if self.best is None else min(self.best, lowest)
        postfix = {"stage": stage_name, "round": self.rounds, "acc": self.accepted, "rej": self.rejected,
                   "live": int((~schedule.done).sum())}
        if self.best is not None:
            postfix["best density"] = f"{100 * self.best:.2f}%"
        if self.bar is not None:
            self.bar.set_postfix(postfix, refresh=False)
            self.bar.update(now - before)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _run_in_stacks(model: MaskedMLP, task, stage, rates, starts, p_min, *, threshold, validated,
                   train_kwargs, members_per_stack, progress, bounds):
    """``run_stage`` over chunks of at most ``members_per_stack`` members; returns (model, logs).

    ``logs`` is a list of (member indices, StageLog) pairs.
    """
    E = model.members
    size = E if not members_per_stack else int(members_per_stack)
    parts, logs = [], []
    for lo in range(0, E, size):
        idx = list(range(lo, min(E, lo + size)))
        part = model if len(idx) == E else model.select(idx)
        part_validated = validated[idx].copy()
        schedule = HalvingSchedule(np.asarray(rates)[idx], np.asarray(starts)[idx], p_min, **bounds)
        part_threshold = np.broadcast_to(np.asarray(threshold, dtype=np.float64), (E,))[idx]
        log = run_stage(part, task, stage, schedule, threshold=part_threshold, validated=part_validated,
                        train_kwargs=train_kwargs, on_round=progress)
        validated[idx] = part_validated
        parts.append(part)
        logs.append((idx, log, schedule))
    return (parts[0] if len(parts) == 1 else MaskedMLP.concat(parts)), logs


def _member_rounds(logs, member: int) -> list[dict]:
    for idx, log, _ in logs:
        if member in idx:
            return log.member_rounds(idx.index(member))
    raise AssertionError(member)


def _member_counts(logs, member: int) -> tuple[int, int]:
    for idx, _, schedule in logs:
        if member in idx:
            k = idx.index(member)
            return int(schedule.n_accepted[k]), int(schedule.n_rejected[k])
    raise AssertionError(member)


def _accuracies(metrics: dict, member: int) -> dict:
    return {k: float(v[member]) for k, v in metrics.items() if k != "row_loss"}


def sparsest_members(p_u: Sequence[float], p_e: Sequence[float], kept: np.ndarray,
                     eligible: np.ndarray) -> list[int]:
    """Indices (``i_u * len(p_e) + i_e``) of the eligible networks with the fewest weights.

    Listed in the paper's notebook argmax order (spec 4.4): p_e decreasing, then p_u decreasing;
    the first one is the default choice. Empty when nothing is eligible.
    """
    n_e = len(p_e)
    order = [i_u * n_e + i_e
             for i_e in sorted(range(n_e), key=lambda k: -p_e[k])
             for i_u in sorted(range(len(p_u)), key=lambda k: -p_u[k])]
    candidates = [m for m in order if eligible[m]]
    if not candidates:
        return []
    fewest = min(kept[m] for m in candidates)
    return [m for m in candidates if kept[m] == fewest]


@single_threaded_for_small_nets
def prune_grid(task, arch: Sequence[int], seed: int = 0, p_u: Sequence[float] = DEFAULT_P_U,
               p_e: Sequence[float] = DEFAULT_P_E, *, lr: float = 0.05, batch_size: int = 8,
               epochs: int = 15, dense_epochs: int | None = None, accuracy_threshold: float = 100.0,
               accept_relative_to_dense: bool = False, min_step: float | None = None,
               max_rounds: int | None = None,
               validation_loss: str = "mean", save_unchecked: bool = False,
               members_per_stack: int | None = None, unit_score_batch_size: int | None = None,
               regularizer=None, prefer=None, device: str = "cpu", progress: bool = True,
               init: MaskedMLP | None = None, loss=None, metric=None,
               replay: str | None = None, loader_workers: int = 2, replay_adam: str = "torch",
               condense: bool = False) -> PrunedNet:
    """Unit-then-edge prune over the (p_u, p_e) grid and keep the sparsest accepted network.

    Parameters
    ----------
    task : functiongraphs.Task
    arch : list of int
        ``[n_in, h1, ..., hL, n_out]``; must match the task's inputs and outputs.
    seed : int
        Seeds the dense network's initialisation and every random draw of training.
    p_u : sequence of float or None, default 5, 10, ..., 70
        Unit pruning rates (percent of the original hidden units per scheduled step). None skips
        unit pruning: the paper's edge-only pipeline (spec 4.3, its Section 3.1 / Figure 3), edge
        pruning from the dense network with p_init = 0 and no extra retraining.
    p_e : sequence of float, default 2.5, 2, 1.5, 1, 0.5
        Edge pruning rates (percent of the original weights per scheduled step).
    lr, batch_size, epochs : training settings of every (re)training.
    dense_epochs : int, optional
        Epochs of the dense network's training (default: ``epochs``, the paper); 0 takes the
        starting network as the dense network untrained (a user's already trained model).
    accuracy_threshold : float, default 100.0
        A step is accepted when the retrained net's VALIDATION accuracy (``task.acceptance``
        metric) reaches it; test accuracy is reported, never used to select.
    accept_relative_to_dense : bool, default False
        Use the dense network's validation accuracy as the threshold instead (the paper's Alg. 1/2
        wording).
    min_step : float, optional
        Smallest step (percent of the original units / weights) of both stages: a rejected step of
        at most ``min_step`` ends the member's stage instead of halving further. Default: one unit
        / one edge (the paper).
    max_rounds : int, optional
        At most this many rounds per member in each stage (unit, edge); default: no bound (the paper).
    validation_loss : {"mean", "paper"}
        Best-epoch loss; "paper" reproduces bug 11.1.2 (see :mod:`sculpt.train`).
    save_unchecked : bool, default False
        True reproduces bug 11.1.1 (an unchecked retrained net may be kept).
    members_per_stack : int, optional
        Train at most this many grid members together (default: the whole stage as one stack;
        1 runs the members one at a time).
    unit_score_batch_size : int, optional
        Validation rows per forward/backward when scoring units (large validation sets).
    regularizer : sculpt.train.Regularizer, optional
        Passed to every (re)training.
    prefer : callable, optional
        Breaks ties among equally sparse accepted networks: called with the tied networks
        (``PrunedNet`` list in the default tie-break order) and returns the index of the one to
        keep, e.g. :func:`sculpt.detect.fewest_modules` (the paper's authors picked among ties by
        hand, spec 4.4). Default: the first in order.
    device : str
    progress : bool
        Show a tqdm bar on stderr.
    init : MaskedMLP, optional
        One-member stack to start from instead of a fresh Kaiming initialisation from ``seed``
        (its weights, biases, masks and activations; e.g. a user's ``nn.Sequential``, see
        :func:`sculpt.prune.sequential.prune_sequential`). It is not modified.
    loss : sculpt.train.Loss, optional
        Training loss and unit-score loss instead of the paper's mean BCE.
    metric : callable, optional
        Validation metric for ``task.acceptance == "metric"`` (see :func:`sculpt.train.evaluate`).
    replay : {None, "paper"}
        "paper" replays the paper's own code random number for random number, one network at a
        time (:mod:`sculpt.prune.replay`): its masks equal the reference code's on the same
        machine. Only the paper's settings apply then: ``dense_epochs``, ``min_step``,
        ``max_rounds``, ``regularizer``, ``init``, ``loss``, ``metric`` and
        ``accept_relative_to_dense`` are refused; ``validation_loss``, ``save_unchecked`` and the
        stack options do not apply (replay always follows the paper's code).
    loader_workers : int, default 2
        With ``replay="paper"``: the DataLoader ``num_workers`` to replay (2 as published, 0 off).
    replay_adam : {"torch", "1.12"}
        With ``replay="paper"``: this torch's Adam, or the update arithmetic of torch 1.12 (the
        paper's pin; ``mul_``/``add_`` where torch >= 2 uses ``lerp_``).
    condense : bool, default False
        Retrain only the live hidden units of each member (:mod:`sculpt.condensed`): several times
        faster once units are pruned, equal up to floating-point rounding (so a decision at the
        accuracy threshold can differ); False keeps the dense masked arithmetic.

    Returns
    -------
    PrunedNet
        The kept network; ``meta`` has its (p_u, p_e), the settings and accuracies; ``history``
        has its rounds (``dense``, ``unit``, ``edge_start``, ``edge``) and a ``grid`` summary.

    Raises
    ------
    ConfigError
        Impossible settings.
    SculptError
        No network of the grid ever reached the threshold (with ``save_unchecked=False``).
    """
    arch = check_config(task, arch, p_u, p_e, lr, batch_size, epochs, accuracy_threshold, dense_epochs,
                        min_step, max_rounds)
    stack = (len(p_u) if p_u is not None else 1) * len(p_e)  # the edge stage's members, the largest stack
    rows = max(len(task.train.X), len(task.validation.X))
    check_stack_memory(arch, min(stack, int(members_per_stack or stack)),
                       batch_rows=max(int(batch_size), int(unit_score_batch_size or min(rows, EVALUATION_CHUNK))),
                       eval_rows=min(rows, EVALUATION_CHUNK), device=device)
    if replay is not None:
        return _replay(task, arch, seed, p_u, p_e, lr=lr, batch_size=batch_size, epochs=epochs,
                       accuracy_threshold=accuracy_threshold, prefer=prefer, replay=replay,
                       loader_workers=loader_workers, replay_adam=replay_adam, device=device,
                       refused={"dense_epochs": dense_epochs, "min_step": min_step, "max_rounds": max_rounds,
                                "regularizer": regularizer, "init": init, "loss": loss, "metric": metric,
                                "accept_relative_to_dense": accept_relative_to_dense or None})
    result = _prune_trials(task, arch, [int(seed)], [lr], p_u, p_e, batch_size=batch_size, epochs=epochs,
                           dense_epochs=dense_epochs, accuracy_threshold=accuracy_threshold,
                           accept_relative_to_dense=accept_relative_to_dense, min_step=min_step,
                           max_rounds=max_rounds, validation_loss=validation_loss,
                           save_unchecked=save_unchecked, members_per_stack=members_per_stack,
                           unit_score_batch_size=unit_score_batch_size, regularizer=regularizer,
                           prefer=prefer, device=device, progress=progress, init=init, loss=loss,
                           metric=metric, condense=condense)[0]
    return raise_if_failed(result)


def raise_if_failed(result):
    """``result`` unless it is the :class:`SculptError` of a trial of :func:`prune_grids`: then raise it.

    The one place a trial's own failure is raised, alone or packed, so its record reads the same.
    """
    if isinstance(result, SculptError):
        raise result
    return result


@single_threaded_for_small_nets
def prune_grids(task, arch: Sequence[int], seeds: Sequence[int], lrs: Sequence[float] | float,
                p_u: Sequence[float] | None = DEFAULT_P_U, p_e: Sequence[float] = DEFAULT_P_E, **kwargs) -> list:
    """Several trials of one (task, architecture) packed into one stack: one :func:`prune_grid` each.

    Trial k is ``prune_grid(task, arch, seed=seeds[k], lr=lrs[k], p_u=p_u, p_e=p_e, **kwargs)``:
    its members occupy one contiguous range of every stage's stack, it draws its shuffles and noise
    from its own generator (seeded from its own seed, advanced only when one of its members trains),
    its Adam update and every element-wise transcendental op run on its range alone, and its stages
    idle when its members are done. So its network, history and meta are bit-identical to the
    trial run alone (``tests/test_prune_packing.py``), while one training step serves every trial.

    Parameters
    ----------
    seeds : sequence of int
    lrs : sequence of float or float
        One learning rate per trial, or one for all.
    p_u, p_e, **kwargs
        As :func:`prune_grid`, shared by every trial (``members_per_stack`` is not allowed: the
        stack is the whole pack).

    Returns
    -------
    list
        One entry per trial: its ``PrunedNet``, or the :class:`SculptError` it would have raised
        (no network of its grid reached the threshold).

    Raises
    ------
    ConfigError
    """
    seeds = [int(s) for s in seeds]
    lrs = [float(lrs)] * len(seeds) if isinstance(lrs, (int, float)) else [float(v) for v in lrs]
    if not seeds or len(lrs) != len(seeds):
        raise ConfigError(f"prune_grids needs one learning rate per seed, got {len(lrs)} for {len(seeds)} seeds")
    if kwargs.get("members_per_stack"):
        raise ConfigError("prune_grids packs whole trials into one stack; members_per_stack is not supported")
    if len(seeds) > 1 and kwargs.get("init") is not None:
        raise ConfigError("prune_grids starts every trial from its own seed; init is for one trial (prune_grid)")
    return _prune_trials(task, arch, seeds, lrs, p_u, p_e, **kwargs)


def _prune_trials(task, arch, seeds: list[int], lrs: list, p_u, p_e, *, batch_size: int = 8, epochs: int = 15,
                  dense_epochs: int | None = None, accuracy_threshold: float = 100.0,
                  accept_relative_to_dense: bool = False, min_step: float | None = None,
                  max_rounds: int | None = None, validation_loss: str = "mean", save_unchecked: bool = False,
                  members_per_stack: int | None = None, unit_score_batch_size: int | None = None,
                  regularizer=None, prefer=None, device: str = "cpu", progress: bool = True,
                  init: MaskedMLP | None = None, loss=None, metric=None, condense: bool = False) -> list:
    """The body of :func:`prune_grid` for K packed trials (trial-major member layout)."""
    for lr in lrs:
        arch = check_config(task, arch, p_u, p_e, lr, batch_size, epochs, accuracy_threshold, dense_epochs,
                            min_step, max_rounds)
    K = len(seeds)
    bounds = {"min_step": None if min_step is None else float(min_step),
              "max_rounds": None if max_rounds is None else int(max_rounds)}
    edge_only = p_u is None
    p_u = [] if edge_only else [float(p) for p in p_u]
    p_e = [float(p) for p in p_e]
    unit_rates = [None] if edge_only else p_u  # one edge-stage start per unit-pruning rate
    device = resolve_device(device)
    generators = [torch.Generator(device=device).manual_seed(_derived_seed(seed, 1)) for seed in seeds]
    packed = K > 1
    n_u, n_e = len(unit_rates), len(p_e)

    def kwargs_for(per_trial: int) -> dict:
        """train() keywords for a stack holding ``per_trial`` members of every trial."""
        shared = dict(batch_size=int(batch_size), epochs=int(epochs), regularizer=regularizer,
                      validation_loss=validation_loss, loss=loss, metric=metric, condense=bool(condense))
        if not packed:
            return dict(shared, lr=float(lrs[0]), generator=generators[0])
        return dict(shared, lr=list(lrs), generator=generators, segments=[per_trial] * K)

    Xva = torch.as_tensor(task.validation.X, dtype=torch.float32, device=device)
    Yva = torch.as_tensor(task.validation.Y, dtype=torch.float32, device=device)
    Xte = torch.as_tensor(task.test.X, dtype=torch.float32, device=device)
    Yte = torch.as_tensor(task.test.Y, dtype=torch.float32, device=device)
    n_members = K * ((0 if edge_only else n_u) + n_u * n_e)  # per trial: unit stage + edge stage members
    bar = _Progress(progress, f"prune {task.name}", total=n_members)
    try:
        # 1. dense network (one member per trial)
        dense = (_starting_network(arch, seeds[0], device, init) if K == 1 else
                 MaskedMLP(arch, members=K, seed=seeds, device=device))
        dense_kwargs = dict(kwargs_for(1), epochs=int(dense_epochs if dense_epochs is not None else epochs))
        dense_result = (train(dense, task, **dense_kwargs) if dense_kwargs["epochs"] > 0
                        else _UntrainedResult(dense, task, Xva, Yva, Xte, Yte, loss, metric))
        dense_acc = dense_result.val_accuracy.astype(np.float64)
        threshold = dense_acc.copy() if accept_relative_to_dense else np.full(K, float(accuracy_threshold))
        dense_ok = dense_acc >= threshold

        if edge_only:
            # spec 4.3: edge pruning straight from the dense network, no unit stage, no extra retraining
            units, unit_logs, retrain_result = dense, [], None
            use_retrained, start_validated = np.zeros(K, dtype=bool), dense_ok.copy()
        else:
            # 2. unit pruning, one member per (trial, p_u)
            units = dense.select([k for k in range(K) for _ in range(n_u)])
            unit_validated = np.repeat(dense_ok, n_u)
            unit_segments = [n_u] * K if packed else None
            units, unit_logs = _run_in_stacks(
                units, task, UnitStage(Xva, Yva, unit_score_batch_size, loss, unit_segments), np.tile(p_u, K),
                np.zeros(K * n_u), 100.0 / sum(arch[1:-1]), threshold=np.repeat(threshold, n_u),
                validated=unit_validated, train_kwargs=kwargs_for(n_u), members_per_stack=members_per_stack,
                progress=bar, bounds=bounds)

            # 3. retrain each unit-pruned net once; fall back to the accepted one if it fails (11.1.1)
            before = units.state()
            retrain_result = _train_in_stacks(units, task, kwargs_for(n_u), members_per_stack)
            retrained_ok = retrain_result.val_accuracy >= np.repeat(threshold, n_u)
            use_retrained = retrained_ok | save_unchecked
            units.load_state(before, members=torch.from_numpy(~use_retrained).to(device))
            start_validated = np.where(use_retrained, retrained_ok, unit_validated)

        # 4. edge pruning, one member per (trial, p_u, p_e)
        edges = units.select([i for i in range(K * n_u) for _ in range(n_e)])
        kept_start = edges.kept_weights().cpu().numpy()
        p_init = 100.0 * (1.0 - kept_start / edges.n_weights)
        edge_validated = np.repeat(start_validated, n_e)
        edges, edge_logs = _run_in_stacks(
            edges, task, EdgeStage(), np.tile(p_e, K * n_u), p_init, 100.0 / edges.n_weights,
            threshold=np.repeat(threshold, n_u * n_e), validated=edge_validated,
            train_kwargs=kwargs_for(n_u * n_e), members_per_stack=members_per_stack, progress=bar, bounds=bounds)
    finally:
        bar.close()

    # 5. per trial, the sparsest accepted network
    kept = edges.kept_weights().cpu().numpy()
    eligible = edge_validated | save_unchecked
    edge_segments = [n_u * n_e] * K if packed else None
    final = evaluate(edges, Xte, Yte, output_blocks=task.output_blocks, loss=loss, metric=metric,
                     segments=edge_segments)
    final_val = evaluate(edges, Xva, Yva, output_blocks=task.output_blocks, loss=loss, metric=metric,
                         segments=edge_segments)[task.acceptance]
    out = []
    for k in range(K):
        base_e, base_u = k * n_u * n_e, k * n_u
        ties = [base_e + m for m in sparsest_members(p_u or [0.0], p_e, kept[base_e:base_e + n_u * n_e],
                                                     eligible[base_e:base_e + n_u * n_e])]
        best = ties[0] if ties else -1
        # every tied network, exported once: for the tie rule and, on the result, for scoring
        tied = [edges.to_pruned_net(m) for m in ties] if len(ties) > 1 else []
        if prefer is not None and tied:
            best = ties[int(prefer(tied))]
        if best < 0:
            out.append(SculptError(f"no network reached the accuracy threshold {threshold[k]:g}% on task {task.name!r}"
                                   f" (dense validation accuracy {dense_acc[k]:g}%): train longer (epochs={epochs})"
                                   " or change lr"))
            continue
        i_u, i_e = divmod(best - base_e, n_e)
        grid = []
        for m in range(base_e, base_e + n_u * n_e):
            a, r = _member_counts(edge_logs, m)
            local = m - base_e
            grid.append({"p_u": unit_rates[local // n_e], "p_e": p_e[local % n_e],
                         "density": float(kept[m] / edges.n_weights),
                         "accepted": bool(eligible[m]), "edge_steps_accepted": a, "edge_steps_rejected": r,
                         "accuracy": float(final[task.acceptance][m])})
        history = {
            "dense": {"accuracy": _accuracies(dense_result.test, k), "validation_accuracy": float(dense_acc[k]),
                      "best_epoch": int(dense_result.best_epoch[k])},
            "unit": [] if edge_only else _member_rounds(unit_logs, base_u + i_u),
            "edge_start": {"retrained_accuracy": None if edge_only else float(retrain_result.val_accuracy[base_u + i_u]),
                           "used_retrained": bool(use_retrained[base_u + i_u] if not edge_only else False),
                           "p_init": float(p_init[best])},
            "edge": _member_rounds(edge_logs, best),
            "grid": grid,
        }
        meta = {"task": task.name, "arch": arch, "seed": int(seeds[k]), "p_u": unit_rates[i_u], "p_e": p_e[i_e],
                "grid_p_u": None if edge_only else p_u, "grid_p_e": p_e, "lr": float(lrs[k]),
                "batch_size": int(batch_size), "epochs": int(epochs), "dense_epochs": int(dense_kwargs["epochs"]),
                "min_step": bounds["min_step"], "max_rounds": bounds["max_rounds"],
                "accuracy_threshold": float(accuracy_threshold), "threshold_used": float(threshold[k]),
                "accept_relative_to_dense": bool(accept_relative_to_dense), "acceptance": task.acceptance,
                "validation_loss": validation_loss, "save_unchecked": bool(save_unchecked),
                "noise": float(task.noise), "weight_decay": 1e-4, "members_per_stack": members_per_stack,
                "accepted": bool(edge_validated[best]), "dense_accuracy": float(dense_acc[k]),
                "accuracy": _accuracies(final, best), "validation_accuracy": float(final_val[best]),
                "density": float(kept[best] / edges.n_weights),
                "tied_sparsest": len(ties), "tie_break": getattr(prefer, "__name__", "order") if prefer else "order"}
        if condense:  # only then, so that default records keep their keys
            meta["condense"] = True
        net = edges.to_pruned_net(best, history=history, meta=meta)
        net.ties = [t.masks for t in tied]  # the authors chose among ties by hand (spec 4.4)
        out.append(net)
    return out


def _starting_network(arch, seed, device, init: MaskedMLP | None) -> MaskedMLP:
    """The dense network before training: a copy of ``init`` or a fresh one from ``seed``."""
    if init is None:
        return MaskedMLP(arch, members=1, seed=int(seed), device=device)
    if init.members != 1 or list(init.arch) != list(arch):
        raise ConfigError(f"init must be one network of arch {list(arch)}, got {init.members} of {init.arch}")
    return init.select([0])


class _UntrainedResult:
    """What the dense step reads from a training, for a dense network taken as it is."""

    def __init__(self, model, task, Xva, Yva, Xte, Yte, loss, metric):
        val = evaluate(model, Xva, Yva, output_blocks=task.output_blocks, loss=loss, metric=metric)
        test = evaluate(model, Xte, Yte, output_blocks=task.output_blocks, loss=loss, metric=metric)
        self.val_accuracy = val[task.acceptance].cpu().numpy()
        self.test = {k: v.cpu().numpy() for k, v in test.items() if k != "row_loss"}
        self.best_epoch = np.full(model.members, -1)
def _replay(task, arch, seed, p_u, p_e, *, replay, loader_workers, replay_adam, device, refused, **kw):
    """``replay="paper"``: check that only the paper's settings are asked for, then replay."""
    from sculpt.prune.replay import check_replay_args, replay_grid

    check_replay_args(replay, loader_workers, replay_adam)
    given = [name for name, value in refused.items() if value is not None]
    if given:
        raise ConfigError(f"replay='paper' runs the paper's own procedure; it does not take {', '.join(given)}")
    if p_u is None:
        raise ConfigError("replay='paper' replays the unit-then-edge pipeline; p_u=None (edge only) is not replayed")
    if str(device) != "cpu":
        raise ConfigError(f"replay='paper' runs on the CPU, got device={device!r}")
    with torch.random.fork_rng(devices=[]):  # replay uses its own generators; leave the caller's alone
        return replay_grid(task, arch, seed, list(p_u), list(p_e), loader_workers=loader_workers, adam=replay_adam, **kw)


def _train_in_stacks(model: MaskedMLP, task, train_kwargs: dict, members_per_stack: int | None):
    """One retraining of every member, in chunks like the stages; returns a merged result view."""
    E = model.members
    size = E if not members_per_stack else int(members_per_stack)
    if size >= E:
        return train(model, task, **train_kwargs)
    val_accuracy = np.empty(E)
    for lo in range(0, E, size):
        hi = min(E, lo + size)
        active = torch.zeros(E, dtype=torch.bool, device=model.device)
        active[lo:hi] = True
        part = model.select(range(lo, hi))
        result = train(part, task, **train_kwargs)
        model.load_state(_embed_state(model, part, lo), members=active)
        val_accuracy[lo:hi] = result.val_accuracy
    return _Accuracy(val_accuracy)


class _Accuracy:
    def __init__(self, val_accuracy):
        self.val_accuracy = val_accuracy


def _embed_state(model: MaskedMLP, part: MaskedMLP, lo: int) -> tuple:
    """``model``'s state with members lo.. replaced by ``part``'s members."""
    state = model.state()
    hi = lo + part.members
    out = []
    for group_full, group_part in zip(state, part.state()):
        tensors = []
        for full, piece in zip(group_full, group_part):
            full = full.clone()
            full[lo:hi] = piece
            tensors.append(full)
        out.append(tuple(tensors))
    return tuple(out)


def prune(task, arch: Sequence[int], p_u: float, p_e: float, seed: int = 0, **kwargs) -> PrunedNet:
    """One trial: unit pruning at rate ``p_u`` (None: none) then edge pruning at rate ``p_e``.

    Same parameters, returns and errors as :func:`prune_grid` (a 1 x 1 grid).
    """
    return prune_grid(task, arch, seed=seed, p_u=None if p_u is None else (p_u,), p_e=(p_e,), **kwargs)
