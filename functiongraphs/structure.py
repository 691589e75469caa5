"""The true structure of a function graph: what a perfect module detector should recover."""
from __future__ import annotations

from typing import Hashable, Sequence

from functiongraphs.graph import FunctionGraph
from functiongraphs.structure_types import Structure

# Output functions are compared on the full truth table up to this many inputs (2^20 rows take
# well under a second); above it, structurally identical outputs are grouped instead.
SEMANTIC_MAX_INPUTS = 20


def structure(graph: FunctionGraph) -> Structure:
    """The true modular structure of a graph.

    * ``input_groups``: inputs grouped by the set of gates they feed directly (the lowest-level
      sub-functions): [4,2,4] -> ((0, 1), (2, 3)); input overlap -> specific-A, shared, specific-B.
    * ``output_groups``: outputs computing the same Boolean function (compared on the truth table
      up to 20 inputs, by identical gate structure above).
    * ``output_support_groups``: outputs depending on the same set of inputs.
    * ``levels``, ``reused_nodes`` (gates with two or more out-edges), ``subfunctions`` (every
      gate -> sorted indices of the inputs it depends on).

    Groups are sorted by their smallest member.

    Parameters
    ----------
    graph : FunctionGraph

    Returns
    -------
    Structure
    """
    successors = graph.successors
    input_groups = group_indices([frozenset(successors[name]) for name in graph.inputs])
    output_groups = group_indices(_output_function_keys(graph))
    output_support_groups = group_indices([graph.supports[name] for name in graph.outputs])
    reused = tuple(g.name for g in graph.gates if len(successors[g.name]) >= 2)
    subfunctions = {g.name: tuple(sorted(graph.supports[g.name])) for g in graph.topological_order}
    return Structure(
        n_inputs=graph.n_inputs,
        n_outputs=graph.n_outputs,
        input_groups=input_groups,
        output_groups=output_groups,
        output_support_groups=output_support_groups,
        levels=dict(graph.levels),
        reused_nodes=reused,
        subfunctions=subfunctions,
    )


def group_indices(keys: Sequence[Hashable]) -> tuple[tuple[int, ...], ...]:
    """Partition ``range(len(keys))`` by equal key; groups ordered by their smallest member."""
    groups: dict[Hashable, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    return tuple(tuple(g) for g in groups.values())


def _output_function_keys(graph: FunctionGraph) -> list[Hashable]:
    if graph.n_inputs <= SEMANTIC_MAX_INPUTS:
        _, Y = graph.truth_table()
        return [Y[:, k].tobytes() for k in range(graph.n_outputs)]
    ids = _canonical_ids(graph)
    return [ids[name] for name in graph.outputs]


def _canonical_ids(graph: FunctionGraph) -> dict[str, int]:
    """Node -> id of its structural form: equal ids mean equal functions (not conversely).

    Transfer ``id`` gates take the id of their argument; each distinct (op, sorted literals)
    gets a new integer, so deep DAGs never expand into trees.
    """
    ids: dict[str, int] = {name: i for i, name in enumerate(graph.inputs)}
    forms: dict[tuple, int] = {}
    for gate in graph.topological_order:
        literals = tuple(sorted((ids[src], neg) for src, neg in gate.args))
        if gate.op == "id" and not literals[0][1]:
            ids[gate.name] = literals[0][0]
        else:
            ids[gate.name] = forms.setdefault((gate.op, literals), len(graph.inputs) + len(forms))
    return ids
