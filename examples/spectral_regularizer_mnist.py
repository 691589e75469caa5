"""Clusterability regulariser on 7x7 MNIST: control vs regularised MLPs, test accuracy and n-cut (spec A9).

The setting of Table 1 of Filan et al. (2021), "Clusterability in Neural Networks",
on a schedule that fits a shared 2-core CPU:

* data: MNIST downsampled 28x28 -> 7x7 by **area averaging** (mean of each 4x4 block, then /255).
  The paper used ``skimage.transform.resize(..., anti_aliasing=True)``: a Gaussian pre-filter
  (sigma = (4 - 1) / 2 = 1.5 px) followed by bilinear sampling at the block centres. Both are
  anti-aliased low-pass views of the same image; box averaging is exact for the integer factor 4
  and needs no scikit-image (not a dependency here). Pixel values therefore differ slightly from
  the paper's (box vs Gaussian weights), the 49-pixel layout is the same.
* model: MLP 49-64-64-64-10, ReLU, softmax cross-entropy, Keras Glorot-uniform weights and zero
  biases (the paper's Keras defaults); a plain ``torch.nn.Sequential`` trained by the loop below
  (the pruning engine's loop is BCE-based, written for Boolean tasks).
* optimiser: Adam lr 1e-3, batch 128. Default 3 epochs and no pruning phase (the paper: 10 epochs
  + 10 pruning epochs); ``--epochs`` changes it.
* arms: ``control`` (cross-entropy only) and ``regularised`` (cross-entropy +
  :class:`sculpt.spectral.ClusterabilityRegularizer` with K = 3, coef 0.05 on (lambda_2 + lambda_3 +
  lambda_4) / 3 with the exact eigenvalue gradient, i.e. the paper's 0.1 with its half gradient,
  and the sqrt(2) weight normalisation of spec 4.2 after every optimiser step). The control arm
  is not normalised, as in the paper's baseline runs.
* score: n-cut of the trained weight graph (|W|, biases ignored, degree-0 units dropped) with
  :func:`sculpt.spectral.spectral_clustering`, k = 12, 25 k-means restarts.

Run: ``.venv/bin/python examples/spectral_regularizer_mnist.py [--seeds 0 1 2] [--epochs 3]``.
Needs the MNIST cache (``sculpt data mnist`` fetches it once).
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from functiongraphs.mnist import load_mnist
from sculpt.spectral import ClusterabilityRegularizer, spectral_clustering, weight_graph
from sculpt.spectral.classifier import accuracy, keras_mlp, train_classifier

ARCH = (49, 64, 64, 64, 10)
ARMS = ("control", "regularised")


def downsample_7x7(images: np.ndarray) -> np.ndarray:
    """28x28 uint8 images -> (n, 49) float32 in [0, 1] by averaging each 4x4 block.

    Parameters
    ----------
    images : ndarray (n, 28, 28) uint8

    Returns
    -------
    ndarray (n, 49) float32
    """
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"downsample_7x7: expected images of shape (n, 28, 28), got {images.shape}")
    blocks = images.reshape(-1, 7, 4, 7, 4).astype(np.float64).mean(axis=(2, 4))
    return (blocks.reshape(-1, 49) / 255.0).astype(np.float32)


def small_mnist(cache=None) -> dict:
    """7x7 MNIST as tensors: ``x_train`` (60000, 49), ``y_train``, ``x_test`` (10000, 49), ``y_test``."""
    data = load_mnist(cache)
    return {"x_train": torch.from_numpy(downsample_7x7(data.x_train)),
            "y_train": torch.from_numpy(data.y_train.astype(np.int64)),
            "x_test": torch.from_numpy(downsample_7x7(data.x_test)),
            "y_test": torch.from_numpy(data.y_test.astype(np.int64))}


def make_mlp(seed: int, arch=ARCH) -> torch.nn.Sequential:
    """ReLU MLP with Keras Glorot-uniform weights and zero biases, seeded."""
    return keras_mlp(arch, seed=seed)


def make_regularizer(arm: str, seed: int) -> ClusterabilityRegularizer | None:
    """None for the control arm; the paper's regulariser (exact-gradient coef 0.05, K = 3) otherwise."""
    if arm == "control":
        return None
    if arm == "regularised":
        return ClusterabilityRegularizer(num_eigs=3, coef=0.05, normalize=True, seed=seed)
    raise ValueError(f"arm={arm!r}: choose one of {', '.join(ARMS)}")


