"""Spectral n-cut scoring: graph, n-cut, clustering, shuffles, p/Z, k policy, CLI (spec clusterability.md)."""
from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from sculpt.cli import main as cli_main
from sculpt.errors import ConfigError, SculptError
from sculpt.spectral import (choose_k, glorot_uniform, graph_from_blocks, ncut, ncut_terms, p_value,
                             partition_from_modules, relative_clusterability, shuffle_blocks,
                             spectral_clustering, summary, weight_graph, z_score)
from sculpt.spectral.clustering import normalized_laplacian, smallest_eigenpairs, two_colouring
from sculpt.spectral.graph import channel_norms


def reference_net(reference_dir, name):
    data = np.load(reference_dir / "pruned_networks.npz", allow_pickle=False)
    weights, masks, l = [], [], 0
    while f"{name}_weight{l}" in data.files:
        weights.append(data[f"{name}_weight{l}"])
        masks.append(data[f"{name}_mask{l}"])
        l += 1

    class Net:
        pass

    net = Net()
    net.weights, net.masks = weights, masks
    return net


def reference_modules(exemplar_detections, name):
    return exemplar_detections[name]["modules"]


# ----------------------------------------------------------------------------- n-cut fixtures (A5)

def test_ncut_fixture_of_the_paper_code():
    # src/tests/test_spectral_clustering.py: asserts 0.09895 +- 1e-3; the exact value is 0.098897
    w0 = np.array([[12, -1.3], [0, 7.4]])
    w1 = np.array([[-8.9, 0.15], [0.23, -5.7]])
    g = weight_graph([w0.T, w1.T])  # Keras (in, out) -> torch (out, in)
    assert ncut(g, [0, 1, 0, 1, 0, 1]) == pytest.approx(0.0988967040726, abs=1e-10)


def test_ncut_hand_computed_path():
    # path a-b-c-d with weights 1, 2, 3; clusters {a,b}, {c,d}: cut 2, vols 1+3 and 5+3
    adj = np.zeros((4, 4))
    for i, w in enumerate([1.0, 2.0, 3.0]):
        adj[i, i + 1] = adj[i + 1, i] = w
    assert ncut(adj, [0, 0, 1, 1]) == pytest.approx(2 / (4 + 1e-8) + 2 / (8 + 1e-8), abs=1e-15)
    clusters, cuts, vols = ncut_terms(adj, [0, 0, 1, 1])
    assert clusters.tolist() == [0, 1] and cuts.tolist() == [2.0, 2.0] and vols.tolist() == [4.0, 8.0]
    # label -1: no cluster, but its edges still cut its neighbours' clusters
    assert ncut(adj, [0, 0, -1, -1]) == pytest.approx(2 / (4 + 1e-8), abs=1e-15)


def test_ncut_equals_networkx_normalized_cut_size():
    G = nx.gnp_random_graph(20, 0.8, seed=3)
    rng = np.random.default_rng(0)
    for u, v in G.edges:
        G[u][v]["weight"] = float(rng.uniform(0.1, 2.0))
    adj = nx.to_numpy_array(G, nodelist=range(20))
    even = [n for n in range(20) if n % 2 == 0]
    labels = np.arange(20) % 2
    expected = nx.normalized_cut_size(G, even, weight="weight")
    assert ncut(sp.csr_matrix(adj), labels, eps=0.0) == pytest.approx(expected, rel=1e-12)


def test_ncut_rejects_wrong_label_count():
    with pytest.raises(SculptError, match="expected 3 entries"):
        ncut(np.ones((3, 3)), [0, 1])


# ----------------------------------------------------------------------------- p-values and Z (A5)

def test_p_value_fixtures_of_the_paper_code():
    shuffled = np.arange(100)
    assert p_value(0, shuffled, ties="paper") == pytest.approx(1 / 101)
    assert p_value(1, shuffled, ties="paper") == pytest.approx(2 / 101)
    assert p_value(101, shuffled, ties="paper") == pytest.approx(1.0)
    # conservative ties: the shuffle equal to the observed value counts against significance
    assert p_value(0, shuffled) == pytest.approx(2 / 101)
    assert p_value(1, shuffled) == pytest.approx(3 / 101)
    assert p_value(0, shuffled, ties="mid") == pytest.approx(1.5 / 101)
    assert p_value(0.0, np.zeros(50), ties="paper") == pytest.approx(1 / 51)
    assert p_value(0.0, np.zeros(50)) == pytest.approx(1.0)


