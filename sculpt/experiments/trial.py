"""Trial kinds: how a trial's settings are validated, completed and run.

A trial is a pure function of its config: same config, same record (timings aside). Each kind
declares the settings it accepts (:attr:`TrialKind.keys`), completes them with defaults
(:meth:`TrialKind.resolve`) so the stored config says everything, and runs them
(:meth:`TrialKind.run`), returning the science part of a record:

``metrics``
    accuracies, loss, chosen (p_u, p_e), number of modules...
``densities``
    fraction of weights / units kept.
``network``
    the kept edges (:func:`network_edges`), so reports can draw any trial.
``modules``
    the detection result (``Detection.to_dict()``).
``score``
    ``{criterion name: bool}``: the paper's criteria that apply to the task
    (:func:`sculpt.score.compare`) plus ``inputs_split`` / ``outputs_split``.

``ties`` (``sculpt`` trials whose grid had several equally sparse accepted networks)
    ``{"networks": n, "score": {criterion: how many of the n meet it}}``, the chosen one included.

``spectral`` (``sculpt`` trials with ``spectral = true``; ``shuffles = N``, default 20)
    both views of the pruned network's modularity (:func:`sculpt.spectral.views.two_views`):
    n-cut of the detected modules and of the spectral partition (k = detected modules, and k by
    eigengap), each against the same N ``layer`` shuffles (mean, sd, Z, p, ``modular`` = p < 0.05),
    and each view's ARI with the task's true structure. p cannot go below 1 / (N + 1), so N >= 20
    is needed for p < 0.05 to be possible at all. Without ``spectral = true`` neither key enters
    the trial config, so existing trial ids (and ``--resume``) are unchanged.

Kinds: ``sculpt`` (train, prune on the (p_u, p_e) grid, detect, score: one paper trial),
``analysis`` (the section 2 path-product and N90 analyses of a dense or pruned network),
``dense`` (train the dense network only and record its per-epoch validation accuracy: the
epoch pre-step of Tables 2-3, :mod:`sculpt.experiments.epochs`) and
``echo`` (no science; returns numbers derived from its settings, optionally after sleeping:
used to test grids, records, resume and reports quickly).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
import os
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from sculpt.atomic import write_text_atomic
from sculpt.errors import ConfigError


@dataclass(frozen=True)
class TrialKind:
    """A kind of trial.

    Attributes
    ----------
    name : str
    keys : tuple of str
        Settings it accepts.
    resolve : callable(raw: dict, where: str) -> dict
        Validates ``raw`` (``where`` prefixes error messages) and returns the complete,
        JSON-ready settings.
    run : callable(params: dict, run_dir: Path or None) -> dict
        Runs the trial; returns ``metrics``, ``densities``, ``modules``, ``score`` and
        ``timings`` entries.
    uses_torch : bool
        Whether workers should cap torch to one thread before running it.
    pack_key : callable(params) -> str or None, optional
        Trials with the same (non-None) key can run packed into one stack (:attr:`run_pack`).
    run_pack : callable(params list, run_dir list) -> list of callables, optional
        Runs the shared part of several trials at once and returns, per trial, a callable that
        finishes it and returns what :attr:`run` returns (or raises what :attr:`run` raises), so
        each trial's record is the one it would get alone.
    """

    name: str
    keys: tuple[str, ...]
    resolve: Callable[[dict, str], dict]
    run: Callable[[dict, Path | None], dict]
    uses_torch: bool = False
    pack_key: Callable[[dict], str | None] | None = None
    run_pack: Callable[[list, list], list] | None = None


# ---------------------------------------------------------------------------------------- echo
ECHO_KEYS = ("value", "seed", "sleep", "fail")


def _resolve_echo(raw: dict, where: str) -> dict:
    params = {"value": raw.get("value", 0), "seed": raw.get("seed", 0),
              "sleep": raw.get("sleep", 0.0), "fail": raw.get("fail", False)}
    if isinstance(params["seed"], bool) or not isinstance(params["seed"], int) or params["seed"] < 0:
        raise ConfigError(f"{where}: seed must be a non-negative integer, got {params['seed']!r}")
    sleep = params["sleep"]
    if isinstance(sleep, bool) or not isinstance(sleep, (int, float)) or not 0 <= sleep < math.inf:
        raise ConfigError(f"{where}: sleep must be a number of seconds >= 0, got {sleep!r}")
    params["sleep"] = float(sleep)
    if not isinstance(params["fail"], bool):
        raise ConfigError(f"{where}: fail must be true or false, got {params['fail']!r}")
    if not isinstance(params["value"], (int, float, str, bool)):
        raise ConfigError(f"{where}: value must be a number, string or boolean, got {params['value']!r}")
    return params


def _run_echo(params: dict, run_dir: Path | None) -> dict:
    start = time.perf_counter()
    if params["sleep"]:
        time.sleep(params["sleep"])
    if params["fail"]:
        raise RuntimeError(f"echo trial asked to fail (value={params['value']!r})")
    draw = float(np.random.default_rng(params["seed"]).random())
    if run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomic(run_dir / "echo.txt", f"{params['value']!r} {draw!r}\n")
    value = params["value"]
    return {
        "metrics": {"value": value, "draw": draw},
        "densities": {},
        "modules": None,
        "score": {"echo_positive": bool(isinstance(value, (int, float)) and value > 0)},
        "timings": {"total_s": time.perf_counter() - start},
    }


# ---------------------------------------------------------------------------------------- sculpt
def _run_config_keys() -> tuple[str, ...]:
    from sculpt.config import FIELD_NAMES

    return tuple(FIELD_NAMES)


def _resolve_run_config(raw: dict, where: str, extra: Mapping[str, Any]) -> tuple[dict, dict]:
    """Split ``raw`` into RunConfig settings (resolved) and the kind's extra settings."""
    from sculpt.config import RunConfig

    run_part = {k: v for k, v in raw.items() if k not in extra}
    extra_part = {k: raw.get(k, default) for k, default in extra.items()}
    config = RunConfig.from_dict(run_part, source=where).resolved()
    check_graph(config.graph, where)
    return config.to_dict(), extra_part


