"""Replay of the paper's pruning code, random number for random number (``replay="paper"``).

The default pipeline (:mod:`sculpt.prune.grid`) trains stacks of networks with their own random
streams and fixes the paper's bugs. This module instead does, for one network at a time, what
the reference code (``run/prune.py``, ``utils/train.py``, ``utils/load.py``, ``utils/prune*.py``
at commit dae13ab) does when its README's two CLI stages are run, so that the masks come out
identical to that code on the same machine:

* **Two processes.** The unit stage and the edge stage are separate runs of ``main.py``: each
  starts with ``torch.manual_seed(seed)`` and builds the MLP (``nn.Linear`` default init, then
  Kaiming-normal weights and zero biases, layer by layer) before loading anything; the unit
  stage builds a second, unused MLP after the dense training, the edge stage two.
* **The loaders.** Every ``DataLoader`` iteration draws one int64 base seed from the global
  generator; the shuffling sampler draws one more and permutes with its own generator. With
  ``loader_workers=0`` the input noise (``randn`` per sample, std ``task.noise``) comes from the
  global generator in batch order; with ``W`` workers, worker ``w`` builds batches
  ``w, w + W, ...`` from a generator seeded ``base_seed + w``, fresh every epoch.
* **Training.** Fresh ``torch.optim.Adam(lr, weight_decay=1e-4)`` per (re)training; the loss is
  ``sum(-log(p*y + (1-p)*(1-y))) / numel`` on sigmoid outputs (float64 targets, as the dataset
  pickles hold them); the kept epoch follows the code's rule with its validation loss divided by
  (#batches - 1) (``inf`` for one batch); acceptance is the kept net's accuracy on the test
  loader (the same rows) >= the threshold.
* **Unit scores** row by row (batch 1), ``mean_r |dL_r/da| |a|`` in float32 numpy; the global
  percentile is the numpy-1.x one (float32 difference of neighbours, float64 interpolation) and
  the comparison ``score > threshold`` runs in float32, as numpy 1.x and torch do.
* **Percentages** of the edge stage are float32 tensors (``100 * (1 - density)``), as in the code.
* **The edge stage** retrains the unit-pruned net once and then runs the P_e searches one after
  another in the same process (sharing its random state), each from a copy of that retrained net;
  a search that never accepts a step saves that unchecked retrained net (bug 11.1.1).

Examples
--------
>>> from functiongraphs import Task, catalog
>>> from sculpt.prune.replay import replay_trial
>>> out = replay_trial(Task(catalog.get("input-separable")), [4, 24, 4], p_u=70, p_e=[2.5],
...                    seed=0, lr=0.05, batch_size=8, epochs=15)  # doctest: +SKIP
>>> out["edge"]["2.5"]["edges"]  # doctest: +SKIP
16

References
----------
Patil, Michael, Dovrolis, "Neural Sculpting", NeurIPS 2023; code at
github.com/ShreyasMalakarjunPatil/Neural-Sculpting (commit dae13ab). ``docs/fidelity/index.md``
describes the comparison against that code.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from sculpt.errors import ConfigError, SculptError

WEIGHT_DECAY = 1e-4
ADAM_VERSIONS = ("torch", "1.12")


def _draw_seed(g: torch.Generator) -> int:
    """One int64 draw, as a DataLoader iterator (base seed) or RandomSampler (its seed) makes."""
    return int(torch.empty((), dtype=torch.int64).random_(generator=g).item())


def paper_percentile(values: np.ndarray, q) -> np.float64:
    """``np.percentile(values, q)`` as numpy 1.22-1.26 computes it for a float32 array.

    Linear interpolation between the sorted neighbours a <= b at virtual index (n - 1) q / 100,
    with ``d = float32(b - a)`` and ``a + d t`` (t < 0.5) or ``b - d (1 - t)`` (t >= 0.5) in
    float64. numpy 2 keeps the result in float32, which moves thresholds; this reproduces the
    value the paper's environment (numpy 1.x) sees. ``q`` may be a float or a float32 tensor.

    Examples
    --------
    >>> float(paper_percentile(np.array([0.0, 1.0, 2.0, 4.0], dtype=np.float32), 50.0))
    1.5
    """
    a = np.sort(np.asarray(values, dtype=np.float32))
    quant = float(q.item() if hasattr(q, "item") else q) / 100.0
    v = (a.size - 1) * quant
    lo = int(math.floor(v))
    hi = min(lo + 1, a.size - 1)
    t = v - lo
    d = np.float64(np.float32(a[hi] - a[lo]))
    if t >= 0.5:
        return np.float64(a[hi]) - d * (1 - t)
    return np.float64(a[lo]) + d * t


class _Net:
    """The paper's ``mlpN`` (MaskedLinear layers, ReLU, sigmoid output) as plain tensors."""

    def __init__(self, arch: Sequence[int], g: torch.Generator):
        self.arch = list(arch)
        self.W, self.b = [], []
        for fan_in, fan_out in zip(self.arch[:-1], self.arch[1:]):  # nn.Linear.__init__, in order
            w, b = torch.empty(fan_out, fan_in), torch.empty(fan_out)
            torch.nn.init.kaiming_uniform_(w, a=math.sqrt(5), generator=g)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            torch.nn.init.uniform_(b, -bound, bound, generator=g)
            self.W.append(w)
            self.b.append(b)
        for w, b in zip(self.W, self.b):  # mlpN._initialize_weights
            torch.nn.init.kaiming_normal_(w, generator=g)
            b.zero_()
        for t in self.params():
            t.requires_grad_()
        self.wm = self.bm = None  # MaskedLinear.mask_flag False until set_masks

    def params(self) -> list:
        """In ``model.parameters()`` order: lin1.weight, lin1.bias, lin2.weight, ..."""
        return [t for pair in zip(self.W, self.b) for t in pair]

    def clone(self) -> "_Net":
        out = _Net.__new__(_Net)
        out.arch = list(self.arch)
        out.W = [w.detach().clone().requires_grad_() for w in self.W]
        out.b = [b.detach().clone().requires_grad_() for b in self.b]
        out.wm = None if self.wm is None else [m.clone() for m in self.wm]
        out.bm = None if self.bm is None else [m.clone() for m in self.bm]
        return out

    def load(self, other: "_Net") -> None:
        """``load_state_dict``: weights and biases only (masks are not in the state dict)."""
        with torch.no_grad():
            for mine, theirs in zip(self.params(), other.params()):
                mine.copy_(theirs)

    def set_masks(self, wm, bm) -> None:
        """``MaskedLinear.set_mask``: multiply the data by the masks and keep masking in forward."""
        self.wm, self.bm = wm, bm
        with torch.no_grad():
            for w, b, m, k in zip(self.W, self.b, wm, bm):
                w.mul_(m)
                b.mul_(k)

    def forward(self, x, retain: bool = False) -> list:
        """Outputs of every layer (input, hidden post-ReLU activations, sigmoid output)."""
        op = [x]
        last = len(self.W) - 1
        for l, (w, b) in enumerate(zip(self.W, self.b)):
            if self.wm is not None:
                x = F.linear(x, w * self.wm[l], b * self.bm[l])
            else:
                x = F.linear(x, w, b)
            x = torch.sigmoid(x) if l == last else torch.relu(x)
            if retain and l < last:
                x.retain_grad()
            op.append(x)
        return op


