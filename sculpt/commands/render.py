"""``sculpt render TARGET -o out.svg``: draw a function graph (a ``.fg`` file or a catalog name)."""
from __future__ import annotations

import argparse
from pathlib import Path

from sculpt.errors import ConfigError

FORMATS = ("svg", "png", "pdf")


def register(subparsers) -> None:
    p = subparsers.add_parser("render", help="draw a function graph (GRAPH.fg or a catalog name) with graphviz",
                              description="Draw a function graph. Always writes the .gv source next to the "
                                          "output; renders SVG/PNG/PDF when graphviz 'dot' is available.")
    p.add_argument("target", metavar="GRAPH.fg|NAME", help="a .fg file or a catalog name")
    p.add_argument("-o", "--out", required=True, type=Path,
                   help="output file; its suffix (.svg, .png, .pdf or .gv) picks the format")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    stem, formats = _output_formats(args.out)
    kind, value = classify_target(args.target)
    drawing = RENDERERS[kind](value)
    from sculpt.render.graphviz_io import save_graph

    written, note = save_graph(drawing, stem, formats=formats)
    for path in written:
        print(f"wrote {path}")
    if note:
        print(note)
    return 0


def classify_target(target: str) -> tuple[str, object]:
    """What kind of thing ``target`` names: ("graph", path) or ("catalog", name).

    The one place that decides; other inputs (run directories, saved networks) get a branch
    here and an entry in :data:`RENDERERS`.
    """
    from functiongraphs import catalog

    path = Path(target)
    if path.suffix == ".fg" or path.is_file():
        if not path.is_file():
            raise ConfigError(f"no such graph file: {target}")
        return "graph", path
    if target in catalog.names():
        return "catalog", target
    catalog.info(target)  # raises GraphError with the closest catalog name
    raise AssertionError("unreachable")


def _draw_graph_file(path: Path):
    import functiongraphs as fg
    from sculpt.render.functiongraph import draw_function_graph

    return draw_function_graph(fg.load(path))


def _draw_catalog_graph(name: str):
    from functiongraphs import catalog
    from sculpt.render.functiongraph import draw_function_graph

    return draw_function_graph(catalog.get(name))


RENDERERS = {"graph": _draw_graph_file, "catalog": _draw_catalog_graph}


def _output_formats(out: Path) -> tuple[Path, tuple[str, ...]]:
    suffix = out.suffix.lower().lstrip(".")
    if suffix == "gv":
        return out.with_suffix(""), ()
    if suffix not in FORMATS:
        raise ConfigError(f"output {out} must end in .svg, .png, .pdf or .gv")
    return out.with_suffix(""), (suffix,)