def test_z_score_uses_population_std():
    s = np.array([1.0, 2.0, 3.0, 4.0])
    assert z_score(1.0, s) == pytest.approx((1.0 - 2.5) / np.sqrt(1.25))
    assert z_score(0.0, np.zeros(5)) == 0.0
    assert z_score(-1.0, np.zeros(5)) == -np.inf


def test_tie_bug_on_reference_exemplar(reference_dir):
    # spec 3.3: 2 disconnected modules, k=2, topology-preserving shuffles: all n-cuts are 0
    net = reference_net(reference_dir, "net0000")
    rel = relative_clusterability(net, k=2, n_shuffles=10, method="layer_nonzero", seed=0, progress=False)
    assert rel.ncut == 0.0
    assert np.all(rel.shuffled == 0.0)
    assert rel.p == 1.0
    assert rel.p_paper == pytest.approx(1 / 11)
    assert rel.z == 0.0


# ----------------------------------------------------------------------------- graph and dead units

def test_weight_graph_masks_and_layout():
    w0 = np.array([[1.0, -2.0], [3.0, 4.0], [0.5, 0.5]], dtype=np.float32)  # 2 -> 3
    w1 = np.array([[1.0, 1.0, -1.0]], dtype=np.float32)                     # 3 -> 1
    m0 = np.array([[1, 0], [1, 1], [1, 1]], dtype=bool)

    class Net:
        weights = [w0, w1]
        masks = [m0, np.ones((1, 3), dtype=bool)]

    g = weight_graph(Net())
    dense = g.adjacency.toarray()
    assert g.n_nodes == 6 and g.layer_sizes == (2, 3, 1)
    assert dense[0, 2] == 1.0 and dense[1, 2] == 0.0 and dense[1, 3] == 4.0 and dense[4, 5] == 1.0
    assert np.array_equal(dense, dense.T)
    assert g.node_layer.tolist() == [0, 0, 1, 1, 1, 2]


def test_weight_graph_accepts_torch_sequential_and_stacks():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    g = weight_graph(model)
    expected = weight_graph([model[0].weight.detach().numpy(), model[2].weight.detach().numpy()])
    assert (g.adjacency != expected.adjacency).nnz == 0
    stacked = [torch.stack([model[0].weight, 2 * model[0].weight]), torch.stack([model[2].weight] * 2)]
    with pytest.raises(SculptError, match="pass member="):
        weight_graph(stacked)
    g1 = weight_graph(stacked, member=1)
    assert g1.adjacency[0, 3] == pytest.approx(2 * abs(float(model[0].weight[0, 0].detach())))


def test_weight_graph_rejects_broken_chain():
    with pytest.raises(SculptError, match="weight layer 1: has 5 inputs but layer 0 has 4 outputs"):
        weight_graph([np.ones((4, 3)), np.ones((2, 5))])


def island_blocks():
    """4 -> 4 -> 4 -> 2 net whose hidden units 3 (layer 1) and 3 (layer 2) form a two-unit island."""
    rng = np.random.default_rng(0)
    blocks = [rng.uniform(0.5, 1.0, (4, 4)), rng.uniform(0.5, 1.0, (4, 4)), rng.uniform(0.5, 1.0, (2, 4))]
    blocks[0][3, :] = 0          # layer-1 unit 3: no inputs
    blocks[1][3, :] = 0          # layer-2 unit 3: only from layer-1 unit 3
    blocks[1][:, 3] = 0
    blocks[1][3, 3] = 2.0
    blocks[2][:, 3] = 0          # layer-2 unit 3: no outputs
    blocks[0][:, 2] = 0          # input unit 2: dead
    return blocks