def _bias_masks(weight_masks) -> list:
    """``utils/prune.py:get_bias_mask``: a unit without incoming edges loses its bias."""
    out = []
    for m in weight_masks:
        mask = torch.ones(len(m))
        mask[m.sum(dim=1) == 0] = 0.0
        out.append(mask)
    return out


def _bce(outputs, labels):
    """``utils/loss.py:bce_loss`` (targets float64, so the loss is float64)."""
    ones = torch.ones(labels.size())
    outs = outputs * labels + (ones - labels) * (ones - outputs)
    loss = torch.sum(-torch.log(outs)) / torch.numel(labels)
    if torch.isinf(loss):
        outs = outs + (outs <= 0.0).float() * 0.00000001
        loss = torch.sum(-torch.log(outs)) / torch.numel(labels)
    return loss


class _Adam112:
    """``torch.optim.Adam`` as torch 1.12 computes it (``mul_`` + ``add_``, not ``lerp_``)."""

    def __init__(self, params, lr: float, weight_decay: float, betas=(0.9, 0.999), eps: float = 1e-8):
        self.params, self.lr, self.wd, self.betas, self.eps = list(params), lr, weight_decay, betas, eps
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = 0

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.t += 1
        b1, b2 = self.betas
        for p, m, v in zip(self.params, self.m, self.v):
            g = p.grad.add(p, alpha=self.wd)
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            step_size = self.lr / (1 - b1 ** self.t)
            denom = (v.sqrt() / math.sqrt(1 - b2 ** self.t)).add_(self.eps)
            p.addcdiv_(m, denom, value=-step_size)


