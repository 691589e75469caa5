"""The halving-and-rewind pruning schedule, vectorised over the members of a stack.

Spec sections 3.1 and 4.1 (``run/prune.py``): the cumulative pruning percentage follows the linear
schedule ``pp = start + rate * i`` until the first rejected step. From then on each step is
``pp = prev_pp + p`` with a constant step ``p`` that halves on every rejection (the network is
rewound to the last accepted one by the driver). The step is clamped up to ``p_min`` (one unit or
one edge), and a member stops when a step of size <= ``p_min`` is rejected. A target ``pp >= 100``
counts as rejected without training. Percentages are relative to the ORIGINAL dense network.

Two optional bounds on the length of a stage (not in the paper; both default to off, which is the
paper's behaviour). On MNIST-size networks the edge step halves from a few percent down to one
edge (about 1e-4 %), and every halving is followed by accepted small steps, so the tail dominates
the wall time while hardly changing the density:

* ``min_step``: steps never go below ``min_step`` percent (it raises ``p_min``), so a rejected
  step of ``min_step`` or less ends the member's stage instead of halving further.
* ``max_rounds``: a member stops after taking part in ``max_rounds`` rounds of the stage (rounds
  whose target reaches 100 % count), keeping its last accepted network.
"""
from __future__ import annotations

import numpy as np


class HalvingSchedule:
    """Per-member state of the schedule; the driver calls ``propose`` then ``update`` each round.

    Parameters
    ----------
    rates : array-like (E,)
        Schedule rate per member (p_u or p_e, in percent).
    start : array-like (E,) or float
        Percentage already pruned when the stage starts (0 for units, p_init for edges).
    p_min : float
        Smallest step: 100 / #original hidden units (units) or 100 / #original weights (edges).
    min_step : float, optional
        Raise the smallest step to ``max(p_min, min_step)`` (percent); default: the paper's ``p_min``.
    max_rounds : int, optional
        Stop a member after this many rounds; default: no bound (the paper).

    Attributes
    ----------
    pp : ndarray (E,)
        Target cumulative percentage of the current round (after ``propose``).
    step : ndarray (E,)
        Size of the current round's step (pp - prev_pp).
    prev_pp : ndarray (E,)
        Cumulative percentage of the last accepted network.
    done : ndarray of bool (E,)
    n_accepted, n_rejected : ndarray of int (E,)
    """

    def __init__(self, rates, start, p_min: float, *, min_step: float | None = None,
                 max_rounds: int | None = None):
        self.rates = np.asarray(rates, dtype=np.float64).copy()
        E = self.rates.shape[0]
        self.start = np.broadcast_to(np.asarray(start, dtype=np.float64), (E,)).copy()
        self.p_min = float(p_min) if min_step is None else max(float(p_min), float(min_step))
        self.max_rounds = None if max_rounds is None else int(max_rounds)
        self.i = np.ones(E, dtype=np.int64)
        self.follow = np.ones(E, dtype=bool)
        self.prev_pp = self.start.copy()
        self.step = self.rates.copy()
        self.pp = np.full(E, np.nan)
        self.done = np.zeros(E, dtype=bool)
        self.n_accepted = np.zeros(E, dtype=np.int64)
        self.n_rejected = np.zeros(E, dtype=np.int64)

    @property
    def members(self) -> int:
        return int(self.rates.shape[0])

    def propose(self) -> tuple[np.ndarray, np.ndarray]:
        """Targets of this round and which members prune and retrain (live and pp < 100)."""
        scheduled = self.start + self.rates * self.i
        self.pp = np.where(self.follow, scheduled, self.prev_pp + self.step)
        self.step = np.where(self.follow, self.pp - self.prev_pp, self.step)
        return self.pp.copy(), ~self.done & (self.pp < 100.0)

    def update(self, accepted) -> None:
        """Record this round's outcome (``accepted``: bool (E,); ignored for stopped members)."""
        live = ~self.done
        accepted = live & np.asarray(accepted, dtype=bool)
        rejected = live & ~accepted
        self.prev_pp = np.where(accepted, self.pp, self.prev_pp)
        halve = rejected & (self.step > self.p_min)
        self.follow &= ~halve
        self.step = np.where(halve, np.maximum(self.step / 2.0, self.p_min), self.step)
        self.done |= rejected & ~halve
        self.n_accepted += accepted
        self.n_rejected += rejected
        self.i += live
        if self.max_rounds is not None:
            self.done |= self.i > self.max_rounds  # i - 1 rounds taken
