"""Graph Spectral Regularisation of activations (Tong et al., spec 7).

Penalty for a hidden layer with activations f (B x n) and a neuron-graph Laplacian L (n x n):
R = weight * mean_b f_b^T L f_b; for the unnormalised L this is weight * mean_b 1/2 sum_ij
A_ij (f_bi - f_bj)^2, i.e. activations become smooth over the neuron graph. The graph is either
fixed (a lattice over the layer viewed as h x w) or learned: a symmetrised kNN graph of the
neurons' activation profiles, refreshed every ``refresh_every`` steps.
"""
from __future__ import annotations

import numpy as np
import torch

from sculpt.errors import ConfigError, SculptError

FIXED_GRAPHS = ("grid", "torus", "lines", "vlines", "rings")
LAPLACIANS = ("unnormalized", "sym", "rw")


def fixed_graph_adjacency(kind: str, h: int, w: int) -> np.ndarray:
    """Adjacency of a fixed graph over h x w neurons (row-major).

    Parameters
    ----------
    kind : {"grid", "torus", "lines", "vlines", "rings"}
        ``grid``: 2-D lattice; ``torus``: lattice with wrap-around; ``lines``: h disjoint paths of
        length w; ``vlines``: w vertical paths; ``rings``: h disjoint cycles of length w.
    h, w : int

    Returns
    -------
    ndarray (h*w, h*w) of 0/1
    """
    if kind not in FIXED_GRAPHS:
        raise ConfigError(f"graph={kind!r}: choose one of {', '.join(FIXED_GRAPHS)}")
    n = h * w
    idx = np.arange(n).reshape(h, w)
    adj = np.zeros((n, n))

    def link(a, b):
        adj[a.ravel(), b.ravel()] = 1.0
        adj[b.ravel(), a.ravel()] = 1.0

    if kind in ("grid", "torus", "lines", "rings"):
        link(idx[:, :-1], idx[:, 1:])
    if kind in ("grid", "torus", "vlines"):
        link(idx[:-1, :], idx[1:, :])
    if kind in ("torus", "rings") and w > 2:
        link(idx[:, -1], idx[:, 0])
    if kind == "torus" and h > 2:
        link(idx[-1, :], idx[0, :])
    return adj


def graph_laplacian(adjacency, kind: str = "unnormalized") -> np.ndarray:
    """L = D - A (``unnormalized``), I - D^-1/2 A D^-1/2 (``sym``) or I - D^-1 A (``rw``); isolated nodes get 0 rows."""
    if kind not in LAPLACIANS:
        raise ConfigError(f"laplacian={kind!r}: choose one of {', '.join(LAPLACIANS)}")
    A = np.asarray(adjacency, dtype=np.float64)
    d = A.sum(axis=1)
    if kind == "unnormalized":
        return np.diag(d) - A
    alive = d > 0
    if kind == "sym":
        s = np.where(alive, 1.0 / np.sqrt(np.where(alive, d, 1.0)), 0.0)
        return np.diag(alive.astype(float)) - s[:, None] * A * s[None, :]
    inv = np.where(alive, 1.0 / np.where(alive, d, 1.0), 0.0)
    return np.diag(alive.astype(float)) - inv[:, None] * A


def coactivation_adjacency(activations, knn: int = 5) -> np.ndarray:
    """Symmetrised kNN graph of neurons, each a point given by its activations over a batch.

    Parameters
    ----------
    activations : array (B, n)
    knn : int

    Returns
    -------
    ndarray (n, n) of 0/1
    """
    f = np.asarray(activations, dtype=np.float64).T  # (n, B): one row per neuron
    n = f.shape[0]
    if n < 2:
        raise SculptError("co-activation graph needs at least two neurons")
    k = min(int(knn), n - 1)
    sq = (f ** 2).sum(axis=1)
    dist = sq[:, None] + sq[None, :] - 2.0 * f @ f.T
    np.fill_diagonal(dist, np.inf)
    nearest = np.argsort(dist, axis=1, kind="stable")[:, :k]
    adj = np.zeros((n, n))
    adj[np.repeat(np.arange(n), k), nearest.ravel()] = 1.0
    return np.maximum(adj, adj.T)


def gsr_penalty(activations: torch.Tensor, laplacian: torch.Tensor, normalize: bool = False) -> torch.Tensor:
    """mean_b f_b^T L f_b (optionally divided by f_b^T f_b) per member.

    Parameters
    ----------
    activations : Tensor (B, n) or (E, B, n)
    laplacian : Tensor (n, n) or (E, n, n)
    normalize : bool
        Rayleigh-quotient form (the GSR code's ``normalize_ising_reg``).

    Returns
    -------
    Tensor, scalar or (E,)
    """
    single = activations.dim() == 2
    f = activations.unsqueeze(0) if single else activations
    L = laplacian.to(f.dtype)
    Lf = torch.matmul(f, L if L.dim() == 2 else L.transpose(1, 2))  # L symmetric: f L = (L f^T)^T
    quad = (f * Lf).sum(dim=2)
    if normalize:
        quad = quad / (f * f).sum(dim=2).clamp_min(1e-12)
    value = quad.mean(dim=1)
    return value[0] if single else value


