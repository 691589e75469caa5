"""Spectral clustering of a weight graph as the paper runs it, with a sparse eigensolver (spec 2.1).

Algorithm (Shi-Malik, the paper's Algorithm 1, what sklearn's ``SpectralClustering(
affinity="precomputed", assign_labels="kmeans")`` does): take the k eigenvectors of the normalised
Laplacian L_sym = I - D^-1/2 A D^-1/2 with the smallest eigenvalues (the trivial one included),
divide them by sqrt(degree), flip signs deterministically and run k-means++ with ``n_init``
restarts (25 if N <= 2000 else 100, the paper's policy) on the rows. The restarts run as one
batch (:mod:`sculpt.spectral.kmeans`).

Unlike sklearn's ARPACK path we do not use shift-invert: it needs a sparse LU factorisation with
heavy fill-in on large graphs. Plain Lanczos (``eigsh(which="SA")``) or LOBPCG need only matvecs.
Layered (bipartite) graphs with a small side, e.g. a 784-256x4-10 MLP (sides 1296 / 522 nodes),
get the exact dense eigenpairs of the small side's Gram matrix: one matmul and one LAPACK subset
eigh, measured 2.5x faster than Lanczos on that graph and free of its tolerance.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, connected_components
from scipy.sparse.linalg import LinearOperator, eigsh, lobpcg
from threadpoolctl import ThreadpoolController

from sculpt.errors import ConfigError, SculptError
from sculpt.spectral.graph import WeightGraph
from sculpt.spectral.kmeans import kmeans
from sculpt.spectral.ncut import NCUT_EPS, _adjacency, ncut_terms

SOLVERS = ("auto", "bipartite", "bipartite_dense", "lanczos", "lobpcg", "dense", "shift_invert")
DENSE_MAX_NODES = 600        # below this, LAPACK on the dense Laplacian beats any iterative solver
# bipartite_dense: dense Gram of the smaller side. At 522 nodes (784-256x4-10 MLP) Gram + subset
# eigh took 37 ms vs 94 ms for folded Lanczos; eigh grows as side^3, hence a cap on the small side
# and on the dense off-diagonal block (memory).
BIPARTITE_DENSE_MAX_SIDE = 1200
BIPARTITE_DENSE_MAX_BLOCK = 4_000_000
DEGENERATE_GAP = 1e-2        # lambda_{k+1} - lambda_k below this: the k-th eigenvector is ill-defined
TINY_CLUSTER_VOLUME = 1e-3   # a cluster with less than this share of the total volume is suspicious
ZERO_EIGENVALUE = 1e-8


_THREADPOOLS: list = []  # one ThreadpoolController, made on first use (scanning the libraries costs ms)


def _one_thread():
    """Context limiting BLAS and OpenMP pools to one thread.

    The dense work per clustering is small (a 522 x 522 Gram/eigh, k-means on N x k), and on the
    shared 2-core machine the default thread teams made it 20x slower (measured: 6.4 s vs 0.32 s
    for two 1818-node clusterings). Parallelism belongs to the shuffles (``n_jobs``).
    """
    if not _THREADPOOLS:
        _THREADPOOLS.append(ThreadpoolController())
    return _THREADPOOLS[0].limit(limits=1)


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
    scaled, sqrt_degree = scaled_adjacency(adjacency)
    lap = sp.identity(adjacency.shape[0], format="csr") - scaled
    return lap.tocsr(), sqrt_degree


def _sqrt_degree(adjacency: sp.csr_matrix) -> np.ndarray:
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    if np.any(degree <= 0):
        bad = np.flatnonzero(degree <= 0)
        raise SculptError(f"{bad.size} node(s) have degree 0 (first: {bad[0]}); remove dead units before clustering")
    return np.sqrt(degree)


def scaled_adjacency(adjacency: sp.csr_matrix):
    """S = D^-1/2 A D^-1/2 (sparse, = I - L_sym) and sqrt(degree).

    Scales the CSR values in one pass instead of two sparse diagonal products (about 3x faster
    on the 800k-entry MLP graph).

    Raises
    ------
    SculptError
        If a node has degree 0 (dead units must be removed first, see ``weight_graph(dead=...)``).
    """
    adjacency = sp.csr_matrix(adjacency)
    sqrt_degree = _sqrt_degree(adjacency)
    inv = 1.0 / sqrt_degree
    rows = np.repeat(np.arange(adjacency.shape[0]), np.diff(adjacency.indptr))
    data = adjacency.data * inv[rows] * inv[adjacency.indices]
    scaled = sp.csr_matrix((data, adjacency.indices, adjacency.indptr), shape=adjacency.shape)
    return scaled, sqrt_degree


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


def _small_side_fits_dense(side: np.ndarray) -> bool:
    small, large = sorted((int(np.sum(side == 0)), int(np.sum(side == 1))))
    return small <= BIPARTITE_DENSE_MAX_SIDE and small * large <= BIPARTITE_DENSE_MAX_BLOCK


def _resolve_solver(solver: str, n: int, n_eigs: int, side: np.ndarray | None) -> str:
    if solver not in SOLVERS:
        raise ConfigError(f"solver={solver!r}: choose one of {', '.join(SOLVERS)}")
    if solver == "auto":
        if n <= DENSE_MAX_NODES:
            return "dense"
        if side is None:
            solver = "lanczos"
        else:
            solver = "bipartite_dense" if _small_side_fits_dense(side) else "bipartite"
    if solver in ("bipartite", "bipartite_dense"):
        if side is None:
            raise ConfigError(f"solver={solver!r} needs a bipartite graph (a layered chain without skip edges)")
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
    return _unfold_singular_pairs(b, mu, v, p, q, laplacian.shape[0])


def _unfold_singular_pairs(b, mu: np.ndarray, v: np.ndarray, p: np.ndarray, q: np.ndarray, n: int):
    """L_sym eigenpairs (1 - s, [u; v] / sqrt 2) from eigenpairs (s^2, v) of B^T B, with u = B v / s."""
    sigma = np.sqrt(np.clip(mu, 0.0, None))
    u = (b @ v) / np.where(sigma > 0, sigma, 1.0)
    vecs = np.zeros((n, v.shape[1]))
    vecs[p] = u / np.sqrt(2.0)
    vecs[q] = v / np.sqrt(2.0)
    return 1.0 - sigma, vecs


def _bipartite_dense_eigenpairs(adjacency: sp.csr_matrix, sqrt_degree: np.ndarray, side: np.ndarray, n_eigs: int):
    """Exact smallest eigenpairs of L_sym of a bipartite graph from the dense Gram matrix of its smaller side.

    Same identity as :func:`_bipartite_eigenpairs` (L_sym eigenvalue 1 - s for every singular value
    s of the off-diagonal block B of S = D^-1/2 A D^-1/2), but B^T B is formed densely (one BLAS-3
    product) and its top ``n_eigs`` eigenpairs come from LAPACK's subset eigh. Repeated eigenvalues
    (one per connected component at 0) come out with their full multiplicity, which Krylov methods
    miss, so no deflation is needed. ``adjacency`` is A with ``sqrt_degree`` (or S with ones).
    """
    p, q = np.flatnonzero(side == 0), np.flatnonzero(side == 1)
    if p.size < q.size:  # the Gram matrix lives on the smaller side
        p, q = q, p
    inv = 1.0 / sqrt_degree
    # row slice + dense column gather (sparse column slicing converts formats twice), scaled densely
    b = adjacency[p].toarray()[:, q]
    b *= inv[p][:, None]
    b *= inv[q][None, :]
    # B^T B by BLAS syrk: one triangle, half the flops of a matmul; b.T is Fortran-ordered, no copy
    gram = scipy.linalg.blas.dsyrk(1.0, b.T, trans=0, lower=0)
    mu, v = scipy.linalg.eigh(gram, lower=False, subset_by_index=[q.size - n_eigs, q.size - 1])
    # largest singular value first = smallest Laplacian eigenvalue first
    return _unfold_singular_pairs(b, mu[::-1], v[:, ::-1], p, q, adjacency.shape[0])


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
    solver : {"auto", "bipartite", "bipartite_dense", "lanczos", "lobpcg", "dense", "shift_invert"}
        ``lanczos``: ARPACK ``eigsh(which="SA")``, no factorisation; ``bipartite``: Lanczos on the
        folded operator B^T B of a bipartite graph (every layered MLP graph is one);
        ``bipartite_dense``: LAPACK on the dense B^T B of the smaller side; ``lobpcg``: block
        LOBPCG without preconditioner; ``dense``: LAPACK; ``shift_invert``: sklearn's path (eigsh of
        -L around sigma=1), kept as the baseline for benchmarks. ``auto``: dense up to 600 nodes,
        else bipartite_dense when ``side`` is given and its smaller side has at most 1200 nodes,
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
    elif solver == "bipartite_dense":
        scaled = (sp.identity(n, format="csr") - laplacian).tocsr()
        vals, vecs = _bipartite_dense_eigenpairs(scaled, np.ones(n), side, n_eigs)
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
        notes.append(f"tiny cluster: smallest volume share {volumes.min() / total:.2e} (units whose weights "
                     "decayed to ~0, e.g. dead units under L2 decay, form near-zero-cut clusters)")
    if k <= 2 or k >= n / 10:
        notes.append(f"k={k} with {n} nodes: the paper's significance tests were uninformative at k<=2 "
                     "and k>=N/10 leaves few nodes per cluster")
    return notes


def _graph_sides(graph, adj: sp.csr_matrix) -> np.ndarray | None:
    """Layer parity for chain weight graphs (bipartite by construction), else a BFS check."""
    if getattr(graph, "node_layer", None) is not None and getattr(graph, "blocks", None) is not None:
        return (np.asarray(graph.node_layer) % 2).astype(np.int64)
    return two_colouring(adj)


def _component_count(graph, adj: sp.csr_matrix) -> int:
    """Connected components; a WeightGraph already counted them on this adjacency when it was built."""
    if isinstance(graph, WeightGraph) and graph.adjacency.shape == adj.shape:
        return int(graph.n_components)
    return int(connected_components(adj, directed=False)[0])


def _embedding_eigenpairs(adj, n_eigs, solver, rng, tol, side):
    """Eigenpairs for the embedding, the solver used and sqrt(degree)."""
    if _resolve_solver(solver, adj.shape[0], n_eigs, side) == "bipartite_dense":  # one block of A, no L_sym
        sqrt_degree = _sqrt_degree(adj)
        vals, vecs = _bipartite_dense_eigenpairs(adj, sqrt_degree, side, n_eigs)
        return vals, vecs, "bipartite_dense", sqrt_degree
    lap, sqrt_degree = normalized_laplacian(adj)
    vals, vecs, used = smallest_eigenpairs(lap, n_eigs, solver, rng, tol, side, sqrt_degree)
    return vals, vecs, used, sqrt_degree


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
    solver : {"auto", "bipartite", "bipartite_dense", "lanczos", "lobpcg", "dense", "shift_invert"}
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
    n_eigs = min(k + 1, n)
    wants_side = solver in ("bipartite", "bipartite_dense") or (solver == "auto" and n > DENSE_MAX_NODES)
    side = _graph_sides(graph, adj) if wants_side else None
    with _one_thread():
        vals, vecs, used, sqrt_degree = _embedding_eigenpairs(adj, n_eigs, solver, rng, tol, side)
        embedding = _sign_flip(vecs[:, :k] / sqrt_degree[:, None])
        labels = np.zeros(n, dtype=np.int64) if k == 1 else kmeans(embedding, k, n_init=n_init, seed=rng).labels
    clusters, cuts, volumes = ncut_terms(adj, labels)
    value = float(np.sum(cuts / (volumes + NCUT_EPS)))
    n_components = _component_count(graph, adj)
    balance = float(volumes.min() / volumes.mean()) if volumes.size and volumes.mean() > 0 else 0.0
    return SpectralResult(labels=labels, ncut=value, k=int(k), eigenvalues=np.clip(vals, 0.0, None),
                          cluster_cuts=cuts, cluster_volumes=volumes, balance=balance,
                          n_components=int(n_components), solver=used, n_init=n_init,
                          warnings=_diagnose(k, n, np.clip(vals, 0.0, None), volumes, int(n_components)))