def test_dead_unit_policies_report_what_they_drop():
    blocks = island_blocks()
    g0 = graph_from_blocks(blocks, dead="degree0")
    assert g0.dropped == {0: [2]} and g0.n_components == 2 and g0.n_nodes == 13
    assert g0.component_sizes == [11, 2]
    gc = graph_from_blocks(blocks, dead="components")
    assert gc.dropped == {0: [2], 1: [3], 2: [3]} and gc.n_components == 1 and gc.n_nodes == 11
    gl = graph_from_blocks(blocks, dead="largest")
    assert gl.dropped == gc.dropped
    assert gc.report()["dropped"] == {"0": [2], "1": [3], "2": [3]}
    with pytest.raises(ConfigError, match="dead='x'"):
        graph_from_blocks(blocks, dead="x")


def test_components_policy_falls_back_when_nothing_spans():
    blocks = [np.eye(2), np.zeros((2, 2))]
    g = graph_from_blocks(blocks, dead="components")
    assert g.n_nodes == 4 and any("fell back" in w for w in g.warnings)


def test_channel_norms_match_their_definitions():
    k = np.arange(2 * 1 * 2 * 2, dtype=float).reshape(2, 1, 2, 2) - 3.0  # (out, in, kh, kw)
    s = k[1, 0]
    assert channel_norms(k, "l1_entrywise")[1, 0] == np.abs(s).sum()
    assert channel_norms(k, "tf_matrix_1norm")[1, 0] == np.linalg.norm(s, 1)
    assert channel_norms(k, "spectral")[1, 0] == pytest.approx(np.linalg.norm(s, 2))
    assert channel_norms(k, "fro")[1, 0] == pytest.approx(np.linalg.norm(s))


def test_cnn_channel_graph_folds_batchnorm_and_drops_first_conv():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                                torch.nn.Conv2d(4, 5, 3), torch.nn.BatchNorm2d(5))
    with torch.no_grad():
        model[4].weight.fill_(2.0)
        model[4].running_var.fill_(3.0)
    g = weight_graph(model)
    assert g.layer_sizes == (4, 5)
    scale = 2.0 / np.sqrt(3.0 + model[4].eps)
    expected = np.abs(model[3].weight.detach().numpy()).sum(axis=(2, 3)) * scale
    assert g.blocks[0] == pytest.approx(expected, rel=1e-6)


# ----------------------------------------------------------------------------- clustering

def two_block_graph(n=40, seed=0):
    rng = np.random.default_rng(seed)
    blocks = [rng.uniform(0.1, 1, (n, n)), rng.uniform(0.1, 1, (n, n))]
    half = n // 2
    for b in blocks:
        b[:half, half:] *= 0.01
        b[half:, :half] *= 0.01
    return blocks


def test_spectral_clustering_finds_planted_halves_and_is_deterministic():
    g = graph_from_blocks(two_block_graph())
    r1 = spectral_clustering(g, k=2, seed=5)
    r2 = spectral_clustering(g, k=2, seed=5)
    assert np.array_equal(r1.labels, r2.labels)
    side = (np.concatenate([np.arange(40), np.arange(40), np.arange(40)]) >= 20).astype(int)
    assert abs(np.corrcoef(r1.labels, side)[0, 1]) == pytest.approx(1.0)
    assert r1.ncut == pytest.approx(ncut(g, r1.labels))
    assert r1.eigenvalues[0] == pytest.approx(0.0, abs=1e-10) and r1.eigenvalues.shape == (3,)
    assert r1.n_init == 25 and r1.solver == "dense"


def test_disconnected_graph_warns_and_cuts_zero():
    blocks = two_block_graph()
    for b in blocks:
        b[:20, 20:] = 0
        b[20:, :20] = 0
    r = spectral_clustering(graph_from_blocks(blocks), k=2, seed=0)
    assert r.ncut == pytest.approx(0.0, abs=1e-12)
    assert any("not connected (2 components)" in w for w in r.warnings)


