"""Magnitude edge scores and global edge pruning (spec section 4.2).

The score of a weight is |w| (biases excluded); one threshold ``np.percentile`` over all ORIGINAL
weights of a member (pruned ones are exactly 0 and count), and the new mask is ``|w| > T``, so
pruned weights stay pruned and ties at T are pruned too.
"""
from __future__ import annotations

import numpy as np
import torch

from sculpt.nets import MaskedMLP
from sculpt.prune.unit import global_percentile_keep


def edge_scores(model: MaskedMLP) -> torch.Tensor:
    """|w| of every weight of every member, layers flattened and concatenated: (E, #weights)."""
    return torch.cat([(w.detach() * m).abs().flatten(1) for w, m in zip(model.weights, model.weight_masks)], dim=1)


class EdgeStage:
    """Edge pruning: drop the weights at or below the global magnitude percentile."""

    name = "edge"

    def prune(self, model: MaskedMLP, pp: np.ndarray, members: np.ndarray) -> None:
        """New weight masks ``|w| > percentile(|w|, pp)`` for each member in ``members``."""
        scores = edge_scores(model).cpu().double().numpy()
        keep = np.ones_like(scores, dtype=bool)
        for e in np.flatnonzero(members):
            keep[e] = global_percentile_keep(scores[e], pp[e])
        keep_t = torch.from_numpy(keep).to(model.device)
        sizes = [a * b for a, b in zip(model.arch[:-1], model.arch[1:])]
        masks = [k.view(-1, out, inp) for k, out, inp in
                 zip(torch.split(keep_t, sizes, dim=1), model.arch[1:], model.arch[:-1])]
        model.set_weight_masks(masks, members=torch.from_numpy(np.asarray(members)).to(model.device))
