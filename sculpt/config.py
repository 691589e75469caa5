"""The resolved settings of one ``sculpt run``: a frozen dataclass read from TOML / JSON and written as JSON.

Training defaults per catalog graph
-----------------------------------
The paper tuned learning rate, batch size and epochs per (graph, architecture) so that every seed of
the dense network reaches 100 % validation accuracy (spec section 2.6). We do not read the paper's
files at run time; instead :data:`TRAINING_DEFAULTS` holds values that work for the four validation
graphs at the default architecture (two hidden layers of width 24), and :data:`GENERIC_TRAINING`
is used for every other graph:

==================  =====  ==========  ======
graph               lr     batch size  epochs
==================  =====  ==========  ======
input-separable     0.05   8           15
separable-reused    0.05   32          15
non-modular         0.1    8           40
reused              0.1    8           30
any other graph     0.05   16          30
==================  =====  ==========  ======

The default architecture is two hidden layers of width 24 (:data:`DEFAULT_HIDDEN`), the setting of
the paper's Figure 7 middle column; the default pruning grid is the paper's full grid,
p_u = 5, 10, ..., 70 and p_e = 2.5, 2, 1.5, 1, 0.5 (spec section 4.4).
"""
from __future__ import annotations

import dataclasses
import functools
import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from functiongraphs.graph import closest_name  # one "did you mean" rule for the whole toolkit
from sculpt.errors import ConfigError

DEFAULT_HIDDEN: tuple[int, ...] = (24, 24)
PAPER_P_U: tuple[float, ...] = tuple(float(p) for p in range(5, 75, 5))
PAPER_P_E: tuple[float, ...] = (2.5, 2.0, 1.5, 1.0, 0.5)
# How the grid chooses among equally sparse accepted networks (spec 4.4): the notebook's scan order,
# or the network whose detected structure has the fewest modules (the authors' manual choice).
TIE_BREAKS: tuple[str, ...] = ("order", "fewest-modules")
# Bounds of sane settings (refused beyond them, before anything is allocated or trained). The paper
# trains at most a few thousand epochs and four hidden layers; these leave room for far more.
MAX_EPOCHS = 100_000
MAX_HIDDEN_LAYERS = 64
MAX_BATCH_SIZE = 2 ** 31 - 1
MAX_SEED = 2 ** 32 - 1  # numpy's and sklearn's range of integer seeds
MAX_SETTINGS_BYTES = 16 * 2 ** 20  # a config or experiment file is a few hundred bytes

# (lr, batch_size, epochs) per catalog graph; see the module docstring.
TRAINING_DEFAULTS: dict[str, tuple[float, int, int]] = {
    "input-separable": (0.05, 8, 15),
    "separable-reused": (0.05, 32, 15),
    "non-modular": (0.1, 8, 40),
    "reused": (0.1, 8, 30),
}
GENERIC_TRAINING: tuple[float, int, int] = (0.05, 16, 30)