def test_unit_with_decayed_weights_collapses_the_ncut_and_warns():
    # a hidden unit whose weights decayed to float32-denormal size (a dead unit under L2 decay, 2026-12-02's
    # A10 runs): it is not degree 0, so it stays in the graph, becomes a zero-volume cluster, and the
    # paper's cut / (vol + 1e-8) scores that cluster ~0 while the rest, one cluster, cuts almost nothing
    blocks = [np.asarray(b, dtype=np.float64) for b in glorot_uniform([8, 6, 4], seed=0)]
    blocks = [np.abs(b) for b in blocks]
    healthy = spectral_clustering(graph_from_blocks(blocks), k=2, seed=0)
    assert healthy.ncut > 0.1 and not any(w.startswith("tiny cluster") for w in healthy.warnings)
    blocks[0][2, :] = 1e-40  # unit 2 of the hidden layer: incoming weights
    blocks[1][:, 2] = 1e-40  # and outgoing
    r = spectral_clustering(graph_from_blocks(blocks), k=2, seed=0)
    assert r.ncut < 1e-20
    assert np.sum(r.labels == r.labels[8 + 2]) == 1  # the decayed unit alone
    assert any(w.startswith("tiny cluster") and "decayed to ~0" in w for w in r.warnings)


def test_sparse_solvers_agree_with_dense():
    blocks = [b for b in glorot_uniform([300, 200, 200, 100], seed=0)]
    g = weight_graph(blocks)
    lap, _ = normalized_laplacian(g.adjacency)
    side = two_colouring(g.adjacency)
    assert np.array_equal(side, g.node_layer % 2)
    ref, _, _ = smallest_eigenpairs(lap, 6, "dense")
    for solver in ("lanczos", "bipartite", "bipartite_dense", "lobpcg", "shift_invert"):
        vals, vecs, used = smallest_eigenpairs(lap, 6, solver, np.random.default_rng(0), 1e-8, side)
        assert used == solver
        assert vals == pytest.approx(ref, abs=1e-6)
        residual = lap @ vecs - vecs * vals
        assert np.abs(residual).max() < 1e-4


def test_spectral_clustering_validates_k():
    g = graph_from_blocks(two_block_graph(8))
    with pytest.raises(ConfigError, match="exceeds the number of graph nodes"):
        spectral_clustering(g, k=100)
    with pytest.raises(ConfigError, match="solver='qr'"):
        spectral_clustering(g, k=2, solver="qr")


# ----------------------------------------------------------------------------- shuffles and relative

def test_shuffles_keep_values_and_topology():
    rng = np.random.default_rng(0)
    block = rng.normal(size=(5, 6)) * (rng.random((5, 6)) < 0.5)
    layer = shuffle_blocks([block], "layer", np.random.default_rng(1))[0]
    assert np.array_equal(np.sort(layer.ravel()), np.sort(block.ravel()))
    nonzero = shuffle_blocks([block], "layer_nonzero", np.random.default_rng(1))[0]
    assert np.array_equal(nonzero != 0, block != 0)
    assert np.array_equal(np.sort(nonzero[block != 0]), np.sort(block[block != 0]))


def test_relative_clusterability_same_result_for_any_n_jobs():
    g = graph_from_blocks(two_block_graph(12))
    a = relative_clusterability(g, k=2, n_shuffles=4, seed=3, n_jobs=1, progress=False)
    # threads keep the test fast; processes get the same per-shuffle SeedSequences
    b = relative_clusterability(g, k=2, n_shuffles=4, seed=3, n_jobs=2, progress=False, backend="threading")
    assert np.array_equal(a.shuffled, b.shuffled) and a.ncut == b.ncut
    assert a.ncut < a.shuffled.min()  # planted halves beat every shuffle
    assert a.p == pytest.approx(1 / 5) and a.z < -2
    assert a.mean == pytest.approx(a.shuffled.mean()) and a.std == pytest.approx(a.shuffled.std())


# ----------------------------------------------------------------------------- modules and k

def test_partition_from_reference_modules(reference_dir, exemplar_detections):
    net = reference_net(reference_dir, "net0000")
    modules = reference_modules(exemplar_detections, "net0000")
    g = weight_graph(net)
    labels = partition_from_modules(g, modules)
    assert sorted(set(labels.tolist())) == [0, 1]
    assert ncut(g, labels) == 0.0
    index = g.node_index()
    assert labels[index[(1, 7)]] == 0 and labels[index[(1, 12)]] == 1
    assert choose_k(g, "modules", modules=modules).k == 2
    assert choose_k(g, "eigengap").k == 2  # two components: lambda_1 = lambda_2 = 0


