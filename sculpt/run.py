"""One call from a function graph to a trained, pruned, detected, scored and drawn network.

:func:`run` is what ``sculpt run`` does. Pipeline: resolve the :class:`~sculpt.config.RunConfig`
-> build the :class:`~functiongraphs.Task` -> :func:`sculpt.prune.prune_grid` (one p_u and one p_e
value is a single trial through the same call) -> :func:`sculpt.detect.detect_modules` ->
:func:`sculpt.score.compare` against the task's true structure -> :func:`sculpt.spectral.summary`
(k = number of detected modules) -> drawings.

The run directory
-----------------
Everything is written into a fresh hidden sibling (``.<out>.XXXXXXXX.partial/``, a name no user
owns) and renamed to ``<out>`` at the end, so a directory named ``<out>`` is always a finished
run; an interrupted (Ctrl-C, SIGTERM) or failed run removes its partial directory and nothing
else. ``force`` moves an old ``<out>`` aside under another fresh name and removes it only once
the new run is in place. One writer per ``<out>``: a lock ``.<out>.lock`` beside it refuses a
second run at once (:mod:`sculpt.locks`). Files (nothing pickled):

``config.json``     the resolved config (``sculpt run --config config.json`` repeats the run)
``net.npz``         the kept network (:meth:`sculpt.nets.PrunedNet.save`), ``net.json`` its header
``history.json``    pruning rounds and the grid summary
``modules.json``    :meth:`sculpt.detect.Detection.to_dict`
``hierarchy.json``  :meth:`sculpt.detect.Hierarchy.to_dict`
``score.json``      :func:`sculpt.score.compare` + ``spectral`` + density / module counts
``graph.fg``        the function graph (when the task has one), ``structure.json`` its true structure
``provenance.json`` versions of sculpt, torch and numpy, git commit, command line, time
``network.*``, ``hierarchy.*``, ``comparison.*``   drawings: ``.gv`` always, ``.svg``/``.png`` with dot
``drawing-failed.txt``  only when drawing failed (e.g. graphviz on a huge graph): the run is kept,
                    the error is here and in the summary; redraw with ``sculpt render``

Rerunning the kept (p_u, p_e) alone
-----------------------------------
``sculpt run --p-u X --p-e Y`` with the grid's kept rates does not in general give the grid's
kept network: every member of a stack draws its batches and noise from one shared generator (one
slice per member, see :mod:`sculpt.prune.grid`), and stopped members keep the stack running,
so a member's stream depends on how many members the stack holds and how long they run. The kept
network is reproduced bit for bit by rerunning the same grid (``--config RUN/config.json``).
"""
from __future__ import annotations

import dataclasses
import datetime
import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sculpt.config import RunConfig, closest_name, tie_break_rule
from sculpt.errors import ConfigError, OutputError

log = logging.getLogger(__name__)

SPECTRAL_SHUFFLES = 20
DRAWING_FAILED = "drawing-failed.txt"
# What a finished run directory holds (drawings aside): `sculpt detect` never rewrites these.
RUN_FILES = ("config.json", "net.npz", "net.json", "history.json", "modules.json", "hierarchy.json",
             "score.json", "graph.fg", "structure.json", "provenance.json", DRAWING_FAILED)
# Module counts a perfect detection gives on the paper's validation graphs (spec 5.8 criteria).
EXPECTED_MODULES = {"input-separable": 2, "non-modular": 1, "reused": 3}


@dataclass
class RunResult:
    """What :func:`run` produced.

    Attributes
    ----------
    config : RunConfig
        The resolved settings (as saved in ``config.json``).
    task : functiongraphs.Task
    net : sculpt.nets.PrunedNet
    detection : sculpt.detect.Detection
    score : dict
        As saved in ``score.json``.
    paths : dict of str -> Path
        ``run_dir`` and every file written, by name (``config``, ``net``, ``network_png``...).
    notes : list of str
        One-line notes (e.g. graphviz missing).
    """

    config: RunConfig
    task: Any
    net: Any
    detection: Any
    score: dict
    paths: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def run_dir(self) -> Path | None:
        return self.paths.get("run_dir")

    def __repr__(self) -> str:
        # a short summary: the dataclass default would print every weight matrix of the network
        return (f"RunResult(task={getattr(self.task, 'name', None)!r}, net={self.net!r}, "
                f"detection={self.detection!r}, run_dir={str(self.run_dir) if self.run_dir else None!r})")

    def summary(self) -> str:
        """A short human summary: density, surviving units, modules, success, files."""
        return format_summary(self.config, self.score, self.detection, self.paths, self.notes)


