"""Weight graphs of networks: |W| between units (MLPs) or kernel-slice norms between channels (CNNs).

Spec: ``docs/clusterability.md`` sections 1.1-1.3. Nodes are the units of every layer, input pixels and
output logits included, numbered layer by layer; edge (m, n) carries |w| of the weight between them
(masks applied, biases ignored). Units that the chosen dead-unit policy removes are reported in
:attr:`WeightGraph.dropped`.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from sculpt.errors import ConfigError, SculptError

DEAD_POLICIES = ("degree0", "components", "largest")
CHANNEL_NORMS = ("l1_entrywise", "tf_matrix_1norm", "fro", "spectral")


@dataclass
class WeightGraph:
    """Undirected layered graph of absolute weights, restricted to the units that were kept.

    Attributes
    ----------
    adjacency : scipy.sparse.csr_matrix
        Symmetric N x N float64 adjacency of the kept nodes, no self-loops.
    blocks : list of ndarray or sparse matrix
        ``blocks[l]`` is |W_l| on the kept units, shape (kept in layer l+1, kept in layer l)
        (torch layout). Shuffles permute these.
    layer_sizes : tuple of int
        Units per node layer of the original network (input layer first).
    node_layer, node_unit : ndarray of int
        Node layer and original unit index of every kept node, in node order.
    dead : str
        The dead-unit policy that was applied.
    dropped : dict of int -> list of int
        Original unit indices removed per node layer (layers with nothing dropped are omitted).
    n_components : int
        Connected components of the kept graph.
    component_sizes : list of int
        Sizes of the connected components before dropping, isolated units excluded, largest first.
    warnings : list of str
        Anything a reader of the n-cut should know (e.g. a fallback of the dead-unit policy).
    """

    adjacency: sp.csr_matrix
    blocks: list
    layer_sizes: tuple
    node_layer: np.ndarray
    node_unit: np.ndarray
    dead: str = "degree0"
    dropped: dict = field(default_factory=dict)
    n_components: int = 1
    component_sizes: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    def __repr__(self) -> str:
        # a short summary, not the adjacency and blocks
        return (f"WeightGraph(n_nodes={self.n_nodes}, n_edges={int(self.adjacency.nnz // 2)}, "
                f"layer_sizes={tuple(int(s) for s in self.layer_sizes)}, dead={self.dead!r}, "
                f"n_dropped={self.n_dropped}, n_components={self.n_components})")

    @property
    def n_nodes(self) -> int:
        """Number of kept nodes."""
        return int(self.adjacency.shape[0])

    @property
    def n_dropped(self) -> int:
        """Number of units removed by the dead-unit policy."""
        return int(sum(len(v) for v in self.dropped.values()))

    @property
    def degrees(self) -> np.ndarray:
        """Weighted degree of every kept node."""
        return np.asarray(self.adjacency.sum(axis=1)).ravel()

    def node_index(self) -> dict:
        """Map ``(layer, original unit) -> node position`` for the kept nodes."""
        return {(int(l), int(u)): i for i, (l, u) in enumerate(zip(self.node_layer, self.node_unit))}

    def report(self) -> dict:
        """JSON-ready description of what the graph contains and what was dropped."""
        return {
            "n_nodes": self.n_nodes,
            "n_edges": int(self.adjacency.nnz // 2),
            "layer_sizes": [int(s) for s in self.layer_sizes],
            "dead": self.dead,
            "n_dropped": self.n_dropped,
            "dropped": {str(k): [int(u) for u in v] for k, v in sorted(self.dropped.items())},
            "n_components": int(self.n_components),
            "component_sizes": [int(s) for s in self.component_sizes],
            "warnings": list(self.warnings),
        }


# ---------------------------------------------------------------------------------------------
# Reading weights out of the objects users hold
# ---------------------------------------------------------------------------------------------

def _to_numpy(array, what: str) -> np.ndarray:
    if hasattr(array, "detach"):  # torch tensor
        array = array.detach().cpu().numpy()
    out = np.asarray(array)
    if out.dtype == object:
        raise SculptError(f"{what}: expected a numeric array, got objects")
    return out


def _select_member(array: np.ndarray, member: int | None, what: str) -> np.ndarray:
    """Pick member ``member`` of a stacked (E, out, in) array; plain 2-D arrays pass through."""
    if array.ndim == 2:
        return array
    if array.ndim != 3:
        raise SculptError(f"{what}: expected a 2-D (out, in) or stacked 3-D (E, out, in) array, got shape {array.shape}")
    if member is None:
        if array.shape[0] != 1:
            raise SculptError(f"{what}: stacked weights of {array.shape[0]} members; pass member=")
        member = 0
    if not 0 <= member < array.shape[0]:
        raise SculptError(f"{what}: member {member} out of range 0..{array.shape[0] - 1}")
    return array[member]


def _torch_linear_weights(module):
    """(weights, masks) of a torch ``nn.Sequential`` MLP, or None if ``module`` is not a torch module.

    Read by :func:`sculpt.adapters.weights_from_sequential`: ``weight_mask`` buffers applied, and a
    model that is not a chain of Linear layers and element-wise activations refused by name.
    """
    torch = sys.modules.get("torch")
    if torch is None:  # a torch module cannot exist before torch is imported; keep numpy paths fast
        return None
    if not isinstance(module, torch.nn.Module):
        return None
    from sculpt.adapters import weights_from_sequential

    return weights_from_sequential(module)


def layer_weights(net, member: int | None = None) -> list[np.ndarray]:
    """Masked weight matrices of an MLP, torch layout (out, in), float64.

    Parameters
    ----------
    net : PrunedNet-like, list of arrays/tensors, or torch.nn.Module
        Anything with ``.weights`` (and optionally ``.masks``), a list of weight arrays, or a torch
        ``nn.Sequential`` MLP (its ``weight_mask`` buffers applied; see
        :func:`sculpt.adapters.read_sequential` for the layers it may hold).
    member : int, optional
        Which member of a stacked (E, out, in) network to read; needed when E > 1.

    Returns
    -------
    list of ndarray
        ``W_l * mask_l`` for each weight layer.
    """
    masks = None
    if hasattr(net, "weights") and not isinstance(net, (list, tuple, np.ndarray)):
        weights = list(net.weights)
        masks = getattr(net, "masks", None)
    else:
        read = _torch_linear_weights(net)
        if read is not None:
            weights, masks = read
        elif not isinstance(net, (list, tuple)):
            raise SculptError(f"cannot read weights from {type(net).__name__}: "
                              "expected a PrunedNet, a list of weight arrays or a torch nn.Sequential")
        else:
            weights = list(net)
    if not weights:
        raise SculptError("network has no weight layers")
    out = []
    for l, w in enumerate(weights):
        w = _select_member(_to_numpy(w, f"weight layer {l}"), member, f"weight layer {l}").astype(np.float64)
        if masks is not None and masks[l] is not None:
            m = _select_member(_to_numpy(masks[l], f"mask layer {l}"), member, f"mask layer {l}")
            if m.shape != w.shape:
                raise SculptError(f"mask layer {l}: shape {m.shape} does not match weight shape {w.shape}")
            w = w * m.astype(bool)
        out.append(w)
    check_chain([w.shape for w in out])
    return out


def check_chain(shapes) -> None:
    """Raise if consecutive (out, in) shapes do not chain (in of layer l+1 = out of layer l)."""
    for l, shape in enumerate(shapes):
        if len(shape) != 2:
            raise SculptError(f"weight layer {l}: expected a 2-D (out, in) matrix, got shape {tuple(shape)}")
        if l and shape[1] != shapes[l - 1][0]:
            raise SculptError(f"weight layer {l}: has {shape[1]} inputs but layer {l - 1} has {shapes[l - 1][0]} outputs")


# ---------------------------------------------------------------------------------------------
# Graph building
# ---------------------------------------------------------------------------------------------

def layered_adjacency(blocks) -> sp.csr_matrix:
    """Symmetric block-tridiagonal adjacency A = U + U^T of a chain of (out, in) blocks.

    Parameters
    ----------
    blocks : list of ndarray or sparse matrix
        Non-negative edge weights ``blocks[l][j, i]`` from unit i of layer l to unit j of layer l+1.

    Returns
    -------
    scipy.sparse.csr_matrix
        N x N float64 adjacency, nodes numbered layer by layer.
    """
    sizes = [blocks[0].shape[1]] + [b.shape[0] for b in blocks]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    rows, cols, vals = [], [], []
    for l, block in enumerate(blocks):
        coo = sp.coo_matrix(block)
        keep = coo.data != 0
        rows.append(coo.col[keep] + offsets[l])       # source unit in layer l
        cols.append(coo.row[keep] + offsets[l + 1])   # target unit in layer l+1
        vals.append(np.abs(coo.data[keep]).astype(np.float64))
    r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    n = int(offsets[-1])
    upper = sp.coo_matrix((v, (r, c)), shape=(n, n))
    return (upper + upper.T).tocsr()


def _keep_mask(adjacency: sp.csr_matrix, node_layer: np.ndarray, n_layers: int, dead: str):
    """Boolean mask of nodes to keep under ``dead`` plus warnings and the pre-drop component sizes."""
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    alive = degree > 0
    n_comp, comp = connected_components(adjacency, directed=False)
    sizes = np.bincount(comp, minlength=n_comp)
    comp_alive = np.bincount(comp, weights=alive, minlength=n_comp) > 0
    component_sizes = sorted((int(s) for s, a in zip(sizes, comp_alive) if a), reverse=True)
    warnings: list[str] = []
    if dead == "degree0":
        return alive, warnings, component_sizes
    if dead == "largest":
        if not alive.any():
            return alive, warnings, component_sizes
        # Largest by node count among components with at least one edge (ties: lowest label).
        best = int(np.argmax(np.where(comp_alive, sizes, -1)))
        return comp == best, warnings, component_sizes
    # "components": keep only components that reach from the input layer to the output layer.
    has_in = np.bincount(comp, weights=(node_layer == 0), minlength=n_comp) > 0
    has_out = np.bincount(comp, weights=(node_layer == n_layers - 1), minlength=n_comp) > 0
    spanning = has_in & has_out & comp_alive
    if not spanning.any():
        warnings.append("no connected component spans input to output; fell back to dead='degree0'")
        return alive, warnings, component_sizes
    return spanning[comp], warnings, component_sizes


def _slice_block(block, rows: np.ndarray, cols: np.ndarray):
    if sp.issparse(block):
        return block[rows][:, cols]
    return block[np.ix_(rows, cols)]


def graph_from_blocks(blocks, dead: str = "degree0") -> WeightGraph:
    """Build a :class:`WeightGraph` from a chain of (out, in) weight blocks.

    Parameters
    ----------
    blocks : list of ndarray or sparse matrix
        Weight matrices in torch layout; absolute values are taken.
    dead : {"degree0", "components", "largest"}
        ``degree0`` drops units without any non-zero incident weight (the paper's code);
        ``components`` keeps only connected components that contain an input and an output unit
        (removes multi-unit islands, spec 2.4); ``largest`` keeps the largest component.

    Returns
    -------
    WeightGraph
    """
    if dead not in DEAD_POLICIES:
        raise ConfigError(f"dead={dead!r}: choose one of {', '.join(DEAD_POLICIES)}")
    if not blocks:
        raise SculptError("network has no weight layers")
    check_chain([b.shape for b in blocks])
    blocks = [abs(sp.csr_matrix(b, dtype=np.float64)) if sp.issparse(b) else np.abs(np.asarray(b, dtype=np.float64))
              for b in blocks]
    sizes = [blocks[0].shape[1]] + [b.shape[0] for b in blocks]
    node_layer = np.repeat(np.arange(len(sizes)), sizes)
    node_unit = np.concatenate([np.arange(s) for s in sizes])
    full = layered_adjacency(blocks)
    keep, warnings, component_sizes = _keep_mask(full, node_layer, len(sizes), dead)
    if not keep.any():
        raise SculptError("network has no non-zero weights: the weight graph is empty")
    kept_units = [node_unit[keep & (node_layer == l)] for l in range(len(sizes))]
    dropped = {l: [int(u) for u in np.setdiff1d(np.arange(s), kept_units[l])]
               for l, s in enumerate(sizes)}
    dropped = {l: v for l, v in dropped.items() if v}
    reduced = [_slice_block(b, kept_units[l + 1], kept_units[l]) for l, b in enumerate(blocks)]
    idx = np.flatnonzero(keep)
    adjacency = full[idx][:, idx].tocsr()
    n_comp = connected_components(adjacency, directed=False)[0]
    empty_layers = [l for l, u in enumerate(kept_units) if len(u) == 0]
    if empty_layers:
        warnings.append(f"no unit kept in layer(s) {empty_layers}: the network is cut")
    return WeightGraph(adjacency=adjacency, blocks=reduced, layer_sizes=tuple(int(s) for s in sizes),
                       node_layer=node_layer[keep], node_unit=node_unit[keep], dead=dead,
                       dropped=dropped, n_components=int(n_comp),
                       component_sizes=component_sizes, warnings=warnings)


def weight_graph(net, dead: str = "degree0", member: int | None = None, **cnn_options) -> WeightGraph:
    """Weight graph of a network: |W| between units for MLPs, the channel graph for CNNs.

    Parameters
    ----------
    net : WeightGraph, PrunedNet-like, list of arrays/tensors, or torch.nn.Module
        A torch module containing ``Conv2d`` layers is read as a CNN (see :func:`cnn_weight_graph`,
        which receives ``cnn_options``); anything else as an MLP (see :func:`layer_weights`).
    dead : {"degree0", "components", "largest"}
        Dead-unit policy, see :func:`graph_from_blocks`. The paper's code uses ``degree0``.
    member : int, optional
        Member of a stacked network to read.

    Returns
    -------
    WeightGraph
    """
    if isinstance(net, WeightGraph):
        return net
    if _has_conv(net):
        return cnn_weight_graph(net, dead=dead, **cnn_options)
    if cnn_options:
        raise ConfigError(f"options {sorted(cnn_options)} apply to CNNs only")
    return graph_from_blocks(layer_weights(net, member=member), dead=dead)


# ---------------------------------------------------------------------------------------------
# CNN channel graphs (spec 1.3)
# ---------------------------------------------------------------------------------------------

def _has_conv(net) -> bool:
    torch = sys.modules.get("torch")
    if torch is None:
        return False
    return isinstance(net, torch.nn.Module) and any(isinstance(m, torch.nn.Conv2d) for m in net.modules())


def channel_norms(kernel: np.ndarray, channel_norm: str = "l1_entrywise") -> np.ndarray:
    """Aggregate each (in, out) kernel slice into one edge weight.

    Parameters
    ----------
    kernel : ndarray, shape (out, in, kh, kw)
        Convolution kernel in torch layout.
    channel_norm : {"l1_entrywise", "tf_matrix_1norm", "fro", "spectral"}
        ``l1_entrywise`` sums |w| over the slice (the paper's text, the PyTorch rewrite);
        ``tf_matrix_1norm`` is ``np.linalg.norm(slice, 1)`` as the TF code computes it (largest
        absolute column sum); ``spectral`` is the TF code's "L2" (largest singular value).

    Returns
    -------
    ndarray, shape (out, in)
    """
    k = np.abs(np.asarray(kernel, dtype=np.float64))
    if k.ndim != 4:
        raise SculptError(f"conv kernel: expected shape (out, in, kh, kw), got {k.shape}")
    if channel_norm == "l1_entrywise":
        return k.sum(axis=(2, 3))
    if channel_norm == "tf_matrix_1norm":
        return k.sum(axis=2).max(axis=2)
    if channel_norm == "fro":
        return np.sqrt((k ** 2).sum(axis=(2, 3)))
    if channel_norm == "spectral":
        return np.linalg.norm(k, ord=2, axis=(2, 3))
    raise ConfigError(f"channel_norm={channel_norm!r}: choose one of {', '.join(CHANNEL_NORMS)}")


def channel_blocks(kernels, bn_scales=None, channel_norm: str = "l1_entrywise",
                   drop_first_conv: bool = True, layout: str = "torch") -> list[np.ndarray]:
    """Channel-adjacency blocks of a chain of conv layers.

    Parameters
    ----------
    kernels : list of array, each (out, in, kh, kw) (``layout="torch"``) or (kh, kw, in, out) (``"keras"``)
    bn_scales : list of (array or None), optional
        Per conv layer, gamma / sqrt(var + eps) of the BatchNorm that follows it; multiplied into
        the kernel along the output-channel axis before the norm (spec 1.3 folding).
    channel_norm : str
        See :func:`channel_norms`.
    drop_first_conv : bool
        The paper's graph starts at conv1's output channels: the image->conv1 edges are dropped.

    Returns
    -------
    list of ndarray, block l of shape (out channels, in channels)
    """
    if layout not in ("torch", "keras"):
        raise ConfigError(f"layout={layout!r}: choose 'torch' or 'keras'")
    ks = []
    for l, k in enumerate(kernels):
        k = _to_numpy(k, f"conv kernel {l}").astype(np.float64)
        if layout == "keras":
            k = np.transpose(k, (3, 2, 0, 1))
        if bn_scales is not None and bn_scales[l] is not None:
            k = k * np.asarray(bn_scales[l], dtype=np.float64).reshape(-1, 1, 1, 1)
        ks.append(k)
    if drop_first_conv:
        ks = ks[1:]
    if not ks:
        raise SculptError("channel graph needs at least two conv layers when drop_first_conv=True")
    return [channel_norms(k, channel_norm) for k in ks]


def cnn_weight_graph(model, dead: str = "degree0", channel_norm: str = "l1_entrywise",
                     drop_first_conv: bool = True, bn_eps: float | None = None) -> WeightGraph:
    """Channel graph of a torch CNN: conv channels as nodes, BatchNorm folded in, FC layers left out.

    Parameters
    ----------
    model : torch.nn.Module
        Conv2d layers are taken in module order; a BatchNorm2d directly after a conv is folded.
    dead, channel_norm, drop_first_conv
        See :func:`graph_from_blocks` and :func:`channel_blocks`.
    bn_eps : float, optional
        Epsilon for folding; default the layer's own (1e-5 in torch; Keras used 1e-3).

    Returns
    -------
    WeightGraph
    """
    import torch

    kernels, scales = [], []
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            if m.groups != 1:
                raise SculptError("grouped/depthwise convolutions are not supported in the channel graph")
            kernels.append(m.weight)
            scales.append(None)
        elif isinstance(m, torch.nn.BatchNorm2d) and kernels and scales[-1] is None:
            eps = m.eps if bn_eps is None else bn_eps
            gamma = m.weight.detach().cpu().numpy() if m.weight is not None else 1.0
            var = m.running_var.detach().cpu().numpy() if m.running_var is not None else 1.0
            scales[-1] = np.asarray(gamma / np.sqrt(var + eps), dtype=np.float64)
    blocks = channel_blocks(kernels, scales, channel_norm=channel_norm, drop_first_conv=drop_first_conv)
    return graph_from_blocks(blocks, dead=dead)


def glorot_uniform(layer_sizes, seed: int = 0) -> list[np.ndarray]:
    """Keras Glorot-uniform weights of an MLP, torch layout, limit sqrt(6 / (fan_in + fan_out)).

    Parameters
    ----------
    layer_sizes : sequence of int
        Units per layer, input first (e.g. ``[784, 256, 256, 256, 256, 10]``).
    seed : int

    Returns
    -------
    list of float32 ndarray, ``W_l`` of shape (layer_sizes[l+1], layer_sizes[l])
    """
    rng = np.random.default_rng(seed)
    out = []
    for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        out.append(rng.uniform(-limit, limit, size=(fan_out, fan_in)).astype(np.float32))
    return out
