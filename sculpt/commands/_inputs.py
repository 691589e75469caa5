"""What the network commands share: reading ``RUN_DIR | NET.npz`` and writing JSON atomically.

A network argument is a run directory (its ``net.npz``, or its only ``.npz``), a PrunedNet snapshot
(``sculpt.nets.PrunedNet.save``: arrays plus a JSON ``header``), or a plain ``.npz`` with
``weight0..`` and/or ``mask0..`` arrays in PyTorch layout (out x in).
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sculpt.errors import SnapshotError

SNAPSHOT_NAMES = ("net.npz",)  # what `sculpt run` writes into a run directory


@dataclass
class NetworkArrays:
    """A network read from disk: what detection (masks) and the spectral tools (weights, masks) need.

    Attributes
    ----------
    source : Path
        The .npz file actually read.
    masks : list of bool arrays
        Layer l has shape (out, in); a plain npz without masks gets ``weight != 0``.
    weights : list of arrays or None
        None when the file holds masks only.
    """

    source: Path
    masks: list
    weights: list | None


def find_snapshot(path: Path) -> Path:
    """The network file behind a CLI argument: the file itself, or the snapshot in a run directory.

    Parameters
    ----------
    path : Path

    Returns
    -------
    Path
        ``path`` if it is a file, else ``path/net.npz``, else the directory's only ``.npz``.

    Raises
    ------
    SnapshotError
        Missing path, a directory without ``.npz`` files, or one with several candidates.
    """
    if path.is_file():
        return path
    if not path.is_dir():
        raise SnapshotError(f"{path}: no such file or directory")
    for name in SNAPSHOT_NAMES:
        if (path / name).is_file():
            return path / name
    candidates = sorted(path.glob("*.npz"))
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise SnapshotError(f"{path}: no network snapshot (.npz) in this directory")
    raise SnapshotError(f"{path}: several .npz files ({', '.join(c.name for c in candidates)}); "
                        "name the one to use")


def _count_layers(keys: set, prefix: str) -> int:
    n = 0
    while f"{prefix}{n}" in keys:
        n += 1
    return n


def _read_plain_npz(path: Path, data) -> NetworkArrays:
    """weight0.. and/or mask0.. arrays; masks default to weight != 0, weights to None."""
    keys = set(data.files)
    n_weights, n_masks = _count_layers(keys, "weight"), _count_layers(keys, "mask")
    if n_weights == 0 and n_masks == 0:
        raise SnapshotError(f"{path}: no 'header' (PrunedNet) and no 'mask0' or 'weight0' array inside")
    if n_weights and n_masks and n_weights != n_masks:
        raise SnapshotError(f"{path}: {n_weights} weight arrays but {n_masks} mask arrays")
    weights = [np.asarray(data[f"weight{l}"]) for l in range(n_weights)] if n_weights else None
    if n_masks:
        masks = [np.asarray(data[f"mask{l}"], dtype=bool) for l in range(n_masks)]
    else:
        masks = [w != 0 for w in weights]
    return NetworkArrays(source=path, masks=masks, weights=weights)


def load_network_argument(path, need_weights: bool = False) -> NetworkArrays:
    """Read the network a ``RUN_DIR | NET.npz`` command-line argument names.

    Parameters
    ----------
    path : str or Path
        A run directory, a PrunedNet snapshot ``.npz`` or a plain ``.npz`` (see the module docstring).
    need_weights : bool
        Raise if the file holds masks only (the spectral tools need weight magnitudes).

    Returns
    -------
    NetworkArrays

    Raises
    ------
    SnapshotError
        The path does not exist, is not a readable ``.npz``, or holds neither a PrunedNet header nor
        ``mask0``/``weight0`` arrays (or no weights while ``need_weights``); the message names the path.
    """
    source = find_snapshot(Path(path))
    try:
        with np.load(source, allow_pickle=False) as data:
            if "header" in data.files:
                net = None
            else:
                net = _read_plain_npz(source, data)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise SnapshotError(f"{source}: not a readable .npz file ({exc})") from None
    if net is None:  # read outside the `with`: PrunedNet.load opens and validates the file itself
        from sculpt.nets import PrunedNet

        snapshot = PrunedNet.load(source)
        net = NetworkArrays(source=source, masks=[np.asarray(m, dtype=bool) for m in snapshot.masks],
                            weights=list(snapshot.weights))
    if need_weights and net.weights is None:
        raise SnapshotError(f"{source}: holds masks only; this command needs 'weight0'.. arrays")
    return net