def run(graph, *, arch=None, seed=None, lr=None, batch_size=None, epochs=None, p_u=None, p_e=None,
        modularity_threshold=None, merge_threshold=None, tie_break=None, out=None, force: bool = False,
        progress: bool = True, config=None, spectral: bool = True, prune_options=None, replay=None,
        loader_workers=None, shuffles: int = SPECTRAL_SHUFFLES) -> RunResult:
    """Train, prune, detect, score and draw one task; write a run directory.

    Parameters
    ----------
    graph : str, path, FunctionGraph or Task, or None
        A catalog name, a ``.fg`` path, a :class:`functiongraphs.FunctionGraph` or a ready
        :class:`functiongraphs.Task` (e.g. an MNIST composite). None takes the graph from
        ``config``.
    arch : list of int, optional
        Hidden widths (default two layers of 24).
    seed : int, optional
        Default 0.
    lr, batch_size, epochs : optional
        Training settings (default: the graph's entry in :data:`sculpt.config.TRAINING_DEFAULTS`).
    p_u, p_e : float or list of float, optional
        Pruning rates; one value each is a single trial, lists are the grid (default: the paper's).
    modularity_threshold, merge_threshold : float, optional
        Detection thresholds (default -0.2 and 0.9).
    tie_break : {"order", "fewest-modules"}, optional
        Choice among equally sparse networks (default "order"); see :class:`RunConfig`.
    replay, loader_workers : optional
        ``replay="paper"`` replays the paper's own code (with ``loader_workers`` DataLoader
        workers, default 2); see :class:`RunConfig`.
    out : path, optional
        Run directory (default ``runs/<graph>-<YYYYmmdd-HHMMSS>``).
    force : bool
        Replace an existing ``out``; without it an existing ``out`` is refused.
    progress : bool
        Progress bar and step messages on stderr.
    config : RunConfig, mapping or path, optional
        Base settings (e.g. a saved ``config.json`` or a TOML file); the keyword arguments above
        override it when given (not None).
    spectral : bool
        Also compute the spectral n-cut clusterability (``score["spectral"]``).
    shuffles : int
        Layer shuffles of the spectral null model (default 20). The p-value cannot go below
        1 / (shuffles + 1): 0.048 at 20, 0.0196 at 50 (the paper's tables), 0.0099 at 100.
    prune_options : dict, optional
        Extra keywords of :func:`sculpt.prune.prune_grid` (e.g. an MNIST preset's
        ``dense_epochs``, ``min_step``, ``max_rounds``, ``unit_score_batch_size``); recorded in the
        network's meta (``net.json``), not in ``config.json``.

    Returns
    -------
    RunResult

    Raises
    ------
    ConfigError
        Bad settings, an unknown catalog name (with the closest suggested), an existing ``out``.
    """
    if isinstance(shuffles, bool) or not isinstance(shuffles, int) or shuffles < 1:
        raise ConfigError(f"shuffles={shuffles!r}: expected a positive integer (number of layer shuffles)")
    overrides = {"arch": arch, "seed": seed, "lr": lr, "batch_size": batch_size, "epochs": epochs,
                 "p_u": p_u, "p_e": p_e, "modularity_threshold": modularity_threshold,
                 "merge_threshold": merge_threshold, "tie_break": tie_break, "replay": replay,
                 "loader_workers": loader_workers}
    base = _base_config(config, graph)
    graph_object, catalog_name = _graph_source(graph if graph is not None else base.graph)
    task = _as_task(graph if graph is not None else base.graph, graph_object, base.noise)
    if graph is not None:
        base = dataclasses.replace(base, graph=_graph_setting(graph, task))
    cfg = base.with_overrides(**overrides).resolved(catalog_name)
    run_dir = _choose_out(out, cfg)
    _check_out(run_dir, force)
    if graph_object is not None and catalog_name is None and not str(cfg.graph).endswith(".fg"):
        # A graph built in Python: config.json points at the copy this run saves, so
        # `sculpt run --config RUN_DIR/config.json` can repeat it.
        cfg = dataclasses.replace(cfg, graph=str(run_dir / "graph.fg"))

    from sculpt.locks import exclusive_output

    with exclusive_output(run_dir.with_name(f".{run_dir.name}.lock"), run_dir):
        _check_out(run_dir, force)  # again, now that no other run can be finishing it
        partial = _make_partial(run_dir)
        log.debug("config %s; writing into %s", cfg.to_dict(), partial)
        try:
            # `spectral` carries the number of shuffles into the run (0 = no spectral score).
            result = _run_into(partial, cfg, task, graph_object, catalog_name, progress,
                               shuffles if spectral else 0, dict(prune_options or {}))
            _finish(partial, run_dir, force)
        except OutputError as exc:  # name the file the user will look for, not the partial one
            shutil.rmtree(partial, ignore_errors=True)
            raise OutputError(str(exc).replace(str(partial), str(run_dir))) from None
        except BaseException:  # KeyboardInterrupt / SIGTERM included: never leave a half-written run
            shutil.rmtree(partial, ignore_errors=True)
            raise
    result.paths = {key: run_dir / path.relative_to(partial) for key, path in result.paths.items()}
    result.paths["run_dir"] = run_dir
    return result


