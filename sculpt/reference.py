"""The paper's own pruned networks: records, masks, weights, biases.

``pruned_networks.jsonl`` describes the 1,499 unit-and-edge-pruned networks behind the paper's
Boolean figures; ``pruned_networks.npz`` holds ``netNNNN_mask{l}`` / ``_weight{l}`` / ``_bias{l}``.
``detection_exemplar.jsonl`` is what the paper's detection code outputs on the 160 exemplar ones.
Everything is read with ``allow_pickle=False``.

The data is not shipped with this package (the paper's repository carries no licence): convert a
clone of it once with ``sculpt data paper --from PATH`` (see :mod:`sculpt.paperdata`), which writes
it into the user cache (``reference/`` beside the MNIST cache) or into ``$SCULPT_REFERENCE``.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sculpt.errors import DataError

NETWORKS_JSONL = "pruned_networks.jsonl"
NETWORKS_NPZ = "pruned_networks.npz"
EXEMPLAR_DETECTIONS = "detection_exemplar.jsonl"
TRUTH_TABLE_FOLDERS = {
    "exemplar": "exemplar",
    "non_separable_increasing_use": "increasing_reuse_non_separable",
    "input_overlap_exp": "input_overlap_exp",
    "increasing_hierarchical_levels": "increasing_hierarchical_levels",
}
REFERENCE_ENV = "SCULPT_REFERENCE"
CONVERT_COMMAND = "sculpt data paper --from PATH"


def user_reference_dir() -> Path:
    """``reference/`` in the user cache (``$SCULPT_CACHE``, else ``$XDG_CACHE_HOME/sculpt``, else
    ``~/.cache/sculpt``), the folder ``sculpt data paper`` writes by default."""
    from functiongraphs.mnist import cache_dir

    return cache_dir() / "reference"


def default_reference_dir() -> Path:
    """``$SCULPT_REFERENCE`` if set, else :func:`user_reference_dir`."""
    env = os.environ.get(REFERENCE_ENV)
    if env:
        return Path(env).expanduser()
    return user_reference_dir()


def find_reference_dir(extra: Iterable[str | os.PathLike] = (), *,
                       needs: str = NETWORKS_JSONL) -> Path | None:
    """The first of ``$SCULPT_REFERENCE``, the user cache and ``extra`` that holds ``needs``.

    Parameters
    ----------
    extra : iterable of path, optional
        Further places to look, after the two standard ones (the test suite adds one of its own).
    needs : str, default="pruned_networks.jsonl"
        A file (or folder) name that must exist inside the candidate.

    Returns
    -------
    Path or None
        None when no candidate holds it.

    Examples
    --------
    >>> find_reference_dir(["/nonexistent"], needs="nothing-here") is None
    True
    """
    for candidate in reference_candidates(extra):
        if (candidate / needs).exists():
            return candidate
    return None


def reference_candidates(extra: Iterable[str | os.PathLike] = ()) -> list[Path]:
    """The folders :func:`find_reference_dir` looks in, in order."""
    found = []
    env = os.environ.get(REFERENCE_ENV)
    if env:
        found.append(Path(env).expanduser())
    found.append(user_reference_dir())
    found.extend(Path(p) for p in extra)
    return found


def _resolve(reference_dir) -> Path:
    path = Path(reference_dir) if reference_dir is not None else default_reference_dir()
    if not (path / NETWORKS_JSONL).is_file():
        raise DataError(f"reference data not found: {path / NETWORKS_JSONL} does not exist; convert a"
                        f" clone of the paper's repository with `{CONVERT_COMMAND}`"
                        f" (or set {REFERENCE_ENV}, or pass reference_dir)")
    return path


def read_jsonl(path: Path) -> list[dict]:
    """All records of a JSON-lines file.

    Raises
    ------
    DataError
        Unreadable or not a regular file, or a line that is not JSON (named with its number).
    """
    from functiongraphs.safe_read import decode_text, read_regular_bytes

    try:
        text = decode_text(read_regular_bytes(path), path)
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: {exc.reason}") from None
    records = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except (json.JSONDecodeError, RecursionError) as exc:
            raise DataError(f"{path}:{number}: not a JSON record ({exc})") from None
    return records


@dataclass(frozen=True)
class ReferenceNetwork:
    """One stored network: its jsonl record and its arrays (per weight layer, out x in).

    ``weights`` and ``biases`` are empty lists unless they were asked for.
    """

    record: dict
    masks: list[np.ndarray]
    weights: list[np.ndarray]
    biases: list[np.ndarray]

    @property
    def id(self) -> str:
        return self.record["id"]

    @property
    def experiment(self) -> str:
        return self.record["experiment"]

    @property
    def modularity(self) -> list[int]:
        return self.record["modularity"]

    @property
    def arch(self) -> list[int]:
        return self.record["arch"]

    @property
    def hidden_layers(self) -> int:
        return len(self.record["arch"]) - 2

    @property
    def other_structure(self) -> bool:
        return bool(self.record["other_structure"])

    def truth_table_path(self, reference_dir=None) -> Path:
        """The truth-table JSON of this network's task."""
        folder = TRUTH_TABLE_FOLDERS[self.experiment]
        return _resolve(reference_dir) / "truth_tables" / folder / f"boolean{self.modularity}.json"


