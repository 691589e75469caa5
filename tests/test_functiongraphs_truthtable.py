"""Vectorised truth tables: row order, agreement with a per-row evaluator, the size guard, Task."""
from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

import functiongraphs as fg
from functiongraphs import FunctionGraph, Gate, GraphError
from functiongraphs.truthtable import evaluate_row, input_rows


def random_graph(seed: int, n_inputs: int, n_gates: int, n_outputs: int) -> FunctionGraph:
    """An arbitrary DAG of and/or/id gates with random negation edges (gates read earlier nodes)."""
    rng = random.Random(seed)
    inputs = [f"x{i}" for i in range(n_inputs)]
    nodes = list(inputs)
    gates = []
    for k in range(n_gates):
        op = rng.choice(["and", "or", "id"]) if len(nodes) >= 2 else "id"
        arity = 1 if op == "id" else rng.randint(2, min(4, len(nodes)))
        args = tuple((src, rng.random() < 0.4) for src in rng.sample(nodes, arity))
        gates.append(Gate(f"g{k}", op, args))
        nodes.append(f"g{k}")
    outputs = []
    for k in range(n_outputs):  # outputs copy random gates so they never feed other gates
        src = rng.choice(nodes[n_inputs:])
        gates.append(Gate(f"y{k}", "id", ((src, rng.random() < 0.5),)))
        outputs.append(f"y{k}")
    rng.shuffle(gates)  # definition order must not matter
    return FunctionGraph(tuple(inputs), tuple(gates), tuple(outputs))


def test_rows_are_binary_counting_with_x0_most_significant():
    X = input_rows(3)
    assert X.dtype == np.uint8
    assert X.tolist() == [list(r) for r in itertools.product([0, 1], repeat=3)]


def test_truth_table_of_xor_pair_exactly():
    g = fg.parse("inputs x0 x1\na = and(x0, !x1)\nb = and(!x0, x1)\ny0 = or(a, b)\ny1 = and(!a, !b)\n"
                 "outputs y0 y1\n")
    X, Y = g.truth_table()
    assert X.dtype == np.uint8 and Y.dtype == np.uint8
    assert X.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert Y.tolist() == [[0, 1], [1, 0], [1, 0], [0, 1]]


@pytest.mark.filterwarnings("ignore::functiongraphs.GraphWarning")  # random graphs have dead gates
@pytest.mark.parametrize("seed", range(25))
def test_vectorised_table_agrees_with_per_row_evaluator_on_random_graphs(seed):
    rng = random.Random(1000 + seed)
    g = random_graph(seed, n_inputs=rng.randint(1, 7), n_gates=rng.randint(1, 15), n_outputs=rng.randint(1, 4))
    X, Y = g.truth_table()
    assert X.shape == (2 ** g.n_inputs, g.n_inputs) and Y.shape == (2 ** g.n_inputs, g.n_outputs)
    for row, expected in zip(X, Y):
        assert evaluate_row(g, row) == tuple(int(v) for v in expected)
    assert fg.parse(fg.format(g)) == g


def test_size_guard_refuses_above_the_bound_with_a_clear_error():
    b = fg.GraphBuilder("wide")
    xs = b.inputs(25)
    b.output(b.and_(*xs, name="y"))
    g = b.build()
    with pytest.raises(GraphError, match=r"truth table of 25 inputs has 2\^25 = 33,554,432 rows; refusing above "
                                         r"max_inputs=24"):
        g.truth_table()
    with pytest.raises(GraphError, match="max_inputs=3"):
        fg.catalog.get("input-separable").truth_table(max_inputs=3)


def test_twenty_inputs_compute_and_are_correct_on_sampled_rows():
    g = random_graph(7, n_inputs=20, n_gates=60, n_outputs=6)
    X, Y = g.truth_table()
    assert X.shape == (2 ** 20, 20)
    for r in np.random.default_rng(0).integers(0, 2 ** 20, size=50):
        assert evaluate_row(g, X[r]) == tuple(int(v) for v in Y[r])


def test_evaluate_row_rejects_wrong_lengths():
    g = fg.catalog.get("input-separable")
    with pytest.raises(GraphError, match="expected 4 bits of 0/1"):
        g.evaluate([1, 0])


def test_task_uses_the_truth_table_and_the_true_structure():
    g = fg.catalog.get("input-separable")
    task = fg.Task(g, noise=0.1)
    X, Y = g.truth_table()
    assert task.validation.X.dtype == np.float32
    assert np.array_equal(task.validation.X, X.astype(np.float32))
    assert np.array_equal(task.train.Y, Y.astype(np.float32))
    assert task.name == "input-separable"
    assert task.structure.input_groups == ((0, 1), (2, 3))
    xb, yb = next(task.batches(16, np.random.default_rng(0)))
    assert not np.array_equal(xb, np.round(xb))  # inputs noised
    assert set(np.unique(yb)) <= {0.0, 1.0}       # labels not
