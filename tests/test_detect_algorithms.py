"""The pieces of sculpt.detect one by one: cascade, features, cuts, modularity, tests, merging."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform
from sklearn.cluster import AgglomerativeClustering

from sculpt.detect.condense import remove_dead_units
from sculpt.detect.features import reachability_features
from sculpt.detect.linkage_cuts import average_cosine_dendrogram, cosine_distances, cut
from sculpt.detect.merge import merge_across_layers
from sculpt.detect.modularity import choose_k, modularity_by_k
from sculpt.detect.separability import (SeparabilityResult, all_separate_test, combine_tests,
                                        single_cluster_test)
from sculpt.errors import SculptError


def test_cascade_removes_dead_and_dangling_units_but_keeps_outputs():
    # 3 inputs -> 3 hidden -> 2 outputs. Input 2 feeds only hidden 2, which has no outgoing
    # edge: hidden 2 is dangling, then input 2 has nothing left. Output 1 has no input at all.
    m0 = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1]], bool)
    m1 = np.array([[1, 1, 0], [0, 0, 0]], bool)
    net = remove_dead_units([m0, m1])
    assert [u.tolist() for u in net.surviving_units] == [[0, 1], [0, 1], [0, 1]]
    assert net.masks[0].tolist() == [[True, True], [False, True]]
    assert net.masks[1].tolist() == [[True, True], [False, False]]
    assert net.sweeps == 2


def test_features_reach_all_later_units_within_the_horizon():
    m0 = np.array([[1, 0], [0, 1]], bool)           # in0->h0, in1->h1
    m1 = np.array([[1, 0], [1, 1]], bool)           # h0->h'0, h0->h'1, h1->h'1
    m2 = np.array([[1, 0], [0, 1]], bool)           # h'0->o0, h'1->o1
    full = reachability_features([m0, m1, m2], 3)
    assert full[0].astype(int).tolist() == [[1, 0, 1, 1, 1, 1], [0, 1, 0, 1, 0, 1]]
    assert full[2].astype(int).tolist() == [[1, 0], [0, 1]]
    near = reachability_features([m0, m1, m2], 1)
    assert near[0].astype(int).tolist() == [[1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0]]


def test_every_cut_matches_sklearn_labels_exactly():
    rng = np.random.default_rng(0)
    for trial in range(30):
        n = int(rng.integers(3, 14))
        features = rng.random((n, 7)) < 0.35
        features[np.arange(n), rng.integers(0, 7, n)] = True   # no all-zero row
        dendrogram = average_cosine_dendrogram(features)
        for k in range(1, n + 1):
            fit = AgglomerativeClustering(n_clusters=k, metric="cosine", linkage="average")
            assert cut(dendrogram, k) == fit.fit(features).labels_.tolist(), (trial, k)


def test_modularity_equals_the_formula_on_every_cut():
    rng = np.random.default_rng(1)
    features = rng.random((9, 6)) < 0.4
    features[:, 0] = True
    dist = squareform(pdist(features.astype(float), "cosine"))
    dist /= dist.sum()
    dendrogram = average_cosine_dendrogram(features)
    ks, values = modularity_by_k(cosine_distances(features), dendrogram)
    assert ks == list(range(2, 9))
    for k, value in zip(ks, values):
        onehot = np.eye(k)[cut(dendrogram, k)]
        a = onehot.T @ dist @ onehot
        expected = np.trace(a) - np.trace(a.sum(axis=1, keepdims=True) @ a.sum(axis=0, keepdims=True))
        assert value == round(expected, 8)


def test_choose_k_breaks_ties_towards_the_larger_k():
    assert choose_k([2, 3, 4, 5], [-0.5, -0.375, -0.5, -0.1]) == 4


def test_two_separate_units_pass_all_separate():
    # units reaching disjoint halves of 4 later units: E = 1, overlap 0 -> z = 1 / sigma
    features = np.array([[1, 1, 0, 0], [0, 0, 1, 1]], bool)
    dendrogram = average_cosine_dendrogram(features)
    sep = all_separate_test(features, 4, dendrogram)
    single = single_cluster_test(features, 4, dendrogram)
    assert sep.k == 2 and sep.z == pytest.approx(1 / np.sqrt(4 * 0.25 * 0.75))
    assert single.k is None and single.z == pytest.approx(-sep.z)
    assert combine_tests(2, sep, single) == 2


def test_identical_units_pass_single_cluster_and_ties_go_to_single():
    features = np.array([[1, 1, 0], [1, 1, 0]], bool)
    dendrogram = average_cosine_dendrogram(features)
    single = single_cluster_test(features, 3, dendrogram)
    assert single.k == 1
    assert combine_tests(2, SeparabilityResult(2, 0.5), SeparabilityResult(1, 0.5)) == 1
    assert combine_tests(2, SeparabilityResult(2, 0.6), SeparabilityResult(1, 0.5)) == 2
    assert combine_tests(2, SeparabilityResult(None, 0.6), SeparabilityResult(None, 0.5)) is None
    assert combine_tests(1, None, None) == 1


def test_merge_is_strict_and_outputs_need_only_the_incoming_fraction():
    # 2 input clusters, 2 hidden units each in its own cluster, 3 outputs
    m0 = np.array([[1, 0], [0, 1]], bool)
    m1 = np.array([[1, 0], [0, 1], [1, 1]], bool)
    labels = [[0, 1], [0, 1], [0, 1, 2]]
    merged = merge_across_layers(labels, [m0, m1], 0.9)
    assert merged == [[0, 1], [0, 1], [0, 1, 2]]
    # a threshold of 1.0 can never be exceeded: every cluster opens a module
    merged = merge_across_layers(labels, [m0, m1], 1.0)
    assert merged == [[0, 1], [2, 3], [4, 5, 6]]


def test_cascade_errors_are_clear():
    with pytest.raises(SculptError, match="no edges left"):
        remove_dead_units([np.zeros((3, 2), bool), np.zeros((2, 3), bool)])
    with pytest.raises(SculptError, match=r"weight layer 1 \(unit layer 1 -> 2\) has no edges"):
        remove_dead_units([np.ones((3, 2), bool), np.zeros((2, 3), bool)])
    # every layer has edges but none of them chain into a path: hidden 0 has no input,
    # hidden 1 no output
    m0 = np.array([[0, 0], [1, 1]], bool)
    m1 = np.array([[1, 0], [1, 0]], bool)
    with pytest.raises(SculptError, match="no input-to-output path survives: layer 0 has no unit left"):
        remove_dead_units([m0, m1])
    with pytest.raises(SculptError, match="mask 1 has 4 inputs but mask 0 has 3 outputs"):
        remove_dead_units([np.ones((3, 2), bool), np.ones((2, 4), bool)])
    with pytest.raises(SculptError, match="only 0/1"):
        remove_dead_units([np.full((3, 2), 0.5), np.ones((2, 3))])