class _Data:
    """The dataset pickle: X int64 rows in binary counting order, Y float64."""

    def __init__(self, task):
        X = np.asarray(task.validation.X)
        Y = np.asarray(task.validation.Y)
        if not np.array_equal(np.asarray(task.train.X), X):
            raise ConfigError("replay='paper' needs a Boolean task whose train and validation rows are "
                              "the same truth table (the paper's setting)")
        n = X.shape[1]
        code = (X.astype(np.int64) * (1 << np.arange(n - 1, -1, -1))).sum(axis=1)
        order = np.argsort(code, kind="stable")
        if not np.array_equal(code[order], np.arange(1 << n)):
            raise ConfigError("replay='paper' needs the complete truth table (2**n rows of 0/1 inputs)")
        self.X = torch.from_numpy(X[order].astype(np.int64))
        self.Y = torch.from_numpy(Y[order].astype(np.float64))
        self.N = self.X.shape[0]
        self.noise = float(task.noise)


class PaperProcess:
    """One run of the paper's ``main.py`` (its process-global random state and settings)."""

    def __init__(self, data: _Data, arch, seed: int, lr: float, batch_size: int, epochs: int,
                 loader_workers: int, threshold: float, adam: str):
        self.data, self.arch = data, list(arch)
        self.lr, self.bs, self.epochs = float(lr), int(batch_size), int(epochs)
        self.workers, self.threshold, self.adam = int(loader_workers), float(threshold), adam
        self.g = torch.Generator().manual_seed(int(seed))  # load.set_seed: torch.manual_seed(seed)

    # -- loaders -------------------------------------------------------------------------
    def _train_batches(self):
        d = self.data
        base_seed = _draw_seed(self.g)
        perm = torch.randperm(d.N, generator=torch.Generator().manual_seed(_draw_seed(self.g))).tolist()
        batches = [perm[s:s + self.bs] for s in range(0, d.N, self.bs)]
        gens = [torch.Generator().manual_seed(base_seed + w) for w in range(self.workers)]
        for k, idx in enumerate(batches):
            g = gens[k % self.workers] if self.workers else self.g
            xs = [d.X[i] + torch.randn(d.X[i].size(), generator=g) * d.noise for i in idx]
            yield torch.stack(xs), torch.stack([d.Y[i] for i in idx])

    @torch.no_grad()
    def _test(self, net: _Net):
        """``utils/train.py:test_boolean`` over an unshuffled loader of batch_size rows."""
        _draw_seed(self.g)
        d = self.data
        total, correct, total_loss, idx = 0, 0, 0, 0
        for idx, s in enumerate(range(0, d.N, self.bs)):
            target = d.Y[s:s + self.bs]
            out = net.forward(d.X[s:s + self.bs].float())[-1]
            total_loss = total_loss + _bce(out, target)
            correct = correct + torch.sum((out > 0.5).float() == target)
            total += torch.numel(target)
        acc = 100.0 * correct / total
        return (total_loss / idx).numpy(), acc.numpy()

    # -- one (re)training ----------------------------------------------------------------
    def train(self, net: _Net):
        """``utils/train.py:train_network``: returns (kept net, its accuracy, kept epoch)."""
        params = net.params()
        opt = torch.optim.Adam(params, lr=self.lr, weight_decay=WEIGHT_DECAY) if self.adam == "torch" \
            else _Adam112(params, self.lr, WEIGHT_DECAY)
        avg_min, acc_max, kept, kept_epoch = 1000.0, 0.0, None, None
        for epoch in range(self.epochs):
            for x, y in self._train_batches():
                opt.zero_grad()
                _bce(net.forward(x.float())[-1], y).backward()
                opt.step()
            loss, acc = self._test(net)
            if loss < 1000.0:
                if avg_min >= loss and acc >= acc_max:
                    kept, kept_epoch, avg_min, acc_max = net.clone(), epoch, loss, acc
                elif acc > acc_max:
                    kept, kept_epoch, avg_min, acc_max = net.clone(), epoch, loss, acc
            elif acc >= acc_max:
                kept, kept_epoch, acc_max = net.clone(), epoch, acc
        _, acc = self._test(kept)
        for t in kept.params():
            t.grad = None
        return kept, float(acc), kept_epoch

    # -- unit scores ---------------------------------------------------------------------
    def unit_scores(self, net: _Net, masks) -> np.ndarray:
        """``prune_units.get_act_gradient``: mean over rows of |dL/da| |a| (float32 numpy)."""
        n = net.clone()
        n.set_masks(masks, _bias_masks(masks))
        _draw_seed(self.g)  # the batch-1 validation loader's iterator
        d = self.data
        op = [[] for _ in range(len(masks) - 1)]
        for r in range(d.N):
            out = n.forward(d.X[r:r + 1].float(), retain=True)
            _bce(out[-1], d.Y[r:r + 1]).backward()
            for i in range(1, len(out) - 1):
                op[i - 1].append((out[i].grad.abs().detach() * out[i].abs().detach()).numpy()[0])
        scores = []
        for i in range(len(masks) - 1):
            scores += list(np.mean(op[i], axis=0))
        return np.array(scores).flatten()


