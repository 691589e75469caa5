"""Module detection per network: this checkout against a previous commit, in one run.

Two long-lived worker processes (``bench/_detect_worker.py``), one importing this checkout's
``sculpt`` and one importing the ``sculpt`` package of ``--previous`` (extracted with
``git archive`` into a temporary folder), load all 1,499 stored networks once. The driver then
asks them in turn, network by network (even rounds the previous code first, odd rounds this
one), for the CPU seconds (``time.process_time``) of ``detect_modules`` on that network with its
own parameters, and in the first round for a digest of the full result (modules, k, every
modularity value, both tests, the hierarchy), as paperbench records results in its first round. The ratio is the median over networks of previous / current, each from
the median of its rounds; the digests must agree on every network.

Usage: ``python -m bench detect [--previous COMMIT] [--rounds R] [--every N]``
(``--refit-baseline N`` also times the paper's way of choosing K, one sklearn fit per k, on the
layers of the first N networks.)
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).resolve().parent / "_detect_worker.py"
PREVIOUS = "537b681"  # the SciPy / NumPy implementation before the bit-set rewrite


def _start(pythonpath: str, reference_dir: str, ids: list[str]) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=pythonpath, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, str(WORKER), reference_dir, ",".join(ids)], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
    ready = json.loads(proc.stdout.readline())
    print(f"  worker ready: sculpt from {ready['ready']}", file=sys.stderr)
    return proc


def _ask(proc: subprocess.Popen, i: int, record: bool) -> dict:
    proc.stdin.write(json.dumps({"i": i, "record": record}) + "\n")
    proc.stdin.flush()
    return json.loads(proc.stdout.readline())


def _load_avg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def compare_with_previous(reference_dir: Path, previous: str, rounds: int, every: int) -> int:
    from sculpt.reference import load_records

    ids = [r["id"] for r in load_records(reference_dir)][::every]
    with tempfile.TemporaryDirectory(prefix="bench-detect-") as old_tree:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", previous, "sculpt"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", old_tree], input=archive, check=True)
        load_before, wall = _load_avg(), time.perf_counter()
        workers = {"previous": _start(old_tree, str(reference_dir), ids),
                   "current": _start(str(ROOT), str(reference_dir), ids)}
        cpu = {side: np.zeros((rounds, len(ids))) for side in workers}
        digests = {side: [None] * len(ids) for side in workers}
        for rnd in range(rounds):
            order = ("previous", "current") if rnd % 2 == 0 else ("current", "previous")
            for i in range(len(ids)):
                for side in order:
                    reply = _ask(workers[side], i, record=rnd == 0)
                    cpu[side][rnd, i] = reply["cpu"]
                    if rnd == 0:
                        digests[side][i] = reply["digest"]
        for proc in workers.values():
            proc.stdin.close()
            proc.wait()
    per_net = {side: np.median(values, axis=0) for side, values in cpu.items()}
    ratios = per_net["previous"] / per_net["current"]
    same = sum(a == b for a, b in zip(digests["previous"], digests["current"]))
    med = {side: 1e3 * float(np.median(v)) for side, v in per_net.items()}
    total = {side: float(v.sum()) for side, v in per_net.items()}
    print(f"detect_modules on {len(ids)} stored networks, {rounds} rounds, CPU s per call "
          f"(load average {load_before} -> {_load_avg()}, {time.perf_counter() - wall:.0f} s wall):")
    print(f"  previous ({previous}): median {med['previous']:.3f} ms, all networks {total['previous']:.3f} s")
    print(f"  current:            median {med['current']:.3f} ms, all networks {total['current']:.3f} s")
    print(f"  ratio previous / current: median over networks x{np.median(ratios):.2f} "
          f"(5-95 %: x{np.percentile(ratios, 5):.2f}-x{np.percentile(ratios, 95):.2f}), "
          f"medians x{med['previous'] / med['current']:.2f}, totals x{total['previous'] / total['current']:.2f}")
    print(f"  same result (digest of to_dict) on {same}/{len(ids)} networks")
    return 0 if same == len(ids) else 1


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
    from sculpt.detect.linkage_cuts import average_cosine_dendrogram, cosine_distance_matrix
    from sculpt.detect.modularity import choose_k, modularity_by_k

    distances = cosine_distance_matrix(features)
    ks, values = modularity_by_k(distances, average_cosine_dendrogram(features, distances))
    return choose_k(ks, values) if len(ks) else 2


def refit_baseline(reference_dir: Path, n_networks: int) -> int:
    """Seconds for choosing K on every layer of the first networks: paper style vs ours."""
    from sculpt.detect.condense import remove_dead_units
    from sculpt.detect.features import reachability_features
    from sculpt.reference import iter_networks

    layers = []
    for i, net in enumerate(iter_networks(reference_dir=reference_dir)):
        if i >= n_networks:
            break
        condensed = remove_dead_units(net.masks)
        layers += [f for f in reachability_features(condensed.masks, len(net.masks)) if f.shape[0] >= 3]
    start = time.process_time()
    paper = [_paper_style_choose_k(f) for f in layers]
    t_paper = time.process_time() - start
    start = time.process_time()
    ours = [_our_choose_k(f) for f in layers]
    t_ours = time.process_time() - start
    if paper != ours:
        raise AssertionError("the replayed cuts chose a different K than refitting sklearn")
    print(f"choosing K on {len(layers)} layers of {n_networks} networks: one sklearn fit per k "
          f"{t_paper:.3f} s, one linkage + replayed cuts {t_ours:.3f} s, ratio x{t_paper / t_ours:.1f} "
          "(same K everywhere)")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench detect", description=__doc__.splitlines()[0])
    parser.add_argument("--previous", default=PREVIOUS, help=f"commit to compare with (default {PREVIOUS})")
    parser.add_argument("--rounds", type=int, default=3, help="passes over the networks per side (default 3)")
    parser.add_argument("--every", type=int, default=1, help="every N-th stored network (default all)")
    parser.add_argument("--refit-baseline", type=int, default=0, metavar="N",
                        help="also time one sklearn fit per k on the layers of the first N networks")
    args = parser.parse_args(argv)
    from sculpt.reference import find_reference_dir

    reference_dir = find_reference_dir([ROOT.parent / "shared" / "reference"])
    if reference_dir is None:
        print("bench detect: the paper's stored networks were not found (see `sculpt data paper`)",
              file=sys.stderr)
        return 2
    status = compare_with_previous(reference_dir, args.previous, args.rounds, args.every)
    if args.refit_baseline:
        status = max(status, refit_baseline(reference_dir, args.refit_baseline))
    return status