def train(model, data: dict, regularizer, epochs: int, seed: int, batch_size: int = 128,
          lr: float = 1e-3) -> float:
    """Adam on softmax cross-entropy (+ regulariser penalty), shuffled minibatches; returns seconds."""
    start = time.perf_counter()
    train_classifier(model, data["x_train"], data["y_train"], epochs, seed + 1_000_003,
                     batch_size=batch_size, lr=lr, regularizer=regularizer)
    return time.perf_counter() - start


def network_ncut(model, k: int = 12, seed: int = 0) -> float:
    """n-cut of the spectral partition of the trained weight graph (degree-0 units dropped)."""
    return spectral_clustering(weight_graph(model, dead="degree0"), k=k, seed=seed).ncut


def run_arm(arm: str, seed: int, data: dict, epochs: int, k: int = 12) -> dict:
    """Train one network of ``arm`` with ``seed``; returns its row of the results table."""
    torch.manual_seed(seed)
    model = make_mlp(seed)
    regularizer = make_regularizer(arm, seed)
    seconds = train(model, data, regularizer, epochs, seed)
    return {"arm": arm, "seed": seed, "test_acc": accuracy(model, data["x_test"], data["y_test"]),
            "ncut": network_ncut(model, k, seed), "train_s": seconds, "eigenvalues": final_eigenvalues(model)}


def final_eigenvalues(model, num_eigs: int = 3) -> list[float]:
    """lambda_2..lambda_{K+1} of the trained network's normalised Laplacian (what the regulariser lowers)."""
    with torch.no_grad():
        return ClusterabilityRegularizer(num_eigs=num_eigs).eigenvalues(model)[0].tolist()


def run_experiment(seeds=(0, 1, 2), epochs: int = 3, k: int = 12, data: dict | None = None,
                   log=None) -> list[dict]:
    """Both arms for every seed; one row dict per trained network (control rows first)."""
    data = small_mnist() if data is None else data
    rows = []
    # One BLAS thread: the per-step 251-node eigendecomposition is tiny, and on a loaded 2-core
    # machine multithreaded LAPACK made a regularised step ~6x slower (170 vs 30 ms measured).
    with threadpool_limits(limits=1):
        for arm in ARMS:
            for seed in seeds:
                rows.append(run_arm(arm, int(seed), data, epochs, k))
                if log is not None:
                    log(format_row(rows[-1]))
    return rows


def format_row(row: dict) -> str:
    lam = "/".join(f"{v:.3f}" for v in row["eigenvalues"])
    return (f"{row['arm']:<12} {row['seed']:>4} {row['test_acc']:>8.4f} {row['ncut']:>7.3f}"
            f" {row['train_s']:>8.1f}  {lam}")


def arm_means(rows: list[dict]) -> dict:
    """{arm: (mean test accuracy, mean n-cut, std n-cut)}."""
    out = {}
    for arm in ARMS:
        sel = [r for r in rows if r["arm"] == arm]
        if sel:
            ncuts = np.array([r["ncut"] for r in sel])
            out[arm] = (float(np.mean([r["test_acc"] for r in sel])), float(ncuts.mean()), float(ncuts.std()))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--k", type=int, default=12)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"{'arm':<12} {'seed':>4} {'test_acc':>8} {'n-cut':>7} {'train_s':>8}  lambda_2/3/4")
    rows = run_experiment(args.seeds, args.epochs, args.k, log=print)
    print("-- means")
    for arm, (acc, mean, std) in arm_means(rows).items():
        print(f"{arm:<12} acc {acc:.4f}  n-cut {mean:.3f} +- {std:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