def _summary(masks) -> dict:
    ms = [m != 0 for m in masks]
    return {"units": [int((m.sum(dim=1) > 0).sum()) for m in ms[:-1]], "edges": int(sum(int(m.sum()) for m in ms))}


def encode_masks(masks) -> list:
    """Masks as lists of '0'/'1' row strings (the oracle's JSON format)."""
    return [["".join("1" if v else "0" for v in row) for row in (m != 0).tolist()] for m in masks]


def unit_stage(proc: PaperProcess, p_u: float, dense_cache: dict | None = None) -> dict:
    """``run/prune.py`` with ``--prune_units 1``: dense training, then halving-and-rewind on units.

    Returns a dict with the ``dense`` record, the ``rounds``, and the saved ``net`` / ``masks``.
    ``dense_cache`` (a dict) shares the dense training between calls with the same process
    settings: it is the same computation every time (same seed), so only its result is reused.
    """
    arch = proc.arch
    key = "dense"
    if dense_cache is not None and key in dense_cache:
        model, dense, state = dense_cache[key]
        model = model.clone()
        proc.g.set_state(state.clone())
    else:
        model = _Net(arch, proc.g)
        model, acc, epoch = proc.train(model)
        dense = {"accuracy": acc, "best_epoch": epoch}
        _Net(arch, proc.g)  # model1 = load_model(...)(...): a second init, overwritten below
        if dense_cache is not None:
            dense_cache[key] = (model.clone(), dense, proc.g.get_state())
    model1 = model.clone()
    model1.wm = model1.bm = None
    p_min = 100.0 / float(np.sum(arch[1:-1]))
    follow, p, prev_pp, i = True, 0.0, 0.0, 1
    weight_masks = bias_masks = None
    prev = None  # (net, weight masks, bias masks) of the last accepted step
    rounds = []
    while True:
        if follow:
            pp = float(p_u) * i
            p = pp - prev_pp
        else:
            pp = prev_pp + p
        rnd = {"p": round(pp, 10), "trained": False, "accepted": False}
        rounds.append(rnd)
        accepted = False
        if pp < 100.0:
            masks = [torch.ones(w.shape) for w in model1.W] if weight_masks is None else weight_masks
            scores = proc.unit_scores(model1, masks)
            keep = scores > np.float32(paper_percentile(scores, pp))
            masks = [m.clone() for m in masks]
            k = 0
            for l in range(len(arch) - 2):
                for j in range(arch[l + 1]):
                    if not keep[k]:
                        masks[l][j] = 0.0
                        masks[l + 1][:, j] = 0.0
                    k += 1
            weight_masks, bias_masks = masks, _bias_masks(masks)
            rnd.update(_summary(weight_masks))
            model1.set_masks(weight_masks, bias_masks)
            model1, acc, epoch = proc.train(model1)
            accepted = acc >= proc.threshold
            rnd.update(trained=True, accepted=accepted, accuracy=acc, best_epoch=epoch)
        if accepted:
            prev = (model1.clone(), [m.clone() for m in weight_masks], [m.clone() for m in bias_masks])
            prev_pp = pp
        elif p > p_min:
            if prev is not None:
                model1 = prev[0].clone()
                weight_masks, bias_masks = [m.clone() for m in prev[1]], [m.clone() for m in prev[2]]
            else:
                model1 = model.clone()
                weight_masks = bias_masks = None
            follow = False
            p = p / 2
            if p < p_min:
                p = p_min
        else:
            if prev is None:
                raise SculptError("replay='paper': no unit pruning step was accepted; the paper's code "
                                  "fails here (it saves a network it never had)")
            net, wm, _ = prev
            return {"dense": dense, "rounds": rounds, "net": net, "masks": wm, **_summary(wm)}
        i += 1


