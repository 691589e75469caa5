"""Module detection on all 1,499 reference networks in one process: median, p95 and total.

Goal (issue 4): median < 1 ms and all 1,499 < 3 s; the paper's code takes 13.6 ms median and
39.6 s in total (spec 11.2). The in-run baseline is the paper's way of choosing K, one sklearn
``AgglomerativeClustering`` fit per k plus the trace formula of the modularity, on the same
layers; the ratio against it is what this benchmark reports as the speed-up.

Usage: ``python -m bench detect [--baseline-networks N] [--repeat R]``
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
from tqdm import tqdm

PAPER_MEDIAN_MS, PAPER_TOTAL_S = 13.6, 39.6


def _paper_style_choose_k(features: np.ndarray) -> int:
    """K by refitting sklearn for every k and evaluating the modularity by its trace formula."""
    from scipy.spatial.distance import pdist, squareform
    from sklearn.cluster import AgglomerativeClustering

    n = features.shape[0]
    dist = squareform(pdist(features.astype(float), "cosine"))
    np.fill_diagonal(dist, 0)
    if dist.sum():
        dist = dist / dist.sum()
    best_k, best = 2, np.inf
    for k in range(2, n):
        labels = AgglomerativeClustering(n_clusters=k, metric="cosine", linkage="average").fit(features).labels_
        onehot = np.eye(k)[labels]
        a = onehot.T @ dist @ onehot
        value = round(float(np.trace(a) - np.trace(a.sum(1, keepdims=True) @ a.sum(0, keepdims=True))), 8)
        if value <= best:
            best_k, best = k, value
    return best_k


def _our_choose_k(features: np.ndarray) -> int:
    from sculpt.detect.linkage_cuts import average_cosine_dendrogram, cosine_distances
    from sculpt.detect.modularity import choose_k, modularity_by_k

    distances = cosine_distances(features)
    ks, values = modularity_by_k(distances, average_cosine_dendrogram(features, distances))
    return choose_k(ks, values) if len(ks) else 2


def _time_per_network(masks_list, repeat: int) -> list[float]:
    from sculpt.detect import detect_modules

    times = []
    for masks in tqdm(masks_list, desc="detect", file=sys.stderr, disable=None):
        best = np.inf
        for _ in range(repeat):
            start = time.perf_counter()
            detect_modules(masks)
            best = min(best, time.perf_counter() - start)
        times.append(best)
    return times


def _baseline_ratio(masks_list, n_networks: int) -> tuple[float, float, int]:
    """Seconds for choosing K on every layer of the first networks: paper style vs ours."""
    from sculpt.detect.condense import remove_dead_units
    from sculpt.detect.features import reachability_features

    layers = []
    for masks in masks_list[:n_networks]:
        net = remove_dead_units(masks)
        layers += [f for f in reachability_features(net.masks, len(masks)) if f.shape[0] >= 3]
    start = time.perf_counter()
    paper = [_paper_style_choose_k(f) for f in layers]
    t_paper = time.perf_counter() - start
    start = time.perf_counter()
    ours = [_our_choose_k(f) for f in layers]
    t_ours = time.perf_counter() - start
    if paper != ours:
        raise AssertionError("the replayed cuts chose a different K than refitting sklearn")
    return t_paper, t_ours, len(layers)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench detect", description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-networks", type=int, default=100,
                        help="networks for the refit-per-k baseline (default 100)")
    parser.add_argument("--repeat", type=int, default=3, help="time each network R times, keep the best")
    args = parser.parse_args(argv)

    from sculpt.reference import iter_networks

    masks_list = [net.masks for net in iter_networks()]  # loading is not timed
    times = _time_per_network(masks_list, args.repeat)
    ms = np.array(times) * 1e3
    median, p95, total = statistics.median(ms), float(np.percentile(ms, 95)), float(ms.sum()) / 1e3
    print(f"detect_modules on {len(ms)} reference networks (one process, best of {args.repeat}):")
    print(f"  median {median:.3f} ms   p95 {p95:.3f} ms   total {total:.2f} s   (goal: < 1 ms, < 3 s)")
    print(f"  vs the paper's code (spec 11.2, not run here): median x{PAPER_MEDIAN_MS / median:.1f}, "
          f"total x{PAPER_TOTAL_S / total:.1f}")
    t_paper, t_ours, n_layers = _baseline_ratio(masks_list, args.baseline_networks)
    print(f"choosing K on {n_layers} layers of {args.baseline_networks} networks: one sklearn fit per k "
          f"{t_paper:.3f} s, one linkage + replayed cuts {t_ours:.3f} s, ratio x{t_paper / t_ours:.1f} "
          "(same K everywhere)")
    return 0
