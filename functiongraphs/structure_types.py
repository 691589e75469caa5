"""The true structure of a task, as plain data that scoring compares detected modules against.

Computed by :func:`functiongraphs.structure` from a :class:`FunctionGraph`; MNIST composite tasks
build one directly. Indices are positions in ``graph.inputs`` / ``graph.outputs``.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Structure:
    """What a perfect module detector should find for a task.

    Attributes
    ----------
    n_inputs, n_outputs
        Sizes of the task.
    input_groups
        Partition of the input indices into the input-separable groups of the task: inputs that
        feed exactly the same set of lowest-level sub-functions share a group. E.g. [4,2,4]:
        ((0, 1), (2, 3)); input-overlap n=6: ((0, 1), (2, 3), (4, 5)) = specific-A, shared,
        specific-B; hierarchical [8,2,1,2,X]: ((0, 1, 2, 3), (4, 5, 6, 7)); reused [4,1,2,X]: one group.
    output_groups
        Partition of the output indices into outputs that compute the same Boolean function
        (reused family: even outputs, odd outputs).
    output_support_groups
        Partition of the output indices into outputs that depend on the same inputs
        ([4,2,4]: ((0, 1), (2, 3))).
    levels
        Hierarchical level of every node by name (inputs are level 0, a gate is one more than
        its deepest in-neighbour).
    reused_nodes
        Gates with two or more out-edges, by name.
    subfunctions
        Named sub-functions: node name -> sorted input indices it depends on.
    """

    n_inputs: int
    n_outputs: int
    input_groups: tuple[tuple[int, ...], ...]
    output_groups: tuple[tuple[int, ...], ...]
    output_support_groups: tuple[tuple[int, ...], ...]
    levels: dict[str, int] = field(default_factory=dict)
    reused_nodes: tuple[str, ...] = ()
    subfunctions: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready form (lists instead of tuples)."""
        return {
            "n_inputs": self.n_inputs,
            "n_outputs": self.n_outputs,
            "input_groups": [list(g) for g in self.input_groups],
            "output_groups": [list(g) for g in self.output_groups],
            "output_support_groups": [list(g) for g in self.output_support_groups],
            "levels": dict(self.levels),
            "reused_nodes": list(self.reused_nodes),
            "subfunctions": {k: list(v) for k, v in self.subfunctions.items()},
        }
