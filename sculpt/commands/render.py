"""``sculpt render TARGET -o OUT``: draw a function graph, a saved run or a saved network.

* ``GRAPH.fg`` or a catalog name, ``-o out.svg``: the function graph (suffix picks the format);
  ``-o DIR`` (an existing directory or a name without suffix): ``DIR/<graph>.gv/.svg/.png``.
  A format asked for by name that cannot be rendered (no graphviz ``dot``) is an error, exit 2;
  the ``.gv`` source is still written.
* ``RUN_DIR -o DIR``: the network, hierarchy and comparison drawings of a ``sculpt run`` directory.
* ``NET.npz -o DIR``: the network and hierarchy of any saved network, modules detected on the fly.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from sculpt.errors import ConfigError

FORMATS = ("svg", "png", "pdf")


def register(subparsers) -> None:
    p = subparsers.add_parser("render", help="draw a function graph, a run directory or a saved network",
                              description="Draw a function graph (GRAPH.fg or a catalog name), a run directory "
                                          "or a saved network (.npz). Always writes the .gv source; renders "
                                          "SVG/PNG/PDF when graphviz 'dot' is available.")
    p.add_argument("target", metavar="GRAPH.fg|NAME|RUN_DIR|NET.npz",
                   help="a .fg file, a catalog name, a run directory or a .npz network")
    p.add_argument("-o", "--out", required=True, type=Path,
                   help="a graph: output file whose suffix (.svg, .png, .pdf or .gv) picks the format, or a "
                        "directory (<graph>.gv, .svg, .png); a run directory or network: output directory "
                        "(network.*, hierarchy.*, comparison.*)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    kind, value = classify_target(args.target)
    written, notes = RENDERERS[kind](value, args.out)
    for path in written:
        print(f"wrote {path}")
    for note in notes:
        print(note)
    return 0


def classify_target(target: str) -> tuple[str, object]:
    """What kind of thing ``target`` names: ("run", dir), ("network", npz), ("graph", path) or ("catalog", name).

    The one place that decides; each kind has an entry in :data:`RENDERERS`.
    """
    from functiongraphs import catalog

    path = Path(target)
    if path.is_dir():
        return "run", path
    if path.suffix.lower() == ".npz":
        if not path.is_file():
            raise ConfigError(f"no such network file: {target}")
        return "network", path
    if path.suffix == ".fg" or path.is_file():
        if not path.is_file():
            raise ConfigError(f"no such graph file: {target}")
        return "graph", path
    if target in catalog.names():
        return "catalog", target
    catalog.info(target)  # raises GraphError with the closest catalog name
    raise AssertionError("unreachable")


def _save_one(drawing, out: Path, name: str) -> tuple[list[Path], list[str]]:
    from sculpt.render.graphviz_io import save_graph

    stem, formats = _output_formats(out, name)
    written, note = save_graph(drawing, stem, formats=formats)
    if note and _is_file_name(out):
        # the user named the file they want; a .gv alone is not it
        raise ConfigError(f"cannot write {out}: {note.split(':')[0]}; wrote {written[0]} only "
                          "(install graphviz: apt-get install graphviz | brew install graphviz)")
    return written, [note] if note else []


def _draw_graph_file(path: Path, out: Path):
    import functiongraphs as fg
    from sculpt.render.functiongraph import draw_function_graph

    _output_formats(out, path.stem)  # refuse a bad suffix before parsing
    return _save_one(draw_function_graph(fg.load(path)), out, path.stem)


def _draw_catalog_graph(name: str, out: Path):
    from functiongraphs import catalog
    from sculpt.render.functiongraph import draw_function_graph

    _output_formats(out, name)
    return _save_one(draw_function_graph(catalog.get(name)), out, name)


def _draw_run_dir(path: Path, out: Path):
    from sculpt.render.files import check_output_dir, render_run_dir

    return render_run_dir(path, check_output_dir(out))


def _draw_network_file(path: Path, out: Path):
    from sculpt.render.files import check_output_dir, render_network_file

    return render_network_file(path, check_output_dir(out))


# kind -> callable(value, out) -> (written paths, notes)
RENDERERS = {"graph": _draw_graph_file, "catalog": _draw_catalog_graph, "run": _draw_run_dir,
             "network": _draw_network_file}


def _is_file_name(out: Path) -> bool:
    """``-o x.svg`` names a file; ``-o DIR`` (existing directory, or no suffix) a directory."""
    return not out.is_dir() and out.suffix != ""


def _output_formats(out: Path, name: str) -> tuple[Path, tuple[str, ...]]:
    """(stem to write, formats) of a graph drawing's ``-o``."""
    if not _is_file_name(out):
        from sculpt.render.files import FORMATS as DIRECTORY_FORMATS

        return out / name, DIRECTORY_FORMATS
    suffix = out.suffix.lower().lstrip(".")
    if suffix == "gv":
        return out.with_suffix(""), ()
    if suffix not in FORMATS:
        raise ConfigError(f"output {out} must end in .svg, .png, .pdf or .gv")
    return out.with_suffix(""), (suffix,)
