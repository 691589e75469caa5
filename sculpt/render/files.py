"""Drawings of a run directory or a saved network, written as files.

:func:`draw_run` is what :func:`sculpt.run.run` calls; :func:`render_run_dir` redraws from a saved
run (``sculpt render RUN_DIR -o DIR``) and :func:`render_network_file` draws any saved network
(``sculpt render NET.npz -o DIR``), detecting its modules on the fly. Each drawing writes ``.gv``
always and ``.svg`` / ``.png`` when graphviz ``dot`` is present (else one note says how to get it).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from sculpt.errors import ConfigError, SnapshotError
from sculpt.render.comparison import draw_comparison, input_output_names
from sculpt.render.graphviz_io import save_graph
from sculpt.render.hierarchy import draw_hierarchy
from sculpt.render.network import draw_network

FORMATS = ("svg", "png")


def draw_run(out_dir: Path, config, net, modules: Mapping[str, Any], score: Mapping[str, Any] | None,
             graph=None, structure=None, formats: Sequence[str] = FORMATS) -> tuple[dict[str, Path], list[str]]:
    """Write the network, hierarchy and (when the true graph is known) comparison drawings.

    Parameters
    ----------
    out_dir : Path
    config : RunConfig or mapping
        Graph name and seed for the titles.
    net : PrunedNet or NetworkArrays
        ``masks`` (and ``weights`` when present: edge widths follow |w|).
    modules : mapping
        ``Detection.to_dict()`` (``modules.json``).
    score : mapping, optional
        ``score.json``: density, chosen rates and criteria go into the titles.
    graph : FunctionGraph, optional
        The true function graph: names the units and enables the comparison drawing.
    structure : Structure, optional
    formats : tuple of str

    Returns
    -------
    (paths, notes)
        ``paths``: ``network_gv``, ``network_svg``, ``network_png``, ``hierarchy_*``,
        ``comparison_*`` -> written files; ``notes``: at most one line (graphviz missing).
    """
    settings = config.to_dict() if hasattr(config, "to_dict") else dict(config)
    score = dict(score or {})
    masks = list(net.masks)
    weights = getattr(net, "weights", None)
    arch = [int(masks[0].shape[1])] + [int(m.shape[0]) for m in masks]
    name = str(settings.get("graph", "network"))
    inputs, outputs = input_output_names(graph, arch[0], arch[-1])
    drawings = {
        "network": draw_network(masks, modules.get("modules", []), weights=weights,
                                units=modules.get("surviving_units"), title=f"{name}   arch {arch}",
                                subtitle=_network_subtitle(settings, score, masks, modules),
                                input_names=inputs, output_names=outputs),
        "hierarchy": draw_hierarchy(modules["hierarchy"], len(arch), title=f"{name}: recovered hierarchy",
                                    subtitle=_modules_subtitle(score, modules), input_names=inputs,
                                    output_names=outputs),
    }
    if graph is not None:
        drawings["comparison"] = draw_comparison(graph, modules["hierarchy"], len(arch), structure=structure,
                                                 title=f"{name}: true structure vs recovered modules",
                                                 subtitle=_criteria_subtitle(score, modules))
    paths: dict[str, Path] = {}
    notes: list[str] = []
    for key, drawing in drawings.items():
        written, note = save_graph(drawing, Path(out_dir) / key, formats=tuple(formats))
        for path in written:
            paths[f"{key}_{path.suffix.lstrip('.')}"] = path
        if note and note not in notes:
            notes.append(note)
    return paths, notes


def render_run_dir(run_dir, out_dir, formats: Sequence[str] = FORMATS) -> tuple[list[Path], list[str]]:
    """Redraw a saved run (its ``net.npz``, ``modules.json``, ``score.json``, ``graph.fg``) into ``out_dir``.

    Parameters
    ----------
    run_dir : path
        A directory written by :func:`sculpt.run.run`.
    out_dir : path
        Where the drawings go (created; may be ``run_dir`` itself).
    formats : tuple of str

    Returns
    -------
    (written paths, notes)

    Raises
    ------
    SnapshotError
        A missing or unreadable file, named.
    """
    from sculpt.commands._inputs import load_network_argument

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise SnapshotError(f"{run_dir}: not a run directory")
    from sculpt.render.saved_modules import check_modules_payload

    net = load_network_argument(run_dir)
    arch = [int(net.masks[0].shape[1])] + [int(m.shape[0]) for m in net.masks]
    modules = check_modules_payload(_read_json(run_dir / "modules.json"), arch, str(run_dir / "modules.json"),
                                    hierarchy=True)
    config = _check_side_file(_read_optional_json(run_dir / "config.json"), run_dir / "config.json", _CONFIG_FIELDS)
    score = _check_side_file(_read_optional_json(run_dir / "score.json"), run_dir / "score.json", _SCORE_FIELDS)
    graph = _read_graph(run_dir / "graph.fg", name=Path(str(config.get("graph", "graph"))).stem)
    if graph is not None and (graph.n_inputs, graph.n_outputs) != (arch[0], arch[-1]):
        raise SnapshotError(f"{run_dir / 'graph.fg'}: the graph has {graph.n_inputs} inputs and {graph.n_outputs} "
                            f"outputs but the network {arch[0]} and {arch[-1]}")
    paths, notes = draw_run(Path(out_dir), config, net, modules, score, graph=graph, formats=formats)
    return list(paths.values()), notes


def render_network_file(npz, out_dir, formats: Sequence[str] = FORMATS, **detect_options
                        ) -> tuple[list[Path], list[str]]:
    """Draw a saved network (PrunedNet snapshot or plain ``.npz``) with modules detected on the fly.

    Parameters
    ----------
    npz : path
    out_dir : path
    formats : tuple of str
    **detect_options
        Passed to :func:`sculpt.detect.detect_modules`.

    Returns
    -------
    (written paths, notes)
        ``network.*`` and ``hierarchy.*`` in ``out_dir``.
    """
    from sculpt.commands._inputs import load_network_argument
    from sculpt.detect import detect_modules

    net = load_network_argument(npz)
    detection = detect_modules(net.masks, **detect_options)
    kept = sum(int(m.sum()) for m in net.masks)
    total = sum(m.size for m in net.masks)
    paths, notes = draw_run(Path(out_dir), {"graph": Path(npz).name}, net, detection.to_dict(),
                            {"density": kept / total}, formats=formats)
    return list(paths.values()), notes


def _read_json(path: Path) -> Any:
    from sculpt.json_input import read_json_file

    return read_json_file(path, SnapshotError)


def _read_optional_json(path: Path) -> dict:
    """``{}`` for a side file that is absent; anything else there (a FIFO too) is read or refused."""
    return _read_json(path) if os.path.lexists(path) else {}


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _optional_number(value) -> bool:
    return value is None or _number(value)


# What the titles read from config.json and score.json: field -> (check, what it must be).
_CONFIG_FIELDS = {"graph": (lambda v: isinstance(v, str), "a string"), "seed": (_number, "a number")}
_SCORE_FIELDS = {"density": (_optional_number, "a number"),
                 "expected_modules": (_optional_number, "a number"),
                 "chosen": (lambda v: v is None or (isinstance(v, Mapping) and (
                     v.get("p_u") is None or (_number(v.get("p_u")) and _number(v.get("p_e"))))),
                            "an object with numbers p_u and p_e"),
                 "criteria": (lambda v: v is None or isinstance(v, Mapping), "an object")}


def _check_side_file(data, path: Path, fields: Mapping) -> dict:
    if not isinstance(data, Mapping):
        raise SnapshotError(f"{path}: expected a JSON object, got {type(data).__name__}")
    for key, (check, what) in fields.items():
        if key in data and not check(data[key]):
            raise SnapshotError(f"{path}: '{key}' must be {what}, got {str(data[key])[:60]}")
    return dict(data)


def _read_graph(path: Path, name: str):
    """The run's function graph, named after the run's graph setting (``graph.fg`` would name it "graph")."""
    if not os.path.lexists(path):
        return None
    import dataclasses

    from functiongraphs import load

    graph = load(path)
    return dataclasses.replace(graph, name=name)


def _network_subtitle(settings: Mapping, score: Mapping, masks, modules: Mapping) -> str:
    density = score.get("density")
    if density is None:
        density = sum(int(m.sum()) for m in masks) / sum(m.size for m in masks)
    parts = [f"density {100 * density:.2f}%"]
    if "seed" in settings:
        parts.append(f"seed {settings['seed']}")
    chosen = score.get("chosen") or {}
    if chosen.get("p_u") is not None:
        parts.append(f"p_u {chosen['p_u']:g}  p_e {chosen['p_e']:g}")
    found = len(modules.get("modules", []))
    parts.append(f"{found} module{'s' if found != 1 else ''}")
    return "   ".join(parts)


def _modules_subtitle(score: Mapping, modules: Mapping) -> str:
    found = len(modules.get("modules", []))
    expected = score.get("expected_modules")
    text = f"{found} module{'s' if found != 1 else ''} found" + (f", {expected} expected" if expected is not None else "")
    reused = modules.get("hierarchy", {}).get("reused_modules", [])
    if reused:
        text += "; reused: " + ", ".join(f"M{i}" for i in reused)
    return text


def _criteria_subtitle(score: Mapping, modules: Mapping) -> str:
    criteria = score.get("criteria") or {}
    parts = [_modules_subtitle(score, modules)]
    parts += [f"{name}: {'yes' if ok else 'NO'}" for name, ok in criteria.items()]
    return "   ".join(parts)


def check_output_dir(out: Path) -> Path:
    """The ``-o`` of a run-directory / network render must be a directory, not a file name."""
    if out.suffix.lower() in (".svg", ".png", ".pdf", ".gv"):
        raise ConfigError(f"output {out} must be a directory for a run directory or a .npz network "
                          "(several drawings are written)")
    return out