def edge_stage(proc: PaperProcess, unit_net: _Net, unit_masks, p_e: Sequence[float]) -> dict:
    """``run/prune.py`` with ``--prune_units 0``: one retraining, then one search per P_e, in order."""
    arch = proc.arch
    _Net(arch, proc.g)  # main.py's model = load_model(...)(...)
    model = _Net(arch, proc.g)  # initialize_edge_unit_pruning builds another, then loads the state
    model.load(unit_net)
    wm1 = [m.clone() for m in unit_masks]
    bm1 = _bias_masks(wm1)
    n_kept = 0
    for m in wm1:
        n_kept = n_kept + torch.sum(m)
    n_weights = sum(a * b for a, b in zip(arch[:-1], arch[1:]))
    pp_init = 100.0 * (1.0 - n_kept / n_weights)  # a float32 tensor, as in the code
    p_min = 100.0 / float(n_weights)
    model.set_masks(wm1, bm1)
    model, acc, epoch = proc.train(model)
    out = {"edge_start": {"accuracy": acc, "best_epoch": epoch}, "searches": {}}
    for rate in p_e:
        model1 = model.clone()
        prev_pp, follow, p, i = pp_init.clone(), True, float(rate), 1
        prev_net, prev_wm, accepted_once = model1.clone(), [m.clone() for m in wm1], False
        rounds = []
        while True:
            if follow:
                pp = pp_init + float(rate) * i
                p = pp - prev_pp
            else:
                pp = prev_pp + p
            rnd = {"p": round(float(pp), 10), "trained": False, "accepted": False}
            rounds.append(rnd)
            accepted = False
            if pp < 100.0:
                weights = torch.cat([w.detach().abs().flatten() for w in model1.W]).numpy()
                threshold = paper_percentile(weights, pp)
                wm = [(w.detach().abs() > np.float32(threshold)).float() for w in model1.W]
                bm = _bias_masks(wm)
                rnd.update(_summary(wm))
                model1.set_masks(wm, bm)
                model1, acc, epoch = proc.train(model1)
                accepted = acc >= proc.threshold
                rnd.update(trained=True, accepted=accepted, accuracy=acc, best_epoch=epoch)
            if accepted:
                prev_net, prev_wm, accepted_once = model1.clone(), [m.clone() for m in wm], True
                prev_pp = pp
            elif p > p_min:
                model1 = prev_net.clone()
                follow = False
                p = p / 2
                if p < p_min:
                    p = p_min
            else:
                out["searches"][str(float(rate))] = {"rounds": rounds, "net": prev_net, "masks": prev_wm,
                                                     "checked": accepted_once, **_summary(prev_wm)}
                break
            i += 1
    return out


