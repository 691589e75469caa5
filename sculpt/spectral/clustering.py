"""Spectral clustering of a weight graph as the paper runs it, with a sparse eigensolver (spec 2.1).

Algorithm (Shi-Malik, the paper's Algorithm 1, what sklearn's ``SpectralClustering(
affinity="precomputed", assign_labels="kmeans")`` does): take the k eigenvectors of the normalised
Laplacian L_sym = I - D^-1/2 A D^-1/2 with the smallest eigenvalues (the trivial one included),
divide them by sqrt(degree), flip signs deterministically and run k-means++ with ``n_init``
restarts (25 if N <= 2000 else 100, the paper's policy) on the rows.

Unlike sklearn's ARPACK path we do not use shift-invert: it needs a sparse LU factorisation with
heavy fill-in on large graphs. Plain Lanczos (``eigsh(which="SA")``) or LOBPCG need only matvecs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, connected_components
from scipy.sparse.linalg import LinearOperator, eigsh, lobpcg
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

from sculpt.errors import ConfigError, SculptError
from sculpt.spectral.ncut import NCUT_EPS, _adjacency, ncut_terms

SOLVERS = ("auto", "bipartite", "lanczos", "lobpcg", "dense", "shift_invert")
DENSE_MAX_NODES = 600        # below this, LAPACK on the dense Laplacian beats any iterative solver
DEGENERATE_GAP = 1e-2        # lambda_{k+1} - lambda_k below this: the k-th eigenvector is ill-defined
TINY_CLUSTER_VOLUME = 1e-3   # a cluster with less than this share of the total volume is suspicious
ZERO_EIGENVALUE = 1e-8


def _ncv(n_eigs: int, n: int) -> int:
    """Lanczos basis size. ARPACK's default (2k+1) missed lambda_2 of a 22k-node layered graph at
    k=13 (tol 1e-6, converged to lambda_3..); 40+ vectors found it at little extra cost."""
    return int(min(n - 1, max(3 * n_eigs, 40)))


@dataclass
class SpectralResult:
    """Outcome of one spectral clustering.

    Attributes
    ----------
    labels : ndarray of int, shape (N,)
    ncut : float
    k : int
    eigenvalues : ndarray
        The k+1 smallest eigenvalues of L_sym, ascending (lambda_1 = 0 first).
    cluster_cuts, cluster_volumes : ndarray
        W(c, not c) and vol(c) per cluster label 0..k-1.
    balance : float
        min vol_c / mean vol_c (near 0 flags the "extremely unbalanced" collapses of spec 2.4).
    n_components : int
        Connected components of the graph.
    solver : str
    n_init : int
    warnings : list of str
    """

    labels: np.ndarray
    ncut: float
    k: int
    eigenvalues: np.ndarray
    cluster_cuts: np.ndarray
    cluster_volumes: np.ndarray
    balance: float
    n_components: int
    solver: str
    n_init: int
    warnings: list = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-ready summary (labels left out)."""
        return {"ncut": float(self.ncut), "k": int(self.k),
                "eigenvalues": [float(v) for v in self.eigenvalues],
                "balance": float(self.balance), "n_components": int(self.n_components),
                "solver": self.solver, "n_init": int(self.n_init), "warnings": list(self.warnings)}


def default_n_init(n_nodes: int) -> int:
    """The paper's k-means restarts: 25 if N <= 2000 else 100."""
    return 25 if n_nodes <= 2000 else 100


def normalized_laplacian(adjacency: sp.csr_matrix):
    """L_sym = I - D^-1/2 A D^-1/2 (sparse) and sqrt(degree).

    Raises
    ------
    SculptError
        If a node has degree 0 (dead units must be removed first, see ``weight_graph(dead=...)``).
    """
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    if np.any(degree <= 0):
        bad = np.flatnonzero(degree <= 0)
        raise SculptError(f"{bad.size} node(s) have degree 0 (first: {bad[0]}); remove dead units before clustering")
    s = 1.0 / np.sqrt(degree)
    scaled = sp.diags(s) @ adjacency @ sp.diags(s)
    lap = sp.identity(adjacency.shape[0], format="csr") - scaled
    return lap.tocsr(), np.sqrt(degree)


