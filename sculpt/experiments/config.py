"""Experiment files: a TOML grid expanded into trials, each a pure function of its config.

An experiment file looks like this (every key is checked; unknown keys are refused)::

    name = "figure7"                  # names the records and the report
    kind = "sculpt"                   # trial kind: sculpt | analysis | echo
    figure = "fig7"                   # which paper result the report compares with (optional)
    description = "..."               # free text (optional)

    [defaults]                        # settings shared by every trial
    noise = 0.1

    [grid]                            # axes: every combination is crossed with every cell
    seed = [0, 1, 2, 5]

    [[cells]]                         # explicit cells (optional; one empty cell when absent)
    graph = "input-separable"
    arch = [24]
    lr = 0.05
    batch_size = 8
    epochs = 15

A trial's settings are ``defaults``, then the cell, then one combination of the grid axes; a key
may not be given both by a cell and by an axis. Settings are validated and completed by the trial
kind (see :mod:`sculpt.experiments.trial`), so the trial config stored in a record is fully
resolved and the trial id (a hash of it) changes exactly when the computation would.

A user's own graph (``graph = "my.fg"``) is found relative to the experiment file's folder (an
absolute path is kept as it is), and the trial id hashes the file's *content* (with its name),
not its path: editing the graph makes ``--resume`` run its trials again, while moving the files
elsewhere keeps them finished.
"""
from __future__ import annotations

import functools
import hashlib
import itertools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from sculpt.config import closest_name
from sculpt.errors import ConfigError

TOP_LEVEL_KEYS = ("name", "kind", "figure", "description", "defaults", "grid", "cells")
ID_LENGTH = 16


@dataclass(frozen=True)
class Trial:
    """One trial: its kind, its fully resolved settings and the id derived from both.

    Attributes
    ----------
    kind : str
        Trial kind (a key of :data:`sculpt.experiments.trial.TRIAL_KINDS`).
    params : dict
        JSON-ready, fully resolved settings.
    trial_id : str
        :func:`trial_id` of ``(kind, params)``.
    """

    kind: str
    params: dict
    trial_id: str

    def config(self) -> dict:
        """The JSON-ready config stored in records: ``{"kind": ..., **params}``."""
        return {"kind": self.kind, **self.params}


@dataclass(frozen=True)
class Experiment:
    """An expanded experiment file.

    Attributes
    ----------
    name, kind, figure, description : str
    source : str
        The file it was read from (or ``"<dict>"``).
    trials : tuple of Trial
        In file order: cells, then grid combinations in row-major order of the axes as written.
    """

    name: str
    kind: str
    figure: str
    description: str
    source: str
    trials: tuple[Trial, ...]

    def __len__(self) -> int:
        return len(self.trials)


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys: the text a trial id is the hash of."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def trial_id(config: Mapping[str, Any]) -> str:
    """Stable id of a trial config: the first 16 hex digits of SHA-256 of its canonical JSON.

    A ``.fg`` graph enters as ``"<file name>#sha256:<digest of its bytes>"`` instead of its path
    (see :func:`graph_identity`), so the id follows what is computed, not where the file lies.
    """
    config = dict(config)
    graph = config.get("graph")
    if isinstance(graph, str) and graph.endswith(".fg"):
        config["graph"] = graph_identity(graph)
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()[:ID_LENGTH]


