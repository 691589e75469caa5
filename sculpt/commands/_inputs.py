"""What the network commands share: reading ``RUN_DIR | NET.npz`` and writing JSON atomically.

A network argument is a run directory (its ``net.npz``, or its only ``.npz``), a PrunedNet snapshot
(``sculpt.nets.PrunedNet.save``: arrays plus a JSON ``header``), or a plain ``.npz`` with
``weight0..`` and/or ``mask0..`` arrays in PyTorch layout (out x in).
"""
from __future__ import annotations

import os
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
        ``path`` if it is not a directory, else ``path/net.npz``, else the directory's only ``.npz``.

    Raises
    ------
    SnapshotError
        Missing path, a directory without ``.npz`` files, or one with several candidates.
    """
    if path.is_dir():
        for name in SNAPSHOT_NAMES:
            if os.path.lexists(path / name):  # a FIFO named net.npz is refused when read, not skipped
                return path / name
        candidates = sorted(path.glob("*.npz"))
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            raise SnapshotError(f"{path}: no network snapshot (.npz) in this directory")
        raise SnapshotError(f"{path}: several .npz files ({', '.join(c.name for c in candidates)}); "
                            "name the one to use")
    if not os.path.lexists(path):
        raise SnapshotError(f"{path}: no such file or directory")
    return path


def _layer_count(keys: set, prefix: str, source: Path) -> int:
    """How many ``prefix0..`` arrays there are; a gap (mask0, mask2 without mask1) is refused."""
    indices = sorted(int(k[len(prefix):]) for k in keys
                     if k.startswith(prefix) and k[len(prefix):].isdigit() and str(int(k[len(prefix):])) == k[len(prefix):])
    for expected, found in enumerate(indices):
        if found != expected:
            present = ", ".join(f"{prefix}{i}" for i in indices[:6])
            raise SnapshotError(f"{source}: missing array '{prefix}{expected}' (found {present})")
    return len(indices)


def _real_matrix(source: Path, key: str, array: np.ndarray) -> None:
    if array.ndim != 2 or 0 in array.shape:
        raise SnapshotError(f"{source}: '{key}' must be a non-empty 2-d (out x in) array, got shape {array.shape}")
    if array.dtype.kind not in "biuf":
        raise SnapshotError(f"{source}: '{key}' must hold real numbers, got dtype {array.dtype}")


def _plain_mask(source: Path, key: str, array: np.ndarray) -> np.ndarray:
    _real_matrix(source, key, array)
    if array.dtype.kind != "b":
        bad = ~((array == 0) | (array == 1))
        if bad.any():
            row, col = (int(i) for i in np.argwhere(bad)[0])
            raise SnapshotError(f"{source}: '{key}' must hold only 0/1 (or booleans), found {array[row, col].item()} "
                                f"at [{row}, {col}]")
    return array.astype(bool)


def _plain_weight(source: Path, key: str, array: np.ndarray) -> np.ndarray:
    _real_matrix(source, key, array)
    if array.dtype.kind == "b":
        raise SnapshotError(f"{source}: '{key}' holds booleans; weights must be numbers (masks go in 'mask{key[6:]}')")
    if not np.isfinite(array).all():
        row, col = (int(i) for i in np.argwhere(~np.isfinite(array))[0])
        raise SnapshotError(f"{source}: '{key}' holds a non-finite value ({array[row, col]}) at [{row}, {col}]")
    with np.errstate(over="ignore"):  # reported below, in words
        as_float = array.astype(np.float32)
    if not np.isfinite(as_float).all():
        raise SnapshotError(f"{source}: '{key}' holds values too large for float32")
    return as_float


def _read_plain_npz(path: Path, arrays: dict) -> NetworkArrays:
    """weight0.. and/or mask0.. (bias0.. allowed) arrays, validated as strictly as a snapshot.

    Masks default to ``weight != 0``, weights to None. Every array must be a finite real 2-d
    matrix, masks 0/1, consecutive layers must chain (in = previous out), weights and masks of a
    layer have one shape and a weight is zero wherever its mask is.
    """
    keys = set(arrays)
    n_weights, n_masks = _layer_count(keys, "weight", path), _layer_count(keys, "mask", path)
    n_biases = _layer_count(keys, "bias", path)
    if n_weights == 0 and n_masks == 0:
        raise SnapshotError(f"{path}: no 'header' (PrunedNet) and no 'mask0' or 'weight0' array inside")
    if n_weights and n_masks and n_weights != n_masks:
        raise SnapshotError(f"{path}: {n_weights} weight arrays but {n_masks} mask arrays")
    n = max(n_weights, n_masks)
    if n_biases and n_biases != n:
        raise SnapshotError(f"{path}: {n_biases} bias arrays for {n} layers")
    known = {f"{p}{l}" for p, count in (("weight", n_weights), ("mask", n_masks), ("bias", n_biases))
             for l in range(count)}
    extra = sorted(keys - known)
    if extra:
        raise SnapshotError(f"{path}: unexpected array {extra[0]!r} (a plain network holds weight0.., mask0.."
                            " and optionally bias0..)")
    weights = [_plain_weight(path, f"weight{l}", arrays[f"weight{l}"]) for l in range(n_weights)] or None
    masks = [_plain_mask(path, f"mask{l}", arrays[f"mask{l}"]) for l in range(n_masks)]
    if not masks:
        masks = [w != 0 for w in weights]
    for l in range(n):
        if weights is not None and weights[l].shape != masks[l].shape:
            raise SnapshotError(f"{path}: weight{l} has shape {weights[l].shape} but mask{l} {masks[l].shape}")
        if l and masks[l].shape[1] != masks[l - 1].shape[0]:
            raise SnapshotError(f"{path}: layer {l} has {masks[l].shape[1]} inputs but layer {l - 1} has "
                                f"{masks[l - 1].shape[0]} outputs: the layers do not chain")
        if weights is not None and np.any(weights[l][~masks[l]] != 0):
            raise SnapshotError(f"{path}: weight{l} is non-zero at {int(np.count_nonzero(weights[l][~masks[l]]))} "
                                f"positions its mask prunes")
        if n_biases:
            bias = arrays[f"bias{l}"]
            if bias.shape != (masks[l].shape[0],) or bias.dtype.kind not in "iuf" or not np.isfinite(bias).all():
                raise SnapshotError(f"{path}: bias{l} must be {masks[l].shape[0]} finite numbers, got "
                                    f"{bias.dtype} of shape {bias.shape}")
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
        The path does not exist, is not a regular file, is not a readable ``.npz``, or holds neither
        a valid PrunedNet snapshot nor valid ``mask0``/``weight0`` arrays (or no weights while
        ``need_weights``); the message names the path and the array.
    """
    from sculpt.nets import PrunedNet
    from sculpt.safe_npz import read_npz

    source = find_snapshot(Path(path))
    arrays = read_npz(source)
    if "header" in arrays:
        snapshot = PrunedNet.from_snapshot_arrays(arrays, str(source))  # validated as a snapshot
        net = NetworkArrays(source=source, masks=[np.asarray(m, dtype=bool) for m in snapshot.masks],
                            weights=list(snapshot.weights))
    else:
        net = _read_plain_npz(source, arrays)
    if need_weights and net.weights is None:
        raise SnapshotError(f"{source}: holds masks only; this command needs 'weight0'.. arrays")
    return net
