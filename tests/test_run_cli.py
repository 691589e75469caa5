"""`sculpt run`: the summary, --config round trip and override, refused arguments (exit 2, one line)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from sculpt.cli import main
from sculpt.nets import PrunedNet

SINGLE = ["--p-u", "70", "--p-e", "2.5", "--no-progress", "--no-spectral"]


def test_run_prints_the_summary_and_writes_the_run_dir(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", "separable-reused", "--arch", "24", "24", "--seed", "0", "--out", str(out), *SINGLE]) == 0
    text = capsys.readouterr().out
    score = json.loads((out / "score.json").read_text())
    assert text.startswith("separable-reused  arch [6, 24, 24, 3]  seed 0  (p_u 70, p_e 2.5 kept)\n")
    assert f"input modules  {len(score['input_modules'])} found, 3 input groups in the task" in text
    assert f"files          {out}/" in text
    assert "spectral" not in score


def test_config_round_trip_and_command_line_override(tmp_path, capsys):
    first, second, third = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert main(["run", "input-separable", "--seed", "2", "--out", str(first), *SINGLE]) == 0
    assert main(["run", "--config", str(first / "config.json"), "--out", str(second), "--no-progress",
                 "--no-spectral"]) == 0
    a, b = PrunedNet.load(first / "net.npz"), PrunedNet.load(second / "net.npz")
    assert all(np.array_equal(x, y) for x, y in zip(a.masks, b.masks))
    assert (first / "config.json").read_text() == (second / "config.json").read_text()
    assert main(["run", "--config", str(first / "config.json"), "--seed", "3", "--tie-break", "fewest-modules",
                 "--out", str(third), "--no-progress", "--no-spectral"]) == 0
    data = json.loads((third / "config.json").read_text())
    assert (data["seed"], data["tie_break"], data["graph"]) == (3, "fewest-modules", "input-separable")


def test_toml_config(tmp_path, capsys):
    path = tmp_path / "run.toml"
    path.write_text('graph = "non-modular"\np_u = [70]\np_e = 2.5\nmerge-threshold = 0.85\n')
    assert main(["run", "--config", str(path), "--out", str(tmp_path / "r"), "--no-progress", "--no-spectral"]) == 0
    data = json.loads((tmp_path / "r" / "config.json").read_text())
    assert (data["graph"], data["merge_threshold"], data["epochs"]) == ("non-modular", 0.85, 40)


@pytest.mark.parametrize("argv, message", [
    (["input-separable", "--arch", "24", "0"], "arch: every hidden width must be at least 1, got [24, 0]"),
    (["input-separble"], "unknown graph 'input-separble'; did you mean 'input-separable'?"),
    (["missing.fg"], "graph file 'missing.fg' does not exist"),
    (["input-separable", "--merge-threshold", "1.5"], "merge_threshold must be in (0, 1], got 1.5"),
    (["input-separable", "--modularity-threshold", "nan"], "modularity_threshold must be a finite number, got nan"),
    (["input-separable", "--p-u", "0"], "p_u: pruning rates are percentages in (0, 100), got 0"),
    (["input-separable", "--epochs", "0"], "epochs must be at least 1, got 0"),
    ([], "give a GRAPH (.fg file or catalog name) or --config FILE"),
])
def test_refused_arguments(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", *argv, "--no-progress"]) == 2
    assert capsys.readouterr().err == f"sculpt run: error: {message}\n"
    assert list(tmp_path.iterdir()) == []


def test_existing_out_refused_without_force(tmp_path, capsys):
    out = tmp_path / "r"
    out.mkdir()
    assert main(["run", "input-separable", "--out", str(out), *SINGLE]) == 2
    assert capsys.readouterr().err == (f"sculpt run: error: output directory {out} already exists; "
                                       "use --force to replace it\n")
    assert list(out.iterdir()) == []
    assert main(["run", "input-separable", "--out", str(out), "--force", *SINGLE]) == 0
    assert (out / "score.json").is_file()


def test_unknown_config_key(tmp_path, capsys):
    path = tmp_path / "run.toml"
    path.write_text('graph = "reused"\nbatchsize = 4\n')
    assert main(["run", "--config", str(path), "--no-progress"]) == 2
    assert capsys.readouterr().err == (f"sculpt run: error: {path}: unknown setting 'batchsize'; "
                                       "did you mean 'batch_size'?\n")


def test_bad_config_file(tmp_path, capsys):
    assert main(["run", "--config", str(tmp_path / "none.toml"), "--no-progress"]) == 2
    assert capsys.readouterr().err.startswith(f"sculpt run: error: cannot read config {tmp_path / 'none.toml'}")


def test_ctrl_c_leaves_no_out_dir(monkeypatch, tmp_path, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("sculpt.detect.detect_modules", interrupted)
    assert main(["run", "input-separable", "--out", str(tmp_path / "r"), *SINGLE]) == 130
    assert capsys.readouterr().err == "sculpt run: interrupted\n"
    assert list(tmp_path.iterdir()) == []