def is_run_dir(path) -> bool:
    """Whether ``path`` is a finished ``sculpt run`` directory (config, network, modules, score)."""
    path = Path(path)
    return all((path / name).is_file() for name in ("config.json", "net.npz", "modules.json", "score.json"))


# ------------------------------------------------------------------------------------ config
def _base_config(config, graph) -> RunConfig:
    """The config the keyword arguments override: given, read from a file, or the defaults."""
    default_graph = graph if isinstance(graph, str) else (None if graph is None else "graph")
    if isinstance(graph, Path):
        default_graph = str(graph)
    if config is None:
        if graph is None:
            raise ConfigError("run needs a graph (a catalog name, a .fg file, a FunctionGraph or a Task)")
        return RunConfig(graph=default_graph)
    if isinstance(config, RunConfig):
        return config
    if isinstance(config, dict):
        data = dict(config)
        if default_graph is not None:
            data.setdefault("graph", default_graph)
        return RunConfig.from_dict(data)
    return RunConfig.from_file(config, graph=default_graph)


def _graph_source(graph):
    """(FunctionGraph or None, catalog name or None) of the graph argument.

    Raises ConfigError for an unknown catalog name (closest suggested) or a missing ``.fg`` file.
    """
    from functiongraphs import FunctionGraph, Task, catalog, load

    if isinstance(graph, Task):
        name = graph.name if graph.name in catalog.names() else None
        return graph.graph, name
    if isinstance(graph, FunctionGraph):
        name = graph.name if graph.name in catalog.names() else None
        return graph, name
    text = str(graph)
    if text.endswith(".fg") or Path(text).is_file():
        if not Path(text).is_file():
            raise ConfigError(f"graph file '{text}' does not exist")
        return load(text), None
    known = catalog.names()
    if text not in known:
        hint = closest_name(text, known)
        raise ConfigError(f"unknown graph '{text}'" + (f"; did you mean '{hint}'?" if hint
                                                      else "; see `sculpt catalog list`"))
    return catalog.get(text), text


def _as_task(graph, graph_object, noise: float):
    from functiongraphs import Task

    if isinstance(graph, Task):
        return graph
    return Task(graph_object, noise=noise)


