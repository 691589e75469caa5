"""A seeded generator of modular function graphs from a modularity list (the paper has none)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from functiongraphs.builder import GraphBuilder, Ref
from functiongraphs.errors import GraphError
from functiongraphs.graph import FunctionGraph
from functiongraphs.structure import structure
from functiongraphs.truthtable import input_rows, node_columns

MAX_INPUTS = 20        # every generated graph is verified on its full truth table
MAX_ARGS = 12          # a sub-function's own truth table (2^args rows) is checked too
MAX_TERMS = 3          # AND terms per sub-function, as in the paper's F and G


def generate(modularity: Sequence[int], seed: int = 0, name: str | None = None,
             max_tries: int = 200) -> FunctionGraph:
    """A random modular function graph with the given modularity list.

    ``modularity = [n_inputs, s_1, ..., s_L, n_outputs]`` as the paper names its graphs: the
    number of sub-functions on each hierarchical level, inputs prepended and outputs appended.

    Construction. The inputs ``x0..`` are cut into ``s_1`` contiguous blocks (sizes differ by at
    most one); level-1 sub-function ``s1_j`` reads block ``j``. A sub-function on level ``l >= 2``
    reads 2 or 3 sub-functions (fewer when fewer exist), at least one of them from level ``l-1``
    and the others from levels below; every sub-function of level ``l-1`` is read by at least one
    of level ``l``. A sub-function over k arguments is an OR of 1 to 3 distinct AND terms, each
    term reading all k arguments through random transfer/negation edges (a single term is just
    the AND; k = 1 is an ID, possibly negated). Output ``y_i`` is an ID copy of last-level
    sub-function ``i mod s_L`` (outputs alternate over the sub-functions, as in the paper).

    Guarantees (checked on the full truth table; a draw that fails is replaced by the next one):

    * every sub-function depends on each of its arguments, and every output depends on exactly
      the inputs it is structurally connected to (no input is silently irrelevant);
    * sub-functions on the same level compute pairwise different, non-constant functions, so
      outputs copy the same function exactly when they copy the same sub-function;
    * ``structure(graph).input_groups`` are the level-1 blocks (checked: :func:`structure` reads
      them from the function) and ``output_groups`` are ``{y_i : i = j mod s_L}`` for each j;
    * a sub-function sits on a higher gate level than every sub-function it reads; only level-1
      sub-functions read inputs; no gate is dead; outputs feed nothing;
    * the same ``(modularity, seed)`` gives the same graph.

    Parameters
    ----------
    modularity : sequence of int
        ``[n_inputs, s_1, ..., s_L, n_outputs]``, with ``L >= 1``, ``n_inputs >= s_1``,
        ``n_outputs >= s_L`` and ``n_inputs <= 20``.
    seed : int
        Seed of the random draws.
    name : str, optional
        Graph name (default ``"generated[...]-seed{seed}"``).
    max_tries : int
        Draws before giving up with a :class:`GraphError` (e.g. 3 distinct level-2 sub-functions
        of a single level-1 one do not exist).

    Returns
    -------
    FunctionGraph
    """
    levels = _check_modularity(modularity)
    rng = np.random.default_rng(seed)
    name = name or f"generated{list(levels)}-seed{seed}"
    for _ in range(max_tries):
        graph, by_level = _draw(levels, rng, name)
        if _meets_guarantees(graph, by_level):
            return graph
    raise GraphError(f"no graph with modularity {list(levels)} met the guarantees in {max_tries} draws "
                     f"(too many sub-functions on a level for the ones below it?)")


def _check_modularity(modularity: Sequence[int]) -> list[int]:
    try:
        levels = [int(v) for v in modularity]
    except (TypeError, ValueError):
        raise GraphError(f"modularity must be a list of integers, got {modularity!r}") from None
    if len(levels) < 3 or min(levels) < 1 or list(modularity) != levels:
        raise GraphError(f"modularity must be [n_inputs, s_1, ..., s_L, n_outputs] of positive integers "
                         f"with L >= 1, got {list(modularity)}")
    if levels[0] < levels[1]:
        raise GraphError(f"modularity {levels}: {levels[1]} level-1 sub-functions need at least as many inputs")
    if levels[-1] < levels[-2]:
        raise GraphError(f"modularity {levels}: {levels[-2]} last-level sub-functions need at least as "
                         f"many outputs")
    if levels[0] > MAX_INPUTS:
        raise GraphError(f"modularity {levels}: at most {MAX_INPUTS} inputs (graphs are verified on "
                         f"their truth table)")
    return levels


def _draw(levels: list[int], rng: np.random.Generator, name: str) -> tuple[FunctionGraph, list[list[str]]]:
    b = GraphBuilder(name)
    xs = b.inputs(levels[0])
    blocks = np.array_split(np.arange(levels[0]), levels[1])
    by_level: list[list[str]] = [[
        _subfunction(b, [xs[i] for i in block], f"s1_{j}", rng) for j, block in enumerate(blocks)]]
    for level, count in enumerate(levels[2:-1], start=2):
        below = by_level[-1]
        earlier = [n for nodes in by_level[:-1] for n in nodes]
        args = _arguments(count, below, earlier, rng)
        by_level.append([_subfunction(b, [Ref(a) for a in arg], f"s{level}_{j}", rng)
                         for j, arg in enumerate(args)])
    top = by_level[-1]
    for i in range(levels[-1]):
        b.output(b.id_(top[i % len(top)], name=f"y{i}"))
    return b.build(), by_level


def _arguments(count: int, below: list[str], earlier: list[str], rng) -> list[list[str]]:
    """Arguments of each of ``count`` sub-functions: covers ``below``, 2-3 nodes each when possible."""
    order = [below[i] for i in rng.permutation(len(below))]
    args: list[list[str]] = [[] for _ in range(count)]
    for k in range(max(count, len(order))):
        args[k % count].append(order[k % len(order)])  # every node below is read; each sub-function reads one
    pool = below + earlier
    for arg in args:
        want = int(rng.integers(2, 4))
        extra = [n for n in pool if n not in arg]
        while len(arg) < want and extra:
            arg.append(extra.pop(int(rng.integers(len(extra)))))
    return args


def _subfunction(b: GraphBuilder, args: list[Ref], name: str, rng: np.random.Generator) -> str:
    """Add an OR of distinct AND terms over ``args`` that depends on every argument; return its name."""
    k = len(args)
    if k > MAX_ARGS:
        raise GraphError(f"sub-function {name} would read {k} arguments; at most {MAX_ARGS}")
    if k == 1:
        return b.id_(args[0] if rng.random() < 0.5 else ~args[0], name=name).name
    terms = _terms_depending_on_all(k, rng)
    literals = [[a if bit else ~a for a, bit in zip(args, term)] for term in terms]
    if len(terms) == 1:
        return b.and_(*literals[0], name=name).name
    refs = [b.and_(*lits, name=f"{name}_t{t}") for t, lits in enumerate(literals)]
    return b.or_(*refs, name=name).name


def _terms_depending_on_all(k: int, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """1-3 distinct minterms over k variables whose OR depends on every variable."""
    rows = input_rows(k).astype(bool)
    while True:
        n_terms = int(rng.integers(1, min(MAX_TERMS, 2 ** k - 1) + 1))
        chosen = rng.choice(2 ** k, size=n_terms, replace=False)
        value = np.zeros(2 ** k, dtype=bool)
        value[chosen] = True
        # Flipping variable v maps row r to r ^ (1 << (k-1-v)); some row must change the value.
        if all((value != value[np.arange(2 ** k) ^ (1 << (k - 1 - v))]).any() for v in range(k)):
            return [tuple(int(x) for x in rows[r]) for r in sorted(chosen)]


def _meets_guarantees(graph: FunctionGraph, by_level: list[list[str]]) -> bool:
    names = [n for nodes in by_level for n in nodes] + list(graph.outputs)
    columns = node_columns(graph, names, max_inputs=MAX_INPUTS)
    for nodes in by_level:
        seen = set()
        for node in nodes:
            col = columns[node]
            if col.all() or not col.any() or col.tobytes() in seen:
                return False
            seen.add(col.tobytes())
    n = graph.n_inputs
    index = np.arange(2 ** n)
    for name in names:
        col = columns[name]
        semantic = {i for i in range(n) if (col != col[index ^ (1 << (n - 1 - i))]).any()}
        if semantic != set(graph.supports[name]):
            return False
    # the function itself must show the blocks: an AND of ANDs, say, merges two levels into one
    # sub-function, and structure() reads groups from the function, not from the gates
    blocks = tuple(tuple(int(i) for i in b) for b in np.array_split(np.arange(n), len(by_level[0])))
    return structure(graph).input_groups == blocks