def load_records(reference_dir=None) -> list[dict]:
    """The 1,499 records of ``pruned_networks.jsonl``, in file order."""
    return read_jsonl(_resolve(reference_dir) / NETWORKS_JSONL)


def load_exemplar_detections(reference_dir=None) -> dict[str, dict]:
    """The paper code's detection output on the 160 exemplar networks, by network id.

    ``sculpt data paper`` does not make this file: it is the output of running the paper's own
    detection code, kept beside the converted data where someone ran it.
    """
    path = _resolve(reference_dir) / EXEMPLAR_DETECTIONS
    if not path.is_file():
        raise DataError(f"{path} does not exist: it holds the paper code's own detection output,"
                        f" which `{CONVERT_COMMAND}` cannot make")
    return {r["id"]: r for r in read_jsonl(path)}


def _matches(record: dict, filters: dict) -> bool:
    for key, wanted in filters.items():
        if wanted is None:
            continue
        value = record.get(key)
        if key == "id" and not isinstance(wanted, str):
            if value not in set(wanted):
                return False
        elif value != wanted:
            return False
    return True


def select_records(reference_dir=None, *, ids=None, experiment=None, modularity=None, arch=None,
                   seed=None, other_structure=None) -> list[dict]:
    """Records matching every given filter (None = any).

    Parameters
    ----------
    ids : str or iterable of str, optional
    experiment : str, optional
        e.g. "exemplar", "input_overlap_exp".
    modularity, arch : list of int, optional
    seed : int, optional
    other_structure : bool, optional
        False selects the primary runs the paper's figures count.
    """
    filters = {"id": ids, "experiment": experiment, "modularity": modularity, "arch": arch,
               "seed": seed, "other_structure": other_structure}
    return [r for r in load_records(reference_dir) if _matches(r, filters)]


def _layer_arrays(npz, net_id: str, kind: str, n_layers: int) -> list[np.ndarray]:
    try:
        return [npz[f"{net_id}_{kind}{l}"] for l in range(n_layers)]
    except KeyError as exc:
        raise DataError(f"{NETWORKS_NPZ}: missing array {exc.args[0]}") from None


def iter_networks(records=None, reference_dir=None, *, with_weights: bool = False,
                  **filters) -> Iterator[ReferenceNetwork]:
    """Stored networks with their masks (and weights and biases on request).

    Parameters
    ----------
    records : list of dict, optional
        Records to load (e.g. from :func:`select_records`); by default those matching ``filters``.
    reference_dir : path, optional
    with_weights : bool, default=False
    **filters
        Passed to :func:`select_records` when ``records`` is None.

    Yields
    ------
    ReferenceNetwork
    """
    path = _resolve(reference_dir)
    if records is None:
        records = select_records(path, **filters)
    with np.load(path / NETWORKS_NPZ, allow_pickle=False) as npz:
        for record in records:
            n_layers = len(record["arch"]) - 1
            masks = [m.astype(bool, copy=False) for m in _layer_arrays(npz, record["id"], "mask", n_layers)]
            weights = _layer_arrays(npz, record["id"], "weight", n_layers) if with_weights else []
            biases = _layer_arrays(npz, record["id"], "bias", n_layers) if with_weights else []
            yield ReferenceNetwork(record=record, masks=masks, weights=weights, biases=biases)


def load_network(net_id: str, reference_dir=None, *, with_weights: bool = False) -> ReferenceNetwork:
    """One stored network by id (e.g. ``"net0000"``)."""
    found = list(iter_networks(reference_dir=reference_dir, with_weights=with_weights, ids=[net_id]))
    if not found:
        raise DataError(f"no reference network with id {net_id!r}")
    return found[0]
