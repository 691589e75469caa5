"""RunConfig: defaults, resolution, validation messages, TOML / JSON round trips."""
from __future__ import annotations

import json

import pytest

from sculpt.config import (DEFAULT_HIDDEN, GENERIC_TRAINING, PAPER_P_E, PAPER_P_U, RunConfig,
                           training_defaults)
from sculpt.errors import ConfigError


def test_defaults_are_the_papers_grid_and_thresholds():
    cfg = RunConfig(graph="input-separable")
    assert cfg.p_u == (5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0, 45.0, 50.0, 55.0, 60.0, 65.0, 70.0)
    assert cfg.p_e == (2.5, 2.0, 1.5, 1.0, 0.5)
    assert (cfg.modularity_threshold, cfg.merge_threshold) == (-0.2, 0.9)
    assert cfg.arch is None and cfg.lr is None


@pytest.mark.parametrize("graph, expected", [
    ("input-separable", (0.05, 8, 15)),
    ("separable-reused", (0.05, 32, 15)),
    ("non-modular", (0.1, 8, 40)),
    ("reused", (0.1, 8, 30)),
    ("reuse-use4", (0.05, 16, 30)),
    ("my/graph.fg", (0.05, 16, 30)),
])
def test_resolved_fills_training_defaults_per_graph(graph, expected):
    cfg = RunConfig(graph=graph).resolved()
    assert (cfg.lr, cfg.batch_size, cfg.epochs) == expected
    assert cfg.arch == DEFAULT_HIDDEN == (24, 24)
    assert training_defaults(graph) == expected
    assert GENERIC_TRAINING == (0.05, 16, 30)


def test_resolved_keeps_given_values():
    cfg = RunConfig(graph="reused", arch=[12], lr=0.2, epochs=3).resolved()
    assert (cfg.arch, cfg.lr, cfg.batch_size, cfg.epochs) == ((12,), 0.2, 8, 3)


def test_scalar_rates_become_one_trial():
    cfg = RunConfig(graph="reused", p_u=70, p_e=2.5)
    assert cfg.p_u == (70.0,) and cfg.p_e == (2.5,)


def test_json_round_trip_is_identity(tmp_path):
    cfg = RunConfig(graph="separable-reused", arch=(24, 24), seed=3, p_u=[70], p_e=[2.5, 1.0]).resolved()
    path = cfg.save(tmp_path / "config.json")
    assert RunConfig.from_file(path) == cfg
    data = json.loads(path.read_text())
    assert data["arch"] == [24, 24] and data["p_e"] == [2.5, 1.0] and data["batch_size"] == 32
    assert not list(tmp_path.glob("*.part"))


def test_toml_with_dashed_keys(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('graph = "reused"\narch = [8, 8]\nbatch-size = 4\np_u = [70]\np_e = 2.5\n')
    cfg = RunConfig.from_file(path)
    assert (cfg.graph, cfg.arch, cfg.batch_size, cfg.p_u, cfg.p_e) == ("reused", (8, 8), 4, (70.0,), (2.5,))


def test_file_defaults_fill_missing_graph(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("seed = 2\n")
    assert RunConfig.from_file(path, graph="reused").graph == "reused"
    with pytest.raises(ConfigError, match="missing 'graph'"):
        RunConfig.from_file(path)


def test_unknown_key_suggests_closest(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('graph = "reused"\nbatchsize = 4\n')
    with pytest.raises(ConfigError, match=r"run\.toml: unknown setting 'batchsize'; did you mean 'batch_size'\?"):
        RunConfig.from_file(path)
    with pytest.raises(ConfigError, match="unknown setting 'merge_treshold'; did you mean 'merge_threshold'"):
        RunConfig.from_dict({"graph": "x", "merge_treshold": 0.5})


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config"):
        RunConfig.from_file(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("graph = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        RunConfig.from_file(bad)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="expected a table of settings"):
        RunConfig.from_file(bad_json)


@pytest.mark.parametrize("kwargs, message", [
    ({"arch": [24, 0]}, r"arch: every hidden width must be at least 1, got \[24, 0\]"),
    ({"arch": []}, "arch must list at least one hidden width"),
    ({"arch": [2.5]}, "arch must be a list of integers"),
    ({"seed": -1}, "seed must be at least 0, got -1"),
    ({"seed": 1.5}, "seed must be an integer"),
    ({"lr": 0}, "lr must be positive, got 0"),
    ({"lr": "fast"}, "lr must be a finite number"),
    ({"batch_size": 0}, "batch_size must be at least 1, got 0"),
    ({"epochs": 0}, "epochs must be at least 1, got 0"),
    ({"p_u": [0]}, r"p_u: pruning rates are percentages in \(0, 100\), got 0"),
    ({"p_e": [100]}, r"p_e: pruning rates are percentages in \(0, 100\), got 100"),
    ({"p_u": []}, "p_u needs at least one pruning rate"),
    ({"merge_threshold": 1.5}, r"merge_threshold must be in \(0, 1\], got 1.5"),
    ({"modularity_threshold": float("nan")}, "modularity_threshold must be a finite number"),
    ({"accuracy_threshold": 101}, r"accuracy_threshold must be in \(0, 100\], got 101"),
    ({"noise": -0.1}, "noise must be a non-negative standard deviation"),
    ({"feature_step_size": 0}, "feature_step_size must be at least 1"),
    ({"graph": ""}, "graph must be a catalog name"),
])
def test_refused_settings(kwargs, message):
    settings = {"graph": "reused", **kwargs}
    with pytest.raises(ConfigError, match=message):
        RunConfig(**settings)
    with pytest.raises(ConfigError, match="^cfg.toml: " + message):
        RunConfig.from_dict(settings, source="cfg.toml")


def test_with_overrides_ignores_none_and_rejects_unknown():
    cfg = RunConfig(graph="reused", seed=1)
    assert cfg.with_overrides(seed=None, lr=0.3) == RunConfig(graph="reused", seed=1, lr=0.3)
    with pytest.raises(ConfigError, match="did you mean 'seed'"):
        cfg.with_overrides(sed=2)


def test_paper_grid_constants():
    assert len(PAPER_P_U) == 14 and PAPER_P_E[0] == 2.5


def test_tie_break_setting_and_rule():
    from sculpt.config import TIE_BREAKS, tie_break_rule
    from sculpt.detect import fewest_modules

    assert TIE_BREAKS == ("order", "fewest-modules")
    assert RunConfig(graph="reused").tie_break == "order"
    cfg = RunConfig.from_dict({"graph": "reused", "tie-break": "fewest_modules", "merge_threshold": 0.8,
                               "clusterability_step_size": 2})
    assert cfg.tie_break == "fewest-modules"
    assert cfg.detect_options() == {"modularity_threshold": -0.2, "merge_threshold": 0.8,
                                    "clusterability_step_size": 2}
    rule = tie_break_rule(cfg.tie_break, cfg.detect_options())
    assert rule.func is fewest_modules and rule.keywords == cfg.detect_options()
    assert tie_break_rule("order") is None
    with pytest.raises(ConfigError, match="tie_break must be one of order, fewest-modules, got 'sparsest'"):
        RunConfig(graph="reused", tie_break="sparsest")
    with pytest.raises(ConfigError, match="tie_break must be one of"):
        tie_break_rule("first")
