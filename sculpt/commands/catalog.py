"""``sculpt catalog list | show NAME [--truth-table]``: the paper's 39 Boolean tasks."""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser("catalog", help="list and show the paper's function graphs")
    sub = p.add_subparsers(dest="catalog_command", metavar="ACTION", required=True)
    lst = sub.add_parser("list", help="name, modularity list, inputs/outputs and description of every graph")
    lst.set_defaults(func=run_list)
    show = sub.add_parser("show", help="a graph's .fg text, modularity list and true structure")
    show.add_argument("name", help="catalog name (see 'sculpt catalog list')")
    show.add_argument("--truth-table", action="store_true", help="also print the complete truth table")
    show.set_defaults(func=run_show)


def run_list(args: argparse.Namespace) -> int:
    from functiongraphs import catalog

    rows = [(e.name, str(e.modularity), f"{e.n_inputs}/{e.n_outputs}", e.description)
            for e in map(catalog.info, catalog.names())]
    header = ("name", "modularity", "in/out", "description")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths)) + "  " + row[3])
    return 0


def run_show(args: argparse.Namespace) -> int:
    import functiongraphs as fg
    from functiongraphs import catalog

    entry = catalog.info(args.name)
    graph = catalog.get(args.name)
    print(catalog.text(args.name).rstrip("\n"))
    print()
    print(f"modularity: {entry.modularity}")
    print(f"family: {entry.family}   reference: {entry.reference_json}")
    for line in structure_summary(fg.structure(graph)):
        print(line)
    if args.truth_table:
        print()
        for line in truth_table_lines(graph):
            print(line)
    return 0


def structure_summary(structure) -> list[str]:
    """Human-readable lines describing a :class:`functiongraphs.Structure`."""
    def groups(gs):
        return " ".join("{" + ",".join(map(str, g)) + "}" for g in gs)

    depth = max(structure.levels.values())
    return [
        f"input groups: {groups(structure.input_groups)}",
        f"output groups (same function): {groups(structure.output_groups)}",
        f"output groups (same inputs): {groups(structure.output_support_groups)}",
        f"reused gates: {' '.join(structure.reused_nodes) or '-'}",
        f"depth: {depth} gate levels",
    ]


def truth_table_lines(graph) -> list[str]:
    """Header and one line per row: input bits | output bits (x0 first)."""
    X, Y = graph.truth_table()
    lines = [" ".join(graph.inputs) + " | " + " ".join(graph.outputs)]
    in_w = [len(n) for n in graph.inputs]
    out_w = [len(n) for n in graph.outputs]
    for x, y in zip(X, Y):
        left = " ".join(str(v).ljust(w) for v, w in zip(x, in_w))
        right = " ".join(str(v).ljust(w) for v, w in zip(y, out_w))
        lines.append(f"{left} | {right}".rstrip())
    return lines
