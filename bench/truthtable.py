"""Truth-table speed: vectorised evaluation of a 20-input graph vs the per-row reference evaluator.

Run: ``python -m bench truthtable [--inputs 20] [--gates 200]``. The per-row baseline is timed
on 4,096 rows and scaled to 2^n rows; the goal is 20 inputs in under a second.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import functiongraphs as fg
from functiongraphs.truthtable import evaluate_row, input_rows


def wide_graph(n_inputs: int, n_gates: int, seed: int = 0) -> fg.FunctionGraph:
    """A random DAG of and/or gates over n inputs, 8 outputs (seeded)."""
    rng = np.random.default_rng(seed)
    b = fg.GraphBuilder(f"bench{n_inputs}")
    nodes = b.inputs(n_inputs)
    for _ in range(n_gates):
        picks = rng.choice(len(nodes), size=3, replace=False)
        args = [nodes[i] if rng.random() < 0.6 else ~nodes[i] for i in picks]
        nodes.append(b.gate(str(rng.choice(["and", "or"])), *args))
    for k in range(8):
        b.output(b.id_(nodes[-1 - k], name=f"y{k}"))
    return b.build()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench truthtable")
    parser.add_argument("--inputs", type=int, default=20)
    parser.add_argument("--gates", type=int, default=200)
    args = parser.parse_args(argv)
    graph = wide_graph(args.inputs, args.gates)
    start = time.perf_counter()
    X, Y = graph.truth_table()
    vectorised = time.perf_counter() - start
    rows = input_rows(12) if args.inputs >= 12 else input_rows(args.inputs)
    sample = np.zeros((rows.shape[0], args.inputs), dtype=np.uint8)
    sample[:, -rows.shape[1]:] = rows
    start = time.perf_counter()
    for row in sample:
        evaluate_row(graph, row)
    per_row = (time.perf_counter() - start) / len(sample) * X.shape[0]
    print(f"{args.inputs} inputs, {len(graph.gates)} gates, {X.shape[0]:,} rows")
    print(f"vectorised truth_table: {vectorised:.3f} s  (goal < 1 s: {'ok' if vectorised < 1 else 'MISSED'})")
    print(f"per-row evaluator (extrapolated): {per_row:.1f} s  -> speed-up x{per_row / vectorised:.0f}")
    return 0
