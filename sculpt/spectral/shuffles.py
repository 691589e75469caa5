"""Shuffled-network null models for relative clusterability (spec 3.1).

``layer`` permutes all entries of each weight matrix (zeros included, so the topology changes);
``layer_nonzero`` permutes only the non-zero values among the non-zero positions (topology kept).
Shuffles act on the blocks of a :class:`WeightGraph`, i.e. after dead-unit removal, which is the
order the paper's code uses; the shuffled graph then gets the same dead-unit policy again.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from sculpt.errors import ConfigError

SHUFFLE_METHODS = ("layer", "layer_nonzero")


def shuffle_block(block, method: str, rng: np.random.Generator):
    """One shuffled copy of a weight block.

    Parameters
    ----------
    block : ndarray or sparse matrix, shape (out, in)
    method : {"layer", "layer_nonzero"}
    rng : numpy Generator

    Returns
    -------
    ndarray (``layer``) or a block of the input's type (``layer_nonzero``)
    """
    if method == "layer":
        dense = block.toarray() if sp.issparse(block) else np.asarray(block)
        flat = dense.ravel()
        return flat[rng.permutation(flat.size)].reshape(dense.shape)
    if method == "layer_nonzero":
        if sp.issparse(block):
            out = sp.csr_matrix(block, copy=True)
            out.eliminate_zeros()
            out.data = out.data[rng.permutation(out.data.size)]
            return out
        out = np.array(block, copy=True)
        pos = np.flatnonzero(out)
        out.flat[pos] = out.flat[pos][rng.permutation(pos.size)]
        return out
    raise ConfigError(f"method={method!r}: choose one of {', '.join(SHUFFLE_METHODS)}")


def shuffle_blocks(blocks, method: str, rng: np.random.Generator) -> list:
    """Shuffle every block independently (one permutation per layer)."""
    if method not in SHUFFLE_METHODS:
        raise ConfigError(f"method={method!r}: choose one of {', '.join(SHUFFLE_METHODS)}")
    return [shuffle_block(b, method, rng) for b in blocks]


def shuffle_seeds(seed, n_shuffles: int) -> list[np.random.SeedSequence]:
    """One independent SeedSequence per shuffle, so results do not depend on the number of workers."""
    return np.random.SeedSequence(seed).spawn(n_shuffles)
