"""The true structure of a function graph: what a perfect module detector should recover."""
from __future__ import annotations

from typing import Hashable, Sequence

import numpy as np

from functiongraphs.graph import FunctionGraph
from functiongraphs.structure_types import Structure

# Output functions are compared on the full truth table up to this many inputs (2^20 rows take
# well under a second); above it, structurally identical outputs are grouped instead.
SEMANTIC_MAX_INPUTS = 20
# Input groups come from the bound sets of each output, searched over every subset of its support.
SEMANTIC_GROUP_MAX_SUPPORT = 12


def structure(graph: FunctionGraph) -> Structure:
    """The true modular structure of a graph: what it promises depends on the FUNCTION only.

    * ``input_groups``: computed from the truth table alone, so two texts of one function give
      the same groups. Two inputs share a group iff (1) the same outputs depend on them (their
      semantic supports) and (2) they lie in the same largest *strong shared sub-function*. A
      set S of two or more inputs is a shared sub-function when the outputs depending on an input
      of S compute at least two different functions, every one of them depends on all of S (and
      one on more), and each can be written g_k(h(x_S), other inputs) with one Boolean h shared by all, up to
      negation (a bound set of Ashenhurst's simple disjoint decomposition: the decomposition
      chart over S has at most two distinct rows); it is strong when no other shared sub-function
      overlaps it. A sub-function that only one output function uses does not split its inputs
      (the paper's sub-functions show themselves by reuse), so a single-output function is one
      group. A majority of three, written
      ``or(and(a,b), and(a,c), and(b,c))`` or ``or(and(a,b), and(c, or(a,b)))``, is one group
      (a, b, c). On the 39 catalog graphs this gives the paper's groups: [4,2,4] -> ((0, 1),
      (2, 3)); input overlap -> specific-A, shared, specific-B; hierarchical -> the inputs of A and
      of B (both outputs use A and B); reuse -> one group (its two outputs decompose, but through
      different sub-functions). When one output depends on more than ``SEMANTIC_GROUP_MAX_SUPPORT``
      inputs (the search is exponential) inputs are grouped by the gates they feed directly.
    * ``output_groups``: outputs computing the same Boolean function (compared on the truth table
      up to 20 inputs, by identical gate structure above).
    * ``output_support_groups``: outputs depending on the same set of inputs.
    * ``levels``, ``reused_nodes`` (gates with two or more out-edges), ``subfunctions`` (every
      gate -> sorted indices of the inputs it depends on): these describe the graph as written.

    Groups are sorted by their smallest member.

    Parameters
    ----------
    graph : FunctionGraph

    Returns
    -------
    Structure

    References
    ----------
    .. [1] R. L. Ashenhurst, "The decomposition of switching functions", Proc. International
       Symposium on the Theory of Switching, 1957.
    .. [2] V. Bertacco and M. Damiani, "The disjunctive decomposition of logic functions",
       ICCAD 1997 (strong bound sets nest into the unique disjoint-support decomposition tree).

    Examples
    --------
    >>> import functiongraphs as fg
    >>> a = fg.parse("inputs a b c\\nab = and(a, b)\\nac = and(a, c)\\nbc = and(b, c)\\n"
    ...              "y = or(ab, ac, bc)\\noutputs y\\n")
    >>> b = fg.parse("inputs a b c\\nab = and(a, b)\\no = or(a, b)\\nco = and(c, o)\\n"
    ...              "y = or(ab, co)\\noutputs y\\n")
    >>> structure(a).input_groups == structure(b).input_groups == ((0, 1, 2),)
    True
    """
    successors = graph.successors
    input_groups = function_input_groups(graph)
    if input_groups is None:  # too many inputs for the exhaustive search: the gates as written
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



def function_input_groups(graph: FunctionGraph) -> tuple[tuple[int, ...], ...] | None:
    """Input groups from the outputs' supports and common sub-functions (see :func:`structure`).

    None when an output depends on more than ``SEMANTIC_GROUP_MAX_SUPPORT`` inputs.
    """
    n = graph.n_inputs
    if n > SEMANTIC_MAX_INPUTS:
        return None
    _, Y = graph.truth_table()
    tables = [np.asarray(Y[:, k], dtype=bool).reshape((2,) * n) for k in range(graph.n_outputs)]
    supports = [semantic_support(t) for t in tables]
    if any(len(sup) > SEMANTIC_GROUP_MAX_SUPPORT for sup in supports):
        return None
    strong = strong_common_sets(tables, supports)
    keys = []
    for i in range(n):
        users = frozenset(k for k, sup in enumerate(supports) if i in sup)
        # strong sets nest: the largest one holding i is the sub-function just below the outputs
        holder = next((m for m in reversed(strong) if m >> i & 1), None)
        keys.append((users, holder))
    return group_indices(keys)


def semantic_support(table: np.ndarray) -> tuple[int, ...]:
    """Inputs a Boolean function (an n-d 0/1 array, axis i = input i) really depends on."""
    return tuple(i for i in range(table.ndim) if not np.array_equal(np.take(table, 0, axis=i),
                                                                     np.take(table, 1, axis=i)))


def bound_partition(table: np.ndarray, subset: Sequence[int]) -> bytes | None:
    """The h of f = g(h(x_S), rest), as which assignments of S share the first one's chart row.

    Returns None when S is not a bound set (the chart's rows take more than two values). The
    result is canonical up to negating h, so two functions using the same h give equal bytes.
    """
    rest = [a for a in range(table.ndim) if a not in subset]
    chart = np.transpose(table, list(subset) + rest).reshape(2 ** len(subset), -1)
    same = (chart == chart[0]).all(axis=1)
    other = chart[~same]
    if other.shape[0] and not (other == other[0]).all():
        return None
    return np.packbits(same).tobytes()


def strong_common_sets(tables: Sequence[np.ndarray], supports: Sequence[tuple[int, ...]]) -> list[int]:
    """Input sets (bitmasks, smallest first) of the sub-functions all their users share, nested.

    A set S of two or more inputs is *common* when the outputs depending on an input of S compute
    at least two different functions, all depend on all of S, at least one depends on more, and
    all equal g_k(h(x_S), rest) with ONE Boolean h (up to negation); it is *strong* when no other
    common set overlaps it.
    Strong sets nest.
    """
    candidates = set()
    for sup in supports:
        for mask in range(1, 1 << len(sup)):
            if bin(mask).count("1") >= 2:
                candidates.add(sum(1 << sup[j] for j in range(len(sup)) if mask >> j & 1))
    common = []
    masks_of = [sum(1 << i for i in sup) for sup in supports]
    for cand in sorted(candidates):
        users = [k for k, m in enumerate(masks_of) if m & cand]
        if any(masks_of[k] & cand != cand for k in users):
            continue
        if all(masks_of[k] == cand for k in users):
            continue  # the outputs' own function (e.g. y0 = m, y1 = not m), not one below them
        if len({tables[k].tobytes() for k in users}) < 2:
            continue  # a sub-function of one output function only: no reuse shows it
        inputs = [i for i in range(tables[0].ndim) if cand >> i & 1]
        parts = {bound_partition(tables[k], inputs) for k in users}
        if len(parts) == 1 and None not in parts:
            common.append(cand)
    arr = np.array(common, dtype=np.int64)
    strong = [m for m in common
              if not (((arr & m) != 0) & ((arr & m) != m) & ((arr & m) != arr)).any()]
    return sorted(strong, key=lambda m: bin(m).count("1"))