def _hidden_activations(model, x: torch.Tensor) -> list:
    """Post-ReLU hidden activations, each (E, B, h), of a MaskedMLP-like model or a torch Sequential."""
    if isinstance(model, torch.nn.Module):
        hidden, h = [], x
        for layer in (model if isinstance(model, torch.nn.Sequential) else model.children()):
            h = layer(h)
            if isinstance(layer, torch.nn.ReLU):
                hidden.append(h.unsqueeze(0))
        return hidden
    _, hidden = model.forward(x, return_hidden=True)
    return hidden


class GraphSpectralRegularizer:
    """GSR penalty on one hidden layer, on a probe batch drawn from ``inputs`` every step.

    Parameters
    ----------
    inputs : array or Tensor (rows, n_in)
        Data the probe batches are drawn from (e.g. the task's training inputs).
    layer : int, default 0
        Hidden layer index (0 = first hidden layer).
    weight : float, default 1e-3
    graph : {"grid", "torus", "lines", "vlines", "rings", "learned"} or array (n, n)
        Fixed graph kind, a user adjacency, or ``learned`` (kNN co-activation graph).
    shape : (h, w), optional
        Layout of the layer for fixed graphs; default (1, n) for lines/rings, else the most
        square factorisation of n.
    laplacian : {"unnormalized", "sym", "rw"}
        Default ``unnormalized`` for fixed graphs (GSR code); the learned graph always uses ``sym``.
    knn, refresh_every, warmup_steps : learned graph: neighbours, refresh period, steps with no
        penalty before the first graph is built (GSR trains 5000 steps unregularised).
    batch_size : int
    normalize : bool
    seed : int
    """

    def __init__(self, inputs, layer: int = 0, weight: float = 1e-3, graph="grid", shape=None,
                 laplacian: str = "unnormalized", knn: int = 5, refresh_every: int = 100,
                 warmup_steps: int = 0, batch_size: int = 128, normalize: bool = False, seed: int = 0):
        self.inputs = torch.as_tensor(np.asarray(inputs, dtype=np.float32))
        if self.inputs.dim() != 2 or self.inputs.shape[0] == 0:
            raise ConfigError(f"inputs: expected a non-empty (rows, features) array, got shape {tuple(self.inputs.shape)}")
        if isinstance(graph, str) and graph not in FIXED_GRAPHS + ("learned",):
            raise ConfigError(f"graph={graph!r}: choose one of {', '.join(FIXED_GRAPHS + ('learned',))} or pass an adjacency")
        if laplacian not in LAPLACIANS:
            raise ConfigError(f"laplacian={laplacian!r}: choose one of {', '.join(LAPLACIANS)}")
        self.layer, self.weight, self.graph, self.shape = int(layer), float(weight), graph, shape
        self.laplacian_kind, self.knn = laplacian, int(knn)
        self.refresh_every, self.warmup_steps = max(1, int(refresh_every)), int(warmup_steps)
        self.batch_size, self.normalize = int(batch_size), bool(normalize)
        self.generator = torch.Generator().manual_seed(int(seed))
        self.steps = 0
        self.laplacian: torch.Tensor | None = None

    def _fixed_laplacian(self, n: int) -> torch.Tensor:
        if isinstance(self.graph, str):
            if self.shape is not None:
                h, w = self.shape
            elif self.graph in ("lines", "rings"):
                h, w = 1, n
            else:
                h = max(d for d in range(1, int(np.sqrt(n)) + 1) if n % d == 0)
                w = n // h
            if h * w != n:
                raise ConfigError(f"shape {self.shape} does not match the layer's {n} units")
            adj = fixed_graph_adjacency(self.graph, h, w)
        else:
            adj = np.asarray(self.graph, dtype=np.float64)
            if adj.shape != (n, n):
                raise ConfigError(f"graph adjacency of shape {adj.shape} does not match the layer's {n} units")
        return torch.as_tensor(graph_laplacian(adj, self.laplacian_kind))

    def probe_activations(self, model) -> torch.Tensor:
        """Hidden activations (E, B, n) of the chosen layer on a fresh probe batch."""
        rows = torch.randint(0, self.inputs.shape[0], (self.batch_size,), generator=self.generator)
        hidden = _hidden_activations(model, self.inputs[rows])
        if not 0 <= self.layer < len(hidden):
            raise ConfigError(f"layer={self.layer}: the model has {len(hidden)} hidden layer(s)")
        return hidden[self.layer]

    def penalty(self, model) -> torch.Tensor:
        """weight * mean_b f_b^T L f_b per member, shape (E,)."""
        f = self.probe_activations(model)
        self.steps += 1
        if self.graph == "learned":
            if self.steps <= self.warmup_steps:
                return torch.zeros(f.shape[0], dtype=f.dtype, device=f.device)
            if self.laplacian is None or (self.steps - self.warmup_steps - 1) % self.refresh_every == 0:
                acts = f.detach().cpu().numpy()
                self.laplacian = torch.stack([torch.as_tensor(graph_laplacian(
                    coactivation_adjacency(a, self.knn), "sym")) for a in acts])
        elif self.laplacian is None:
            self.laplacian = self._fixed_laplacian(f.shape[2])
        return self.weight * gsr_penalty(f, self.laplacian.to(f.device), self.normalize)