def two_colouring(adjacency: sp.csr_matrix) -> np.ndarray | None:
    """Side (0/1) of every node if the graph is bipartite, else None (BFS parity per component)."""
    n = adjacency.shape[0]
    side = np.full(n, -1, dtype=np.int64)
    for root in range(n):
        if side[root] >= 0:
            continue
        order, pred = breadth_first_order(adjacency, root, directed=False, return_predecessors=True)
        side[root] = 0
        for node in order[1:]:  # BFS order: a node's predecessor is always coloured before it
            side[node] = 1 - side[pred[node]]
    coo = adjacency.tocoo()
    if np.any(side[coo.row] == side[coo.col]):
        return None
    return side


def _resolve_solver(solver: str, n: int, n_eigs: int, side: np.ndarray | None) -> str:
    if solver not in SOLVERS:
        raise ConfigError(f"solver={solver!r}: choose one of {', '.join(SOLVERS)}")
    if solver == "auto":
        if n <= DENSE_MAX_NODES:
            return "dense"
        solver = "bipartite" if side is not None else "lanczos"
    if solver == "bipartite":
        if side is None:
            raise ConfigError("solver='bipartite' needs a bipartite graph (a layered chain without skip edges)")
        if n_eigs >= min(np.sum(side == 0), np.sum(side == 1)) - 1:
            solver = "lanczos"  # too few nodes on one side: the folded operator has too small a range
    if solver != "dense" and n_eigs >= n - 1:
        return "dense"  # ARPACK/LOBPCG need n_eigs well below N
    return solver


def _bipartite_eigenpairs(laplacian: sp.csr_matrix, side: np.ndarray, n_eigs: int,
                          rng: np.random.Generator, tol: float):
    """Smallest eigenpairs of L_sym of a bipartite graph via the top singular pairs of its off-diagonal block.

    With S = I - L_sym = [[0, B], [B^T, 0]] (sides P, Q), every singular triplet (s, u, v) of B gives
    an eigenvector [u; v]/sqrt(2) of S with eigenvalue s, i.e. of L_sym with 1 - s. Lanczos on the
    folded operator B^T B sees only the spectrum's useful half, squared, so it converges in far fewer
    matvecs than Lanczos on L_sym, whose two ends mirror each other around 1 on bipartite graphs.
    """
    p, q = np.flatnonzero(side == 0), np.flatnonzero(side == 1)
    s_mat = (sp.identity(laplacian.shape[0], format="csr") - laplacian).tocsr()
    b = s_mat[p][:, q]
    if b.shape[0] < b.shape[1]:  # fold onto the smaller side
        p, q, b = q, p, b.T.tocsr()
    bt = b.T.tocsr()
    gram = LinearOperator((q.size, q.size), matvec=lambda x: bt @ (b @ x), dtype=np.float64)
    mu, v = eigsh(gram, k=n_eigs, which="LA", v0=rng.uniform(-1, 1, q.size), tol=tol, ncv=_ncv(n_eigs, q.size))
    sigma = np.sqrt(np.clip(mu, 0.0, None))
    u = (b @ v) / np.where(sigma > 0, sigma, 1.0)
    vecs = np.zeros((laplacian.shape[0], n_eigs))
    vecs[p] = u / np.sqrt(2.0)
    vecs[q] = v / np.sqrt(2.0)
    return 1.0 - sigma, vecs


def component_nullspace(sqrt_degree: np.ndarray, comp: np.ndarray, n_comp: int) -> np.ndarray:
    """Orthonormal basis of L_sym's null space: sqrt(degree) on each component, (N, n_comp), largest volume first."""
    basis = np.zeros((sqrt_degree.size, n_comp))
    basis[np.arange(sqrt_degree.size), comp] = sqrt_degree
    basis /= np.linalg.norm(basis, axis=0)
    volume = np.bincount(comp, weights=sqrt_degree ** 2, minlength=n_comp)
    return basis[:, np.argsort(-volume, kind="stable")]


def _deflated_lanczos(laplacian, sqrt_degree, comp, n_comp, n_eigs, rng, tol):
    """Eigenpairs of a disconnected graph: the exact null space, then Lanczos on its complement."""
    null = component_nullspace(sqrt_degree, comp, n_comp)
    if n_comp >= n_eigs:
        return np.zeros(n_eigs), null[:, :n_eigs]
    n = laplacian.shape[0]

    def matvec(x):
        x = np.ravel(x)
        y = x - null @ (null.T @ x)
        y = laplacian @ y
        y = y - null @ (null.T @ y)
        return y + 3.0 * (null @ (null.T @ x))  # null directions moved above the spectrum (<= 2)

    op = LinearOperator((n, n), matvec=matvec, dtype=np.float64)
    rest = n_eigs - n_comp
    vals, vecs = eigsh(op, k=rest, which="SA", v0=rng.uniform(-1, 1, n), tol=tol, ncv=_ncv(rest, n))
    return np.concatenate([np.zeros(n_comp), vals]), np.hstack([null, vecs])


