"""A hand-written forward and backward pass for the masked ReLU stack with the BCE-with-logits loss.

On truth tables the tensors are tiny (16-256 rows, widths 24-60), so one training step costs
dispatch overhead, not arithmetic: autograd's graph building, its engine and the gradient
bookkeeping took about two thirds of a step. :class:`BCEReLUStep` computes the same gradients
with the same ATen kernels, in the same order and on the same operands as autograd's backward
formulas for ``baddbmm``, ``relu``, ``mean`` and ``binary_cross_entropy_with_logits``, so the
gradients are bit-identical to ``torch.autograd.grad`` (``tests/test_fastpath.py`` checks it).

Two facts make it both faster and exact:

* The stored parameters are exactly zero outside their masks (``MaskedMLP`` zeroes them when a mask
  is set and Adam keeps them there), so ``w * m`` equals ``w`` bit for bit (``0 * 0`` keeps the sign
  of a signed zero): the forward pass skips the mask products, the backward pass keeps the
  ``grad * m`` that autograd applies to the weights and biases.
* For the formulas (``derivatives.yaml``): ``baddbmm(c, h, W^T)`` gives ``dh = g @ W``,
  ``dW = (h^T @ g)^T`` and ``dc = sum_rows(g)``; ReLU gives ``threshold_backward(g, a, 0)``;
  the per-member mean over (rows, outputs) gives ``g_e / (B * n_out)``; BCE-with-logits gives
  ``(sigmoid(z) - y) * g``.

Anything else (a regulariser, another activation or loss) goes through autograd in
:func:`sculpt.train.train`; :func:`applies` says which.
"""
from __future__ import annotations

import torch

from sculpt.nets import MaskedMLP


def applies(model, regularizer=None, loss=None) -> bool:
    """True when the hand-written pass covers ``model``: a ReLU :class:`MaskedMLP`, BCE, no regulariser.

    User activations (``model.activations``), user losses and regularisers (whose penalty needs
    autograd) use autograd.
    """
    if regularizer is not None or loss is not None or type(model) is not MaskedMLP:
        return False
    return getattr(model, "activations", None) is None


def layer_views(model: MaskedMLP) -> list:
    """``(bias (E, 1, out), weight^T (E, in, out))`` per layer: the operands of the forward ``baddbmm``.

    Aliases of the parameters (no copies): made once per training, they follow Adam's in-place
    updates, so a step does not rebuild them.
    """
    return [(b.detach().unsqueeze(1), w.detach().transpose(1, 2)) for w, b in zip(model.weights, model.biases)]


def _relu_stack(layers: list, h: torch.Tensor, inputs: list | None = None) -> torch.Tensor:
    """Logits of the masked ReLU stack on ``h`` (E, rows, in); appends each layer's input to ``inputs``."""
    last = len(layers) - 1
    for l, (bias, weight_t) in enumerate(layers):
        if inputs is not None:
            inputs.append(h)
        h = torch.baddbmm(bias, h, weight_t)
        if l < last:
            h = torch.relu(h)
    return h


@torch.no_grad()
def forward_unmasked(model: MaskedMLP, x: torch.Tensor, return_hidden: bool = False):
    """``model.forward(x)`` without the mask products (bit-identical: pruned parameters are 0)."""
    h = x if x.dim() == 3 else x.unsqueeze(0).expand(model.members, -1, -1)
    inputs = [] if return_hidden else None
    logits = _relu_stack(layer_views(model), h, inputs)
    return (logits, inputs[1:]) if return_hidden else logits


