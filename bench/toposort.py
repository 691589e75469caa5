"""Topological order of a graph whose gates are defined in reverse order (each reads the next one).

The old order made one pass over the pending gates per ready gate: quadratic on such a chain
(10,000 gates took 135 s). :func:`functiongraphs.graph._topological_order` now sweeps a
:mod:`graphlib` order once and sorts by pass number. The baseline in the same run is the old
pass-by-pass algorithm (kept here only as the yardstick); both must give the same order.

Usage: ``python -m bench toposort [--sizes 1000 2000 4000] [--big 10000]``
"""
from __future__ import annotations

import argparse
import os
import time

from functiongraphs.graph import Gate, _topological_order


def reversed_chain(n: int) -> tuple[tuple[str, ...], tuple[Gate, ...]]:
    """``g0 = and(g1, x0)``, ``g1 = and(g2, x0)``, ..., ``g{n-1} = and(x0, x1)``."""
    gates = [Gate(f"g{i}", "and", ((f"g{i + 1}", False), ("x0", False))) for i in range(n - 1)]
    gates.append(Gate(f"g{n - 1}", "and", (("x0", False), ("x1", False))))
    return ("x0", "x1"), tuple(gates)


def passes_baseline(inputs, gates) -> list[str]:
    """The previous algorithm: repeated passes, each taking every gate whose arguments are ready."""
    ready, pending, order = set(inputs), list(gates), []
    while pending:
        rest = []
        for g in pending:
            if all(s in ready for s, _ in g.args):
                order.append(g.name)
                ready.add(g.name)
            else:
                rest.append(g)
        pending = rest
    return order


def _time(fn, *args) -> tuple[float, list]:
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench toposort", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 4000])
    parser.add_argument("--big", type=int, default=10_000, help="size timed with the new order only")
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f}")
    print("gates   baseline (passes)   graphlib sweep   ratio")
    for n in args.sizes:
        inputs, gates = reversed_chain(n)
        old_s, old = _time(passes_baseline, inputs, gates)
        new_s, new = _time(_topological_order, inputs, gates)
        assert old == new, "the sweep must give the pass order"
        print(f"{n:6d}   {old_s:14.3f} s   {new_s:12.4f} s   {old_s / new_s:7.0f}x")
    inputs, gates = reversed_chain(args.big)
    new_s, _ = _time(_topological_order, inputs, gates)
    print(f"{args.big:6d}   {'(not run)':>16}   {new_s:12.4f} s")
    return 0
