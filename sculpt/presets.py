"""Named settings for the composite MNIST tasks: ``small`` (2-core CPU) and ``paper`` (GPU / Ray).

A preset holds everything one run of an MNIST task needs beyond the task's name: the sampled data
size, the architecture, training, the (p_u, p_e) grid, the acceptance threshold and the detection
thresholds. ``sculpt run mnist-two-digits --preset small`` is ``get("mnist-two-digits", "small")``.

Paper settings (spec/neural_sculpting.md sections 2.6, 8, 9.1 and 10): lr 0.001, batch size 256
(the scripts use 256/512/1024 per architecture), 40 epochs, 800 training pairs per digit
combination, detection thresholds t_m = -0.3 (``modularity_threshold``) and delta = 0.6
(``merge_threshold``), pruning threshold 99 % (two digits) and 98 % (hierarchical). The paper's
thresholds were on per-bit accuracy; ours apply to the task's acceptance metric, which is
per-digit argmax accuracy ("block") for one-hot outputs and exact-row accuracy ("row") for the
XOR bits, so they are set a little lower: per-bit accuracy overstates both (an all-zero
predictor scores 90 % per bit on the two-digit task).

Every threshold is checked on the VALIDATION pairs (the test pairs are only reported).

The ``paper`` presets are the paper's studies and what ``sculpt grid`` uses for an MNIST task
(``examples/experiments/mnist_two_digits.toml``, ``mnist_hierarchical.toml``):

* data: 800 training, 200 validation and 200 test pairs per digit combination. Two digits: 100
  combinations, 80,000 / 20,000 / 20,000 pairs; hierarchical (digits 0-7): 64 combinations,
  51,200 / 12,800 / 12,800 pairs. The paper drew 1000 pairs per combination and split them 8:2
  (800 / 200, no test split, images shared between splits); ours come from disjoint image pools
  and add 200 test pairs per combination from MNIST test, which are only reported.
* acceptance on per-bit accuracy, as the paper's code (``test_boolean``): 99 % (two digits) and
  98 % (hierarchical), on the validation pairs. Per-digit ("block") accuracy is still recorded
  (``metrics.accuracy.block``).
* the study: widths 392 / 784 / 1568 (batch sizes 256 / 512 / 1024) x 2, 3, 4 hidden layers (two
  digits, 36 trials) or 2, 3, 4, 5 (hierarchical, 48 trials) x seeds 0, 1, 2, 5; lr 0.001, 40
  epochs for the dense training and every retraining, the full 14 x 5 (p_u, p_e) grid, t_m = -0.3,
  delta = 0.6 (``study`` lists the cells). The hierarchical script also has 80- and 120-epoch
  lines whose cells the spec does not tie down; the paper's Figure 33 networks all say 40.
* ``condense=True``: retrain only the live units (equal up to floating-point rounding).
* ``preset.on("cuda")`` runs the same settings on a GPU.

The two-digit ``small`` preset was tuned on the shared 2-core machine (2 torch threads; timings
noisy, load average 1 to 3.5 from other jobs). It is ONE (p_u, p_e) = (30, 5) trial, not a grid:
a grid member costs as much as the whole trial, and the 14 x 5 grid is the ``paper`` preset's job.
Why the other numbers:

* 800 pairs per combination (80,000 training pairs, the paper's count), 100 validation pairs per
  combination: with 500 pairs the dense net reached only 97.3 % validation / 97.1 % test per digit,
  and the pruned net fell to 96.8 % test; with 800 there is room to prune at 97.3 %.
* ``dense_epochs=15`` (validation accuracy flattens near 97.2-97.3 % by then), ``epochs=3`` per
  retraining: the best epoch of each retraining is kept, so the network keeps improving across
  rounds (validation 97.6 % mid-way through edge pruning).
* ``accuracy_threshold=97.3`` on validation per-digit accuracy: the kept network is the last one
  that passed, so its test accuracy sits a little below the threshold (97.0 % threshold gave
  96.8 % test); 97.3 leaves that margin.
* ``min_step=0.02`` (about 150 of the 770,000 original weights; units keep the paper's one-unit
  step) and ``max_rounds=15`` per stage: without bounds the edge stage takes accepted small steps
  for 60+ rounds for little density; 15 + 15 rounds bound the run to 15 dense epochs plus 30
  rounds of 3 epochs, about 5 to 6 minutes unloaded.

Measured (seed 0, 2 threads): dense 97.27 % validation / 97.26 % test per digit; pruned density
0.63 % (condensed [810, 79, 80, 20]), 97.34 % validation / 97.31 % test per digit; detection with
t_m = -0.3, delta = 0.6 finds 2 modules: the 407 surviving left-image pixels with outputs 0-9 and
the 403 surviving right-image pixels with outputs 10-19. Wall time 16.6 min at load average
about 3 (other engineers' jobs on the same 2 cores); ``python -m bench mnist`` gives the unloaded
per-epoch and per-round cost. The hierarchical small preset uses the same bounds (12 rounds per stage); its
threshold is the dense network's validation exact-row accuracy after 15 epochs (90.76 %) minus
about 1.5 points. Measured (seed 0, load about 2): 110 s in all, density 0.36 % (condensed
[891, 41, 23, 3]), 89.04 % validation / 88.64 % test exact-row accuracy, and detection finds ONE
module: 24 of the 41 surviving first-layer units see both images, so neither the two input
modules nor separate output modules of Figure 13b are recovered at this size. The other small
presets' thresholds sit just below their dense accuracy measured after ``epochs`` epochs:
halves-same 98.2 %, halves-diff 69.6 %.

The ``halves`` presets follow Filan et al.'s MLP set-up in spirit (several hidden layers of 256,
Adam 0.001) at sizes that run here; they exist to compare n-cut clusterability across tasks.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from sculpt.errors import ConfigError

PAPER_P_U: tuple[float, ...] = tuple(float(p) for p in range(5, 75, 5))
PAPER_P_E: tuple[float, ...] = (2.5, 2.0, 1.5, 1.0, 0.5)
MNIST_MODULARITY_THRESHOLD = -0.3  # t_m of the MNIST scripts (--mm_threshold 0.3)
MNIST_MERGE_THRESHOLD = 0.6        # delta of the MNIST scripts (--cluster_merging_threshold 0.6)


@dataclass(frozen=True)
class Preset:
    """Settings of one MNIST run.

    Attributes
    ----------
    task : str
        Key of :data:`functiongraphs.mnist.TASKS`.
    name : str
        ``"small"`` or ``"paper"``.
    description : str
    hidden : tuple of int
        Hidden widths; the full architecture is ``[n_inputs, *hidden, n_outputs]``.
    lr, batch_size, epochs : training (every (re)training of the pruning loop).
    pairs_per_class, validation_pairs_per_class, test_pairs_per_class : int
        Sampled pairs per (left, right) digit combination in each split.
    p_u, p_e : tuple of float
        The unit and edge pruning grid (percent).
    accuracy_threshold : float
        Percent a pruned network must keep, in the ``acceptance`` metric.
    acceptance : {"block", "row"}
        The accuracy the threshold applies to (equal to the task's ``acceptance``).
    modularity_threshold, merge_threshold : float
        Detection thresholds t_m and delta.
    unit_score_batch_size : int
        Validation rows per forward/backward when scoring units.
    noise : float
        Input noise on training draws (the paper used none for MNIST).
    seeds : tuple of int
        Seeds of the paper's study (a single run uses the first unless told otherwise).
    dense_epochs : int, optional
        Epochs of the dense training (default ``epochs``, the paper).
    min_step, max_rounds : optional
        Bounds on each member's halving tail (see :func:`sculpt.prune.prune_grid`); None is the paper.
    condense : bool
        Retrain only the live hidden units (:mod:`sculpt.condensed`): equal up to floating-point
        rounding, about ten times faster per round once a few percent of the units are alive.
    study : tuple of (hidden, batch_size)
        The architectures of the paper's study (each run for every seed in ``seeds``); empty for
        presets that are not a study. ``examples/experiments/mnist_*.toml`` list the same cells.
    device : str
        Torch device of the pruning run ("cpu", "cuda", "cuda:1", ...); passed to
        :func:`sculpt.prune.prune_grid` unchanged. Use :meth:`on`.
    """

    task: str
    name: str
    description: str
    hidden: tuple[int, ...]
    lr: float
    batch_size: int
    epochs: int
    pairs_per_class: int
    validation_pairs_per_class: int
    test_pairs_per_class: int
    p_u: tuple[float, ...]
    p_e: tuple[float, ...]
    accuracy_threshold: float
    acceptance: str
    modularity_threshold: float = MNIST_MODULARITY_THRESHOLD
    merge_threshold: float = MNIST_MERGE_THRESHOLD
    unit_score_batch_size: int = 1024
    noise: float = 0.0
    seeds: tuple[int, ...] = (0, 1, 2, 5)
    dense_epochs: int | None = None
    min_step: float | None = None
    max_rounds: int | None = None
    condense: bool = False
    study: tuple[tuple[tuple[int, ...], int], ...] = ()
    device: str = "cpu"

    def on(self, device: str) -> "Preset":
        """The same preset running on ``device`` (every other setting unchanged).

        Examples
        --------
        >>> get("mnist-two-digits", "paper").on("cuda").prune_kwargs()["device"]
        'cuda'
        """
        return dataclasses.replace(self, device=str(device))

    def task_kwargs(self, seed: int | None = None) -> dict[str, Any]:
        """Keyword arguments of the task builder (``functiongraphs.mnist.TASKS[task]``)."""
        kwargs: dict[str, Any] = {"pairs_per_class": self.pairs_per_class,
                                  "validation_pairs_per_class": self.validation_pairs_per_class,
                                  "test_pairs_per_class": self.test_pairs_per_class,
                                  "seed": self.seeds[0] if seed is None else int(seed)}
        if self.task in _ACCEPTANCE_CHOICE:  # the halves builders have one fixed metric
            kwargs["acceptance"] = self.acceptance
        return kwargs

    def build_task(self, data=None, seed: int | None = None):
        """Sample the task (from the MNIST cache unless ``data`` is given)."""
        from functiongraphs import mnist

        return mnist.TASKS[self.task](data, **self.task_kwargs(seed))

    def run_settings(self) -> dict[str, Any]:
        """The settings in :class:`sculpt.config.RunConfig` terms (``graph`` = the task name)."""
        return {"graph": self.task, "arch": list(self.hidden), "lr": self.lr,
                "batch_size": self.batch_size, "epochs": self.epochs, "p_u": list(self.p_u),
                "p_e": list(self.p_e), "modularity_threshold": self.modularity_threshold,
                "merge_threshold": self.merge_threshold, "accuracy_threshold": self.accuracy_threshold,
                "noise": self.noise}

    def prune_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`sculpt.prune.prune_grid` (besides task, arch and seed)."""
        return {"p_u": self.p_u, "p_e": self.p_e, "lr": self.lr, "batch_size": self.batch_size,
                "epochs": self.epochs, "accuracy_threshold": self.accuracy_threshold,
                "unit_score_batch_size": self.unit_score_batch_size, "dense_epochs": self.dense_epochs,
                "min_step": self.min_step, "max_rounds": self.max_rounds, "condense": self.condense,
                "device": self.device}

    def prune_options(self) -> dict[str, Any]:
        """The :func:`sculpt.prune.prune_grid` keywords a :class:`sculpt.config.RunConfig` does not hold."""
        return {"dense_epochs": self.dense_epochs, "min_step": self.min_step, "max_rounds": self.max_rounds,
                "unit_score_batch_size": self.unit_score_batch_size, "condense": self.condense,
                "device": self.device}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


# Tasks whose builder takes the acceptance metric (the paper's presets use per-bit accuracy).
_ACCEPTANCE_CHOICE = ("mnist-two-digits", "mnist-hierarchical")
# Batch size per width in the paper's MNIST scripts (256/512/1024; which goes with which width is
# not in the spec, we take the smallest for the narrowest).
STUDY_BATCH_SIZE = {392: 256, 784: 512, 1568: 1024}
STUDY_WIDTHS = (392, 784, 1568)


def _study(depths) -> tuple[tuple[tuple[int, ...], int], ...]:
    """(hidden, batch size) for every depth x width, depth-major as in the experiment files."""
    return tuple(((w,) * d, STUDY_BATCH_SIZE[w]) for d in depths for w in STUDY_WIDTHS)


def _two_digits(name: str, acceptance: str = "block", **settings) -> Preset:
    return Preset(task="mnist-two-digits", name=name, acceptance=acceptance, **settings)


def _hierarchical(name: str, acceptance: str = "row", **settings) -> Preset:
    return Preset(task="mnist-hierarchical", name=name, acceptance=acceptance, **settings)


def _halves(kind: str, name: str, **settings) -> Preset:
    return Preset(task=f"mnist-halves-{kind}", name=name, acceptance="block", **settings)


PRESETS: dict[tuple[str, str], Preset] = {}


def _add(preset: Preset) -> None:
    PRESETS[(preset.task, preset.name)] = preset


_add(_two_digits(
    "paper", description="the paper's section 5.5 study: widths 392/784/1568 x 2-4 hidden layers x seeds"
                         " 0,1,2,5; 800/200/200 pairs per combination, 40 epochs, full (p_u, p_e) grid,"
                         " 99 % per-bit accuracy; GPU or Ray",
    hidden=(784, 784), lr=0.001, batch_size=256, epochs=40, pairs_per_class=800,
    validation_pairs_per_class=200, test_pairs_per_class=200, p_u=PAPER_P_U, p_e=PAPER_P_E,
    accuracy_threshold=99.0, acceptance="bit", condense=True, study=_study((2, 3, 4))))
_add(_two_digits(
    "small", description="2-core CPU: width 392, 800 pairs per combination, 15 dense epochs, 3 per"
                         " retraining of the live units, one (p_u, p_e) pair, at most 15 rounds per stage",
    hidden=(392, 392), lr=0.001, batch_size=256, epochs=3, pairs_per_class=800,
    validation_pairs_per_class=100, test_pairs_per_class=100, p_u=(30.0,), p_e=(5.0,),
    accuracy_threshold=97.3, seeds=(0,), dense_epochs=15, min_step=0.02, max_rounds=15,
    condense=True))
_add(_hierarchical(
    "paper", description="the paper's Fig. 13b study: widths 392/784/1568 x 2-5 hidden layers x seeds"
                         " 0,1,2,5, digits 0-7; 800/200/200 pairs per combination, 40 epochs, full grid,"
                         " 98 % per-bit accuracy; GPU or Ray",
    hidden=(784, 784), lr=0.001, batch_size=256, epochs=40, pairs_per_class=800,
    validation_pairs_per_class=200, test_pairs_per_class=200, p_u=PAPER_P_U, p_e=PAPER_P_E,
    accuracy_threshold=98.0, acceptance="bit", condense=True, study=_study((2, 3, 4, 5))))
_add(_hierarchical(
    "small", description="2-core CPU: width 392, 400 pairs per combination, 15 dense epochs, 3 per"
                         " retraining, one (p_u, p_e) pair, at most 12 rounds per stage",
    hidden=(392, 392), lr=0.001, batch_size=256, epochs=3, pairs_per_class=400,
    validation_pairs_per_class=60, test_pairs_per_class=150, p_u=(30.0,), p_e=(5.0,),
    accuracy_threshold=89.0, seeds=(0,), dense_epochs=15, min_step=0.02, max_rounds=12,
    condense=True))
# (kind, pairs per combination paper/small, threshold paper/small, epochs small): 'diff' needs
# both digits right and learns more slowly (test accuracy 61 % after 3 epochs, 70 % after 5, at 300 pairs).
for _kind, _ppc_paper, _ppc_small, _thr_paper, _thr_small, _epochs_small in (
        ("same", 5000, 2000, 97.0, 95.0, 3), ("diff", 600, 300, 85.0, 65.0, 5)):
    _add(_halves(
        _kind, "paper", description="4 hidden layers of 256 (Filan et al.'s MLP shape), 20 epochs, full grid",
        hidden=(256, 256, 256, 256), lr=0.001, batch_size=128, epochs=20, pairs_per_class=_ppc_paper,
        validation_pairs_per_class=_ppc_paper // 4, test_pairs_per_class=_ppc_paper // 4,
        p_u=PAPER_P_U, p_e=PAPER_P_E, accuracy_threshold=_thr_paper))
    _add(_halves(
        _kind, "small", description="2-core CPU: 2 hidden layers of 256, short retraining, one (p_u, p_e) pair",
        hidden=(256, 256), lr=0.001, batch_size=256, epochs=_epochs_small, pairs_per_class=_ppc_small,
        validation_pairs_per_class=_ppc_small // 6, test_pairs_per_class=_ppc_small // 3,
        p_u=(30.0,), p_e=(5.0,), accuracy_threshold=_thr_small, seeds=(0,)))

def names(task: str | None = None) -> list[str]:
    """Preset names, for one task or for all (as ``task/preset``)."""
    if task is None:
        return [f"{t}/{p}" for t, p in PRESETS]
    return sorted(p for t, p in PRESETS if t == task)


def get(task: str, preset: str) -> Preset:
    """The preset ``preset`` of task ``task``.

    Raises
    ------
    ConfigError
        Unknown task or preset (the message lists the known ones).
    """
    if (task, preset) in PRESETS:
        return PRESETS[(task, preset)]
    tasks = sorted({t for t, _ in PRESETS})
    if task not in tasks:
        raise ConfigError(f"no presets for task {task!r}; tasks with presets: {', '.join(tasks)}")
    raise ConfigError(f"unknown preset {preset!r} for {task}; known: {', '.join(names(task))}")