def smallest_eigenpairs(laplacian: sp.csr_matrix, n_eigs: int, solver: str = "auto",
                        rng: np.random.Generator | None = None, tol: float = 1e-6,
                        side: np.ndarray | None = None, sqrt_degree: np.ndarray | None = None):
    """The ``n_eigs`` smallest eigenpairs of a symmetric Laplacian, ascending.

    Parameters
    ----------
    laplacian : sparse matrix, shape (N, N)
    n_eigs : int
    solver : {"auto", "bipartite", "lanczos", "lobpcg", "dense", "shift_invert"}
        ``lanczos``: ARPACK ``eigsh(which="SA")``, no factorisation; ``bipartite``: Lanczos on the
        folded operator B^T B of a bipartite graph (every layered MLP graph is one); ``lobpcg``: block
        LOBPCG without preconditioner; ``dense``: LAPACK; ``shift_invert``: sklearn's path (eigsh of
        -L around sigma=1), kept as the baseline for benchmarks. ``auto``: dense up to 600 nodes,
        else bipartite when ``side`` is given, else lanczos.
    rng : numpy Generator
        Start vectors (so the result is deterministic for a seed).
    tol : float
    side : ndarray of 0/1, optional
        Two-colouring of a bipartite graph (see :func:`two_colouring`).
    sqrt_degree : ndarray, optional
        sqrt of the weighted degrees. When given and the graph is disconnected, ``lanczos`` and
        ``bipartite`` deflate the exact null space (one vector per component) first: Krylov
        methods miss copies of a repeated eigenvalue, which merges islands that k-means should
        isolate (spec 2.4, anchor A7). The ``shift_invert`` baseline is left as sklearn runs it.

    Returns
    -------
    eigenvalues : ndarray, shape (n_eigs,)
    eigenvectors : ndarray, shape (N, n_eigs)
    solver : str
        The solver actually used.
    """
    n = laplacian.shape[0]
    rng = np.random.default_rng(0) if rng is None else rng
    solver = _resolve_solver(solver, n, n_eigs, side)
    if solver in ("lanczos", "bipartite") and sqrt_degree is not None:
        n_comp, comp = connected_components(laplacian, directed=False)
        if n_comp > 1:
            vals, vecs = _deflated_lanczos(laplacian, sqrt_degree, comp, n_comp, n_eigs, rng, tol)
            return vals, vecs, "lanczos_deflated"
    if solver == "bipartite":
        vals, vecs = _bipartite_eigenpairs(laplacian, side, n_eigs, rng, tol)
    elif solver == "dense":
        vals, vecs = scipy.linalg.eigh(laplacian.toarray(), subset_by_index=[0, n_eigs - 1])
    elif solver == "lanczos":
        v0 = rng.uniform(-1, 1, n)
        vals, vecs = eigsh(laplacian, k=n_eigs, which="SA", v0=v0, tol=tol, ncv=_ncv(n_eigs, n))
    elif solver == "shift_invert":
        v0 = rng.uniform(-1, 1, n)
        vals, vecs = eigsh(-laplacian, k=n_eigs, sigma=1.0, which="LM", v0=v0, tol=tol)
        vals = -vals
    else:  # lobpcg
        x0 = rng.standard_normal((n, n_eigs))
        vals, vecs = lobpcg(laplacian, x0, largest=False, tol=tol, maxiter=500)
    order = np.argsort(vals)
    return np.asarray(vals)[order], np.asarray(vecs)[:, order], solver


def _sign_flip(vectors: np.ndarray) -> np.ndarray:
    """Make the largest-magnitude entry of every column positive (sklearn's deterministic flip)."""
    idx = np.argmax(np.abs(vectors), axis=0)
    signs = np.sign(vectors[idx, np.arange(vectors.shape[1])])
    signs[signs == 0] = 1.0
    return vectors * signs


