"""The seeded generator: each documented guarantee, on several seeds and modularity lists."""
from __future__ import annotations

import numpy as np
import pytest

import functiongraphs as fg
from functiongraphs import GraphError
from functiongraphs.truthtable import node_columns

CASES = [[4, 2, 4], [6, 3, 3, 3], [8, 2, 1, 2, 4], [10, 3, 2, 2, 6], [7, 2, 3, 3]]


def semantic_support(column: np.ndarray, n: int) -> set[int]:
    index = np.arange(2 ** n)
    return {i for i in range(n) if (column != column[index ^ (1 << (n - 1 - i))]).any()}


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("modularity", CASES)
def test_generated_graph_meets_its_guarantees(modularity, seed, recwarn):
    g = fg.generate(modularity, seed=seed)
    n, s1, top, m = modularity[0], modularity[1], modularity[-2], modularity[-1]
    assert g.inputs == tuple(f"x{i}" for i in range(n)) and g.outputs == tuple(f"y{i}" for i in range(m))
    s = fg.structure(g)
    assert s.input_groups == tuple(tuple(int(i) for i in b) for b in np.array_split(np.arange(n), s1))
    assert s.output_groups == tuple(tuple(range(j, m, top)) for j in range(top))
    # every output depends on exactly the inputs it is connected to
    _, Y = g.truth_table()
    for k, name in enumerate(g.outputs):
        assert semantic_support(Y[:, k], n) == set(g.supports[name])
    # sub-functions per level: the modularity list, distinct and non-constant functions
    for level, count in enumerate(modularity[1:-1], start=1):
        names = [f"s{level}_{j}" for j in range(count)]
        cols = node_columns(g, names)
        assert len({cols[x].tobytes() for x in names}) == count
        assert all(cols[x].any() and not cols[x].all() for x in names)
        for x in names:  # higher gate level than every sub-function it reads
            reads = {a for gate in g.gates if gate.name == x or gate.name.startswith(x + "_t") for a, _ in gate.args}
            assert all(s.levels[x] > s.levels[r] for r in reads)
            if level > 1:
                assert not reads & set(g.inputs)
    assert not recwarn.list  # no unused inputs, no dead gates
    assert fg.parse(fg.format(g)) == g


def test_same_seed_same_graph_and_seeds_differ():
    assert fg.format(fg.generate([8, 2, 1, 2, 4], seed=5)) == fg.format(fg.generate([8, 2, 1, 2, 4], seed=5))
    assert len({fg.format(fg.generate([8, 2, 1, 2, 4], seed=s)) for s in range(5)}) == 5


def test_default_name_and_given_name():
    assert fg.generate([4, 2, 4], seed=2).name == "generated[4, 2, 4]-seed2"
    assert fg.generate([4, 2, 4], name="mine").name == "mine"


@pytest.mark.parametrize("modularity, message", [
    ([4, 4], "modularity must be \\[n_inputs, s_1, ..., s_L, n_outputs\\]"),
    ([4, 0, 4], "positive integers"),
    ([2, 3, 4], "3 level-1 sub-functions need at least as many inputs"),
    ([4, 2, 3, 2], "3 last-level sub-functions need at least as many outputs"),
    ([21, 2, 2], "at most 20 inputs"),
    ("abc", "modularity must be a list of integers"),
    ([4, 1, 5, 5], "no graph with modularity \\[4, 1, 5, 5\\] met the guarantees in 200 draws"),
])
def test_impossible_modularity_lists_are_refused(modularity, message):
    with pytest.raises(GraphError, match=message):
        fg.generate(modularity)