def test_partition_unassigned_policies():
    g = graph_from_blocks(island_blocks())
    modules = [{"units": {"0": [0, 1], "1": [0]}}]
    own = partition_from_modules(g, modules, "own")
    assert (own == 0).sum() == 3 and len(set(own.tolist())) == g.n_nodes - 2
    rest = partition_from_modules(g, modules, "rest")
    assert sorted(set(rest.tolist())) == [0, 1]
    drop = partition_from_modules(g, modules, "drop")
    assert sorted(set(drop.tolist())) == [-1, 0]
    with pytest.raises(SculptError, match="is in module 0 and module 1"):
        partition_from_modules(g, [{"0": [0]}, {"0": [0]}])


def test_choose_k_validates():
    g = graph_from_blocks(two_block_graph(8))
    assert choose_k(g, "5").k == 5
    with pytest.raises(ConfigError, match="needs detected modules"):
        choose_k(g, "modules")
    with pytest.raises(ConfigError, match="expected an integer or one of modules, eigengap"):
        choose_k(g, "many")


# ----------------------------------------------------------------------------- summary and CLI

def write_plain_npz(reference_dir, name, path):
    net = reference_net(reference_dir, name)
    arrays = {f"weight{l}": w for l, w in enumerate(net.weights)}
    arrays.update({f"mask{l}": m for l, m in enumerate(net.masks)})
    np.savez(path, **arrays)


def test_summary_is_json_ready(reference_dir, exemplar_detections):
    net = reference_net(reference_dir, "net0000")
    s = summary(net, k=2, n_shuffles=3, modules=reference_modules(exemplar_detections, "net0000"))
    text = json.dumps(s)
    assert json.loads(text)["modules"]["ncut"] == 0.0
    assert s["k"] == 2 and s["graph"]["n_dropped"] == 20 and len(s["shuffled"]) == 3


def test_cli_ncut_prints_statistics(reference_dir, tmp_path, capsys):
    path = tmp_path / "net.npz"
    write_plain_npz(reference_dir, "net0000", path)
    out_json = tmp_path / "s.json"
    assert cli_main(["ncut", str(tmp_path), "--k", "2", "--shuffles", "3", "--method", "layer_nonzero",
                     "--json", str(out_json)]) == 0
    out = capsys.readouterr().out
    assert "n-cut of the spectral partition: 0.0000" in out
    assert "p = 1.0000 (ties conservative; the paper's count gives 0.2500)" in out
    assert "layer_nonzero shuffles (3): mean 0.0000, std 0.0000" in out
    assert json.loads(out_json.read_text())["p_paper"] == 0.25


def test_cli_ncut_errors_in_one_line(tmp_path, capsys):
    assert cli_main(["ncut", str(tmp_path / "missing.npz")]) == 2
    assert "no such file or directory" in capsys.readouterr().err


def test_lanczos_deflates_repeated_zero_eigenvalues_of_islands():
    # 6 disconnected 2-layer pieces: Krylov solvers alone miss copies of lambda = 0 (spec A7)
    rng = np.random.default_rng(0)
    block = sp.block_diag([rng.uniform(0.5, 1, (8, 8)) for _ in range(6)]).toarray()
    g = graph_from_blocks([block, np.abs(rng.normal(size=(48, 48))) * (block > 0)])
    assert g.n_components == 6
    r = spectral_clustering(g, k=6, solver="lanczos", seed=0)
    assert r.solver == "lanczos_deflated"
    assert np.sum(r.eigenvalues < 1e-10) == 6 and r.eigenvalues[6] > 1e-3
    assert r.ncut == pytest.approx(0.0, abs=1e-9)


# ----------------------------------------------------------------------------- batched k-means

def test_batched_kmeans_matches_sklearn_on_planted_blobs():
    from sklearn.cluster import KMeans
    from sklearn.datasets import make_blobs
    from sklearn.metrics import adjusted_rand_score

    from sculpt.spectral.kmeans import kmeans

    x, _ = make_blobs(600, n_features=5, centers=6, cluster_std=0.5, random_state=0)
    ours = kmeans(x, 6, n_init=25, seed=0)
    theirs = KMeans(6, n_init=25, random_state=0).fit(x)
    assert adjusted_rand_score(ours.labels, theirs.labels_) == 1.0
    assert ours.inertia == pytest.approx(theirs.inertia_, rel=1e-6)
    assert ours.inertias.shape == (25,) and ours.inertia == ours.inertias.min()
    assert ours.centers == pytest.approx(np.array([x[ours.labels == j].mean(axis=0) for j in range(6)]))


