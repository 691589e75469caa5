"""Loss-sensitivity unit scores and global unit pruning (spec section 3.2).

The paper scores hidden unit i of layer l as the mean over validation rows of
``|dL_r/da_i| * |a_i|`` (a = post-ReLU activation, L_r = row r's BCE averaged over outputs),
looping over rows one by one. Row r's loss depends only on row r's activations, so the gradient of
the SUM of per-row losses w.r.t. the activation tensor holds every row's own gradient: one batched
forward/backward gives the same numbers for all rows and all members at once.
"""
from __future__ import annotations

import numpy as np
import torch

from sculpt import fastpath
from sculpt.nets import MaskedMLP
from sculpt.prune.percentile import percentile
from sculpt.train import member_segments, row_losses



def unit_scores(model: MaskedMLP, X: torch.Tensor, Y: torch.Tensor, chunk_rows: int | None = None,
                loss=None, segments=None) -> torch.Tensor:
    """Mean over rows of |dL_r/da| * |a| for every hidden unit of every member.

    Parameters
    ----------
    model : MaskedMLP
    X, Y : torch.Tensor
        Noise-free validation rows (rows x n_in) and targets (rows x n_out).
    chunk_rows : int, optional
        Rows per forward/backward (bounds memory on large validation sets, e.g. MNIST).
    loss : sculpt.train.Loss, optional
        L_r of a user's loss instead of the paper's mean BCE over outputs.
    segments : list of int, optional
        Members per packed trial (:func:`sculpt.train.member_segments`).

    Returns
    -------
    torch.Tensor (E, sum(hidden widths)), layers concatenated in order; removed units score 0.
    """
    rows = X.shape[0]
    chunk = rows if not chunk_rows else int(chunk_rows)
    total = None
    spans = member_segments(model.members, segments)
    fast = fastpath.applies(model, None, loss)
    for start in range(0, rows, chunk):
        x, y = X[start:start + chunk], Y[start:start + chunk]
        if fast:  # the same numbers without autograd (sculpt.fastpath)
            part = fastpath.unit_score_sums(model, x, y, spans)
        else:
            logits, hidden = model(x, return_hidden=True)
            row_loss = row_losses(logits, y, loss, spans)
            grads = torch.autograd.grad(row_loss.sum(), hidden)
            part = torch.cat([(g * a).abs().sum(dim=1) for g, a in zip(grads, hidden)], dim=1)
        total = part if total is None else total + part
    return total.detach() / rows


def global_percentile_keep(scores: np.ndarray, pp: float) -> np.ndarray:
    """Keep mask of one member: ``score > np.percentile(scores, pp)`` (linear interpolation).

    The percentile runs over ALL original entries, including already-pruned ones (score 0), and
    ties at the threshold are pruned (spec 3.2 / 4.2). The threshold is
    :func:`sculpt.prune.percentile.percentile`, NumPy's value without NumPy's overhead.
    """
    return scores > percentile(scores, pp)


class UnitStage:
    """Unit pruning: score hidden units, prune those at or below the global percentile."""

    name = "unit"

    def __init__(self, X: torch.Tensor, Y: torch.Tensor, chunk_rows: int | None = None, loss=None,
                 segments=None):
        self.X, self.Y, self.chunk_rows, self.loss, self.segments = X, Y, chunk_rows, loss, segments

    def prune(self, model: MaskedMLP, pp: np.ndarray, members: np.ndarray) -> None:
        """Remove, for each member in ``members``, the hidden units at or below percentile ``pp``."""
        scores = unit_scores(model, self.X, self.Y, self.chunk_rows, self.loss, self.segments).cpu().double().numpy()
        keep = np.ones_like(scores, dtype=bool)
        for e in np.flatnonzero(members):
            keep[e] = global_percentile_keep(scores[e], pp[e])
        keep_t = torch.from_numpy(keep).to(model.device)
        widths = model.arch[1:-1]
        splits = torch.split(keep_t, widths, dim=1)
        new_units = [old & k for old, k in zip(model.unit_masks, splits)]
        model.set_unit_masks(new_units, members=torch.from_numpy(np.asarray(members)).to(model.device))
