"""Filan et al.'s clusterability results on trained MNIST MLPs (spec anchors A9, A10), resumable.

Subcommands (each appends one JSON line per finished network to ``--out``, and skips what is
already there, so a killed run resumes where it stopped):

``a10``  Table A.5: MLP 784-256x4-10 on MNIST (pixels / 255), Keras defaults (Glorot-uniform,
         zero biases), Adam 1e-3, batch 128, 20 dense epochs then 20 epochs of layer-wise magnitude
         pruning on the cubic Zhu-Gupta schedule 0.5 -> 0.9, mask update every 10 steps, end step
         ceil(60000/128) * 20 (``sculpt.prune.polynomial``); the pruning phase starts a fresh Adam
         (tfmot recompiles the wrapped model). Conditions: ``control`` (scored right before pruning
         as ``control_unpruned`` and at the end as ``control_pruned``, as the paper does),
         ``dropout`` (0.5 after every hidden layer), ``l1`` / ``l2`` (Keras kernel regularisers
         5e-5 on every Dense kernel; ``--tf-first-layer-l1``: for ``l2`` the first kernel gets L1
         5e-5 instead, as the paper's TF code ``create_mlp_layers`` built it).
``a9``   Table 1: 7x7 MNIST (skimage's anti-aliased resize, ``--downsample``), MLP 49-64-64-64-10,
         10 + 10 epochs with the same pruning schedule;
         arms control / regularised (:class:`sculpt.spectral.ClusterabilityRegularizer`, K = 3,
         coef 0.05 with the exact gradient = the paper's 0.1 with its half gradient, sqrt(2)
         normalisation after every step, kept on during pruning), each scored unpruned and pruned.

``cnn``  A2 / A3: channel graphs of the small CNN (3 conv layers of 64 channels, 3x3 'same', max-pool
         after conv 2 and 3, FC 128, 10) and of the CIFAR VGG (13 conv layers 64,64,128,128,256x3,512x6,
         each followed by BatchNorm, FC 512, 512, 10) at initialisation, built with plain torch.nn and
         Keras Glorot-uniform kernels (fan = 9 * channels; the per-layer limits matter for VGG, whose
         layers differ in width, so torch's default init would not do). Graph as the paper's code
         builds it (``sculpt.spectral.cnn_weight_graph``): one node per conv output channel, BatchNorm
         folded in (identity at init up to a common factor), the image -> conv1 edges and every FC
         layer left out: conv1..conv_last channels linked by n_conv - 1 channel matrices (192 nodes,
         4 224 nodes). ``--norms`` picks the channel weight: ``l1_entrywise`` (the paper's text),
         ``tf_matrix_1norm`` (the TF code's ``np.linalg.norm(slice, 1)``), ``fro`` (entry-wise L2) or
         ``spectral`` (the TF code's ``norm=2``).

Scoring: |W| graph, biases ignored, degree-0 units dropped (the paper's TF rule), k = 12,
k-means with 25 restarts, 50 ``layer`` shuffles (every entry of each reduced weight matrix
permuted), Z with the population sd, p = (1 + #{shuffle < n-cut}) / 51 as the paper counts
(``p_paper``; ``p`` counts ties against significance and is identical unless a shuffle ties).

Run: ``python examples/clusterability_anchors.py a10 --seeds 0 1 2 3 4 --out runs/a10.jsonl`` and
``... a9 --seeds 0 1 2 3 4 5 6 7 8 9 --out runs/a9.jsonl`` (the paper's 5 and 10 runs; docs/clusterability).
Needs the MNIST cache (``sculpt data mnist``).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch

from functiongraphs.mnist import load_mnist
from functiongraphs.resize import antialiased_resize
from sculpt.atomic import write_atomic
from sculpt.prune.polynomial import PolynomialMagnitudePruner
from sculpt.spectral import ClusterabilityRegularizer, relative_clusterability, weight_graph
from sculpt.spectral.regularizer import relu_rescale_normalize_
from sculpt.spectral.classifier import (Timer, accuracy, as_tensors, keras_mlp, steps_per_epoch,
                                        train_classifier, weight_sparsity)

A10_ARCH = (784, 256, 256, 256, 256, 10)
A10_GROUPS = {"control": {}, "dropout": {"dropout": 0.5}, "l1": {"l1": 5e-5}, "l2": {"l2": 5e-5}}
A9_ARCH = (49, 64, 64, 64, 10)
A9_GROUPS = ("control", "regularised")


def done_keys(path: Path) -> set:
    """(condition, seed) of every record already in the JSONL file."""
    if not path.exists():
        return set()
    keys = set()
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            keys.add((row["condition"], int(row["seed"])))
    return keys


def append(path: Path, row: dict) -> None:
    """Append one record as a JSON line and flush it to disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fh.write(json.dumps(row) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def score(model, seed: int, k: int, n_shuffles: int) -> dict:
    """n-cut of the trained network and its ``layer``-shuffle null distribution."""
    with Timer() as t:
        graph = weight_graph(model, dead="degree0")
        rc = relative_clusterability(graph, k=k, n_shuffles=n_shuffles, method="layer", seed=seed,
                                     progress=False)
    return {"ncut": rc.ncut, "shuffle_mean": rc.mean, "shuffle_std": rc.std, "z": rc.z, "p": rc.p,
            "p_paper": rc.p_paper, "n_nodes": graph.n_nodes, "n_dropped": graph.n_dropped,
            "n_components": rc.observed.n_components, "balance": rc.observed.balance,
            "shuffled": [float(v) for v in rc.shuffled], "warnings": rc.warnings, "score_s": t.seconds}


def save_weights(directory: Path | None, condition: str, seed: int, model) -> None:
    """The scored net's Linear weights (torch layout, out x in) and biases as ``<condition>_seed<seed>.npz``.

    Arrays only (read back with ``sculpt.safe_npz.read_npz``), so a net can be re-scored (other
    shuffles, k, dead-unit rules) without retraining.
    """
    if directory is None:
        return
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    arrays = {}
    for i, m in enumerate(linears):
        arrays[f"w{i}"] = m.weight.detach().cpu().numpy()
        arrays[f"b{i}"] = m.bias.detach().cpu().numpy()
    directory.mkdir(parents=True, exist_ok=True)
    write_atomic(directory / f"{condition}_seed{seed}.npz", lambda fh: np.savez(fh, **arrays))


def mnist_tensors(small: bool, downsample: str = "antialiased") -> dict:
    """Train / test tensors, pixels / 255: 28x28 flattened, or 7x7 for ``small``.

    ``downsample`` (7x7 only): ``antialiased`` = the paper's ``skimage.transform.resize(img, [7, 7],
    anti_aliasing=True)`` (:func:`functiongraphs.resize.antialiased_resize`: sigma-1.5 Gaussian,
    then bilinear at the block centres); ``block_mean`` = plain 4x4 block means (this script's
    default before 2026-12-01, kept to reproduce those records).
    """
    data = load_mnist()
    out = {}
    for part in ("train", "test"):
        images = getattr(data, f"x_{part}").astype(np.float64) / 255.0
        if small and downsample == "antialiased":
            images = antialiased_resize(images, 7, 7)
        elif small:
            images = images.reshape(-1, 7, 4, 7, 4).mean(axis=(2, 4))
        x, y = as_tensors(images.reshape(images.shape[0], -1), getattr(data, f"y_{part}"))
        out[f"x_{part}"], out[f"y_{part}"] = x, y
    return out


def train_and_score(group: str, seed: int, data: dict, arch, dense_epochs: int, prune_epochs: int,
                    k: int, n_shuffles: int, score_unpruned: bool, options: dict, regularizer=None,
                    weights_dir: Path | None = None) -> list[dict]:
    """Dense phase, optional scoring, pruning phase, scoring; one record per scored network."""
    torch.manual_seed(seed)  # dropout masks
    model = keras_mlp(arch, seed, dropout=options.get("dropout", 0.0))
    x, y = data["x_train"], data["y_train"]
    l1, l2, first_l1 = options.get("l1", 0.0), options.get("l2", 0.0), options.get("first_layer_l1")
    rows = []
    base = {"group": group, "seed": seed, "arch": list(arch), "dense_epochs": dense_epochs,
            "prune_epochs": prune_epochs, "k": k, "n_shuffles": n_shuffles, **options}
    with Timer() as t:
        train_classifier(model, x, y, dense_epochs, seed=seed, l1=l1, l2=l2, regularizer=regularizer,
                         first_layer_l1=first_l1)
    if score_unpruned:
        rows.append({**base, "condition": f"{group}_unpruned", "pruned": False, "train_s": t.seconds,
                     "test_acc": accuracy(model, data["x_test"], data["y_test"]),
                     "sparsity": weight_sparsity(model), **score(model, seed, k, n_shuffles)})
        save_weights(weights_dir, f"{group}_unpruned", seed, model)
    if prune_epochs:
        end = steps_per_epoch(x.shape[0], 128) * prune_epochs
        pruner = PolynomialMagnitudePruner(model, end_step=end, initial=0.5, final=0.9, frequency=10)
        if regularizer is not None and options.get("tf_threshold_norm"):
            # the TF callback normalised with t_i * W_i (t_i: tfmot threshold, 0 before the first
            # mask update) at every pruning batch begin, the first one included
            relu_rescale_normalize_(model, regularizer.target_norm, weight_scales=pruner.thresholds)
            regularizer.norm_weight_scales = lambda: pruner.thresholds
        with Timer() as tp:
            train_classifier(model, x, y, prune_epochs, seed=seed + 7919, l1=l1, l2=l2,
                             regularizer=regularizer, pruner=pruner, first_layer_l1=first_l1)
        rows.append({**base, "condition": f"{group}_pruned", "pruned": True, "train_s": t.seconds + tp.seconds,
                     "test_acc": accuracy(model, data["x_test"], data["y_test"]),
                     "sparsity": weight_sparsity(model), **score(model, seed, k, n_shuffles)})
        save_weights(weights_dir, f"{group}_pruned", seed, model)
    return rows


SMALL_CNN = ((1, 64, False), (64, 64, True), (64, 64, True))
VGG = tuple(zip((3, 64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512),
                (64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512),
                (False, True, False, True, False, False, True, False, False, True, False, False, True)))


def glorot_conv_(conv: torch.nn.Conv2d, gen: torch.Generator) -> None:
    """Keras Glorot-uniform on a conv kernel: limit sqrt(6 / (kh kw (c_in + c_out))); zero bias."""
    kh, kw = conv.kernel_size
    limit = float(np.sqrt(6.0 / (kh * kw * (conv.in_channels + conv.out_channels))))
    with torch.no_grad():
        conv.weight.uniform_(-limit, limit, generator=gen)
        conv.bias.zero_()


def conv_net(spec, dense, side: int, batch_norm: bool, seed: int) -> torch.nn.Sequential:
    """Conv stack (c_in, c_out, pool after) + dense head, Glorot-uniform, as the paper's Keras models."""
    gen = torch.Generator().manual_seed(seed)
    layers: list[torch.nn.Module] = []
    for c_in, c_out, pool in spec:
        conv = torch.nn.Conv2d(c_in, c_out, 3, padding=1)
        glorot_conv_(conv, gen)
        layers += [conv] + ([torch.nn.BatchNorm2d(c_out, eps=1e-3)] if batch_norm else []) + [torch.nn.ReLU()]
        if pool:
            layers.append(torch.nn.MaxPool2d(2))
            side //= 2
    width = spec[-1][1] * side * side
    layers.append(torch.nn.Flatten())
    for units in dense:
        layers += [torch.nn.Linear(width, units), torch.nn.ReLU()]
        width = units
    layers.append(torch.nn.Linear(width, 10))
    return torch.nn.Sequential(*layers)


def run_cnn(args) -> int:
    """A2 (small CNN) and A3 (VGG) channel-graph n-cuts at initialisation, one record per net and norm."""
    from sculpt.spectral import cnn_weight_graph, spectral_clustering

    done = set()
    if args.out.exists():
        done = {(r["anchor"], r["norm"], r["seed"]) for r in map(json.loads, args.out.read_text().splitlines()) if r}
    nets = {"A2": (SMALL_CNN, (128,), 28, False), "A3": (VGG, (512, 512), 32, True)}
    for anchor in args.cnn_anchors:
        spec, dense, side, bn = nets[anchor]
        for seed in args.seeds:
            for norm in args.norms:
                if (anchor, norm, seed) in done:
                    continue
                with Timer() as t:
                    graph = cnn_weight_graph(conv_net(spec, dense, side, bn, seed), channel_norm=norm)
                    result = spectral_clustering(graph, k=args.k, seed=seed)
                row = {"anchor": anchor, "norm": norm, "seed": seed, "ncut": result.ncut, "k": args.k,
                       "n_nodes": graph.n_nodes, "n_init": result.n_init, "seconds": t.seconds}
                append(args.out, row)
                print(f"{anchor} {norm:<16} seed {seed:>3}  n-cut {result.ncut:.4f}  nodes {graph.n_nodes}"
                      f"  {t.seconds:.1f}s", flush=True)
    return 0


def plan(args) -> list[tuple[str, int, dict]]:
    """(group, seed, options) in seed-major order, so a cut-short run stays balanced across groups."""
    if args.anchor == "a10":
        groups = [(g, A10_GROUPS[g]) for g in args.groups or A10_GROUPS]
    else:
        groups = [(g, {}) for g in args.groups or A9_GROUPS]
    return [(g, s, opts) for s in args.seeds for g, opts in groups]


def conditions_of(anchor: str, group: str, score_unpruned: bool = False) -> list[str]:
    """Records a group produces: control (both views) or only its pruned net for A10's regularisers.

    ``score_unpruned`` scores every A10 group's net before pruning too (the paper's CSV has them).
    """
    if anchor == "a9" or group == "control" or score_unpruned:
        return [f"{group}_unpruned", f"{group}_pruned"]
    return [f"{group}_pruned"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("anchor", choices=("a10", "a9", "cnn"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--groups", nargs="+", help="subset of the conditions' groups")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--dense-epochs", type=int)
    parser.add_argument("--prune-epochs", type=int)
    parser.add_argument("--shuffles", type=int, default=50)
    parser.add_argument("--k", type=int, default=12)
    parser.add_argument("--downsample", choices=("antialiased", "block_mean"), default="antialiased",
                        help="a9: how the 28x28 images become 7x7 (the paper: skimage's anti-aliased resize)")
    parser.add_argument("--tf-first-layer-l1", action="store_true",
                        help="a10 l2: L1 5e-5 on the first kernel instead of L2, as the paper's TF code built it")
    parser.add_argument("--tf-threshold-norm", action="store_true",
                        help="a9 regularised arm: normalise in the pruning phase as the paper's TF code did "
                             "(x from threshold * W, see relu_rescale_normalize_), not as its Algorithm 2")
    parser.add_argument("--score-unpruned", action="store_true",
                        help="a10: also score each regularised / dropout net right before pruning")
    parser.add_argument("--flush-denormals", action="store_true",
                        help="train with float32 denormals flushed to zero, as TensorFlow runs its CPU kernels")
    parser.add_argument("--save-weights", type=Path, metavar="DIR",
                        help="also write each scored net's weights to DIR/<condition>_seed<seed>.npz")
    parser.add_argument("--train-limit", type=int, help="use only the first N training images (timing)")
    parser.add_argument("--cnn-anchors", nargs="+", choices=("A2", "A3"), default=["A2", "A3"])
    parser.add_argument("--norms", nargs="+", default=["l1_entrywise"],
                        choices=("l1_entrywise", "tf_matrix_1norm", "fro", "spectral"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.flush_denormals and not torch.set_flush_denormal(True):
        parser.error("--flush-denormals: this CPU cannot flush denormals (needs SSE3)")
    if args.anchor == "cnn":
        return run_cnn(args)
    small = args.anchor == "a9"
    dense = args.dense_epochs if args.dense_epochs is not None else (10 if small else 20)
    prune = args.prune_epochs if args.prune_epochs is not None else (10 if small else 20)
    data = mnist_tensors(small, args.downsample)
    if args.train_limit:
        data["x_train"], data["y_train"] = data["x_train"][:args.train_limit], data["y_train"][:args.train_limit]
    done = done_keys(args.out)
    for group, seed, options in plan(args):
        wanted = conditions_of(args.anchor, group, args.score_unpruned)
        if all((c, seed) in done for c in wanted):
            continue
        if group == "l2" and args.tf_first_layer_l1:
            options = {**options, "first_layer_l1": options["l2"]}
        if args.flush_denormals:
            options = {**options, "flush_denormals": True}
        if small:  # recorded with every A9 net (records before 2026-12-01 lack it: block means)
            options = {**options, "downsample": args.downsample}
            if group == "regularised" and args.tf_threshold_norm:
                options["tf_threshold_norm"] = True
        reg = None
        if group == "regularised":
            reg = ClusterabilityRegularizer(num_eigs=3, coef=0.05, normalize=True, seed=seed)
        rows = train_and_score(group, seed, data, A9_ARCH if small else A10_ARCH, dense, prune, args.k,
                               args.shuffles, score_unpruned=len(wanted) == 2, options=options,
                               regularizer=reg, weights_dir=args.save_weights)
        for row in rows:
            if (row["condition"], seed) not in done:
                append(args.out, row)
            print(f"{row['condition']:<22} seed {seed}  acc {row['test_acc']:.4f}  n-cut {row['ncut']:.3f}"
                  f"  shuffles {row['shuffle_mean']:.3f} +- {row['shuffle_std']:.3f}  p {row['p_paper']:.4f}"
                  f"  train {row['train_s']:.0f}s score {row['score_s']:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
