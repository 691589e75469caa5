"""Section 2 analyses: path edge-weight products, Welch separability tests, N90."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sculpt import analysis
from sculpt.errors import ConfigError


def two_block_net():
    """[4, 4, 4]: inputs {0,1} -> hidden {0,1} -> outputs {0,1}; {2,3} -> {2,3} -> {2,3}; one weak cross edge."""
    W1 = np.zeros((4, 4))
    W1[0, 0], W1[0, 1], W1[1, 0], W1[1, 1] = 1.0, -1.2, 0.9, 1.0
    W1[2, 2], W1[2, 3], W1[3, 2], W1[3, 3] = 1.0, 1.0, -1.0, 2.0
    W1[2, 0] = 0.1  # input 0 leaks weakly into the second block
    W2 = np.zeros((4, 4))
    W2[0, 0], W2[1, 1], W2[0, 1] = 1.0, 1.0, -0.5
    W2[2, 2], W2[3, 3], W2[3, 2] = 1.0, 1.1, 0.5
    return [W1, W2]


def test_path_products_are_sums_of_absolute_weight_products():
    W1, W2 = two_block_net()
    P = analysis.path_products([W1, W2])
    assert P.shape == (4, 4)
    # output 0 <- input 0: paths 0->h0->o0 (1 * 1) and 0->h1->o0 (0.9 * 0.5)
    assert P[0, 0] == pytest.approx(1.45)
    # output 3 <- input 0: 0->h2->o3 (0.1*0.5)
    assert P[3, 0] == pytest.approx(0.05)
    assert P[0, 2] == 0.0
    np.testing.assert_allclose(P, np.abs(W2) @ np.abs(W1))


def test_path_products_three_layers_equal_brute_force_path_enumeration():
    rng = np.random.default_rng(3)
    weights = [rng.normal(size=(5, 3)), rng.normal(size=(4, 5)), rng.normal(size=(2, 4))]
    brute = np.zeros((2, 3))
    for i in range(3):
        for a in range(5):
            for b in range(4):
                for j in range(2):
                    brute[j, i] += abs(weights[0][a, i] * weights[1][b, a] * weights[2][j, b])
    np.testing.assert_allclose(analysis.path_products(weights), brute, rtol=1e-12)


def test_welch_test_matches_scipy_on_the_selected_products():
    P = analysis.path_products(two_block_net())
    test = analysis.welch_separability(P, inputs=(0, 1), outputs=(0, 1))
    inside = P[np.ix_([0, 1], [0, 1])].ravel()
    outside = P[np.ix_([0, 1], [2, 3])].ravel()
    expected = stats.ttest_ind(inside, outside, equal_var=False, alternative="greater")
    assert test.p_value == pytest.approx(float(expected.pvalue), rel=1e-12)
    assert test.t_statistic == pytest.approx(float(expected.statistic), rel=1e-12)
    assert test.inside_mean == pytest.approx(inside.mean()) and test.outside_mean == 0.0


def test_separability_result_for_a_block_network_and_for_a_dense_one():
    result = analysis.separability_test(two_block_net(), [((0, 1), (0, 1)), ((2, 3), (2, 3))])
    assert [t.p_value < 0.05 for t in result.tests] == [True, True] and result.separable
    assert result.to_dict()["tests"][1]["inputs"] == [2, 3]
    assert result.tests[0].p_value == pytest.approx(0.0034008559212897914, rel=1e-9)
    assert result.tests[1].outside_mean == pytest.approx(0.0375)
    dense = [np.ones((4, 4)), np.ones((4, 4))]  # every path equal: nothing to reject
    flat = analysis.separability_test(dense, [((0, 1), (0, 1)), ((2, 3), (2, 3))])
    assert not flat.separable
    assert [(t.t_statistic, t.p_value) for t in flat.tests] == [(0.0, 1.0), (0.0, 1.0)]
    # a precomputed (e.g. seed-averaged) product matrix is accepted as is
    P = analysis.path_products(two_block_net())
    assert analysis.separability_test(P, [((0, 1), (0, 1))]).tests[0].p_value == result.tests[0].p_value


def test_unit_mass_sums_to_total_mass_and_n90():
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=(6, 4)), rng.normal(size=(5, 6)), rng.normal(size=(3, 5))]
    total = analysis.path_products(weights).sum()
    masses = analysis.unit_path_mass(weights)
    assert [m.shape for m in masses] == [(6,), (5,)]
    for m in masses:
        assert m.sum() == pytest.approx(total, rel=1e-12)
    assert analysis.n90(np.array([5.0, 3.0, 1.0, 1.0])) == 3   # 5+3 = 80 % < 90 %, +1 = 90 %
    assert analysis.n90(np.array([9.0, 1.0])) == 1
    assert analysis.n90(np.ones(10)) == 9
    assert analysis.n90(np.zeros(3)) == 0


def test_n90_sees_reuse_bottleneck():
    # 2 hidden layers: layer 1 wide (6 used units), layer 2 has only 2 units carrying mass
    W1 = np.ones((6, 4))
    W2 = np.zeros((8, 6))
    W2[0, :] = 1.0
    W2[1, :] = 1.0
    W3 = np.ones((4, 8))
    assert analysis.n90_per_layer([W1, W2, W3]) == [6, 2]


def test_output_supports_and_subfunctions():
    X = np.array([[a, b, c, d] for a in (0, 1) for b in (0, 1) for c in (0, 1) for d in (0, 1)])
    Y = np.stack([X[:, 0] & X[:, 1], X[:, 0] | X[:, 1], X[:, 2] ^ X[:, 3], X[:, 2] & X[:, 3]], axis=1)
    supports = analysis.output_supports(X, Y)
    assert supports == [(0, 1), (0, 1), (2, 3), (2, 3)]
    assert analysis.subfunctions_from_supports(supports) == [((0, 1), (0, 1)), ((2, 3), (2, 3))]


def test_bad_inputs_raise_config_errors():
    with pytest.raises(ConfigError, match=r"weights\[1\] has shape \(3, 5\), which does not follow weights\[0\]"):
        analysis.path_products([np.ones((4, 2)), np.ones((3, 5))])
    P = np.ones((4, 4))
    with pytest.raises(ConfigError, match="cover every input"):
        analysis.welch_separability(P, (0, 1, 2, 3), (0,))
    with pytest.raises(ConfigError, match="out of range"):
        analysis.welch_separability(P, (0, 7), (0,))
    with pytest.raises(ConfigError, match="fraction must be in"):
        analysis.n90(np.ones(3), fraction=0)
    with pytest.raises(ConfigError, match="complete truth table"):
        analysis.output_supports(np.zeros((3, 2)), np.zeros((3, 1)))


def _stored_weights(reference_dir, row, npz):
    return [npz[f"{row['id']}_weight{l}"] for l in range(len(row["arch"]) - 1)]


def test_paper_networks_reused_n90_and_input_separability(reference_dir):
    """The paper's unit+edge pruned networks (Figure 4): N90 of layer 2 is 2 (the two reused
    sub-functions) for all 28 reused 2-hidden-layer nets, layer 1 keeps 2-3 units; every [4,2,4]
    net passes the Welch test for both sub-functions."""
    import json

    rows = [json.loads(line) for line in (reference_dir / "pruned_networks.jsonl").read_text().splitlines()]
    npz = np.load(reference_dir / "pruned_networks.npz", allow_pickle=False)
    reused = [r for r in rows if r["experiment"] == "exemplar" and r["modularity"] == [4, 1, 2, 16] and len(r["arch"]) == 4]
    n90s = [analysis.n90_per_layer(_stored_weights(reference_dir, r, npz)) for r in reused]
    assert len(n90s) == 28
    assert [n[1] for n in n90s] == [2] * 28
    assert [n[0] for n in n90s] == [2, 2, 3, 3, 3, 2, 3, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 2, 3, 3, 3, 3, 3, 3, 2, 3, 2, 3]
    separable = [r for r in rows if r["experiment"] == "exemplar" and r["modularity"] == [4, 2, 4]]
    results = [analysis.separability_test(_stored_weights(reference_dir, r, npz), [((0, 1), (0, 1)), ((2, 3), (2, 3))])
               for r in separable]
    assert len(results) == 36 and all(res.separable for res in results)