def _diagnose(k: int, n: int, eigenvalues: np.ndarray, volumes: np.ndarray, n_components: int) -> list[str]:
    notes = []
    if n_components > 1:
        notes.append(f"graph is not connected ({n_components} components): components tend to become "
                     "zero-cut clusters")
    near_zero = int(np.sum(eigenvalues[1:k] < ZERO_EIGENVALUE))
    if near_zero and n_components == 1:
        notes.append(f"{near_zero} of lambda_2..lambda_k are ~0: the graph is nearly disconnected")
    if eigenvalues.size > k and eigenvalues[k] - eigenvalues[k - 1] < DEGENERATE_GAP:
        notes.append(f"near-degenerate eigengap: lambda_{k + 1} - lambda_{k} = "
                     f"{eigenvalues[k] - eigenvalues[k - 1]:.2e}; labels depend on k-means randomness")
    total = volumes.sum()
    if total > 0 and volumes.size and volumes.min() / total < TINY_CLUSTER_VOLUME:
        notes.append(f"tiny cluster: smallest volume share {volumes.min() / total:.2e}")
    if k <= 2 or k >= n / 10:
        notes.append(f"k={k} with {n} nodes: the paper's significance tests were uninformative at k<=2 "
                     "and k>=N/10 leaves few nodes per cluster")
    return notes


def _graph_sides(graph, adj: sp.csr_matrix) -> np.ndarray | None:
    """Layer parity for chain weight graphs (bipartite by construction), else a BFS check."""
    if getattr(graph, "node_layer", None) is not None and getattr(graph, "blocks", None) is not None:
        return (np.asarray(graph.node_layer) % 2).astype(np.int64)
    return two_colouring(adj)


def spectral_clustering(graph, k: int = 12, n_init: int | None = None, solver: str = "auto",
                        seed=0, tol: float = 1e-6) -> SpectralResult:
    """Cluster a weight graph into k parts and score the partition by its n-cut.

    Parameters
    ----------
    graph : WeightGraph, sparse matrix or 2-D array
        Symmetric non-negative adjacency without degree-0 nodes.
    k : int
        Number of clusters (the paper: 12).
    n_init : int, optional
        k-means restarts; default 25 if N <= 2000 else 100 (the paper's policy).
    solver : {"auto", "bipartite", "lanczos", "lobpcg", "dense", "shift_invert"}
        Eigensolver, see :func:`smallest_eigenpairs`.
    seed : int or numpy.random.SeedSequence
        Drives the eigensolver start vectors and k-means; same seed -> same labels.
    tol : float
        Eigensolver tolerance.

    Returns
    -------
    SpectralResult
    """
    adj = _adjacency(graph)
    n = adj.shape[0]
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ConfigError(f"k={k!r}: expected a positive integer")
    if k > n:
        raise ConfigError(f"k={k} exceeds the number of graph nodes ({n})")
    n_init = default_n_init(n) if n_init is None else int(n_init)
    if n_init < 1:
        raise ConfigError(f"n_init={n_init}: expected >= 1")
    rng = np.random.default_rng(seed)
    lap, sqrt_degree = normalized_laplacian(adj)
    n_eigs = min(k + 1, n)
    side = _graph_sides(graph, adj) if solver in ("auto", "bipartite") and n > DENSE_MAX_NODES else None
    vals, vecs, used = smallest_eigenpairs(lap, n_eigs, solver, rng, tol, side, sqrt_degree)
    embedding = _sign_flip(vecs[:, :k] / sqrt_degree[:, None])
    if k == 1:
        labels = np.zeros(n, dtype=np.int64)
    else:
        km = KMeans(n_clusters=k, n_init=n_init, random_state=int(rng.integers(2**31 - 1)))
        # One OpenMP thread: k-means on N x k rows is tiny work per iteration, and on a loaded
        # machine sklearn's thread team spins for far longer than the work takes (measured 30x).
        # Parallelism belongs to the shuffles (relative_clusterability(n_jobs=...)).
        with threadpool_limits(limits=1, user_api="openmp"):
            labels = km.fit_predict(embedding).astype(np.int64)
    clusters, cuts, volumes = ncut_terms(adj, labels)
    value = float(np.sum(cuts / (volumes + NCUT_EPS)))
    n_components = connected_components(adj, directed=False)[0]
    balance = float(volumes.min() / volumes.mean()) if volumes.size and volumes.mean() > 0 else 0.0
    return SpectralResult(labels=labels, ncut=value, k=int(k), eigenvalues=np.clip(vals, 0.0, None),
                          cluster_cuts=cuts, cluster_volumes=volumes, balance=balance,
                          n_components=int(n_components), solver=used, n_init=n_init,
                          warnings=_diagnose(k, n, np.clip(vals, 0.0, None), volumes, int(n_components)))
