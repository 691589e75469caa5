"""`sculpt detect RUN_DIR|NET.npz` prints modules and hierarchy and writes modules.json."""
from __future__ import annotations

import json

import numpy as np
import pytest

from sculpt.cli import main
from sculpt.reference import load_network


@pytest.fixture()
def plain_npz(tmp_path, reference_dir):
    net = load_network("net0012", reference_dir)
    path = tmp_path / "net0012.npz"
    np.savez(path, **{f"mask{l}": m for l, m in enumerate(net.masks)})
    return path


def test_plain_npz(plain_npz, exemplar_detections, capsys):
    assert main(["detect", str(plain_npz)]) == 0
    out = capsys.readouterr().out
    assert "condensed architecture: [4, 4, 2, 4]" in out
    assert "module 1 (layers 0-3, level 0): L0: [0, 1]  L1: [17, 20]  L2: [9]  L3: [0, 1]" in out
    written = json.loads((plain_npz.parent / "modules.json").read_text())
    assert written["modules"] == exemplar_detections["net0012"]["modules"]
    assert written["source"] == str(plain_npz)


def test_run_dir_with_prunednet_snapshot(tmp_path, reference_dir, capsys):
    nets = pytest.importorskip("sculpt.nets")
    ref = load_network("net0320", reference_dir, with_weights=True)
    snap = nets.PrunedNet(arch=ref.arch, weights=ref.weights, biases=ref.biases, masks=ref.masks)
    snap.save(tmp_path / "net")
    out_file = tmp_path / "out" / "m.json"
    assert main(["detect", str(tmp_path), "-o", str(out_file), "--merge-threshold", "0.9"]) == 0
    out = capsys.readouterr().out
    assert "2 -> 3  (2 edges)" in out and "reused: [2]" in out
    assert json.loads(out_file.read_text())["hierarchy"]["levels"] == [[0, 1], [2], [3, 4]]


def test_user_errors_exit_2_with_one_line(tmp_path, capsys):
    assert main(["detect", str(tmp_path / "missing")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
    assert main(["detect", str(tmp_path)]) == 2
    assert "no network snapshot" in capsys.readouterr().err
    bad = tmp_path / "x.npz"
    np.savez(bad, other=np.ones(3))
    assert main(["detect", str(bad)]) == 2
    assert "no 'header' (PrunedNet) and no 'mask0'" in capsys.readouterr().err
    empty = tmp_path / "e" / "net.npz"
    empty.parent.mkdir()
    np.savez(empty, mask0=np.zeros((3, 2), bool), mask1=np.zeros((1, 3), bool))
    assert main(["detect", str(empty.parent)]) == 2
    assert "no edges left" in capsys.readouterr().err
    assert not (empty.parent / "modules.json").exists()
    assert main(["detect", str(bad), "--feature-step-size", "0"]) == 2
