"""replay="paper": the paper's own pruning code replayed random number for random number.

The oracle records in tests/data/replay_oracle.json were produced by the paper's code itself
(commit dae13ab, paperbench patches) through bench/fidelity/oracle.py: ``is_s0_w0`` with workers
off on torch 2.13 CPU / numpy 1.26, ``is_s0_w2`` with the published 2 DataLoader workers on the
paper's own pin, torch 1.12.0 / numpy 1.22 (the first of its five P_e searches); docs/fidelity/index.md says how to regenerate them. No oracle is needed
here: the test replays the same trials and compares every round and the final masks.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from functiongraphs import Task, catalog
from sculpt.errors import ConfigError
from sculpt.prune import prune, prune_grid
from sculpt.prune.replay import encode_masks, paper_percentile, replay_trial

DATA = Path(__file__).parent / "data"
GRAPHS = {(4, 2, 4): "input-separable", (4, 1, 2, 16): "reused", (4, 1, 2, 2): "reuse-use1"}


def _oracle():
    with open(DATA / "replay_oracle.json") as f:
        return json.load(f)


def test_paper_percentile_matches_numpy1():
    # np.percentile of numpy 1.22-1.26 (float32 neighbour difference, float64 interpolation);
    # numpy 2 computes these in float32 and moves some thresholds.
    with open(DATA / "paper_percentile_numpy1.json") as f:
        cases = json.load(f)["cases"]
    assert len(cases) == 160
    for c in cases:
        values = np.array(c["values"], dtype=np.float32)
        q = torch.tensor(c["q"], dtype=torch.float32) if c["q_float32"] else c["q"]
        t = paper_percentile(values, q)
        assert float(t) == c["percentile"]
        # the comparison runs in float32, as numpy 1.x and torch do
        assert int((values > np.float32(t)).sum()) == c["kept_float32"]


def test_paper_percentile_example():
    assert float(paper_percentile(np.array([0.0, 1.0, 2.0, 4.0], dtype=np.float32), 50.0)) == 1.5
    assert float(paper_percentile(np.array([3.0], dtype=np.float32), 70.0)) == 3.0


@pytest.mark.parametrize("key", ["is_s0_w0", "is_s0_w2"])
def test_replay_equals_the_papers_code(key, one_torch_thread):
    o = _oracle()[key]
    task = Task(catalog.get(GRAPHS[tuple(o["modularity"])]), noise=0.1)
    r = replay_trial(task, o["arch"], o["p_u"], o["p_e"], seed=o["seed"], lr=o["lr"], batch_size=o["batch_size"],
                     epochs=o["epochs"], loader_workers=o["workers"])
    assert r["dense"] == o["dense"]
    assert r["unit"]["rounds"] == o["unit"]["rounds"]
    assert r["edge_start"] == o["edge_start"]
    for pe, search in o["edge"].items():
        assert r["edge"][pe]["rounds"] == search["rounds"]
        assert encode_masks(r["edge"][pe]["masks"]) == search["masks"]
        assert r["edge"][pe]["edges"] == search["edges"]


def test_prune_replay_api_and_determinism(one_torch_thread):
    o = _oracle()["is_s0_w0"]
    task = Task(catalog.get("input-separable"), noise=0.1)
    kw = dict(seed=0, lr=0.05, batch_size=8, epochs=15, replay="paper", loader_workers=0, progress=False)
    net = prune(task, [4, 24, 4], p_u=70, p_e=2.5, **kw)
    assert encode_masks([torch.from_numpy(m) for m in net.masks]) == o["edge"]["2.5"]["masks"]
    assert net.kept_weights == 16 and net.meta["replay"] == "paper" and net.meta["loader_workers"] == 0
    assert net.meta["accuracy"] == {"bit": 100.0, "row": 100.0}
    assert [r["p"] for r in net.history["edge"]] == [r["p"] for r in o["edge"]["2.5"]["rounds"]]
    assert net.history["unit"][0]["units"] == [7] and net.history["unit"][0]["density"] == 56 / 192
    again = prune(task, [4, 24, 4], p_u=70, p_e=2.5, **kw)
    assert all(np.array_equal(a, b) for a, b in zip(net.weights, again.weights))
    # the caller's global torch random state is left alone
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    prune(task, [4, 24, 4], p_u=70, p_e=2.5, **kw)
    assert torch.equal(torch.rand(3), before)


@pytest.mark.parametrize("kwargs, message", [
    (dict(replay="pytorch"), "replay must be None or 'paper', got 'pytorch'"),
    (dict(replay="paper", loader_workers=-1), "loader_workers must be a non-negative integer, got -1"),
    (dict(replay="paper", replay_adam="2.0"), "replay_adam must be one of ('torch', '1.12'), got '2.0'"),
    (dict(replay="paper", min_step=0.5), "replay='paper' runs the paper's own procedure; it does not take min_step"),
    (dict(replay="paper", dense_epochs=3, max_rounds=2), "it does not take dense_epochs, max_rounds"),
])
def test_replay_refuses_bad_settings(kwargs, message):
    task = Task(catalog.get("input-separable"), noise=0.1)
    with pytest.raises(ConfigError) as err:
        prune_grid(task, [4, 24, 4], p_u=[70.0], p_e=[2.5], progress=False, **kwargs)
    assert message in str(err.value)


def test_replay_refuses_edge_only_and_partial_tables():
    task = Task(catalog.get("input-separable"), noise=0.1)
    with pytest.raises(ConfigError, match="p_u=None"):
        prune(task, [4, 24, 4], p_u=None, p_e=2.5, replay="paper", progress=False)


def test_run_config_and_experiment_keys():
    from sculpt.config import RunConfig

    cfg = RunConfig.from_dict({"graph": "input-separable", "replay": "paper", "loader-workers": 0})
    assert cfg.prune_options() == {"replay": "paper", "loader_workers": 0}
    assert RunConfig(graph="input-separable").prune_options() == {}
    with pytest.raises(ConfigError, match="replay must be 'paper'"):
        RunConfig(graph="input-separable", replay="yes")
    with pytest.raises(ConfigError, match="loader_workers"):
        RunConfig(graph="input-separable", replay="paper", loader_workers=-2)


def test_experiment_file_accepts_replay(tmp_path):
    from sculpt.experiments.config import load_experiment

    path = tmp_path / "e.toml"
    path.write_text('name = "r"\nkind = "sculpt"\n[defaults]\nreplay = "paper"\nloader_workers = 0\n'
                    'p_u = [70.0]\np_e = [2.5]\nepochs = 15\n[[cells]]\ngraph = "input-separable"\narch = [24]\n')
    params = load_experiment(path).trials[0].params
    assert params["replay"] == "paper" and params["loader_workers"] == 0
    from sculpt.experiments.trial import _replay_options

    assert _replay_options(params) == {"replay": "paper", "loader_workers": 0}
    path.write_text(path.read_text().replace('replay = "paper"', 'replay = "papers"'))
    with pytest.raises(ConfigError, match="replay must be 'paper'"):
        load_experiment(path)


def test_default_configs_and_trial_ids_do_not_change():
    # replay settings are only written when used: old records keep their trial ids
    from sculpt.config import RunConfig
    from sculpt.experiments.config import trial_id

    plain = RunConfig(graph="input-separable").to_dict()
    assert "replay" not in plain and "loader_workers" not in plain
    assert trial_id({"kind": "sculpt", **plain}) == trial_id({"kind": "sculpt", **RunConfig.from_dict(plain).to_dict()})
    replayed = RunConfig(graph="input-separable", replay="paper", loader_workers=0).to_dict()
    assert replayed["replay"] == "paper" and replayed["loader_workers"] == 0
    assert RunConfig.from_dict(replayed) == RunConfig(graph="input-separable", replay="paper", loader_workers=0)


@pytest.mark.parametrize("workers", [0, 2])
def test_loader_streams_match_the_papers_dataloader(workers):
    # tests/data/paper_loader.json: what torch's DataLoader yields for the paper's noised dataset
    # (workers 0 and 2, batch 4/8/16, 2 epochs, each followed by the validation pass), and the
    # next int64 of the process generator afterwards (bench/fidelity/loader_oracle.py)
    from sculpt.prune.replay import PaperProcess, _Data

    with open(DATA / "paper_loader.json") as f:
        cases = [c for c in json.load(f)["cases"] if c["workers"] == workers]
    assert len(cases) == 3
    data = _Data(Task(catalog.get("input-separable"), noise=0.1))
    for c in cases:
        proc = PaperProcess(data, [4, 24, 4], c["seed"], 0.05, c["batch_size"], 1, workers, 100.0, "torch")
        for epoch in c["epochs"]:
            assert [x.tolist() for x, _ in proc._train_batches()] == epoch
            torch.empty((), dtype=torch.int64).random_(generator=proc.g)  # the validation pass's draw
        assert int(torch.empty((), dtype=torch.int64).random_(generator=proc.g).item()) == c["next_int64"]


def test_cli_refuses_bad_loader_workers(tmp_path, capsys, monkeypatch):
    from sculpt.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["run", "input-separable", "--replay", "paper", "--loader-workers", "-1", "--no-progress"]) == 2
    assert capsys.readouterr().err == "sculpt run: error: loader_workers must be at least 0, got -1\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_cli_run_with_replay(tmp_path, capsys):
    from sculpt.cli import main

    out = tmp_path / "r"
    assert main(["run", "input-separable", "--arch", "24", "--p-u", "70", "--p-e", "2.5", "--lr", "0.05",
                 "--batch-size", "8", "--epochs", "15", "--replay", "paper", "--loader-workers", "0",
                 "--no-progress", "--no-spectral", "--out", str(out)]) == 0
    meta = json.loads((out / "net.json").read_text())["meta"]
    assert (meta["replay"], meta["loader_workers"], meta["density"]) == ("paper", 0, 16 / 192)
    cfg = json.loads((out / "config.json").read_text())
    assert (cfg["replay"], cfg["loader_workers"]) == ("paper", 0)
