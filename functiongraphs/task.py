"""A learning task: rows to train on (freshly noised on every draw), validation rows, test rows."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, Literal

import numpy as np

from functiongraphs.structure_types import Structure

if TYPE_CHECKING:
    from functiongraphs.graph import FunctionGraph

Acceptance = Literal["bit", "row", "block"]


@dataclass(frozen=True, eq=False)
class Split:
    """Inputs and targets of one split, both float32 arrays with one row per example."""

    X: np.ndarray
    Y: np.ndarray

    def __len__(self) -> int:
        return int(self.X.shape[0])


class Task:
    """What a network is trained on.

    ``Task(graph, noise=0.1)`` is the paper's Boolean setting: train, validation and test are all
    the noise-free truth table, and every training draw adds fresh N(0, noise^2) noise to the
    inputs (never to the labels). :meth:`from_arrays` builds any other task (MNIST composites).

    Attributes
    ----------
    name : str
    graph : FunctionGraph or None
    noise : float
        Standard deviation of the Gaussian noise added to training inputs on every draw.
    train, validation, test : Split
    output_blocks : tuple of (start, stop) or None
        One-hot output groups (e.g. the two 10-way digits); enables per-block argmax accuracy.
    acceptance : {"bit", "row", "block"}
        Which accuracy the pruning threshold is applied to. "bit" is the paper's per-bit accuracy
        (equal to exact-row accuracy at a 100 % threshold).
    """

    def __init__(self, graph: "FunctionGraph", noise: float = 0.1, name: str | None = None):
        if not noise >= 0:
            raise ValueError(f"noise must be a non-negative standard deviation, got {noise!r}")
        X, Y = graph.truth_table()
        rows = Split(X.astype(np.float32), Y.astype(np.float32))
        self._init(name or getattr(graph, "name", None) or "task", rows, rows, rows,
                   noise=float(noise), graph=graph, structure=None, output_blocks=None,
                   acceptance="bit")

    @classmethod
    def from_arrays(cls, name: str, train: Split, validation: Split, test: Split | None = None, *,
                    noise: float = 0.0, structure: Structure | None = None,
                    output_blocks: tuple[tuple[int, int], ...] | None = None,
                    acceptance: Acceptance = "bit") -> "Task":
        """A task from explicit splits (no function graph)."""
        if acceptance not in ("bit", "row", "block"):
            raise ValueError(f"acceptance must be 'bit', 'row' or 'block', got {acceptance!r}")
        if acceptance == "block" and not output_blocks:
            raise ValueError("acceptance='block' needs output_blocks")
        task = cls.__new__(cls)
        task._init(name, train, validation, test if test is not None else validation,
                   noise=float(noise), graph=None, structure=structure,
                   output_blocks=output_blocks, acceptance=acceptance)
        return task

    def _init(self, name, train, validation, test, *, noise, graph, structure, output_blocks,
              acceptance) -> None:
        for split_name, split in (("train", train), ("validation", validation), ("test", test)):
            if split.X.ndim != 2 or split.Y.ndim != 2 or split.X.shape[0] != split.Y.shape[0]:
                raise ValueError(f"{split_name} split must be X (rows x inputs) and Y (rows x outputs)"
                                 f" with the same number of rows, got {split.X.shape} and {split.Y.shape}")
        self.name = name
        self.train = train
        self.validation = validation
        self.test = test
        self.noise = noise
        self.graph = graph
        self._structure = structure
        self.output_blocks = output_blocks
        self.acceptance = acceptance

    @property
    def n_inputs(self) -> int:
        return int(self.train.X.shape[1])

    @property
    def n_outputs(self) -> int:
        return int(self.train.Y.shape[1])

    @property
    def structure(self) -> Structure | None:
        """The true structure (computed from the graph on first use)."""
        if self._structure is None and self.graph is not None:
            from functiongraphs.structure import structure

            self._structure = structure(self.graph)
        return self._structure

    def batches(self, batch_size: int, rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """One epoch of shuffled training batches with fresh input noise (labels untouched)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        order = rng.permutation(len(self.train))
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            x = self.train.X[idx]
            if self.noise:
                x = x + rng.normal(0.0, self.noise, size=x.shape).astype(np.float32)
            yield x, self.train.Y[idx]

    def __repr__(self) -> str:
        return (f"Task({self.name!r}, inputs={self.n_inputs}, outputs={self.n_outputs}, "
                f"train={len(self.train)}, noise={self.noise})")
