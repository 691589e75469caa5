"""NeuNcut's relaxed normalised cut as a differentiable score and regulariser (spec 6).

For a soft assignment P (N x k, rows on the simplex) of the nodes of a graph W:
v_c = d^T P_c, H = P diag(v + 1e-6)^-1/2,
spectral = tr(H^T L H) = sum_c P_c^T L P_c / v_c   (equals the n-cut exactly for one-hot P),
orth = ||H^T D H - I||_F / k  (pushes P towards hard, balanced assignments),
loss = spectral + gamma / 2 * orth, gamma = 80 as NeuNcut's default.

Here P is a free softmax(logits) per node (weight graphs have no natural node features to feed a
network with). Values found this way are another optimiser's n-cuts: do not mix them with the
spectral anchors.
"""
from __future__ import annotations

import numpy as np
import torch

from sculpt.errors import ConfigError
from sculpt.spectral.ncut import ncut
from sculpt.spectral.regularizer import stacked_parameters

VOLUME_EPS = 1e-6


def relaxed_ncut_loss(adjacency: torch.Tensor, assignment: torch.Tensor, gamma: float = 80.0):
    """NeuNcut's loss for one graph or a stack of graphs.

    Parameters
    ----------
    adjacency : Tensor (N, N) or (E, N, N)
        Symmetric non-negative weights.
    assignment : Tensor (N, k) or (E, N, k)
        Soft cluster memberships (rows sum to 1).
    gamma : float

    Returns
    -------
    loss, spectral, orth : Tensor, scalar or (E,)
    """
    single = adjacency.dim() == 2
    W = adjacency.unsqueeze(0) if single else adjacency
    P = assignment.unsqueeze(0) if single else assignment
    d = W.sum(dim=2)                                   # (E, N)
    vol = torch.einsum("en,enk->ek", d, P)             # (E, k)
    scale = (vol + VOLUME_EPS).rsqrt()
    H = P * scale[:, None, :]
    LH = d[:, :, None] * H - torch.bmm(W, H)           # (D - W) H
    spectral = (H * LH).sum(dim=(1, 2))
    HDH = torch.bmm(H.transpose(1, 2), d[:, :, None] * H)
    k = P.shape[2]
    eye = torch.eye(k, dtype=HDH.dtype, device=HDH.device)
    orth = torch.linalg.matrix_norm(HDH - eye) / k
    loss = spectral + 0.5 * gamma * orth
    if single:
        return loss[0], spectral[0], orth[0]
    return loss, spectral, orth


def stacked_dense_adjacency(weights, masks=None) -> torch.Tensor:
    """Differentiable dense adjacency (E, N, N) of stacked (E, out, in) weight blocks."""
    absw = [(w if masks is None else w * m).abs() for w, m in zip(weights, masks or [None] * len(weights))]
    sizes = [absw[0].shape[2]] + [a.shape[1] for a in absw]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    E, N = absw[0].shape[0], int(offsets[-1])
    adj = torch.zeros(E, N, N, dtype=absw[0].dtype, device=absw[0].device)
    for l, a in enumerate(absw):
        r0, r1, c0, c1 = offsets[l + 1], offsets[l + 2], offsets[l], offsets[l + 1]
        adj[:, r0:r1, c0:c1] = a
        adj[:, c0:c1, r0:r1] = a.transpose(1, 2)
    return adj


def neuncut_partition(graph, k: int, steps: int = 1500, lr: float = 0.05, gamma: float = 80.0, seed: int = 0):
    """Partition a weight graph by minimising the relaxed n-cut over a free soft assignment.

    Parameters
    ----------
    graph : WeightGraph or anything with ``.adjacency`` (or a dense/sparse matrix)
    k : int
    steps, lr : Adam iterations and learning rate on the assignment logits
    gamma : float
    seed : int

    Returns
    -------
    labels : ndarray of int
        argmax of the final assignment.
    value : float
        The exact n-cut of ``labels`` (hard, comparable to :func:`ncut`).
    """
    adj = getattr(graph, "adjacency", graph)
    dense = adj.toarray() if hasattr(adj, "toarray") else np.asarray(adj)
    if k < 1 or k > dense.shape[0]:
        raise ConfigError(f"k={k}: expected 1 <= k <= {dense.shape[0]}")
    W = torch.as_tensor(dense, dtype=torch.float64)
    gen = torch.Generator().manual_seed(int(seed))
    logits = (0.01 * torch.randn(W.shape[0], k, generator=gen, dtype=torch.float64)).requires_grad_()
    opt = torch.optim.Adam([logits], lr=lr)
    for _ in range(int(steps)):
        opt.zero_grad()
        loss, _, _ = relaxed_ncut_loss(W, torch.softmax(logits, dim=1), gamma)
        loss.backward()
        opt.step()
    labels = logits.detach().argmax(dim=1).numpy().astype(np.int64)
    return labels, ncut(dense, labels)


class NeuNcutRegularizer:
    """Relaxed n-cut of the weight graph as a training penalty, alternating with its own assignment.

    ``penalty(model)`` first takes ``inner_steps`` Adam steps on per-member assignment logits with
    the weights frozen, then returns ``coef * loss(W, P)`` with P frozen, so the training step
    moves W towards a graph that the current soft partition cuts cheaply.

    Parameters
    ----------
    k : int, default 12
    coef : float, default 0.01
    gamma : float, default 80
    lr : float, default 0.05
        Adam learning rate of the assignment logits.
    inner_steps : int, default 1
    seed : int
    """

    def __init__(self, k: int = 12, coef: float = 0.01, gamma: float = 80.0, lr: float = 0.05,
                 inner_steps: int = 1, seed: int = 0):
        if int(k) < 2:
            raise ConfigError(f"k={k}: expected >= 2")
        self.k, self.coef, self.gamma, self.lr = int(k), float(coef), float(gamma), float(lr)
        self.inner_steps = int(inner_steps)
        self.seed = int(seed)
        self.logits: torch.Tensor | None = None
        self._opt = None

    def _assignment(self, adj: torch.Tensor) -> torch.Tensor:
        if self.logits is None or self.logits.shape[:2] != adj.shape[:2]:
            gen = torch.Generator().manual_seed(self.seed)
            init = 0.01 * torch.randn(adj.shape[0], adj.shape[1], self.k, generator=gen, dtype=adj.dtype)
            self.logits = init.to(adj.device).requires_grad_()
            self._opt = torch.optim.Adam([self.logits], lr=self.lr)
        fixed = adj.detach()
        for _ in range(self.inner_steps):
            self._opt.zero_grad()
            loss, _, _ = relaxed_ncut_loss(fixed, torch.softmax(self.logits, dim=2), self.gamma)
            loss.sum().backward()
            self._opt.step()
        return torch.softmax(self.logits, dim=2).detach()

    def penalty(self, model) -> torch.Tensor:
        """``coef`` times the relaxed n-cut of each member's weight graph, shape (E,)."""
        weights, _, masks, _ = stacked_parameters(model)
        adj = stacked_dense_adjacency(weights, masks)
        P = self._assignment(adj)
        loss, _, _ = relaxed_ncut_loss(adj, P, self.gamma)
        return self.coef * loss

    def labels(self) -> np.ndarray:
        """Current hard assignment per member, (E, N)."""
        if self.logits is None:
            raise ConfigError("NeuNcutRegularizer.labels: penalty() has not run yet")
        return self.logits.detach().argmax(dim=2).cpu().numpy()