def graph_identity(path: str | Path) -> str:
    """``"<name>#sha256:<hex>"`` of a ``.fg`` file: what a trial id hashes in place of its path.

    Raises
    ------
    ConfigError
        The file cannot be read.
    """
    path = Path(path)
    try:
        stat = path.stat()
        digest = _file_digest(str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    except OSError as exc:
        raise ConfigError(f"graph file '{path}': cannot read ({exc.strerror or exc})") from None
    return f"{path.name}#sha256:{digest}"


@functools.lru_cache(maxsize=256)
def _file_digest(path: str, mtime_ns: int, size: int) -> str:
    """SHA-256 of a file, cached per (path, mtime, size): a grid hashes one graph for many trials."""
    from functiongraphs.safe_read import read_regular_bytes

    return hashlib.sha256(read_regular_bytes(path)).hexdigest()  # a FIFO is refused (OSError), not read


def resolve_graph_path(raw: dict, base_dir: Path | None) -> dict:
    """``raw`` with a relative ``.fg`` graph made absolute against ``base_dir`` (the experiment's folder)."""
    graph = raw.get("graph")
    if base_dir is None or not isinstance(graph, str) or not graph.endswith(".fg") or Path(graph).is_absolute():
        return raw
    return {**raw, "graph": os.path.abspath(base_dir / graph)}


def load_experiment(path: str | Path) -> Experiment:
    """Read and expand an experiment TOML file.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    Experiment

    Raises
    ------
    ConfigError
        Unreadable file, invalid TOML, unknown key (named with the file), or a bad setting.
    """
    from sculpt.config import read_settings_file

    path = Path(path)
    document = read_settings_file(path, "experiment")
    return expand_experiment(document, source=str(path), default_name=path.stem, base_dir=path.parent)


def expand_experiment(document: Mapping[str, Any], source: str = "<dict>",
                      default_name: str = "experiment", base_dir: str | Path | None = None) -> Experiment:
    """Expand a parsed experiment document into its trials.

    Parameters
    ----------
    document : mapping
        The parsed TOML (see the module docstring for the schema).
    source : str
        Named in error messages.
    default_name : str
        Used when the document has no ``name``.
    base_dir : path-like, optional
        Folder relative ``.fg`` graph paths are resolved against (:func:`load_experiment` passes
        the experiment file's folder); None leaves them relative to the current directory.

    Returns
    -------
    Experiment
    """
    from sculpt.experiments.trial import trial_kind  # the kinds own their settings

    _reject_unknown_keys(document, TOP_LEVEL_KEYS, f"{source}: unknown key '{{key}}' at top level")
    name = _string(document, "name", default_name, source)
    kind_name = _string(document, "kind", "sculpt", source)
    figure = _string(document, "figure", "", source)
    description = _string(document, "description", "", source)
    kind = trial_kind(kind_name, source)

    defaults = _table(document, "defaults", source)
    grid = _table(document, "grid", source)
    cells = document.get("cells", [{}])
    if not isinstance(cells, list) or not all(isinstance(c, Mapping) for c in cells) or not cells:
        raise ConfigError(f"{source}: 'cells' must be a non-empty array of tables ([[cells]])")
    for axis, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{source}: [grid] axis '{axis}' must be a non-empty list of values")

    known = kind.keys
    _reject_unknown_keys(defaults, known, f"{source}: unknown key '{{key}}' in [defaults] for trial kind '{kind_name}'")
    _reject_unknown_keys(grid, known, f"{source}: unknown key '{{key}}' in [grid] for trial kind '{kind_name}'")
    trials: list[Trial] = []
    seen: dict[str, str] = {}
    axes = list(grid)
    for cell_number, cell in enumerate(cells, start=1):
        where = f"{source}: [[cells]] #{cell_number}"
        _reject_unknown_keys(cell, known, f"{where}: unknown key '{{key}}' for trial kind '{kind_name}'")
        clash = sorted(set(cell) & set(grid))
        if clash:
            raise ConfigError(f"{where}: key '{clash[0]}' is also a [grid] axis; give it in one place only")
        for combo in itertools.product(*(grid[a] for a in axes)):
            raw = resolve_graph_path({**defaults, **cell, **dict(zip(axes, combo))},
                                     None if base_dir is None else Path(base_dir))
            label = where + (" " + ", ".join(f"{a}={v!r}" for a, v in zip(axes, combo)) if axes else "")
            params = kind.resolve(raw, label)
            config = {"kind": kind_name, **params}
            tid = trial_id(config)
            if tid in seen:
                raise ConfigError(f"{label}: the same trial as {seen[tid]} (duplicate settings)")
            seen[tid] = label
            trials.append(Trial(kind_name, params, tid))
    return Experiment(name, kind_name, figure, description, source, tuple(trials))


def _reject_unknown_keys(table: Mapping[str, Any], known, template: str) -> None:
    for key in table:
        if key not in known:
            hint = closest_name(str(key), tuple(known))
            suffix = f"; did you mean '{hint}'?" if hint else f"; valid keys: {', '.join(sorted(known))}"
            raise ConfigError(template.format(key=key) + suffix)


def _string(document: Mapping[str, Any], key: str, default: str, source: str) -> str:
    value = document.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"{source}: '{key}' must be a string, got {value!r}")
    return value


def _table(document: Mapping[str, Any], key: str, source: str) -> dict:
    value = document.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{source}: '{key}' must be a table ([{key}])")
    return dict(value)
