"""``sculpt graph check FILE``: parse a ``.fg`` file and report problems in one line."""
from __future__ import annotations

import argparse
import warnings


def register(subparsers) -> None:
    p = subparsers.add_parser("graph", help="work with .fg function-graph files")
    sub = p.add_subparsers(dest="graph_command", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="parse a .fg file; print its size and any warnings (exit 2 on errors)")
    check.add_argument("file", help="the .fg file")
    check.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    import functiongraphs as fg

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", fg.GraphWarning)
        graph = fg.load(args.file)
    print(f"ok: {graph.n_inputs} inputs, {graph.n_outputs} outputs, {len(graph.gates)} gates")
    for warning in caught:
        if issubclass(warning.category, fg.GraphWarning):
            print(f"warning: {warning.message}")
    return 0
