"""Both views of modularity (sculpt.spectral.views), the spectral record of experiment trials, --shuffles."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sculpt.errors import ConfigError, SculptError
from sculpt.spectral.views import agreement, full_size_weights, two_views
from sculpt.spectral.graph import weight_graph

REPO = Path(__file__).resolve().parents[1]


class _Structure:
    n_inputs, n_outputs = 4, 2
    input_groups = [[0, 1], [2, 3]]
    output_groups = [[0], [1]]


def two_module_net(rng):
    """4-8-2 net made of two disconnected modules (inputs 0,1 -> hidden 0..3 -> output 0, and so on)."""
    w0 = np.kron(np.eye(2), np.ones((4, 2))) * rng.uniform(0.5, 1.5, (8, 4))
    w1 = np.kron(np.eye(2), np.ones((1, 4))) * rng.uniform(0.5, 1.5, (2, 8))
    modules = [{"units": {"0": [0, 1], "1": [0, 1, 2, 3], "2": [0]}},
               {"units": {"0": [2, 3], "1": [4, 5, 6, 7], "2": [1]}}]
    return [w0, w1], modules


def test_two_modules_are_modular_in_both_views_and_match_the_truth():
    weights, modules = two_module_net(np.random.default_rng(0))
    v = two_views(weights, modules, _Structure(), n_shuffles=20, seed=3)
    assert (v["k_modules"], v["k_eigengap"], v["n_nodes"]) == (2, 2, 14)
    for view in ("modules", "spectral_modules_k", "spectral_eigengap_k"):
        s = v[view]
        assert s["ncut"] == pytest.approx(0.0, abs=1e-9)
        assert (s["input_ari"], s["output_ari"], s["ari"]) == (1.0, 1.0, 1.0)
        # every shuffle reconnects the modules, so all 20 lie above: p at its floor 1/21 < 0.05
        assert s["p"] == pytest.approx(1 / 21) and s["modular"] is True and s["n_valid"] == 20
        assert s["shuffle_mean"] > 0 and s["z"] < 0
    again = two_views(weights, modules, _Structure(), n_shuffles=20, seed=3)
    assert json.dumps(again, sort_keys=True) == json.dumps(v, sort_keys=True)  # same seed, same record


def test_p_floor_depends_on_the_number_of_shuffles():
    weights, modules = two_module_net(np.random.default_rng(1))
    assert two_views(weights, modules, n_shuffles=4)["modules"]["p"] == pytest.approx(1 / 5)
    assert "input_ari" not in two_views(weights, modules, n_shuffles=4)["modules"]


def test_one_module_ties_with_its_shuffles_and_is_not_modular():
    rng = np.random.default_rng(2)
    weights = [rng.uniform(0.1, 1, (6, 4)), rng.uniform(0.1, 1, (2, 6))]
    one = [{"units": {"0": [0, 1, 2, 3], "1": list(range(6)), "2": [0, 1]}}]
    v = two_views(weights, one, n_shuffles=5, detect=lambda masks: _Detection(one))
    assert v["k_modules"] == 1
    assert v["modules"]["ncut"] == 0.0 and v["modules"]["p"] == 1.0 and v["modules"]["modular"] is False
    assert v["spectral_modules_k"]["ncut"] == 0.0 and v["spectral_modules_k"]["p"] == 1.0


class _Detection:
    def __init__(self, modules):
        self.modules = modules


def one_module_everywhere(masks):
    """A detector that finds a single module holding every unit (no structure)."""
    sizes = [masks[0].shape[1]] + [m.shape[0] for m in masks]
    return _Detection([{"units": {str(l): list(range(n)) for l, n in enumerate(sizes)}}])


def test_a_shuffle_with_a_single_module_does_not_beat_the_network():
    # Two disconnected modules (n-cut 0); the detector finds one module on every shuffle. Its plain
    # n-cut there is 0 too (nothing cut), which tied with the network and gave p = 1; per part it is
    # 1 (no structure), so the two modules beat all 20 shuffles.
    weights, modules = two_module_net(np.random.default_rng(0))
    v = two_views(weights, modules, n_shuffles=20, seed=3, detect=one_module_everywhere)["modules"]
    assert (v["statistic"], v["ncut"], v["value"]) == ("ncut_per_part", 0.0, 0.0)
    assert v["shuffle_ncut_mean"] == pytest.approx(0.0, abs=1e-12)
    assert (v["shuffle_mean"], v["shuffle_sd"]) == (1.0, 0.0)
    assert v["p"] == pytest.approx(1 / 21) and v["modular"] is True
    spectral = two_views(weights, modules, n_shuffles=20, seed=3, detect=one_module_everywhere)["spectral_modules_k"]
    assert spectral["statistic"] == "ncut" and spectral["value"] == spectral["ncut"]


def test_ncut_per_part_counts_singletons_and_is_one_without_two_modules():
    from sculpt.spectral.views import ncut_per_part

    assert ncut_per_part(1.5, np.array([0, 0, 1, 1, 2, 3]), 2) == pytest.approx(1.5 / 4)  # 2 modules + 2 singletons
    assert ncut_per_part(2.2, np.array([0, 0, 0, 1, 2]), 1) == 1.0  # one module and two left-out units
    assert ncut_per_part(3.0, np.array([1, 2, 2, 3]), 2) == 1.0  # module 0 dropped from the graph: one present
    assert ncut_per_part(3.0, np.array([0, 1, 2]), 0) == 1.0  # no module at all


def test_full_size_weights_round_trip_with_dropped_units():
    w = [np.array([[1.0, 0, 2], [0, 0, 0]]), np.array([[3.0, 0]])]  # hidden unit 1 is dead
    graph = weight_graph(w, dead="degree0")
    back = full_size_weights(graph)
    assert [b.shape for b in back] == [(2, 3), (1, 2)]
    np.testing.assert_array_equal(back[0], np.abs(w[0]))
    np.testing.assert_array_equal(back[1], np.abs(w[1]))


def test_agreement_counts_dropped_units_as_singletons():
    w = [np.array([[1.0, 1.0, 0, 0], [0, 0, 1.0, 0]]), np.array([[1.0, 0], [0, 1.0]])]  # input 3 unused
    graph = weight_graph(w, dead="degree0")
    labels = np.array([0 if (l, u) in {(0, 0), (0, 1), (1, 0), (2, 0)} else 1
                       for l, u in zip(graph.node_layer, graph.node_unit)])
    a = agreement(graph, labels, _Structure())
    assert a["output_ari"] == 1.0 and a["input_ari"] < 1.0


def test_bad_shuffle_count_is_refused():
    weights, modules = two_module_net(np.random.default_rng(0))
    with pytest.raises(SculptError, match="n_shuffles=0"):
        two_views(weights, modules, n_shuffles=0)


# ------------------------------------------------------------------ experiments: spectral = true
def _tiny_spectral(tmp_path: Path, extra: str = "spectral = true\nshuffles = 5\n") -> Path:
    text = (REPO / "examples" / "experiments" / "tiny.toml").read_text()
    path = tmp_path / "tiny_spectral.toml"
    path.write_text(text.replace("[defaults]\n", "[defaults]\n" + extra, 1))
    return path


def test_spectral_settings_are_validated_and_absent_by_default(tmp_path):
    from sculpt.experiments.config import load_experiment

    plain = load_experiment(REPO / "examples" / "experiments" / "tiny.toml")
    assert all("spectral" not in t.params and "shuffles" not in t.params for t in plain.trials)
    spectral = load_experiment(_tiny_spectral(tmp_path))
    assert {(t.params["spectral"], t.params["shuffles"]) for t in spectral.trials} == {(True, 5)}
    default = load_experiment(_tiny_spectral(tmp_path, "spectral = true\n"))
    assert {t.params["shuffles"] for t in default.trials} == {20}
    with pytest.raises(ConfigError, match="shuffles = 5 needs spectral = true"):
        load_experiment(_tiny_spectral(tmp_path, "shuffles = 5\n"))
    with pytest.raises(ConfigError, match="shuffles must be a positive integer, got 0"):
        load_experiment(_tiny_spectral(tmp_path, "spectral = true\nshuffles = 0\n"))
    with pytest.raises(ConfigError, match="spectral must be true or false"):
        load_experiment(_tiny_spectral(tmp_path, 'spectral = "yes"\n'))


def test_tiny_records_carry_the_spectral_object_and_the_report_shows_it(tmp_path):
    from sculpt.experiments.records import read_records
    from sculpt.experiments.report import build_report
    from sculpt.experiments.runner import run_grid

    result = run_grid(_tiny_spectral(tmp_path), backend="serial", limit=1, out=tmp_path / "out", progress=False)
    assert (result.ran, result.failed) == (1, 0)
    record = read_records(result.records_path).records[0]
    spectral = record["spectral"]
    assert spectral["n_shuffles"] == 5 and spectral["method"] == "layer"
    assert spectral["k_modules"] == record["metrics"]["num_modules"]
    for view in ("modules", "spectral_modules_k", "spectral_eigengap_k"):
        assert set(spectral[view]) >= {"ncut", "shuffle_mean", "shuffle_sd", "z", "p", "modular", "ari",
                                       "input_ari", "output_ari"}
        assert spectral[view]["p"] >= 1 / 6
    assert "spectral_s" in record["timings"]
    index = build_report(result.records_path, tmp_path / "report").read_text()
    assert "### Spectral view next to the detected modules" in index
    row = next(line for line in index.splitlines() if line.startswith("| input-separable | [24, 24] | spectral, k = modules"))
    assert f"| {spectral['spectral_modules_k']['ncut']:.3f} |" in row


def test_run_refuses_a_bad_shuffle_count(tmp_path):
    from sculpt.run import run

    with pytest.raises(ConfigError, match="shuffles=0: expected a positive integer"):
        run("input-separable", shuffles=0, out=tmp_path / "r", progress=False)


def test_output_truth_falls_back_to_support_groups_only_for_all_singletons():
    from sculpt.spectral.views import output_truth

    class Separable:
        output_groups = ((0,), (1,), (2,), (3,))
        output_support_groups = ((0, 1), (2, 3))

    class Reused(Separable):
        output_groups = ((0, 2), (1, 3))

    assert output_truth(Separable()) == [(0, 1), (2, 3)]
    assert output_truth(Reused()) == [(0, 2), (1, 3)]