def _check_names(where: str, key: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: {key} must be a list of names, got {value!r}")
    return list(value)


SPECTRAL_DEFAULT_SHUFFLES = 20  # p-value floor 1 / 21 = 0.048: the least that can still read p < 0.05


def _resolve_spectral(raw: dict, where: str) -> dict:
    """``spectral`` / ``shuffles`` settings; empty unless ``spectral = true`` (trial ids stay as they were)."""
    spectral, shuffles = raw.get("spectral", False), raw.get("shuffles")
    if not isinstance(spectral, bool):
        raise ConfigError(f"{where}: spectral must be true or false, got {spectral!r}")
    if shuffles is not None and (isinstance(shuffles, bool) or not isinstance(shuffles, int) or shuffles < 1):
        raise ConfigError(f"{where}: shuffles must be a positive integer, got {shuffles!r}")
    if not spectral:
        if shuffles is not None:
            raise ConfigError(f"{where}: shuffles = {shuffles} needs spectral = true")
        return {}
    return {"spectral": True, "shuffles": SPECTRAL_DEFAULT_SHUFFLES if shuffles is None else shuffles}


def _resolve_sculpt(raw: dict, where: str) -> dict:
    params, _ = _resolve_run_config(raw, where, {"spectral": False, "shuffles": None, "device": None})
    params.update(_resolve_spectral(raw, where))
    params.update(_resolve_device(raw, where))
    return params


def _resolve_device(raw: dict, where: str) -> dict:
    """``device = "cuda"`` (any torch device name) for the pruning run; empty when not given, so
    trial ids of CPU runs stay as they were. Whether the device exists is checked when the trial runs."""
    device = raw.get("device")
    if device is None:
        return {}
    if not isinstance(device, str) or not device.strip():
        raise ConfigError(f"{where}: device must be a torch device name such as 'cuda' or 'cpu', got {device!r}")
    return {"device": device.strip()}


def _run_sculpt(params: dict, run_dir: Path | None) -> dict:
    start = time.perf_counter()
    task = build_task(params["graph"], params["noise"])
    net = prune_from_params(task, params)
    return _finish_sculpt(params, task, net, run_dir, {"prune_s": time.perf_counter() - start}, start)


# Settings a packed stack may differ in: each trial has its own seed streams and Adam learning rate.
PACK_FREE_KEYS = ("seed", "lr")


def _sculpt_pack_key(params: dict) -> str | None:
    """Trials of one task, architecture and training schedule share a stack (not MNIST: memory)."""
    from functiongraphs import mnist

    if params["graph"] in mnist.TASKS or params.get("replay") is not None:  # replay: one network at a time
        return None
    from sculpt.experiments.config import canonical_json

    return canonical_json({k: v for k, v in params.items() if k not in PACK_FREE_KEYS})


def _run_sculpt_pack(params_list: list, run_dirs: list) -> list:
    """Prune every trial of a pack in one stack (:func:`sculpt.prune.grid.prune_grids`).

    Returns one callable per trial that detects, scores and saves it (or raises the trial's own
    pruning error): its record is the one the trial gets when it runs alone, timings aside
    (``prune_s`` is the pack's pruning time divided by the number of trials).
    """
    from sculpt.prune.grid import prune_grids, raise_if_failed

    start = time.perf_counter()
    first = params_list[0]
    task = build_task(first["graph"], first["noise"])
    nets = prune_grids(task, full_arch(task, first["arch"]), [p["seed"] for p in params_list],
                       [p["lr"] for p in params_list], **_prune_options(first))
    share = (time.perf_counter() - start) / len(params_list)

    def finisher(params, net, run_dir):
        def finish():
            return _finish_sculpt(params, task, raise_if_failed(net), run_dir,
                                  {"prune_s": share, "packed_trials": len(params_list)}, time.perf_counter() - share)
        return finish

    return [finisher(p, n, d) for p, n, d in zip(params_list, nets, run_dirs)]


def _finish_sculpt(params: dict, task, net, run_dir: Path | None, timings: dict, start: float) -> dict:
    """Detection, scoring and saving of one pruned trial network: the rest of its record."""
    from sculpt.score import compare

    tick = time.perf_counter()
    detection = detect_from_params(net.masks, params)
    timings["detect_s"] = time.perf_counter() - tick

    tick = time.perf_counter()
    # The paper's named criteria that apply to this catalog task, plus graded agreement.
    comparison = compare(detection, task.structure, name=params["graph"], hidden_layers=len(params["arch"]))
    timings["score_s"] = time.perf_counter() - tick
    spectral = None
    if params.get("spectral"):
        tick = time.perf_counter()
        spectral = _spectral_views(net, detection, task, params)
        timings["spectral_s"] = time.perf_counter() - tick
    if run_dir is not None:
        _save_net(net, run_dir)
    timings["total_s"] = time.perf_counter() - start
    score = _score(comparison)
    metrics = _net_metrics(net, detection)
    metrics.update({key: _jsonable(comparison[key]) for key in ("input_ari", "output_ari")})
    return {
        "metrics": metrics,
        "densities": _densities(net),
        "network": network_edges(net.masks),
        "modules": _jsonable(detection.to_dict()),
        "score": score,
        "timings": timings,
        **({"spectral": spectral} if spectral is not None else {}),
        **({"ties": _tie_scores(net.ties, task, params)} if net.ties else {}),
    }


def _score(comparison: dict) -> dict:
    """A record's ``score``: the applicable criteria plus ``inputs_split`` / ``outputs_split``."""
    score = {name: bool(ok) for name, ok in comparison["criteria"].items()}
    score["inputs_split"] = bool(comparison["inputs_split"])
    score["outputs_split"] = bool(comparison["outputs_split"])
    return score


def _tie_scores(ties: list, task, params: dict) -> dict:
    """The record's ``ties``: how many of the equally sparse networks meet each criterion.

    The paper's authors picked among tied sparsest networks by hand (spec 4.4: in the
    non-separable family the kept one always shows the expected structure), so "some tied network
    meets it" is the rate their choice could reach; the record's own ``score`` keeps the fixed rule.
    """
    from sculpt.score import compare

    counts: dict[str, int] = {}
    for masks in ties:
        comparison = compare(detect_from_params(masks, params), task.structure, name=params["graph"],
                             hidden_layers=len(params["arch"]))
        for name, ok in _score(comparison).items():
            counts[name] = counts.get(name, 0) + int(ok)
    return {"networks": len(ties), "score": counts}


def _spectral_views(net, detection, task, params: dict) -> dict:
    """The record's ``spectral`` object (:func:`sculpt.spectral.views.two_views`)."""
    from sculpt.spectral.views import two_views

    detect = lambda masks: detect_from_params(masks, params)  # noqa: E731 - same settings on shuffles
    return _jsonable(two_views(net, detection.modules, task.structure, n_shuffles=params["shuffles"],
                               seed=params["seed"], detect=detect))


def build_task(graph: str, noise: float):
    """The Task of a catalog name, a ``.fg`` path or an MNIST task name.

    MNIST tasks (:data:`functiongraphs.mnist.TASKS`) sample their pairs with the ``paper``
    preset's sizes (800 training pairs per digit combination) from the MNIST cache; they have no
    input noise, so ``noise`` must be 0.
    """
    from functiongraphs import Task, catalog, mnist

    if graph in mnist.TASKS:
        if noise:
            raise ConfigError(f"MNIST task {graph!r} takes no input noise; set noise = 0.0 (got {noise:g})")
        from sculpt import presets

        return presets.get(graph, "paper").build_task()
    if graph.endswith(".fg"):
        from functiongraphs import load  # a user's own graph

        return Task(load(graph), noise=noise)
    return Task(catalog.get(graph), noise=noise)


def check_graph(graph: str, where: str) -> None:
    """Raise :class:`ConfigError` for an unknown catalog name or a missing ``.fg`` file."""
    if graph.endswith(".fg"):
        if not Path(graph).is_file():
            problem = "is not a regular file (a FIFO or a device?)" if os.path.lexists(graph) else "does not exist"
            raise ConfigError(f"{where}: graph file '{graph}' {problem}")
        return
    from functiongraphs import catalog, mnist
    from sculpt.config import closest_name

    if graph in mnist.TASKS:
        return
    known = catalog.names() + list(mnist.TASKS)
    if graph not in known:
        hint = closest_name(graph, known)
        raise ConfigError(f"{where}: unknown graph '{graph}'" + (f"; did you mean '{hint}'?" if hint else
                                                                 "; see `sculpt catalog list`"))


def full_arch(task, hidden: list[int]) -> list[int]:
    """[inputs, *hidden, outputs] for a task."""
    return [task.n_inputs, *hidden, task.n_outputs]


def prune_from_params(task, params: dict):
    """Run :func:`sculpt.prune.prune_grid` with a resolved trial's settings."""
    from sculpt.prune import prune_grid

    return prune_grid(task, full_arch(task, params["arch"]), seed=params["seed"], lr=params["lr"],
                      **_prune_options(params))


def _prune_options(params: dict) -> dict:
    """The :func:`sculpt.prune.prune_grid` keywords of a resolved trial besides task, arch, seed and lr."""
    from sculpt.config import tie_break_rule

    prefer = tie_break_rule(params.get("tie_break", "order"), _detect_options(params))
    return dict(p_u=params["p_u"], p_e=params["p_e"], batch_size=params["batch_size"], epochs=params["epochs"],
                accuracy_threshold=params["accuracy_threshold"], prefer=prefer, progress=False,
                **_replay_options(params), **_mnist_prune_options(params["graph"]),
                **({"device": params["device"]} if params.get("device") else {}))


def _replay_options(params: dict) -> dict:
    """``replay = "paper"`` (and its ``loader_workers``) from an experiment file, else nothing."""
    if params.get("replay") is None:
        return {}
    return {"replay": params["replay"], "loader_workers": int(params.get("loader_workers", 2))}


def _mnist_prune_options(graph: str) -> dict:
    """The ``paper`` preset's engine options for an MNIST task (batched unit scores, condensed retraining)."""
    from functiongraphs import mnist

    if graph not in mnist.TASKS:
        return {}
    from sculpt import presets

    options = presets.get(graph, "paper").prune_options()
    return {k: options[k] for k in ("unit_score_batch_size", "condense")}


def detect_from_params(masks, params: dict):
    """Run :func:`sculpt.detect.detect_modules` with a resolved trial's detection settings."""
    from sculpt.detect import detect_modules

    return detect_modules(masks, **_detect_options(params))


def _detect_options(params: dict) -> dict:
    """Detection thresholds and step sizes of a resolved trial."""
    options = {"modularity_threshold": params["modularity_threshold"],
               "merge_threshold": params["merge_threshold"]}
    for key in ("feature_step_size", "clusterability_step_size"):
        if params.get(key) is not None:
            options[key] = params[key]
    return options


# meta entries that only repeat the trial config
_CONFIG_ECHO = {"arch", "grid_p_u", "grid_p_e", "task", "seed", "lr", "batch_size", "epochs", "noise",
                "accuracy_threshold"}


def _net_metrics(net, detection) -> dict:
    meta = _jsonable(dict(getattr(net, "meta", {}) or {}))
    metrics = {key: meta[key] for key in sorted(meta) if key not in _CONFIG_ECHO}
    history = getattr(net, "history", None)
    grid = history.get("grid") if isinstance(history, dict) else None
    if grid:
        # Density of every (p_u, p_e) member, in grid order: which rates win ("p_u > 40 usually").
        metrics["grid_density"] = [_jsonable(g.get("density")) for g in grid]
        metrics["grid_accepted"] = [bool(g.get("accepted")) for g in grid]
    metrics["num_modules"] = len(detection.modules)
    metrics["k_per_layer"] = _jsonable(list(detection.k_per_layer))
    return metrics


def network_edges(masks) -> dict:
    """The kept edges of a pruned network, small enough for a record: arch + [out, in] pairs per layer."""
    masks = [np.asarray(m, dtype=bool) for m in masks]
    return {"arch": [int(masks[0].shape[1])] + [int(m.shape[0]) for m in masks],
            "edges": [np.argwhere(m).tolist() for m in masks]}


def masks_from_edges(network: Mapping[str, Any]) -> list[np.ndarray]:
    """Inverse of :func:`network_edges`: the boolean masks (out x in) per layer."""
    arch = network["arch"]
    masks = []
    for layer, pairs in enumerate(network["edges"]):
        mask = np.zeros((arch[layer + 1], arch[layer]), dtype=bool)
        if pairs:
            rows, cols = zip(*pairs)
            mask[list(rows), list(cols)] = True
        masks.append(mask)
    return masks


def _densities(net) -> dict:
    masks = [np.asarray(m, dtype=bool) for m in net.masks]
    kept = sum(int(m.sum()) for m in masks)
    total = sum(m.size for m in masks)
    # A hidden unit survives when it has both an incoming and an outgoing edge.
    alive = [int((masks[i].any(axis=1) & masks[i + 1].any(axis=0)).sum()) for i in range(len(masks) - 1)]
    return {"weights": kept / total, "edges_kept": kept, "edges_total": total,
            "hidden_units_alive": alive}


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def _jsonable(value: Any) -> Any:
    """numpy scalars/arrays and tuples turned into plain JSON types (NaN/inf become None)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value) if isinstance(value, (set, frozenset)) else value
        return [_jsonable(v) for v in items]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# ---------------------------------------------------------------------------------------- analysis
ANALYSIS_STAGES = ("dense", "edge", "unit_edge")  # edge: the edge-only pipeline (spec 4.3)
ANALYSES = ("path_products", "n90")


def _resolve_analysis(raw: dict, where: str) -> dict:
    params, extra = _resolve_run_config(raw, where, {"stage": "unit_edge", "analyses": list(ANALYSES)})
    if extra["stage"] not in ANALYSIS_STAGES:
        raise ConfigError(f"{where}: stage must be one of {', '.join(ANALYSIS_STAGES)}, got {extra['stage']!r}")
    analyses = _check_names(where, "analyses", extra["analyses"])
    for name in analyses:
        if name not in ANALYSES:
            raise ConfigError(f"{where}: unknown analysis '{name}'; known: {', '.join(ANALYSES)}")
    params["stage"] = extra["stage"]
    params["analyses"] = analyses
    return params


def _run_analysis(params: dict, run_dir: Path | None) -> dict:
    from sculpt import analysis

    timings: dict[str, float] = {}
    start = time.perf_counter()
    task = build_task(params["graph"], params["noise"])
    weights, masks, meta = _network_for_stage(task, params, run_dir)
    timings["train_s"] = time.perf_counter() - start
    metrics: dict[str, Any] = {key: meta[key] for key in sorted(meta) if _is_scalar(meta[key])}
    if "path_products" in params["analyses"]:
        supports = analysis.output_supports(task.validation.X, task.validation.Y)
        result = analysis.separability_test(weights, analysis.subfunctions_from_supports(supports))
        metrics["path_products"] = _jsonable(result.to_dict())
    if "n90" in params["analyses"]:
        metrics["n90"] = _jsonable(analysis.n90_per_layer(weights))
    timings["total_s"] = time.perf_counter() - start
    kept = sum(int(np.count_nonzero(m)) for m in masks)
    total = sum(np.asarray(m).size for m in masks)
    return {"metrics": metrics, "densities": {"weights": kept / total}, "modules": None,
            "score": {}, "timings": timings}


def _network_for_stage(task, params: dict, run_dir: Path | None):
    """Weights (numpy, zero where pruned), masks and meta of the requested stage's network."""
    if params["stage"] == "dense":
        net = train_dense(task, params)
    elif params["stage"] == "edge":
        net = prune_from_params(task, dict(params, p_u=None))
    else:
        net = prune_from_params(task, params)
    if run_dir is not None:
        _save_net(net, run_dir)
    weights = [np.asarray(w, dtype=np.float64) for w in net.weights]
    masks = [np.asarray(m, dtype=bool) for m in net.masks]
    return [w * m for w, m in zip(weights, masks)], masks, _jsonable(dict(getattr(net, "meta", {}) or {}))


def train_dense(task, params: dict):
    """The dense network of a trial's settings (trained, unpruned) as a PrunedNet."""
    import torch

    from sculpt.nets import MaskedMLP
    from sculpt.train import train

    model = MaskedMLP(full_arch(task, params["arch"]), seed=params["seed"])
    generator = torch.Generator().manual_seed(params["seed"])
    result = train(model, task, lr=params["lr"], batch_size=params["batch_size"], epochs=params["epochs"],
                   generator=generator)
    meta = {"stage": "dense", "seed": params["seed"], "accuracy": float(result.accuracy[0]),
            "best_epoch": int(result.best_epoch[0])}
    return model.to_pruned_net(0, meta=meta)


def _save_net(net, run_dir: Path) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    net.save(run_dir / "net")


# ---------------------------------------------------------------------------------------- dense
# The settings a dense training depends on; pruning and detection settings do not enter its id.
DENSE_KEYS = ("graph", "arch", "seed", "lr", "batch_size", "epochs", "noise", "accuracy_threshold")


def _resolve_dense(raw: dict, where: str) -> dict:
    params, _ = _resolve_run_config({k: v for k, v in raw.items() if k in DENSE_KEYS}, where, {})
    return {k: params[k] for k in DENSE_KEYS}


def _run_dense(params: dict, run_dir: Path | None) -> dict:
    """Train the dense network exactly as :func:`sculpt.prune.prune_grid` trains its first one
    (same init seed, same derived data-order stream), and record every epoch's validation accuracy.

    ``first_epoch_at_threshold`` is the first epoch (1-based) whose validation accuracy reaches
    ``accuracy_threshold``, or None. The learning rate is constant and each epoch's draws do not
    depend on the total, so the first E epochs of this run are the run with ``epochs = E``
    (tests/test_epochs.py checks both).
    """
    import torch

    from sculpt.nets import MaskedMLP
    from sculpt.prune.grid import _derived_seed
    from sculpt.train import train

    start = time.perf_counter()
    task = build_task(params["graph"], params["noise"])
    model = MaskedMLP(full_arch(task, params["arch"]), members=1, seed=int(params["seed"]))
    generator = torch.Generator().manual_seed(_derived_seed(params["seed"], 1))
    result = train(model, task, lr=params["lr"], batch_size=params["batch_size"], epochs=params["epochs"],
                   generator=generator)
    curve = [float(a) for a in np.asarray(result.curves["val_accuracy"])[:, 0]]
    reached = [e + 1 for e, a in enumerate(curve) if a >= params["accuracy_threshold"]]
    if run_dir is not None:
        _save_net(model.to_pruned_net(0, meta={"stage": "dense", "seed": params["seed"]}), run_dir)
    return {
        "metrics": {"val_accuracy_curve": _jsonable(curve), "first_epoch_at_threshold": reached[0] if reached else None,
                    "validation_accuracy": float(result.val_accuracy[0]), "best_epoch": int(result.best_epoch[0])},
        "densities": {"weights": 1.0},
        "modules": None,
        "score": {},
        "timings": {"total_s": time.perf_counter() - start},
    }


# ---------------------------------------------------------------------------------------- registry
def _analysis_keys() -> tuple[str, ...]:
    return _run_config_keys() + ("stage", "analyses")


def _sculpt_keys() -> tuple[str, ...]:
    return _run_config_keys() + ("spectral", "shuffles", "device")


def trial_kind(name: str, source: str = "experiment") -> TrialKind:
    """The :class:`TrialKind` called ``name``.

    Raises
    ------
    ConfigError
        Unknown kind (the message lists the known ones).
    """
    if name == "echo":
        return TrialKind("echo", ECHO_KEYS, _resolve_echo, _run_echo)
    if name == "sculpt":
        return TrialKind("sculpt", _sculpt_keys(), _resolve_sculpt, _run_sculpt, uses_torch=True,
                         pack_key=_sculpt_pack_key, run_pack=_run_sculpt_pack)
    if name == "analysis":
        return TrialKind("analysis", _analysis_keys(), _resolve_analysis, _run_analysis, uses_torch=True)
    if name == "dense":
        return TrialKind("dense", _sculpt_keys(), _resolve_dense, _run_dense, uses_torch=True)
    raise ConfigError(f"{source}: unknown trial kind '{name}'; known kinds: {', '.join(TRIAL_KINDS)}")


TRIAL_KINDS = ("sculpt", "analysis", "dense", "echo")


