"""Clusterability regulariser: penalise the smallest eigenvalues of the weight graph's normalised Laplacian.

Spec section 4. Loss term (coef / K) * sum_{j=2}^{K+1} lambda_j(L_sym(|W|)); small lambda_2..lambda_{K+1}
mean a graph that is close to falling apart into K+1 clusters (higher-order Cheeger inequality).

Gradient (spec 4.5): the eigenvectors u_j are computed without autograd (scipy / LAPACK on the
detached graph); the penalty is then the Rayleigh quotient u_j^T L_sym(W) u_j with u_j held fixed,
built differentiably from |W|. By Hellmann-Feynman its gradient is exactly d lambda_j / dW. The TF
code of the paper computes half of that gradient (spec 4.4); ``paper_half_gradient=True`` reproduces
it (same penalty value, gradient times 1/2), which is equivalent to coef 0.05 with the exact gradient.

``after_step`` applies the ReLU-rescaling normalisation of spec 4.2 (Algorithm 2): every hidden
unit's incoming weights and bias get L2 norm sqrt(2) and its outgoing weights absorb the factor, so
the regulariser cannot "cluster" by rescaling without changing the function.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from sculpt.errors import ConfigError, SculptError
from sculpt.spectral.clustering import _one_thread, normalized_laplacian, smallest_eigenpairs
from sculpt.spectral.graph import graph_from_blocks

EIGEN_SOLVERS = ("rayleigh", "eigvalsh")


def stacked_parameters(model):
    """Weights, biases and masks of a model as stacked (E, out, in) / (E, out) tensors (views).

    Parameters
    ----------
    model : MaskedMLP-like (``weights``, ``biases``, ``weight_masks``, ``bias_masks``),
        torch.nn.Module with Linear layers, or a list of weight tensors (2-D or stacked 3-D).

    Returns
    -------
    weights : list of Tensor (E, out, in)
    biases : list of Tensor (E, out) or None
    weight_masks, bias_masks : list of Tensor or None
    """
    if isinstance(model, torch.nn.Module):
        linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
        if not linears:
            raise SculptError(f"{type(model).__name__}: no torch.nn.Linear layers found")
        weights = [m.weight.unsqueeze(0) for m in linears]
        biases = [m.bias.unsqueeze(0) if m.bias is not None else None for m in linears]
        return weights, biases, None, None
    if isinstance(model, (list, tuple)):
        weights = [w if w.dim() == 3 else w.unsqueeze(0) for w in model]
        return weights, None, None, None
    if hasattr(model, "weights"):
        weights = list(model.weights)
        if not all(torch.is_tensor(w) for w in weights):
            raise SculptError("regulariser needs torch tensors; got a numpy network (use MaskedMLP.from_pruned_net)")
        weights = [w if w.dim() == 3 else w.unsqueeze(0) for w in weights]
        biases = getattr(model, "biases", None)
        if biases is not None:
            biases = [b if b.dim() == 2 else b.unsqueeze(0) for b in biases]
        masks = getattr(model, "weight_masks", None)
        bias_masks = getattr(model, "bias_masks", None)
        return weights, biases, masks, bias_masks
    raise SculptError(f"cannot read weights from {type(model).__name__}")


def _masked_abs(weights, masks) -> list:
    if masks is None:
        return [w.abs() for w in weights]
    return [(w * m).abs() for w, m in zip(weights, masks)]


def _degrees(abs_weights) -> list:
    """Weighted degree of every node per layer, each (E, n_l): incoming plus outgoing |w|."""
    E = abs_weights[0].shape[0]
    degrees = [abs_weights[0].sum(dim=1)]
    for l in range(1, len(abs_weights)):
        degrees.append(abs_weights[l - 1].sum(dim=2) + abs_weights[l].sum(dim=1))
    degrees.append(abs_weights[-1].sum(dim=2))
    assert all(d.shape[0] == E for d in degrees)
    return degrees


def fixed_eigenvectors(abs_weights_np, num_eigs: int, seed: int = 0) -> tuple:
    """Eigenpairs 1..K+1 of L_sym of one member's graph, vectors laid out on all nodes (dead = 0).

    Returns
    -------
    eigenvalues : ndarray (K+1,)
    vectors : list of ndarray, one (n_l, K+1) block per node layer
    """
    graph = graph_from_blocks(abs_weights_np, dead="degree0")
    n_eigs = num_eigs + 1
    if graph.n_nodes <= n_eigs:
        raise SculptError(f"clusterability regulariser: {graph.n_nodes} alive units, need more than {n_eigs}")
    lap, sqrt_degree = normalized_laplacian(graph.adjacency)
    side = (graph.node_layer % 2).astype(np.int64)
    with _one_thread():  # called every training step: BLAS thread teams cost ~6x here (see clustering)
        vals, vecs, _ = smallest_eigenpairs(lap, n_eigs, "auto", np.random.default_rng(seed), 1e-10, side,
                                            sqrt_degree)
    blocks = [np.zeros((size, n_eigs)) for size in graph.layer_sizes]
    for l in range(len(blocks)):
        rows = graph.node_layer == l
        blocks[l][graph.node_unit[rows]] = vecs[rows]
    return vals, blocks


def rayleigh_eigenvalues(weights, num_eigs: int = 3, masks=None, seed: int = 0) -> torch.Tensor:
    """lambda_2..lambda_{K+1} of L_sym(|W|) per member, differentiable (exact eigenvalue gradient).

    Parameters
    ----------
    weights : list of Tensor (E, out, in)
    num_eigs : int
        K.
    masks : list of Tensor, optional
        Multiplied into the weights.
    seed : int
        Start vectors of the eigensolver.

    Returns
    -------
    Tensor (E, K), float64
    """
    absw = [a.double() for a in _masked_abs(weights, masks)]
    degrees = _degrees(absw)
    inv_sqrt = [torch.where(d > 0, d.clamp_min(1e-300).rsqrt(), torch.zeros_like(d)) for d in degrees]
    E = absw[0].shape[0]
    out = []
    for e in range(E):
        _, vec_blocks = fixed_eigenvectors([a[e].detach().cpu().numpy() for a in absw], num_eigs, seed)
        # y_l = s_l * u_l with s = d^-1/2 differentiable; u fixed (columns 1..K: skip the trivial one)
        ys = [inv_sqrt[l][e][:, None] * torch.as_tensor(v[:, 1:], dtype=torch.float64, device=absw[0].device)
              for l, v in enumerate(vec_blocks)]
        quad = sum((ys[l + 1] * (absw[l][e] @ ys[l])).sum(dim=0) for l in range(len(absw)))
        norms = sum((torch.as_tensor(v[:, 1:], dtype=torch.float64) ** 2).sum(dim=0) for v in vec_blocks)
        out.append(norms.to(quad.device) - 2.0 * quad)  # u^T (I - S) u with S = D^-1/2 A D^-1/2
    return torch.stack(out)


def dense_laplacian(weights, masks=None) -> torch.Tensor:
    """Differentiable dense L_sym of every member, (E, N, N) float64; degree-0 nodes get L_ii = 0."""
    absw = [a.double() for a in _masked_abs(weights, masks)]
    sizes = [absw[0].shape[2]] + [a.shape[1] for a in absw]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    E, N = absw[0].shape[0], int(offsets[-1])
    adj = torch.zeros(E, N, N, dtype=torch.float64, device=absw[0].device)
    for l, a in enumerate(absw):
        r0, r1, c0, c1 = offsets[l + 1], offsets[l + 2], offsets[l], offsets[l + 1]
        adj[:, r0:r1, c0:c1] = a
        adj[:, c0:c1, r0:r1] = a.transpose(1, 2)
    d = adj.sum(dim=2)
    alive = d > 0
    s = torch.where(alive, d.clamp_min(1e-300).rsqrt(), torch.zeros_like(d))
    eye = torch.diag_embed(alive.to(torch.float64))
    return eye - s[:, :, None] * adj * s[:, None, :]


def eigvalsh_eigenvalues(weights, num_eigs: int = 3, masks=None) -> torch.Tensor:
    """lambda_2..lambda_{K+1} via ``torch.linalg.eigvalsh`` autograd on the dense L_sym (N <~ 2k).

    Degree-0 nodes contribute zero eigenvalues; they are skipped so the result matches
    :func:`rayleigh_eigenvalues` on the graph without dead units.
    """
    lap = dense_laplacian(weights, masks)
    absw = _masked_abs(weights, masks)
    dead = torch.cat([(d == 0) for d in _degrees([a.double() for a in absw])], dim=1).sum(dim=1)
    vals = torch.linalg.eigvalsh(lap)
    return torch.stack([vals[e, int(dead[e]) + 1:int(dead[e]) + 1 + num_eigs] for e in range(vals.shape[0])])


@torch.no_grad()
def relu_rescale_normalize_(model, target_norm: float = math.sqrt(2.0), include_bias: bool = True,
                            weight_scales=None) -> None:
    """Spec 4.2 (paper Alg. 2), in place: hidden units' incoming [weights, bias] get norm ``target_norm``.

    For hidden unit n of layer i: x = ||[W_i[n, :], b_i[n]]|| (masked weights); if x != 0 the incoming
    weights and bias are divided by x / target_norm; the outgoing column W_{i+1}[:, n] is multiplied
    by x / target_norm, also when x = 0 (a dead unit's outgoing weights become 0: relu(0) = 0, so the
    function is unchanged). Layers are processed input to output.

    Parameters
    ----------
    model : MaskedMLP-like, torch.nn.Module with Linear layers, or list of weight tensors
    target_norm : float
        sqrt(2) as the paper ("maintains the benefits of He init").
    include_bias : bool
    weight_scales : sequence of float, optional
        Multiply layer i's weights by ``weight_scales[i]`` (the bias is not scaled) when computing
        x only. Emulates the paper's TF callback in its pruning phase, which read the tfmot
        ``threshold`` scalar where it meant the mask (``train_nn.py`` ``NormalizeWeights``:
        ``weights[5 * layer + 3]`` of kernel, bias, mask, threshold, step), so x was
        ``||[t_i W_i[n, :], b_i[n]]||`` with t_i the layer's pruning threshold (0 before the first
        mask update). None (default): Algorithm 2 as the paper describes it.
    """
    weights, biases, masks, bias_masks = stacked_parameters(model)
    for i in range(len(weights) - 1):
        w = weights[i] if masks is None else weights[i] * masks[i]
        if weight_scales is not None:
            w = w * float(weight_scales[i])
        sq = (w ** 2).sum(dim=2)
        if include_bias and biases is not None and biases[i] is not None:
            b = biases[i] if bias_masks is None else biases[i] * bias_masks[i]
            sq = sq + b ** 2
        factor = sq.sqrt() / target_norm  # (E, out_i)
        safe = torch.where(factor > 0, factor, torch.ones_like(factor))
        weights[i].div_(safe[:, :, None])
        if biases is not None and biases[i] is not None:
            biases[i].div_(safe)
        weights[i + 1].mul_(factor[:, None, :])


class ClusterabilityRegularizer:
    """(coef / K) * (lambda_2 + ... + lambda_{K+1}) of the normalised Laplacian of |W|, per member.

    Plugs into ``sculpt.train.train(regularizer=...)``: ``penalty(model)`` returns a (E,) tensor and
    ``after_step(model)`` renormalises the weights (spec 4.2) after every optimiser step.

    Parameters
    ----------
    num_eigs : int, default 3
        K; the paper penalises lambda_2, lambda_3, lambda_4.
    coef : float, default 0.1
        The paper's ``cluster_lambda``. With the exact gradient, 0.05 reproduces the paper's
        dynamics; or keep 0.1 and set ``paper_half_gradient=True``.
    paper_half_gradient : bool, default False
        Scale the gradient by 1/2 (value unchanged), as the paper's TF code did (spec 4.4).
    every_n_steps : int, default 1
        Compute the penalty only every n-th call, multiplied by n (the PyTorch rewrite's
        ``frequency``); other calls return zeros. 1 = every step, as the paper.
    normalize : bool, default True
        Apply :func:`relu_rescale_normalize_` in ``after_step``.
    target_norm : float, default sqrt(2)
    solver : {"rayleigh", "eigvalsh"}
        ``rayleigh``: scipy eigenvectors + differentiable Rayleigh quotients (sparse-friendly,
        O(nnz) backward); ``eigvalsh``: ``torch.linalg.eigvalsh`` on the dense Laplacian.
    seed : int
        Eigensolver start vectors.
    """

    def __init__(self, num_eigs: int = 3, coef: float = 0.1, paper_half_gradient: bool = False,
                 every_n_steps: int = 1, normalize: bool = True, target_norm: float = math.sqrt(2.0),
                 solver: str = "rayleigh", seed: int = 0):
        if int(num_eigs) < 1:
            raise ConfigError(f"num_eigs={num_eigs}: expected >= 1")
        if int(every_n_steps) < 1:
            raise ConfigError(f"every_n_steps={every_n_steps}: expected >= 1")
        if solver not in EIGEN_SOLVERS:
            raise ConfigError(f"solver={solver!r}: choose one of {', '.join(EIGEN_SOLVERS)}")
        self.num_eigs = int(num_eigs)
        self.coef = float(coef)
        self.paper_half_gradient = bool(paper_half_gradient)
        self.every_n_steps = int(every_n_steps)
        self.normalize = bool(normalize)
        self.target_norm = float(target_norm)
        self.solver = solver
        self.seed = int(seed)
        self.calls = 0
        self.last_eigenvalues: np.ndarray | None = None
        # optional callable -> per-layer scales for relu_rescale_normalize_ (the TF pruning-phase
        # quirk: lambda: pruner.thresholds); None = Algorithm 2 as printed
        self.norm_weight_scales = None

    def eigenvalues(self, model) -> torch.Tensor:
        """lambda_2..lambda_{K+1} per member, (E, K), differentiable."""
        weights, _, masks, _ = stacked_parameters(model)
        if self.solver == "eigvalsh":
            return eigvalsh_eigenvalues(weights, self.num_eigs, masks)
        return rayleigh_eigenvalues(weights, self.num_eigs, masks, self.seed)

    def penalty(self, model) -> torch.Tensor:
        """Regularisation term per member, shape (E,), in the weights' dtype."""
        weights, _, _, _ = stacked_parameters(model)
        self.calls += 1
        if (self.calls - 1) % self.every_n_steps:
            return torch.zeros(weights[0].shape[0], dtype=weights[0].dtype, device=weights[0].device)
        lam = self.eigenvalues(model)
        self.last_eigenvalues = lam.detach().cpu().numpy()
        if self.paper_half_gradient:
            lam = 0.5 * lam + 0.5 * lam.detach()
        value = (self.coef / self.num_eigs) * self.every_n_steps * lam.sum(dim=1)
        return value.to(weights[0].dtype)

    def after_step(self, model) -> None:
        """Renormalise the weights (spec 4.2) if ``normalize``."""
        if self.normalize:
            scales = self.norm_weight_scales() if self.norm_weight_scales is not None else None
            relu_rescale_normalize_(model, self.target_norm, weight_scales=scales)