def check_replay_args(replay, loader_workers, adam="torch") -> None:
    """Refuse unknown replay settings (ConfigError)."""
    if replay not in (None, "paper"):
        raise ConfigError(f"replay must be None or 'paper', got {replay!r}")
    if not (isinstance(loader_workers, (int, np.integer)) and not isinstance(loader_workers, bool)
            and loader_workers >= 0):
        raise ConfigError(f"loader_workers must be a non-negative integer, got {loader_workers!r}")
    if adam not in ADAM_VERSIONS:
        raise ConfigError(f"replay_adam must be one of {ADAM_VERSIONS}, got {adam!r}")


def replay_trial(task, arch, p_u: float, p_e: Sequence[float], *, seed: int, lr: float, batch_size: int,
                 epochs: int, loader_workers: int = 2, accuracy_threshold: float = 100.0,
                 adam: str = "torch", dense_cache: dict | None = None) -> dict:
    """Both CLI stages of the paper's code for one P_u and the list ``p_e`` (searched in order).

    Returns
    -------
    dict
        ``dense``, ``unit`` (rounds, units, edges), ``edge_start`` and ``edge`` (per P_e: rounds,
        masks as torch tensors under ``masks``, the saved ``net``, units, edges, ``checked``) - the
        oracle's record format (``bench/fidelity/oracle.py``) plus the networks.
    """
    check_replay_args("paper", loader_workers, adam)
    data = _Data(task)
    settings = dict(arch=arch, seed=seed, lr=lr, batch_size=batch_size, epochs=epochs,
                    loader_workers=loader_workers, threshold=accuracy_threshold, adam=adam)
    unit = unit_stage(PaperProcess(data, **settings), p_u, dense_cache)
    edge = edge_stage(PaperProcess(data, **settings), unit["net"], unit["masks"], p_e)
    return {"dense": unit["dense"], "unit": {"rounds": unit["rounds"], "units": unit["units"], "edges": unit["edges"]},
            "edge_start": edge["edge_start"], "edge": edge["searches"]}


def _to_pruned(arch, net: _Net, masks, history, meta):
    from sculpt.nets import PrunedNet

    ms = [m.numpy() != 0 for m in masks]
    weights = [np.where(m, w.detach().numpy(), 0).astype(np.float32) for w, m in zip(net.W, ms)]
    bias_masks = [m.any(axis=1) for m in ms]
    biases = [np.where(k, b.detach().numpy(), 0).astype(np.float32) for b, k in zip(net.b, bias_masks)]
    return PrunedNet(arch=list(arch), weights=weights, biases=biases, masks=ms, history=history, meta=meta)


def _public_rounds(rounds, n_weights):
    """The oracle-format rounds, with the density of the tried masks added."""
    return [dict(r, density=(r["edges"] / n_weights) if "edges" in r else None) for r in rounds]