def test_batched_kmeans_is_deterministic_and_validates():
    from sculpt.spectral.kmeans import kmeans

    x = np.random.default_rng(1).normal(size=(300, 4))
    a, b = kmeans(x, 7, n_init=9, seed=4), kmeans(x, 7, n_init=9, seed=4)
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.inertias, b.inertias)
    assert a.labels.dtype == np.int64 and set(a.labels.tolist()) == set(range(7))
    with pytest.raises(ConfigError, match="k=9: expected an integer between 1 and the number of points"):
        kmeans(x[:5], 9)


def test_lloyd_relocates_empty_clusters():
    from sculpt.spectral.kmeans import lloyd

    x = np.concatenate([np.zeros((10, 2)), np.ones((10, 2)) * 5.0, [[20.0, 20.0]]])
    start = np.array([[[0.0, 0.0], [5.0, 5.0], [1000.0, 1000.0]]])  # the third center gets no point
    labels, centers, inertias, _ = lloyd(x, start, tol=0.0)
    assert np.isfinite(centers).all() and len(set(labels[0].tolist())) == 3
    assert centers[0, 2] == pytest.approx([20.0, 20.0]) and inertias[0] == pytest.approx(0.0, abs=1e-9)


def test_ncut_distribution_unchanged_against_sklearn_kmeans_path():
    # the old path: same embedding, sklearn KMeans(n_init=25); means over seeds must agree
    from sklearn.cluster import KMeans

    from sculpt.spectral.clustering import _sign_flip

    ours, theirs = [], []
    for net_seed in range(3):
        g = weight_graph(glorot_uniform([60, 40, 40, 10], seed=net_seed))
        lap, sqrt_degree = normalized_laplacian(g.adjacency)
        _, vecs, _ = smallest_eigenpairs(lap, 7, "dense")
        embedding = _sign_flip(vecs[:, :6] / sqrt_degree[:, None])
        for seed in range(6):
            ours.append(spectral_clustering(g, k=6, seed=seed).ncut)
            theirs.append(ncut(g, KMeans(6, n_init=25, random_state=seed).fit_predict(embedding)))
    assert abs(np.mean(ours) - np.mean(theirs)) <= 0.01
    assert np.mean(ours) == pytest.approx(4.580621, abs=1e-5)  # ours is deterministic: pin it


def test_auto_uses_dense_gram_on_small_sided_layered_graphs():
    g = weight_graph(glorot_uniform([400, 200, 100], seed=0))  # 700 nodes, sides 500 / 200
    auto = spectral_clustering(g, k=4, seed=0)
    lanczos = spectral_clustering(g, k=4, solver="bipartite", seed=0, tol=1e-10)
    assert auto.solver == "bipartite_dense"
    assert auto.eigenvalues == pytest.approx(lanczos.eigenvalues, abs=1e-9)


def test_dense_gram_keeps_repeated_zero_eigenvalues_of_islands():
    rng = np.random.default_rng(0)
    block = sp.block_diag([rng.uniform(0.5, 1, (8, 8)) for _ in range(6)]).toarray()
    g = graph_from_blocks([block, np.abs(rng.normal(size=(48, 48))) * (block > 0)])
    r = spectral_clustering(g, k=6, solver="bipartite_dense", seed=0)
    assert r.solver == "bipartite_dense"
    assert np.sum(r.eigenvalues < 1e-10) == 6 and r.eigenvalues[6] > 1e-3
    assert r.ncut == pytest.approx(0.0, abs=1e-9)


# ----------------------------------------------------------------------------- CLI network argument

