"""Vectorised truth tables of function graphs (rows in binary counting order, x0 = most significant bit)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import numpy as np

from functiongraphs.errors import GraphError

if TYPE_CHECKING:
    from functiongraphs.graph import FunctionGraph

DEFAULT_MAX_INPUTS = 24


def input_rows(n_inputs: int) -> np.ndarray:
    """All 2^n input rows as a uint8 array, row r = binary expansion of r with x0 the MSB."""
    rows = np.arange(1 << n_inputs, dtype=np.int64)
    shifts = np.arange(n_inputs - 1, -1, -1, dtype=np.int64)
    return ((rows[:, None] >> shifts[None, :]) & 1).astype(np.uint8)


def truth_table(graph: "FunctionGraph", max_inputs: int = DEFAULT_MAX_INPUTS) -> tuple[np.ndarray, np.ndarray]:
    """The complete truth table of a graph.

    Every gate is evaluated once on all rows at the same time (numpy boolean arrays, no Python
    loop over rows), in topological order.

    Parameters
    ----------
    graph : FunctionGraph
    max_inputs : int, default 24
        Refuse graphs with more inputs (2^n rows would exhaust memory).

    Returns
    -------
    X : ndarray of uint8, shape (2**n_inputs, n_inputs)
    Y : ndarray of uint8, shape (2**n_inputs, n_outputs)

    Raises
    ------
    GraphError
        When the graph has more than ``max_inputs`` inputs.
    """
    X = _checked_input_rows(graph, max_inputs)
    values = _evaluate(graph, X, set(graph.outputs))
    Y = np.empty((X.shape[0], graph.n_outputs), dtype=np.uint8)
    for k, name in enumerate(graph.outputs):
        Y[:, k] = values[name]
    return X, Y


def node_columns(graph: "FunctionGraph", names: Iterable[str],
                 max_inputs: int = DEFAULT_MAX_INPUTS) -> dict[str, np.ndarray]:
    """Truth-table columns (bool, one entry per row of :func:`input_rows`) of any nodes, inputs or gates."""
    names = list(names)
    X = _checked_input_rows(graph, max_inputs)
    values = _evaluate(graph, X, set(names))
    return {name: values[name] for name in names}


def _checked_input_rows(graph: "FunctionGraph", max_inputs: int) -> np.ndarray:
    n = graph.n_inputs
    if n > max_inputs:
        raise GraphError(f"truth table of {n} inputs has 2^{n} = {1 << n:,} rows; refusing above "
                         f"max_inputs={max_inputs} (pass a larger max_inputs to force it)",
                         source=graph.name)
    return input_rows(n)


def _evaluate(graph: "FunctionGraph", X: np.ndarray, targets: set[str]) -> dict[str, np.ndarray]:
    values: dict[str, np.ndarray] = {name: X[:, i].astype(bool) for i, name in enumerate(graph.inputs)}
    needed = _needed_nodes(graph, targets)
    for gate in graph.topological_order:
        if gate.name in needed:
            values[gate.name] = _evaluate_gate(gate, values)
    return values


def _evaluate_gate(gate, values: dict[str, np.ndarray]) -> np.ndarray:
    columns = (~values[src] if neg else values[src] for src, neg in gate.args)
    if gate.op == "id":
        return next(columns).copy()
    first = next(columns).copy()
    combine = np.logical_and if gate.op == "and" else np.logical_or
    for column in columns:
        combine(first, column, out=first)
    return first


def _needed_nodes(graph: "FunctionGraph", targets: set[str]) -> set[str]:
    """Gates the targets depend on (everything else, e.g. dead gates, is skipped)."""
    needed: set[str] = set()
    todo = list(targets)
    while todo:
        node = todo.pop()
        gate = graph.gate_by_name.get(node)
        if gate is None or node in needed:
            continue
        needed.add(node)
        todo.extend(src for src, _ in gate.args)
    return needed


def evaluate_row(graph: "FunctionGraph", bits: Iterable[int]) -> tuple[int, ...]:
    """Output bits of one input assignment, gate by gate in plain Python (a reference for tests).

    Parameters
    ----------
    graph : FunctionGraph
    bits : iterable of 0/1
        One value per input, in ``graph.inputs`` order.

    Returns
    -------
    tuple of int
        One 0/1 value per output.
    """
    bits = [int(b) for b in bits]
    if len(bits) != graph.n_inputs or any(b not in (0, 1) for b in bits):
        raise GraphError(f"expected {graph.n_inputs} bits of 0/1, got {bits}")
    value: dict[str, bool] = dict(zip(graph.inputs, map(bool, bits)))
    for gate in graph.topological_order:
        literals = [value[src] != neg for src, neg in gate.args]
        value[gate.name] = all(literals) if gate.op == "and" else any(literals)
    return tuple(int(value[name]) for name in graph.outputs)