@dataclass(frozen=True)
class RunConfig:
    """Every setting of one run, fully resolved (no ``None`` left once :meth:`resolved` ran).

    Parameters
    ----------
    graph : str
        A catalog name (``input-separable``) or the path of a ``.fg`` file.
    arch : tuple of int or None
        Hidden-layer widths; ``None`` means :data:`DEFAULT_HIDDEN`. Input and output sizes come
        from the graph.
    seed : int
        Seed of initialisation, training batches and noise.
    lr, batch_size, epochs : float, int, int or None
        Training settings; ``None`` means the graph's entry in :data:`TRAINING_DEFAULTS`.
    p_u, p_e : tuple of float
        Unit- and edge-pruning rates (percent). One value each is a single trial; longer tuples
        are the grid, of which the sparsest accepted network is kept.
    modularity_threshold, merge_threshold : float
        Detection thresholds t_m and delta (spec sections 5.6, 5.7).
    feature_step_size, clusterability_step_size : int or None
        Detection horizons; ``None`` means the number of weight layers (the paper's setting).
    accuracy_threshold : float
        Accuracy (percent) a pruned network must keep to be accepted.
    noise : float
        Standard deviation of the Gaussian noise added to training inputs.
    tie_break : {"order", "fewest-modules"}
        Choice among equally sparse accepted networks of the grid: the first in the paper's
        notebook order, or the one whose detected structure (with this config's thresholds)
        has the fewest modules, which reproduces the authors' manual choice (spec 4.4).
        ``fewest_modules`` is accepted as a spelling of ``fewest-modules``.
    replay : {None, "paper"}
        ``"paper"`` prunes by replaying the paper's own code random number for random number
        (:mod:`sculpt.prune.replay`) instead of sculpt's default pipeline; None (default) runs
        the default. In TOML: ``replay = "paper"``.
    loader_workers : int
        With ``replay = "paper"``: the DataLoader ``num_workers`` replayed (2 as published, 0 off).
    """

    graph: str
    arch: tuple[int, ...] | None = None
    seed: int = 0
    lr: float | None = None
    batch_size: int | None = None
    epochs: int | None = None
    p_u: tuple[float, ...] = PAPER_P_U
    p_e: tuple[float, ...] = PAPER_P_E
    modularity_threshold: float = -0.2
    merge_threshold: float = 0.9
    feature_step_size: int | None = None
    clusterability_step_size: int | None = None
    accuracy_threshold: float = 100.0
    noise: float = 0.1
    tie_break: str = "order"
    replay: str | None = None
    loader_workers: int = 2

    def __post_init__(self) -> None:
        # Normalise lists (from JSON/TOML) to tuples so the dataclass stays hashable and comparable.
        if isinstance(self.tie_break, str):
            object.__setattr__(self, "tie_break", self.tie_break.replace("_", "-"))
        if self.arch is not None:
            object.__setattr__(self, "arch", _int_tuple("arch", self.arch))
        object.__setattr__(self, "p_u", _float_tuple("p_u", self.p_u))
        object.__setattr__(self, "p_e", _float_tuple("p_e", self.p_e))
        self.validate()

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first impossible setting."""
        if not isinstance(self.graph, str) or not self.graph.strip():
            raise ConfigError(f"graph must be a catalog name or a .fg path, got {self.graph!r}")
        if self.arch is not None:
            if not self.arch:
                raise ConfigError("arch must list at least one hidden width")
            for width in self.arch:
                if width < 1:
                    raise ConfigError(f"arch: every hidden width must be at least 1, got {list(self.arch)}")
            if len(self.arch) > MAX_HIDDEN_LAYERS:
                raise ConfigError(f"arch lists {len(self.arch)} hidden layers; at most {MAX_HIDDEN_LAYERS} are allowed")
        _check_int("seed", self.seed, minimum=0, maximum=MAX_SEED)
        if self.lr is not None:
            _check_positive("lr", self.lr)
        if self.batch_size is not None:
            _check_int("batch_size", self.batch_size, minimum=1, maximum=MAX_BATCH_SIZE)
        if self.epochs is not None:
            _check_int("epochs", self.epochs, minimum=1, maximum=MAX_EPOCHS)
        for name, values in (("p_u", self.p_u), ("p_e", self.p_e)):
            if not values:
                raise ConfigError(f"{name} needs at least one pruning rate")
            for value in values:
                if not 0 < value < 100:
                    raise ConfigError(f"{name}: pruning rates are percentages in (0, 100), got {value:g}")
        _check_real("modularity_threshold", self.modularity_threshold)
        _check_real("merge_threshold", self.merge_threshold)
        if not 0 < self.merge_threshold <= 1:
            raise ConfigError(f"merge_threshold must be in (0, 1], got {self.merge_threshold:g}")
        for name in ("feature_step_size", "clusterability_step_size"):
            value = getattr(self, name)
            if value is not None:
                _check_int(name, value, minimum=1)
        _check_real("accuracy_threshold", self.accuracy_threshold)
        if not 0 < self.accuracy_threshold <= 100:
            raise ConfigError(f"accuracy_threshold must be in (0, 100], got {self.accuracy_threshold:g}")
        _check_real("noise", self.noise)
        if self.noise < 0:
            raise ConfigError(f"noise must be a non-negative standard deviation, got {self.noise:g}")
        if self.tie_break not in TIE_BREAKS:
            raise ConfigError(f"tie_break must be one of {', '.join(TIE_BREAKS)}, got {self.tie_break!r}")
        if self.replay not in (None, "paper"):
            raise ConfigError(f"replay must be 'paper' (or absent for sculpt's default), got {self.replay!r}")
        _check_int("loader_workers", self.loader_workers, minimum=0)

    def prune_options(self) -> dict[str, Any]:
        """Extra keywords of :func:`sculpt.prune.prune_grid` for ``replay`` (empty by default)."""
        if self.replay is None:
            return {}
        return {"replay": self.replay, "loader_workers": self.loader_workers}

    def detect_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`sculpt.detect.detect_modules` for this config."""
        options: dict[str, Any] = {"modularity_threshold": self.modularity_threshold,
                                   "merge_threshold": self.merge_threshold}
        for key in ("feature_step_size", "clusterability_step_size"):
            if getattr(self, key) is not None:
                options[key] = getattr(self, key)
        return options

    # ------------------------------------------------------------------ resolution
    def resolved(self, graph_name: str | None = None) -> "RunConfig":
        """Fill every ``None`` with its default.

        Parameters
        ----------
        graph_name : str, optional
            Catalog name used to look up :data:`TRAINING_DEFAULTS`; defaults to ``self.graph``.
            A ``.fg`` path gets :data:`GENERIC_TRAINING`.

        Returns
        -------
        RunConfig
        """
        lr, batch_size, epochs = training_defaults(graph_name or self.graph)
        return dataclasses.replace(
            self,
            arch=self.arch if self.arch is not None else DEFAULT_HIDDEN,
            lr=self.lr if self.lr is not None else lr,
            batch_size=self.batch_size if self.batch_size is not None else batch_size,
            epochs=self.epochs if self.epochs is not None else epochs,
        )

    def with_overrides(self, **overrides: Any) -> "RunConfig":
        """A copy with the given settings replaced; ``None`` values are ignored (not given)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        _reject_unknown(given, source="overrides")
        return dataclasses.replace(self, **given)

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (tuples as lists).

        ``replay`` and ``loader_workers`` appear only with ``replay="paper"``, so that a default
        config (its ``config.json``, an experiment trial's settings and hence its trial id) is
        the same as before replay existed.
        """
        out = dataclasses.asdict(self)
        for key, value in out.items():
            if isinstance(value, tuple):
                out[key] = list(value)
        if self.replay is None:
            del out["replay"], out["loader_workers"]
        return out

    def to_json(self) -> str:
        """The config as indented JSON text."""
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def save(self, path: str | Path) -> Path:
        """Write :meth:`to_json` to ``path`` atomically."""
        from sculpt.atomic import write_text_atomic

        return write_text_atomic(path, self.to_json())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "config") -> "RunConfig":
        """Build from a mapping; unknown keys are refused with the closest valid key suggested.

        Keys may use ``-`` or ``_`` (``batch-size`` = ``batch_size``).
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source}: expected a table of settings, got {type(data).__name__}")
        normalised = {str(k).replace("-", "_"): v for k, v in data.items()}
        _reject_unknown(normalised, source=source)
        if "graph" not in normalised:
            raise ConfigError(f"{source}: missing 'graph' (a catalog name or a .fg path)")
        try:
            return cls(**normalised)
        except TypeError as exc:  # e.g. a string where a number belongs, caught in the checks
            raise ConfigError(f"{source}: {exc}") from None
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None

    @classmethod
    def from_file(cls, path: str | Path, **defaults: Any) -> "RunConfig":
        """Read a ``.toml`` or ``.json`` file.

        Parameters
        ----------
        path : path-like
            The file; the format is chosen by suffix (``.json``, else TOML).
        **defaults
            Settings used when the file does not give them (e.g. ``graph`` from the command line).
        """
        path = Path(path)
        data = read_settings_file(path, "config")
        merged = {k: v for k, v in defaults.items() if v is not None}
        if isinstance(data, Mapping):
            merged.update({str(k).replace("-", "_"): v for k, v in data.items()})
        else:
            merged = data
        return cls.from_dict(merged, source=str(path))


FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(RunConfig))


def read_settings_file(path: Path, what: str) -> Any:
    """Parse a settings file: JSON when the suffix is ``.json``, else TOML.

    Raises ConfigError naming the file when it cannot be read or parsed (``what`` says what kind
    of file it is: "config", "experiment").
    """
    from functiongraphs.safe_read import decode_text, read_regular_bytes
    from sculpt.json_input import JSONInputError, loads_strict

    try:
        data = read_regular_bytes(path, max_bytes=MAX_SETTINGS_BYTES)
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    try:
        text = decode_text(data, path)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: {exc.reason}") from None
    is_json = path.suffix.lower() == ".json"
    try:
        return loads_strict(text) if is_json else tomllib.loads(text)
    except (JSONInputError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not valid {'JSON' if is_json else 'TOML'}: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid {'JSON' if is_json else 'TOML'}: nested too deeply") from None


def training_defaults(graph: str) -> tuple[float, int, int]:
    """(lr, batch_size, epochs) for a catalog name; :data:`GENERIC_TRAINING` for anything else."""
    return TRAINING_DEFAULTS.get(graph, GENERIC_TRAINING)


def tie_break_rule(tie_break: str, detect_options: Mapping[str, Any] | None = None):
    """The ``prefer`` callable of :func:`sculpt.prune.prune_grid` for a :data:`TIE_BREAKS` value.

    Parameters
    ----------
    tie_break : {"order", "fewest-modules"}
    detect_options : mapping, optional
        Detection settings (thresholds, step sizes) the fewest-modules rule detects with, so the
        chosen network is judged by the same detection the run reports.

    Returns
    -------
    callable or None
        None for "order" (prune_grid keeps the first tied network).
    """
    tie_break = str(tie_break).replace("_", "-")
    if tie_break == "order":
        return None
    if tie_break == "fewest-modules":
        from sculpt.detect import fewest_modules

        return functools.partial(fewest_modules, **dict(detect_options or {}))
    raise ConfigError(f"tie_break must be one of {', '.join(TIE_BREAKS)}, got {tie_break!r}")


def _reject_unknown(data: Mapping[str, Any], source: str) -> None:
    for key in data:
        if key not in FIELD_NAMES:
            hint = closest_name(key, FIELD_NAMES)
            suggestion = f"; did you mean '{hint}'?" if hint else f"; valid keys: {', '.join(FIELD_NAMES)}"
            raise ConfigError(f"{source}: unknown setting '{key}'{suggestion}")


def _check_int(name: str, value: Any, minimum: int, maximum: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum:,}, got {value:,}")


def _check_real(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")


def _check_positive(name: str, value: Any) -> None:
    _check_real(name, value)
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value:g}")


def _int_tuple(name: str, values: Any) -> tuple[int, ...]:
    if isinstance(values, (int, float)) and not isinstance(values, bool):
        values = [values]
    if not isinstance(values, (list, tuple)):
        raise ConfigError(f"{name} must be a list of integers, got {values!r}")
    out = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name} must be a list of integers, got {list(values)!r}")
        out.append(int(value))
    return tuple(out)


def _float_tuple(name: str, values: Any) -> tuple[float, ...]:
    if isinstance(values, (int, float)) and not isinstance(values, bool):
        values = [values]
    if not isinstance(values, (list, tuple)):
        raise ConfigError(f"{name} must be a number or a list of numbers, got {values!r}")
    out = []
    for value in values:
        _check_real(name, value)
        out.append(float(value))
    return tuple(out)
