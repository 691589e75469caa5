"""sculpt.run.run: the run directory, the config round trip, interruption, graph inputs, tie-break."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

import functiongraphs as fg
from functiongraphs import Task, catalog
from sculpt.config import RunConfig
from sculpt.errors import ConfigError
from sculpt.nets import PrunedNet
from sculpt.run import RunResult, run

SINGLE = {"p_u": [70], "p_e": [2.5]}
RUN_FILES = {"config.json", "net.npz", "net.json", "history.json", "modules.json", "hierarchy.json", "score.json",
             "graph.fg", "structure.json", "provenance.json"} | {f"{name}.{ext}" for name in ("network", "hierarchy", "comparison")
                                               for ext in ("gv", "svg", "png")}


@pytest.fixture(scope="module")
def separable_run(tmp_path_factory) -> RunResult:
    out = tmp_path_factory.mktemp("runs") / "r1"
    return run("input-separable", seed=0, out=out, progress=False, **SINGLE)


def test_run_dir_holds_every_file_and_nothing_else(separable_run):
    run_dir = separable_run.run_dir
    assert {p.name for p in run_dir.iterdir()} == RUN_FILES
    assert [p.name for p in run_dir.parent.iterdir()] == [run_dir.name]  # no partial directory, no lock file
    assert set(separable_run.paths.values()) - {run_dir} <= {run_dir / name for name in RUN_FILES}


def test_run_dir_files_agree_with_the_result(separable_run):
    result, run_dir = separable_run, separable_run.run_dir
    net = PrunedNet.load(run_dir / "net.npz")
    for saved, kept in zip(net.masks, result.net.masks):
        assert np.array_equal(saved, kept)
    assert RunConfig.from_file(run_dir / "config.json") == result.config
    assert json.loads((run_dir / "modules.json").read_text()) == json.loads(json.dumps(result.detection.to_dict()))
    assert json.loads((run_dir / "hierarchy.json").read_text()) == result.detection.hierarchy.to_dict()
    assert json.loads((run_dir / "history.json").read_text()) == json.loads(json.dumps(net.history))
    assert fg.load(run_dir / "graph.fg") == catalog.get("input-separable")
    assert json.loads((run_dir / "structure.json").read_text()) == fg.structure(catalog.get("input-separable")).to_dict()


def test_score_json_contents(separable_run):
    score = json.loads((separable_run.run_dir / "score.json").read_text())
    net = separable_run.net
    assert score["kept_weights"] == net.kept_weights and score["total_weights"] == 768
    assert score["density"] == pytest.approx(net.kept_weights / 768)
    assert score["arch"] == [4, 24, 24, 4]
    assert score["surviving_units"] == [len(u) for u in separable_run.detection.surviving_units]
    assert score["num_modules"] == separable_run.detection.num_modules
    assert score["expected_modules"] == 2 and score["expected_input_modules"] == 2
    assert set(score["criteria"]) == {"input_separable_success"}
    assert score["success"] == score["criteria"]["input_separable_success"]
    assert score["chosen"] == {"p_u": 70.0, "p_e": 2.5}
    spectral = score["spectral"]
    assert spectral["k"] == max(2, score["num_modules"])
    assert spectral["n_shuffles"] == 20 and len(spectral["shuffled"]) == 20 and spectral["seed"] == 0
    assert 0 < spectral["p"] <= 1 and spectral["modules"]["n_modules"] == score["num_modules"]


def test_resolved_config_is_saved(separable_run):
    data = json.loads((separable_run.run_dir / "config.json").read_text())
    assert data == {"graph": "input-separable", "arch": [24, 24], "seed": 0, "lr": 0.05, "batch_size": 8,
                    "epochs": 15, "p_u": [70.0], "p_e": [2.5], "modularity_threshold": -0.2,
                    "merge_threshold": 0.9, "feature_step_size": None, "clusterability_step_size": None,
                    "accuracy_threshold": 100.0, "noise": 0.1, "tie_break": "order"}


def test_summary_names_density_units_modules_success_and_files(separable_run):
    text = separable_run.summary()
    score = separable_run.score
    assert f"density        {100 * score['density']:.2f}%" in text
    units = " ".join(f"{n}/{w}" for n, w in zip(score["surviving_units"], [4, 24, 24, 4]))
    assert f"units kept     {units}" in text
    assert f"modules        {score['num_modules']} found, 2 expected" in text
    assert re.search(r"success        input_separable_success: (yes|NO)", text)
    assert str(separable_run.run_dir) in text and "network.png" in text


def test_config_file_reproduces_bit_identical_masks(separable_run, tmp_path):
    again = run(None, config=separable_run.run_dir / "config.json", out=tmp_path / "again", progress=False,
                spectral=False)
    assert again.config == separable_run.config
    for a, b in zip(again.net.masks, separable_run.net.masks):
        assert np.array_equal(a, b)


def test_keyword_arguments_override_the_config(separable_run, tmp_path):
    config = RunConfig.from_file(separable_run.run_dir / "config.json")
    result = run("input-separable", config=config, seed=1, epochs=20, out=tmp_path / "o", progress=False,
                 spectral=False)
    assert (result.config.seed, result.config.epochs, result.config.lr) == (1, 20, 0.05)
    assert "spectral" not in result.score


def test_existing_out_is_refused_unless_force(separable_run, tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(ConfigError, match=f"output directory {re.escape(str(out))} already exists; use --force"):
        run("input-separable", out=out, progress=False, spectral=False, **SINGLE)
    result = run("input-separable", out=out, force=True, progress=False, spectral=False, **SINGLE)
    assert not (out / "old.txt").exists() and (out / "net.npz").is_file()
    assert not out.with_name("r.old").exists() and result.run_dir == out


@pytest.mark.parametrize("step", ["sculpt.detect.detect_modules", "sculpt.render.files.draw_run"])
def test_keyboard_interrupt_leaves_no_run_dir(monkeypatch, tmp_path, step):
    module, name = step.rsplit(".", 1)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(f"{module}.{name}", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run("input-separable", out=tmp_path / "r", progress=False, spectral=False, **SINGLE)
    assert list(tmp_path.iterdir()) == []


def test_users_partial_and_old_dirs_are_never_touched(tmp_path):
    for name in ("r.partial", "r.old"):  # names the toolkit once used for its own temporary dirs
        (tmp_path / name).mkdir()
        (tmp_path / name / "mine.txt").write_text(name)
    run("non-modular", out=tmp_path / "r", progress=False, spectral=False, **SINGLE)
    run("non-modular", out=tmp_path / "r", force=True, progress=False, spectral=False, **SINGLE)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r", "r.old", "r.partial"]
    assert [(tmp_path / n / "mine.txt").read_text() for n in ("r.partial", "r.old")] == ["r.partial", "r.old"]
    assert not (tmp_path / "r" / "mine.txt").exists()


def test_default_out_is_runs_graph_timestamp(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    result = run("non-modular", progress=False, spectral=False, **SINGLE)
    assert re.fullmatch(r"runs/non-modular-\d{8}-\d{6}", str(result.run_dir))
    assert (tmp_path / result.run_dir / "score.json").is_file()


def test_function_graph_and_task_inputs(tmp_path):
    graph = fg.parse("inputs a b c d\nl = and(a, b)\nr = or(c, d)\noutputs l r\n")
    result = run(graph, out=tmp_path / "g", progress=False, spectral=False, **SINGLE)
    assert result.config.graph == str(tmp_path / "g" / "graph.fg")  # a later run can start from it
    assert fg.load(tmp_path / "g" / "graph.fg") == graph
    assert result.score["catalog_name"] is None and result.score["criteria"] == {}
    assert result.score["expected_input_modules"] == 2
    again = run(None, config=tmp_path / "g" / "config.json", out=tmp_path / "g2", progress=False, spectral=False)
    assert all(np.array_equal(a, b) for a, b in zip(again.net.masks, result.net.masks))

    task = Task(catalog.get("non-modular"), noise=0.1)
    from_task = run(task, out=tmp_path / "t", progress=False, spectral=False, **SINGLE)
    assert from_task.task is task and from_task.config.graph == "non-modular"
    assert set(from_task.score["criteria"]) == {"non_modular_success"}


def test_fg_path_input(tmp_path):
    path = tmp_path / "mine.fg"
    path.write_text("inputs a b\ny = and(a, b)\noutputs y\n")
    result = run(str(path), out=tmp_path / "p", progress=False, spectral=False, **SINGLE)
    assert result.config.graph == str(path)
    assert (result.config.lr, result.config.batch_size, result.config.epochs) == (0.05, 16, 30)


def test_unknown_graph_suggests_the_closest():
    with pytest.raises(ConfigError, match="unknown graph 'input-separble'; did you mean 'input-separable'\\?"):
        run("input-separble")
    with pytest.raises(ConfigError, match="graph file 'nowhere.fg' does not exist"):
        run("nowhere.fg")


def test_fewest_modules_tie_break_reaches_prune_grid(monkeypatch, tmp_path):
    import sculpt.prune
    from sculpt.detect import fewest_modules

    seen = {}
    real = sculpt.prune.prune_grid

    def spy(*args, **kwargs):
        seen["prefer"] = kwargs["prefer"]
        return real(*args, **kwargs)

    monkeypatch.setattr(sculpt.prune, "prune_grid", spy)
    run("reused", tie_break="fewest-modules", merge_threshold=0.8, out=tmp_path / "f", progress=False,
        spectral=False, **SINGLE)
    prefer = seen["prefer"]
    assert prefer.func is fewest_modules
    assert prefer.keywords == {"modularity_threshold": -0.2, "merge_threshold": 0.8}
    run("reused", out=tmp_path / "o", progress=False, spectral=False, **SINGLE)
    assert seen["prefer"] is None


def test_experiment_trials_pass_the_tie_break(monkeypatch):
    import sculpt.prune
    from sculpt.experiments.trial import prune_from_params

    seen = {}
    monkeypatch.setattr(sculpt.prune, "prune_grid", lambda *a, **k: seen.update(k))
    params = RunConfig(graph="reused", tie_break="fewest_modules", feature_step_size=2, **SINGLE).resolved().to_dict()
    prune_from_params(Task(catalog.get("reused")), params)
    assert params["tie_break"] == "fewest-modules"
    assert seen["prefer"].keywords == {"modularity_threshold": -0.2, "merge_threshold": 0.9, "feature_step_size": 2}


@pytest.mark.slow
@pytest.mark.parametrize("graph, criterion, input_modules", [
    ("input-separable", "input_separable_success", 2),
    ("separable-reused", "separable_reused_success", 3),
])
def test_acceptance_full_grid_finds_the_input_modules(graph, criterion, input_modules, tmp_path):
    """Issue 5 acceptance: the paper's full grid, arch 24 24, seed 0 (about 5 s each on 2 cores)."""
    result = run(graph, arch=[24, 24], seed=0, out=tmp_path / "r", progress=False)
    score = json.loads((tmp_path / "r" / "score.json").read_text())
    assert score["criteria"] == {criterion: True} and score["success"] is True
    assert len(score["input_modules"]) == input_modules == score["expected_input_modules"]
    assert result.score == score
