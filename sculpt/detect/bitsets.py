"""Rows of boolean matrices as Python integers (bit i of row r = entry [r, i]).

Detection works on condensed layers of a few units (at most 8 in the paper's 1,499 stored
networks). On arrays that small every NumPy call costs more than the arithmetic it does, while
``int.bit_count`` and ``&`` / ``|`` on Python integers do a whole row in one step, so the
clustering of :mod:`sculpt.detect` runs on these row sets.

Examples
--------
>>> import numpy as np
>>> rows = bitsets_from_bool(np.array([[1, 0, 1], [0, 1, 1]], bool))
>>> rows
[5, 6]
>>> list(iter_bits(rows[1]))
[1, 2]
>>> bool_from_bitsets(rows, 3).astype(int).tolist()
[[1, 0, 1], [0, 1, 1]]
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

_POWERS = 1 << np.arange(62, dtype=np.int64)


def bitsets_from_bool(matrix: np.ndarray) -> list[int]:
    """One integer per row of a 2-d boolean array: bit i is set when ``matrix[row, i]`` is."""
    matrix = np.asarray(matrix, dtype=bool)
    n_rows, width = matrix.shape
    if n_rows == 0:
        return []
    if width == 0:
        return [0] * n_rows
    if width <= 62:  # a row's bits as one int64: a single matrix-vector product
        return (matrix @ _POWERS[:width]).tolist()
    packed = np.packbits(matrix, axis=1, bitorder="little")
    n_bytes = packed.shape[1]
    # wider rows: one int.from_bytes per row
    raw = packed.tobytes()
    return [int.from_bytes(raw[r * n_bytes:(r + 1) * n_bytes], "little") for r in range(n_rows)]


def row_bitsets(matrix: np.ndarray) -> list[int]:
    """:func:`bitsets_from_bool` of a 2-d boolean ndarray, in one product when rows are narrow."""
    width = matrix.shape[1]
    if 0 < width <= 62 and matrix.shape[0]:
        return (matrix @ _POWERS[:width]).tolist()
    return bitsets_from_bool(matrix)


def bool_from_bitsets(rows: Sequence[int], width: int) -> np.ndarray:
    """The boolean array ``(len(rows), width)`` whose rows are ``rows`` (inverse of
    :func:`bitsets_from_bool`)."""
    n_bytes = max(1, (width + 7) // 8)
    raw = b"".join(int(r).to_bytes(n_bytes, "little") for r in rows)
    packed = np.frombuffer(raw, dtype=np.uint8).reshape(len(rows), n_bytes)
    return np.unpackbits(packed, axis=1, count=width, bitorder="little").astype(bool)


def iter_bits(value: int) -> Iterator[int]:
    """Indices of the set bits of ``value``, ascending."""
    while value:
        low = value & -value
        yield low.bit_length() - 1
        value ^= low