def test_load_network_argument_reads_all_three_forms(reference_dir, tmp_path):
    from sculpt.commands._inputs import load_network_argument

    ref = reference_net(reference_dir, "net0000")
    write_plain_npz(reference_dir, "net0000", tmp_path / "plain.npz")
    plain = load_network_argument(tmp_path / "plain.npz", need_weights=True)
    assert all(np.array_equal(a, b) for a, b in zip(plain.masks, ref.masks))
    weights_only = tmp_path / "w" / "net.npz"
    weights_only.parent.mkdir()
    np.savez(weights_only, weight0=np.array([[0.0, 2.0]]), weight1=np.array([[3.0]]))
    net = load_network_argument(weights_only.parent)  # a run directory
    assert net.source == weights_only and net.masks[0].tolist() == [[False, True]]
    nets = pytest.importorskip("sculpt.nets")
    snap = nets.PrunedNet(arch=[2, 1, 1], weights=[np.array([[1.0, 0.0]], np.float32), np.array([[3.0]], np.float32)],
                          biases=[np.zeros(1, np.float32), np.zeros(1, np.float32)],
                          masks=[np.array([[True, False]]), np.array([[True]])])
    snap.save(tmp_path / "s" / "net")
    loaded = load_network_argument(tmp_path / "s")
    assert loaded.masks[0].tolist() == [[True, False]] and loaded.weights[1].tolist() == [[3.0]]


def test_load_network_argument_errors_name_the_path(tmp_path):
    from sculpt.commands._inputs import load_network_argument

    masks_only = tmp_path / "m.npz"
    np.savez(masks_only, mask0=np.ones((2, 2), bool))
    with pytest.raises(SculptError, match=r"m\.npz: holds masks only; this command needs 'weight0'"):
        load_network_argument(masks_only, need_weights=True)
    uneven = tmp_path / "u.npz"
    np.savez(uneven, weight0=np.ones((2, 2)), mask0=np.ones((2, 2), bool), mask1=np.ones((1, 2), bool))
    with pytest.raises(SculptError, match=r"u\.npz: 1 weight arrays but 2 mask arrays"):
        load_network_argument(uneven)
    broken = tmp_path / "b.npz"
    broken.write_bytes(b"not a zip")
    with pytest.raises(SculptError, match=r"b\.npz: not a readable \.npz file"):
        load_network_argument(broken)


def test_batched_kmeans_with_fewer_distinct_points_than_k():
    from sculpt.spectral.kmeans import kmeans

    x = np.repeat(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 3.0]]), 5, axis=0)  # 3 distinct points, k = 4
    r = kmeans(x, 4, n_init=5, seed=0)
    assert r.inertia == 0.0 and np.isfinite(r.centers).all()
    assert len(set(map(tuple, r.centers[np.unique(r.labels)].round(12).tolist()))) == 3


def test_nearest_center_equals_argmin_and_keeps_the_first_of_tied_centers():
    from sculpt.spectral.kmeans import _nearest, _with_ones

    rng = np.random.default_rng(5)
    x = rng.normal(size=(40, 3))
    centers = rng.normal(size=(4, 5, 3))
    centers[:, 3] = centers[:, 1]  # duplicate centers: exact ties, argmin picks the lower index
    centers[2, 4] = x[7]           # a point sitting on a center
    labels, best = _nearest(np.ascontiguousarray(_with_ones(x).T), centers)
    dist = ((x[None, :, None, :] - centers[:, None, :, :]) ** 2).sum(axis=3)  # (R, N, k)
    assert np.array_equal(labels, np.argmin(dist, axis=2))
    assert not np.any(labels == 3)
    assert best + (x ** 2).sum(axis=1) == pytest.approx(dist.min(axis=2), abs=1e-12)
    assert labels[2, 7] == 4


def test_batched_kmeans_pinned_result():
    # values of the argmin-based implementation before the running-minimum rewrite: bit-identical
    from sculpt.spectral.kmeans import kmeans

    x = np.random.default_rng(11).normal(size=(300, 4))
    x[150:] += 3.0
    r = kmeans(x, 7, n_init=25, seed=3)
    assert r.inertia == pytest.approx(737.494818917412, rel=1e-12)
    assert r.n_iter == 18
    assert np.bincount(r.labels).tolist() == [60, 43, 33, 52, 42, 32, 38]
    assert r.labels[:12].tolist() == [0, 0, 6, 3, 3, 0, 0, 0, 0, 3, 0, 3]
    assert float(r.inertias.sum()) == pytest.approx(18835.32521819243, rel=1e-12)