def replay_grid(task, arch, seed, p_u, p_e, *, lr, batch_size, epochs, loader_workers=2,
                accuracy_threshold=100.0, adam="torch", prefer=None):
    """``prune_grid(..., replay="paper")``: the paper's two CLI stages for every P_u.

    For each P_u (in the given order) one unit-stage run and one edge-stage run that searches the
    P_e values in the given order in the same process (``main.py``'s default list, as the
    shell scripts ran it). Every saved network is eligible, as in the paper's notebook, which
    reads the final prune percentage of every saved result without checking its accuracy; the
    sparsest wins with the notebook's order (P_e decreasing, then P_u decreasing), or ``prefer``
    among ties.

    Returns
    -------
    sculpt.nets.PrunedNet
        ``history`` holds the kept member's ``dense``, ``unit``, ``edge_start`` and ``edge``
        rounds in the oracle's format (p, trained, accepted, units, edges, accuracy,
        best_epoch) and the ``grid`` summary; ``meta["replay"] = "paper"``.
    """
    from sculpt.prune.grid import sparsest_members

    check_replay_args("paper", loader_workers, adam)
    arch = list(arch)
    n_weights = sum(a * b for a, b in zip(arch[:-1], arch[1:]))
    cache: dict = {}
    trials = [replay_trial(task, arch, float(u), [float(e) for e in p_e], seed=seed, lr=lr, batch_size=batch_size,
                           epochs=epochs, loader_workers=loader_workers, accuracy_threshold=accuracy_threshold,
                           adam=adam, dense_cache=cache) for u in p_u]
    n_e = len(p_e)
    members = [(i_u, i_e) for i_u in range(len(p_u)) for i_e in range(n_e)]
    search = [trials[i_u]["edge"][str(float(p_e[i_e]))] for i_u, i_e in members]
    kept = np.array([s["edges"] for s in search])
    ties = sparsest_members(list(map(float, p_u)), list(map(float, p_e)), kept, np.ones(len(members), dtype=bool))
    best = ties[0]
    history = None
    if prefer is not None and len(ties) > 1:
        nets = [_to_pruned(arch, search[m]["net"], search[m]["masks"], None, {}) for m in ties]
        best = ties[int(prefer(nets))]
    i_u, i_e = members[best]
    t = trials[i_u]
    history = {"dense": t["dense"], "unit": _public_rounds(t["unit"]["rounds"], n_weights),
               "edge_start": t["edge_start"], "edge": _public_rounds(search[best]["rounds"], n_weights),
               "grid": [{"p_u": float(p_u[a]), "p_e": float(p_e[b]), "density": float(kept[m] / n_weights),
                         "accepted": bool(search[m]["checked"]), "edges": int(kept[m])}
                        for m, (a, b) in enumerate(members)]}
    meta = {"task": getattr(task, "name", "task"), "arch": arch, "seed": int(seed), "p_u": float(p_u[i_u]),
            "p_e": float(p_e[i_e]), "grid_p_u": [float(u) for u in p_u], "grid_p_e": [float(e) for e in p_e],
            "lr": float(lr), "batch_size": int(batch_size), "epochs": int(epochs), "replay": "paper",
            "loader_workers": int(loader_workers), "replay_adam": adam, "accuracy_threshold": float(accuracy_threshold),
            "noise": float(task.noise), "weight_decay": WEIGHT_DECAY, "accepted": bool(search[best]["checked"]),
            "density": float(kept[best] / n_weights), "tied_sparsest": len(ties),
            "tie_break": getattr(prefer, "__name__", "order") if prefer else "order"}
    net = _to_pruned(arch, search[best]["net"], search[best]["masks"], history, meta)
    X, Y = np.asarray(task.test.X, dtype=np.float32), np.asarray(task.test.Y) > 0.5
    correct = (net.predict(X) > 0.5) == Y
    meta["accuracy"] = {"bit": float(100.0 * correct.mean()), "row": float(100.0 * correct.all(axis=1).mean())}
    return net