def _graph_setting(graph, task) -> str:
    """What config.json records as ``graph``: the name or path a later run can start from."""
    from functiongraphs import FunctionGraph, Task

    if isinstance(graph, Task):
        return task.name
    if isinstance(graph, FunctionGraph):
        return graph.name or "graph"
    return str(graph)


# ------------------------------------------------------------------------------------ output dir
def _slug(text: str) -> str:
    stem = Path(text).stem if text.endswith(".fg") else text
    return re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-") or "run"


def _choose_out(out, cfg: RunConfig) -> Path:
    if out is not None:
        return Path(out)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{_slug(cfg.graph)}-{stamp}"


def _check_out(run_dir: Path, force: bool) -> None:
    if run_dir.exists() and not force:
        raise ConfigError(f"output directory {run_dir} already exists; use --force to replace it")
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"output {run_dir} exists and is not a directory")


def _fresh_sibling(run_dir: Path, suffix: str) -> Path:
    """A new, empty, hidden directory beside ``run_dir`` whose name no user owns, mode per umask."""
    from sculpt.atomic import current_umask, output_error

    try:
        run_dir.parent.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(prefix=f".{run_dir.name}.", suffix=suffix, dir=run_dir.parent))
    except OSError as exc:
        raise output_error(run_dir, exc) from None
    os.chmod(path, 0o777 & ~current_umask())  # mkdtemp makes 0700; a run dir is as readable as any
    return path


def _make_partial(run_dir: Path) -> Path:
    return _fresh_sibling(run_dir, ".partial")


def _finish(partial: Path, run_dir: Path, force: bool) -> None:
    """Move the finished run into place; an old run (``force``) is removed only afterwards.

    The old run is first moved into a fresh hidden directory of ours, so nothing the user owns
    (an ``OUT.old`` of theirs, say) is ever touched; if the new run cannot be moved in, the old
    one is put back.
    """
    holder = None
    if run_dir.exists():
        if not force:
            raise ConfigError(f"output directory {run_dir} already exists; use --force to replace it")
        holder = _fresh_sibling(run_dir, ".old")
        run_dir.rename(holder / run_dir.name)
    try:
        partial.rename(run_dir)
    except BaseException:
        if holder is not None:
            (holder / run_dir.name).rename(run_dir)
            holder.rmdir()
        raise
    if holder is not None:
        shutil.rmtree(holder, ignore_errors=True)


# ------------------------------------------------------------------------------------ pipeline
def _say(progress: bool, message: str) -> None:
    """A step message on the ``sculpt`` logger (the CLI shows INFO on stderr; ``-q`` hides it)."""
    if progress:
        log.info(message)


def _run_into(run_dir: Path, cfg: RunConfig, task, graph_object, catalog_name, progress: bool,
              spectral: int, prune_options: dict) -> RunResult:
    from sculpt.detect import detect_modules
    from sculpt.prune import prune_grid

    from sculpt.provenance import provenance

    paths: dict[str, Path] = {"config": cfg.save(run_dir / "config.json"),
                              "provenance": write_json(run_dir / "provenance.json", provenance())}
    if graph_object is not None:
        paths.update(write_graph_files(run_dir, graph_object, task.structure))

    arch = [task.n_inputs, *cfg.arch, task.n_outputs]
    _say(progress, f"training and pruning {cfg.graph} {arch}: {len(cfg.p_u)} x {len(cfg.p_e)} (p_u, p_e)")
    net = prune_grid(task, arch, seed=cfg.seed, p_u=cfg.p_u, p_e=cfg.p_e, lr=cfg.lr,
                     batch_size=cfg.batch_size, epochs=cfg.epochs,
                     accuracy_threshold=cfg.accuracy_threshold,
                     prefer=tie_break_rule(cfg.tie_break, cfg.detect_options()), progress=progress,
                     **cfg.prune_options(), **prune_options)
    paths["net"] = net.save(run_dir / "net")
    paths["net_header"] = run_dir / "net.json"
    paths["history"] = write_json(run_dir / "history.json", net.history)

    _say(progress, "detecting modules")
    detection = detect_modules(net, **cfg.detect_options())
    paths["modules"] = write_json(run_dir / "modules.json", detection.to_dict())
    paths["hierarchy"] = write_json(run_dir / "hierarchy.json", detection.hierarchy.to_dict())

    score = score_run(detection, task, net, cfg, catalog_name)
    if spectral:
        _say(progress, f"spectral clusterability (k = {max(2, detection.num_modules)}, "
                       f"{spectral} shuffles)")
        score["spectral"] = spectral_score(net, detection, cfg.seed, spectral)
    paths["score"] = write_json(run_dir / "score.json", score)

    _say(progress, "drawing")
    drawn, notes = _draw_or_note(run_dir, cfg, net, detection, score, graph_object, task.structure)
    paths.update(drawn)
    return RunResult(config=cfg, task=task, net=net, detection=detection, score=score, paths=paths,
                     notes=notes)