class BCEReLUStep:
    """Gradients of ``sum_e weight_e * mean BCE_e`` for every parameter of ``model``, without autograd.

    Parameters
    ----------
    model : MaskedMLP
    weight : torch.Tensor (E,), optional
        Loss weight per member (0 for members that only ride along), as ``train(active=...)``.
    spans : list of (lo, hi), optional
        Member ranges of packed trials: the sigmoid runs once per range
        (:func:`sculpt.train.member_segments` says why).

    The returned list follows ``model.parameters()`` (weights, then biases); the gradients are
    written into contiguous buffers reused from step to step (the fused Adam kernel wants
    contiguous gradients), so a step allocates only its activations. Everything that is the same
    at every step of one training (the parameter views, the masks, the loss scale of a batch
    shape) is made once: the model's parameters must only change in place meanwhile.

    ``exact=False`` computes each weight gradient as ``g^T @ a`` (already in the weight's
    (out, in) layout) instead of autograd's ``(a^T @ g)^T``, and the first layer's output as
    ``(W @ x^T)^T``: the same products summed by MKL's faster kernels for a wide input and a
    thin output (about 1.4x each on the 1568 x 20 first layer of a condensed MNIST stack), equal
    only up to rounding. :mod:`sculpt.condensed` uses it; the dense path stays exact.
    """

    def __init__(self, model: MaskedMLP, weight: torch.Tensor | None = None, spans=None, exact: bool = True):
        self.exact = bool(exact)
        self.weight = weight
        self.spans = spans if spans is not None else [(0, model.members)]
        self.layers = layer_views(model)
        self.weights = [w.detach() for w in model.weights]
        self.weight_masks, self.bias_masks = list(model.weight_masks), list(model.bias_masks)
        self.grad_w = [torch.empty_like(w, memory_format=torch.contiguous_format) for w in model.weights]
        self.grad_b = [torch.empty_like(b, memory_format=torch.contiguous_format) for b in model.biases]
        self._scales = {}
        # (bias (E, out, 1), weight (E, out, in)) of the first layer for the transposed product
        self.first = (model.biases[0].detach().unsqueeze(2), self.weights[0]) if model.n_layers > 1 else None

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (E, rows, n_out) of ``x`` (E, rows, n_in), as :func:`forward_unmasked`."""
        return _relu_stack(self.layers, x)

    def _scale(self, shape) -> torch.Tensor:
        """d(sum_e w_e mean_e)/d(logits) = w_e / (B * O), per batch shape (the last batch may be shorter)."""
        scale = self._scales.get(shape)
        if scale is None:
            E, B, O = shape
            ones = torch.ones(E, dtype=torch.float32, device=self.grad_w[0].device)
            scale = (ones if self.weight is None else self.weight).view(E, 1, 1).expand(E, B, O) / (B * O)
            self._scales[shape] = scale
        return scale

    def _train_forward(self, x: torch.Tensor, inputs: list) -> torch.Tensor:
        """Logits of a training step, each layer's input appended to ``inputs``."""
        if self.exact or self.first is None:
            return _relu_stack(self.layers, x, inputs)
        bias, weight = self.first
        inputs.append(x)
        h = torch.relu(torch.baddbmm(bias, weight, x.transpose(1, 2)).transpose(1, 2))
        return _relu_stack(self.layers[1:], h, inputs)

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> list:
        inputs = []
        logits = self._train_forward(x, inputs)
        # times (sigmoid - y) from BCE-with-logits; in place on the fresh sigmoid (same kernels)
        g = segment_sigmoid(logits, self.spans).sub_(y).mul_(self._scale(tuple(logits.shape)))
        for l in range(len(self.layers) - 1, -1, -1):
            a = inputs[l]
            # dW = (a^T @ g)^T * mask; db = sum over rows of g, * bias mask (autograd's order)
            grad_w = torch.bmm(a.transpose(1, 2), g).transpose(1, 2) if self.exact else torch.bmm(g.transpose(1, 2), a)
            torch.mul(grad_w, self.weight_masks[l], out=self.grad_w[l])
            torch.mul(g.sum(dim=1), self.bias_masks[l], out=self.grad_b[l])
            if l > 0:
                g = torch.ops.aten.threshold_backward(torch.bmm(g, self.weights[l]), a, 0)
        return [*self.grad_w, *self.grad_b]


def segment_sigmoid(z: torch.Tensor, spans) -> torch.Tensor:
    """``torch.sigmoid(z)``, computed one member range at a time when several trials share ``z``."""
    if len(spans) == 1:
        return torch.sigmoid(z)
    out = torch.empty_like(z)
    for lo, hi in spans:
        torch.sigmoid(z[lo:hi], out=out[lo:hi])
    return out


@torch.no_grad()
def unit_score_sums(model: MaskedMLP, x: torch.Tensor, y: torch.Tensor, spans) -> torch.Tensor:
    """Sum over the rows of ``x`` of |dL_r/da| * |a| per hidden unit, (E, sum of widths).

    The hand-written twin of the autograd computation in :func:`sculpt.prune.unit.unit_scores`
    (``L_r`` = row r's BCE averaged over outputs): ``dL_r/dz = (sigmoid(z) - y) / n_out`` at the
    logits, then ``g @ W`` per layer and ``threshold_backward`` through each ReLU, the same kernels
    on the same operands as autograd, so the scores are bit-identical.
    """
    logits, hidden = forward_unmasked(model, x, return_hidden=True)
    E, B, O = logits.shape
    g = (segment_sigmoid(logits, spans) - y.expand_as(logits)) * (
        torch.ones((), dtype=logits.dtype, device=logits.device).expand(E, B, O) / O)
    grads = [None] * len(hidden)
    for l in range(model.n_layers - 1, 0, -1):
        grad_a = torch.bmm(g, model.weights[l])
        grads[l - 1] = grad_a
        if l > 1:
            g = torch.ops.aten.threshold_backward(grad_a, hidden[l - 1], 0)
    return torch.cat([(g * a).abs().sum(dim=1) for g, a in zip(grads, hidden)], dim=1)
