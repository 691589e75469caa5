"""Spectral n-cut benchmarks and anchors (docs/clusterability.md sections 8-9).

    python -m bench spectral anchors [--nets 20]        # A1 10.295, A4 6.80, A7 0.000 vs ~9.3
    python -m bench spectral mlp [--shuffles 50]         # ours vs sklearn SpectralClustering, same graphs
    python -m bench spectral resnet [--repeats 1]        # ~25k nodes / 2.5M edges: Lanczos vs shift-invert

Timings on a shared machine are noisy: compare the ratios printed within one run. k-means runs with
one OpenMP thread for both sides (sklearn's default thread team spins badly on a loaded machine);
the MLP comparison limits BLAS to one thread too and alternates ours / sklearn graph by graph.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp

MLP_ARCH = [784, 256, 256, 256, 256, 10]


# ----------------------------------------------------------------------------- anchors

def init_ncuts(n_nets: int, clusterable: bool = False, k: int = 12, seed: int = 0) -> np.ndarray:
    """n-cut (k=12) of freshly Glorot-initialised 784-256x4-10 MLPs; A1, or A4 with clusterable init."""
    from tqdm.auto import tqdm

    from sculpt.spectral import clusterable_init_, glorot_uniform, spectral_clustering, weight_graph

    out = []
    for i in tqdm(range(n_nets), desc="A4 nets" if clusterable else "A1 nets", leave=False):
        ws = glorot_uniform(MLP_ARCH, seed=seed + i)
        if clusterable:  # every layer tagged, outputs 0..9: the paper's random-init analysis
            clusterable_init_(ws, c=10, beta=0.6, seed=seed + i, skip_first_layer=False)
        out.append(spectral_clustering(weight_graph(ws), k, seed=seed + i).ncut)
    return np.asarray(out)


def island_network(seed: int = 0, n_islands: int = 11, keep: float = 0.1) -> list[np.ndarray]:
    """A7: Glorot MLP magnitude-pruned to ``keep`` per layer, with two-unit islands between h2 and h3."""
    from sculpt.spectral import glorot_uniform

    ws = [w.astype(np.float64) for w in glorot_uniform(MLP_ARCH, seed=seed)]
    for w in ws:
        w[np.abs(w) < np.quantile(np.abs(w), 1 - keep)] = 0.0
    for i in range(n_islands):
        a, b = i, i  # unit a of h2 (node layer 2) and unit b of h3 (node layer 3)
        ws[1][a, :] = 0.0   # no inputs into a
        ws[2][:, a] = 0.0   # no outputs from a ...
        ws[2][b, :] = 0.0   # ... no inputs into b
        ws[3][:, b] = 0.0   # no outputs from b
        ws[2][b, a] = 1.0   # except the island edge a -> b
    return ws


def island_ncuts(seed: int = 0) -> dict:
    """n-cut of the island network with dead='degree0' (paper) and dead='components'."""
    from sculpt.spectral import spectral_clustering, weight_graph

    ws = island_network(seed)
    out = {}
    for dead in ("degree0", "components"):
        g = weight_graph(ws, dead=dead)
        out[dead] = (spectral_clustering(g, 12, seed=seed).ncut, g.n_components, g.n_dropped)
    return out


def run_anchors(args) -> None:
    t = time.perf_counter()
    a1 = init_ncuts(args.nets)
    print(f"A1 Glorot init, k=12, {args.nets} nets: mean {a1.mean():.4f} sd {a1.std():.4f} "
          f"(paper 10.295 +- 0.032; |diff| {abs(a1.mean() - 10.295):.4f}, goal <= 0.03)")
    a4 = init_ncuts(args.nets, clusterable=True)
    print(f"A4 clusterable init c=10 beta=0.6, {args.nets} nets: mean {a4.mean():.4f} sd {a4.std():.4f} "
          f"(paper 6.799; |diff| {abs(a4.mean() - 6.80):.4f}, goal <= 0.05)")
    isl = island_ncuts()
    for dead, (value, comps, dropped) in isl.items():
        print(f"A7 island artefact, dead={dead}: n-cut {value:.4f} ({comps} components, {dropped} units dropped)")
    print(f"anchors took {time.perf_counter() - t:.1f} s")


# ----------------------------------------------------------------------------- MLP: ours vs sklearn

def sklearn_ncut(graph, k: int, seed: int) -> float:
    from sklearn.cluster import SpectralClustering
    from threadpoolctl import threadpool_limits

    from sculpt.spectral import ncut

    sc = SpectralClustering(n_clusters=k, affinity="precomputed", eigen_solver="arpack",
                            n_init=25 if graph.n_nodes <= 2000 else 100, random_state=seed)
    with threadpool_limits(limits=1, user_api="openmp"):
        labels = sc.fit_predict(graph.adjacency)
    return ncut(graph, labels)


def run_mlp(args) -> None:
    import warnings

    from threadpoolctl import threadpool_limits

    from sculpt.spectral import glorot_uniform, graph_from_blocks, relative_clusterability, weight_graph
    from sculpt.spectral.clustering import spectral_clustering
    from sculpt.spectral.shuffles import shuffle_blocks, shuffle_seeds

    g = weight_graph(glorot_uniform(MLP_ARCH, seed=args.seed))
    seeds = shuffle_seeds(args.seed, args.shuffles)
    graphs = [g] + [graph_from_blocks(shuffle_blocks(g.blocks, "layer", np.random.default_rng(s)))
                    for s in seeds]
    ours, theirs, t_ours, t_theirs = [], [], 0.0, 0.0
    spectral_clustering(graphs[0], 12, seed=0)  # warm-up both paths (imports, first calls)
    # one thread for every pool (BLAS and OpenMP) on both sides: the machine is shared, and the
    # dense Gram/eigh of ours would otherwise profit from threads that sklearn's ARPACK path cannot use
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")
        sklearn_ncut(graphs[0], 12, 0)
        for i, graph in enumerate(graphs):
            t = time.perf_counter()
            ours.append(spectral_clustering(graph, 12, seed=i).ncut)
            t_ours += time.perf_counter() - t
            t = time.perf_counter()
            theirs.append(sklearn_ncut(graph, 12, i))
            t_theirs += time.perf_counter() - t
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    n = len(graphs)
    print(f"MLP 784-256x4-10 at init, k=12, network + {args.shuffles} layer shuffles, serial, same graphs:")
    print(f"  ours    : {t_ours:7.2f} s ({t_ours / n:.3f} s/clustering)  shuffles mean {ours[1:].mean():.4f} "
          f"sd {ours[1:].std():.4f}; network {ours[0]:.4f}")
    print(f"  sklearn : {t_theirs:7.2f} s ({t_theirs / n:.3f} s/clustering)  shuffles mean {theirs[1:].mean():.4f} "
          f"sd {theirs[1:].std():.4f}; network {theirs[0]:.4f}")
    print(f"  speed-up {t_theirs / t_ours:.2f}x (goal >= 5x); |mean diff| {abs(ours[1:].mean() - theirs[1:].mean()):.4f} "
          f"(goal <= 0.03)")
    if args.jobs > 1:
        t = time.perf_counter()
        rel = relative_clusterability(g, k=12, n_shuffles=args.shuffles, seed=args.seed, n_jobs=args.jobs,
                                      progress=False)
        t_par = time.perf_counter() - t
        print(f"  ours, relative_clusterability with n_jobs={args.jobs} (shuffling included): {t_par:.2f} s, "
              f"{t_theirs / t_par:.2f}x vs serial sklearn; Z {rel.z:.2f}, p {rel.p:.3f}")


# ----------------------------------------------------------------------------- ResNet-50-sized graph

def resnet_like_graph(seed: int = 0, target_edges: int = 2_500_000) -> sp.csr_matrix:
    """Synthetic sparse layered channel graph of ResNet-50's size: bottleneck stages + residual links."""
    rng = np.random.default_rng(seed)
    widths = [64]
    for w, blocks in ((64, 3), (128, 4), (256, 6), (512, 3)):
        for _ in range(blocks):
            widths += [w, w, 4 * w]
    offsets = np.concatenate([[0], np.cumsum(widths)])
    pairs = [(l, l + 1) for l in range(len(widths) - 1)]
    total = sum(widths[a] * widths[b] for a, b in pairs)
    density = target_edges / total
    rows, cols = [], []
    for a, b in pairs:
        n = rng.binomial(widths[a] * widths[b], density)
        flat = rng.choice(widths[a] * widths[b], size=n, replace=False)
        rows.append(offsets[a] + flat // widths[b])
        cols.append(offsets[b] + flat % widths[b])
    for l in range(3, len(widths), 3):  # residual: block output -> next block output (same width)
        if widths[l] == widths[l - 3]:
            rows.append(offsets[l - 3] + np.arange(widths[l]))
            cols.append(offsets[l] + np.arange(widths[l]))
    r, c = np.concatenate(rows), np.concatenate(cols)
    v = rng.uniform(0.0, 1.0, r.size)
    n = int(offsets[-1])
    upper = sp.coo_matrix((v, (r, c)), shape=(n, n))
    return (upper + upper.T).tocsr()


def run_resnet(args) -> None:
    from threadpoolctl import threadpool_limits

    from sculpt.spectral.clustering import (normalized_laplacian, smallest_eigenpairs, spectral_clustering,
                                            two_colouring)

    adj = resnet_like_graph(args.seed)
    print(f"synthetic ResNet-50-sized graph: {adj.shape[0]} nodes, {adj.nnz // 2} edges")
    lap, _ = normalized_laplacian(adj)
    side = two_colouring(adj)
    print(f"  bipartite (two-colourable): {side is not None}")
    solvers = ["bipartite", "lanczos", "lobpcg", "shift_invert"] if not args.quick else ["bipartite", "lanczos", "shift_invert"]
    if side is None:
        solvers.remove("bipartite")
    times = {}
    for solver in solvers:
        ts = []
        for r in range(args.repeats):
            t = time.perf_counter()
            with threadpool_limits(limits=1, user_api="openmp"):
                vals, _, used = smallest_eigenpairs(lap, 13, solver, np.random.default_rng(r), 1e-6, side)
            ts.append(time.perf_counter() - t)
        times[solver] = min(ts)
        print(f"  eigenpairs ({solver:12s}): {times[solver]:7.2f} s   lambda_2..4 {np.round(vals[1:4], 6)}")
    for solver in solvers[:-1]:
        print(f"  embedding speed-up {solver} vs shift-invert: {times['shift_invert'] / times[solver]:.2f}x (goal >= 5x)")
    if args.full:
        for solver in ("auto", "shift_invert"):
            t = time.perf_counter()
            res = spectral_clustering(adj, 12, solver=solver, seed=0)
            print(f"  full clustering ({solver}, k-means n_init={res.n_init}): {time.perf_counter() - t:.2f} s, "
                  f"n-cut {res.ncut:.4f}")


def main(argv) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench spectral", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=("anchors", "mlp", "resnet", "all"))
    parser.add_argument("--nets", type=int, default=20, help="networks per anchor (default 20)")
    parser.add_argument("--shuffles", type=int, default=50, help="layer shuffles in the MLP bench")
    parser.add_argument("--jobs", type=int, default=1, help="also time relative_clusterability with n_jobs")
    parser.add_argument("--repeats", type=int, default=1, help="repeats per solver in the resnet bench (min taken)")
    parser.add_argument("--quick", action="store_true", help="resnet: skip LOBPCG")
    parser.add_argument("--full", action="store_true", help="resnet: also time full clusterings (k-means n_init=100)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.part in ("anchors", "all"):
        run_anchors(args)
    if args.part in ("mlp", "all"):
        run_mlp(args)
    if args.part in ("resnet", "all"):
        run_resnet(args)
    return 0