def _draw_or_note(run_dir: Path, cfg, net, detection, score, graph_object, structure):
    """The drawings; if they fail, the finished training is kept and the failure noted.

    Drawing is the last and least valuable step (graphviz can fail or run out of memory on a
    large network): losing minutes of training to it would be wrong. The error goes into
    ``drawing-failed.txt``, the summary's notes and a warning on the ``sculpt`` logger.
    """
    from sculpt.render.files import draw_run

    try:
        return draw_run(run_dir, cfg, net, detection.to_dict(), score, graph_object, structure)
    except Exception as exc:  # noqa: BLE001 - any drawing failure; the run's data is already written
        # paths inside the temporary run directory mean nothing to the user: name the file only
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0].replace(f"{run_dir}{os.sep}", "")
        note = (f"drawing failed ({reason}); the run is kept without (all) drawings: "
                f"redraw with `sculpt render RUN_DIR -o DIR`")
        log.warning(note)
        paths: dict[str, Path] = {}
        try:
            from sculpt.atomic import write_text_atomic

            paths["drawing_failed"] = write_text_atomic(run_dir / DRAWING_FAILED, note + "\n")
        except OSError:
            pass  # e.g. the disk is full: the note in the summary still says it
        return paths, [note]


def write_json(path: Path, payload) -> Path:
    """Write ``payload`` as indented JSON via a temporary name; returns ``path``."""
    from sculpt.atomic import write_json_atomic

    return write_json_atomic(path, _jsonable(payload))


def write_graph_files(run_dir: Path, graph, structure) -> dict[str, Path]:
    """``graph.fg`` (the task's function graph) and ``structure.json`` (its true structure)."""
    from functiongraphs import format as format_graph

    from sculpt.atomic import write_text_atomic

    target = write_text_atomic(run_dir / "graph.fg", format_graph(graph))
    paths = {"graph": target}
    if structure is not None:
        paths["structure"] = write_json(run_dir / "structure.json", structure.to_dict())
    return paths


def expected_module_count(name: str | None, structure, hidden_layers: int) -> int | None:
    """Modules a perfect detection finds, where the paper's criteria fix the number."""
    if name is None:
        return None
    if name in EXPECTED_MODULES:
        return EXPECTED_MODULES[name]
    if name.startswith("reuse-use"):
        return 3
    if name.startswith("hierarchical"):
        return 3 if hidden_layers <= 2 else 5
    return None


def input_modules(detection) -> list[int]:
    """Distinct module ids holding the surviving input units."""
    record = detection.layers[0]
    return sorted(set(int(m) for m in record.labels_after_merge))


