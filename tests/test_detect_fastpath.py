"""The bit-set detection path equals the SciPy / NumPy one it replaced, piece by piece and whole.

Detection runs on Python integer row sets with a plain-Python average linkage for small layers
(sculpt.detect.bitsets, nn_chain, live_units). Ties between cosine distances are the rule with
binary features, so the pieces are compared exactly (bit for bit, merge for merge), not up to a
tolerance; the whole detection is compared with digests that the previous implementation
(commit 537b681) wrote for every stored network.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import pdist

from sculpt.detect import detect_modules
from sculpt.detect.bitsets import bitsets_from_bool, bool_from_bitsets
from sculpt.detect.condense import remove_dead_units, validate_masks
from sculpt.detect.linkage_cuts import average_cosine_dendrogram, cosine_distance_matrix
from sculpt.detect.live_units import live_units
from sculpt.detect.nn_chain import MAX_UNITS, average_linkage
from sculpt.errors import SculptError
from sculpt.reference import iter_networks

DIGESTS = Path(__file__).parent / "data" / "detect_digests_537b681.json"


def _binary_layers(seed: int, count: int, max_units: int):
    """Random binary feature matrices without empty rows, many with duplicated rows (ties)."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        n = int(rng.integers(2, max_units + 1))
        width = int(rng.integers(2, 12))
        features = rng.random((n, width)) < rng.choice([0.2, 0.4, 0.7])
        if rng.random() < 0.5:  # copy some rows: exactly tied distances
            features[rng.integers(0, n, n // 2)] = features[rng.integers(0, n, n // 2)]
        features[np.arange(n), rng.integers(0, width, n)] = True
        yield features


def test_bitsets_round_trip_narrow_and_wide_rows():
    rng = np.random.default_rng(3)
    for width in (1, 7, 8, 62, 63, 64, 65, 130):
        matrix = rng.random((5, width)) < 0.5
        rows = bitsets_from_bool(matrix)
        assert rows == [sum(1 << int(i) for i in np.flatnonzero(r)) for r in matrix]
        assert np.array_equal(bool_from_bitsets(rows, width), matrix)


def test_cosine_distances_are_pdist_bit_for_bit():
    for features in _binary_layers(0, 300, 20):
        full = cosine_distance_matrix(bitsets_from_bool(features))
        n = len(full)
        ours = [full[i][j] for i in range(n) for j in range(i + 1, n)]
        assert ours == pdist(features.astype(float), "cosine").tolist()


def test_plain_python_linkage_merges_exactly_as_scipy():
    checked = 0
    for features in _binary_layers(1, 600, MAX_UNITS + 4):
        expected = linkage(pdist(features.astype(float), "cosine"), "average")[:, :2].astype(int).tolist()
        assert [list(m) for m in average_linkage(cosine_distance_matrix(bitsets_from_bool(features)))] == expected
        assert [list(m) for m in average_cosine_dendrogram(features).children] == expected
        checked += 1
    assert checked == 600


def test_plain_python_linkage_on_every_layer_of_the_stored_networks(reference_dir):
    # every condensed layer of the paper's 1,499 networks, the inputs the shortcut exists for
    from sculpt.detect.features import reachability_features

    layers = 0
    for net in iter_networks(reference_dir=reference_dir):
        condensed = remove_dead_units(net.masks)
        for features in reachability_features(condensed.masks, len(net.masks)):
            if features.shape[0] < 2:
                continue
            expected = linkage(pdist(features.astype(float), "cosine"), "average")[:, :2].astype(int).tolist()
            got = average_linkage(cosine_distance_matrix(bitsets_from_bool(features)))
            assert [list(m) for m in got] == expected, net.id
            layers += 1
    assert layers > 3000


def _random_masks(rng, arch):
    return [rng.random((arch[i + 1], arch[i])) < rng.choice([0.05, 0.15, 0.4]) for i in range(len(arch) - 1)]


def test_two_reachability_sweeps_keep_what_the_cascade_keeps():
    rng = np.random.default_rng(4)
    agreed = errors = 0
    for _ in range(400):
        arch = [int(a) for a in rng.integers(1, 12, int(rng.integers(3, 6)))]
        masks = validate_masks(_random_masks(rng, arch))
        try:
            cascade = remove_dead_units(masks)
        except SculptError as exc:
            with pytest.raises(SculptError) as ours:
                live_units(masks)
            assert str(ours.value) == str(exc)
            errors += 1
            continue
        fast = live_units(masks)
        assert fast.surviving_units == [tuple(u.tolist()) for u in cascade.surviving_units]
        assert fast.inputs == [bitsets_from_bool(m) for m in cascade.masks]
        assert fast.successors == [bitsets_from_bool(m.T) for m in cascade.masks]
        agreed += 1
    assert agreed > 100 and errors > 20


def _digest(detection) -> str:
    return hashlib.sha256(json.dumps(detection.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


def _check_digests(reference_dir, every: int) -> int:
    expected = json.loads(DIGESTS.read_text())["digests"]
    ids = sorted(expected)[::every]
    differ, checked = [], 0
    for net in iter_networks(reference_dir=reference_dir, ids=ids):
        r = net.record
        own = detect_modules(net.masks, feature_step_size=r["feature_step_size"],
                             clusterability_step_size=r["clusterability_step_size"],
                             modularity_threshold=r["modularity_threshold"], merge_threshold=r["merge_threshold"])
        got = f"{_digest(own)} {_digest(detect_modules(net.masks))}"
        if got != expected[net.id]:
            differ.append(net.id)
        checked += 1
    assert differ == []
    return checked


def test_detection_equals_the_previous_implementation_on_a_subset(reference_dir):
    # every 10th stored network, with its own parameters and with the defaults: modules, k per
    # layer, every modularity value, both tests and the hierarchy, digest for digest
    assert _check_digests(reference_dir, every=10) == 150


@pytest.mark.slow
def test_detection_equals_the_previous_implementation_on_all_networks(reference_dir):
    assert _check_digests(reference_dir, every=1) == 1499


def test_detection_of_larger_random_nets_equals_the_previous_implementation():
    # condensed layers of up to 136 units: the SciPy linkage path, rows wider than 62 bits; the
    # digests were written by the implementation at commit 537b681
    expected = ["2d2ca27afb58e1ab", "bf1467c6131d64d8", "cf03757323d6afbc", "9d34ccfcf481cea9",
                "956b2cbce08bc311", "b0236e1acc5c6114", "437c6dfe191eb409", "2b4cf800f42d89b9",
                "825e9eb13dec376e", "aa00546a6bf1f067", "e77d657f8b42cb35", "ed1afd0ee7aca636"]
    rng = np.random.default_rng(7)
    got = []
    for trial in range(12):
        arch = [[20, 80, 80, 10], [8, 40, 40, 40, 4], [100, 70, 6], [30, 200, 12]][trial % 4]
        density = [0.03, 0.06, 0.1][trial % 3]
        masks = [rng.random((arch[i + 1], arch[i])) < density for i in range(len(arch) - 1)]
        got.append(_digest(detect_modules(masks)))
    assert got == expected