def score_run(detection, task, net, cfg: RunConfig, catalog_name: str | None) -> dict:
    """score.json: the comparison with the true structure plus the numbers the summary prints."""
    from sculpt.score import compare

    structure = task.structure
    hidden = len(cfg.arch)
    expected = expected_module_count(catalog_name, structure, hidden) if structure is not None else None
    score: dict[str, Any] = {"graph": cfg.graph, "catalog_name": catalog_name}
    if structure is not None:
        # MNIST composites are not catalog graphs but have named criteria of their own
        score.update(compare(detection, structure, name=catalog_name or task.name, hidden_layers=hidden,
                             expected_modules=expected))
        score["expected_input_modules"] = len(structure.input_groups)
    else:
        score.update({"num_modules": detection.num_modules, "expected_modules": None, "criteria": {}})
    score["input_modules"] = input_modules(detection)
    score["success"] = bool(score["criteria"]) and all(score["criteria"].values())
    score["density"] = float(net.density)
    score["kept_weights"] = int(net.kept_weights)
    score["total_weights"] = int(net.n_weights)
    score["arch"] = [int(a) for a in net.arch]
    score["surviving_units"] = [len(u) for u in detection.surviving_units]
    meta = net.meta or {}
    score["chosen"] = {"p_u": meta.get("p_u"), "p_e": meta.get("p_e")}
    score["accuracy"] = meta.get("accuracy")
    return score


def spectral_score(net, detection, seed: int, n_shuffles: int = SPECTRAL_SHUFFLES) -> dict:
    """Spectral n-cut clusterability with k = number of detected modules (at least 2)."""
    from sculpt.spectral import summary

    k = max(2, detection.num_modules)
    try:
        return summary(net, k=k, n_shuffles=n_shuffles, seed=seed, modules=detection.modules)
    except ConfigError as exc:  # e.g. fewer weight-graph nodes than k: report, do not fail the run
        return {"skipped": str(exc)}


def format_summary(cfg: RunConfig, score: dict, detection, paths: dict, notes: list[str]) -> str:
    """The human summary :meth:`RunResult.summary` returns (also used by ``sculpt run``)."""
    arch = score.get("arch", [])
    lines = [f"{cfg.graph}  arch {arch}  seed {cfg.seed}  "
             f"(p_u {_fmt(score['chosen']['p_u'])}, p_e {_fmt(score['chosen']['p_e'])} kept)",
             f"density        {100 * score['density']:.2f}%  ({score['kept_weights']} of "
             f"{score['total_weights']} weights)"]
    accuracy = score.get("accuracy") or {}
    if accuracy:
        shown = ", ".join(f"{kind} {value:.2f}%" for kind, value in accuracy.items()
                          if kind in ("row", "bit", "block") and value is not None)
        lines.append(f"accuracy       {shown}  (test split; per row, per bit, per one-hot block)")
    units = [f"{n}/{w}" for n, w in zip(score["surviving_units"], arch)]
    lines.append(f"units kept     {' '.join(units)}  (per layer, inputs first)")
    expected = score.get("expected_modules")
    lines.append(f"modules        {score['num_modules']} found"
                 + (f", {expected} expected" if expected is not None else ""))
    if "expected_input_modules" in score:
        groups = score["expected_input_modules"]
        lines.append(f"input modules  {len(score['input_modules'])} found, "
                     f"{groups} input group{'s' if groups != 1 else ''} in the task")
    for name, ok in score.get("criteria", {}).items():
        lines.append(f"success        {name}: {'yes' if ok else 'NO'}")
    if "input_ari" in score:
        lines.append(f"agreement      inputs ARI {score['input_ari']:.2f}, outputs ARI "
                     f"{score['output_ari']:.2f} by function, {score['output_support_ari']:.2f} by input support")
    spectral = score.get("spectral")
    if spectral and "ncut" in spectral:
        lines.append(f"spectral       n-cut {_fmt(spectral['ncut'], '.3f')} (k={spectral.get('k')}), "
                     f"shuffled {_fmt(spectral.get('shuffle_mean'), '.3f')}, p = {_fmt(spectral.get('p'), '.3g')}")
    if paths.get("run_dir") is not None:
        run_dir = paths["run_dir"]
        pictures = [p.name for key, p in paths.items() if key.endswith("_png")]
        lines.append(f"files          {run_dir}/  (config.json, net.npz, modules.json, hierarchy.json, "
                     f"score.json{', ' + ', '.join(pictures) if pictures else ''})")
    lines.extend(notes)
    return "\n".join(lines)


def _fmt(value, spec: str = "g") -> str:
    return "?" if value is None else format(value, spec)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
