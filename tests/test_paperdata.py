"""`sculpt data paper`: the array-only unpickler on hostile files, and the conversion of a
repository-shaped fixture built here (the paper's own files are never committed)."""
from __future__ import annotations

import io
import re
import json
import os
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sculpt import safepickle
from sculpt.cli import main as cli_main
from sculpt.errors import DataError
from sculpt.paperdata import convert_paper_repository, parse_shell_line
from sculpt.reference import load_network, load_records, select_records

torch = pytest.importorskip("torch")


# ----------------------------------------------------------------------------- hostile pickles

class _Evil:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _mask_pickle(arrays) -> bytes:
    """A mask file as the paper's pipeline writes it: pickle.dump of a list of torch tensors."""
    return pickle.dumps([torch.from_numpy(np.asarray(a, dtype=np.float32)) for a in arrays], protocol=5)


def test_tensors_and_arrays_come_back_as_numpy():
    masks = [np.eye(3)[:2], np.ones((1, 2))]
    out = safepickle.loads(_mask_pickle(masks))
    assert [a.dtype for a in out] == [np.float32, np.float32]
    assert all(np.array_equal(a, b) for a, b in zip(out, masks))
    strided = safepickle.loads(pickle.dumps(torch.arange(6.0).reshape(2, 3).t()))
    assert strided.tolist() == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
    numpy_side = safepickle.loads(pickle.dumps([np.float64(92.5), np.array(0.25), [1.5]], protocol=5))
    assert numpy_side[0] == 92.5 and numpy_side[1].shape == () and numpy_side[2] == [1.5]


def test_os_system_reduce_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    for protocol in (0, 2, 5):
        with pytest.raises(DataError, match=r"^evil\.pkl: not an array-only pickle \(refusing (posix|nt)\.system"):
            safepickle.loads(pickle.dumps([_Evil(marker)], protocol=protocol), source="evil.pkl")
    assert not marker.exists()


@pytest.mark.parametrize("payload", [
    pickle.dumps(eval), pickle.dumps(torch.nn.Parameter(torch.ones(2))),
    pickle.dumps(np.array([None, 1], dtype=object)), pickle.dumps(torch.FloatStorage),
    b"cbuiltins\nexec\n(S'print(1)'\ntR.",
], ids=["eval", "parameter", "object-array", "bare-storage-type", "exec"])
def test_unexpected_globals_are_refused(payload):
    with pytest.raises(DataError, match="not an array-only pickle"):
        safepickle.loads(payload)


def test_storage_bytes_are_read_by_the_same_restricted_reader(tmp_path):
    marker = tmp_path / "pwned"
    inner = pickle.dumps(_Evil(marker), protocol=2)
    outer = (b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n(ctorch.storage\n_load_from_bytes\n"
             + b"C" + bytes([len(inner)]) + inner + b"\x85RK\x00K\x01\x85K\x01\x85\x89tR.")
    with pytest.raises(DataError, match=r"refusing (posix|nt)\.system"):
        safepickle.loads(outer)
    assert not marker.exists()


class _ForgedDtype:
    """Pickles as numpy.dtype('f8') whose state claims the flags of an object dtype."""

    def __reduce__(self):
        return (np.dtype, ("f8", False, True), (3, "<", None, None, None, -1, -1, 63))


def test_forged_dtype_state_is_refused_instead_of_crashing():
    payload = pickle.dumps(np.arange(3.0), protocol=2)
    assert safepickle.loads(payload).tolist() == [0.0, 1.0, 2.0]  # protocol 2 writes bytes via _codecs
    with pytest.raises(DataError, match="unexpected dtype state"):
        safepickle.loads(pickle.dumps([_ForgedDtype()], protocol=2))


def test_a_forged_memo_index_allocates_nothing():
    # LONG_BINPUT 0xFFFFFFF0: the C unpickler would grow its memo array to ~32 GB; ours is a dict.
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30));"
            "from sculpt import safepickle; print(safepickle.loads(b'\\x80\\x02]r\\xf0\\xff\\xff\\xff.'))")
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    assert (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr[-500:]


def test_truncated_pickles_are_one_error():
    data = _mask_pickle([np.ones((4, 3))])
    for cut in (1, 10, len(data) // 2, len(data) - 1):
        with pytest.raises(DataError, match="^m.pkl: not an array-only pickle"):
            safepickle.loads(data[:cut], source="m.pkl")
    with pytest.raises(DataError, match="trailing bytes"):
        safepickle.loads(data + b"x", source="m.pkl")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_bit_flipped_pickles_give_arrays_or_one_error(data):
    # Positions are drawn independently of the length: torch's storage keys (and so the pickle's
    # length) differ from run to run, and hypothesis needs the same draws for the same example.
    raw = bytearray(_mask_pickle([np.eye(3), np.ones((2, 3))]))
    for _ in range(data.draw(st.integers(1, 3))):
        raw[data.draw(st.integers(0, 10**6)) % len(raw)] ^= 1 << data.draw(st.integers(0, 7))
    try:
        out = safepickle.loads(bytes(raw))
    except DataError:
        return
    leaves = out if isinstance(out, (list, tuple)) else [out]
    assert all(isinstance(a, (np.ndarray, int, float, str, bytes, list, tuple, dict, bool, type(None)))
               for a in leaves)


def _state_dict_bytes(state) -> bytes:
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


def test_torch_zip_files(tmp_path):
    good = tmp_path / "m.pth"
    good.write_bytes(_state_dict_bytes(OrderedDict([("lin1.weight", torch.ones(2, 3)),
                                                    ("lin1.bias", torch.zeros(2))])))
    state = safepickle.load_torch_zip(good)
    assert list(state) == ["lin1.weight", "lin1.bias"] and state["lin1.weight"].shape == (2, 3)
    truncated = tmp_path / "t.pth"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(DataError, match=r"t\.pth: not an array-only torch file"):
        safepickle.load_torch_zip(truncated)
    deflated = tmp_path / "d.pth"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(deflated, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            dst.writestr(name, src.read(name))
    with pytest.raises(DataError, match=r"d\.pth: not an array-only torch file \(member .* is compressed\)"):
        safepickle.load_torch_zip(deflated)
    evil = tmp_path / "evil.pth"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("archive/data.pkl", pickle.dumps(_Evil(tmp_path / "pwned"), protocol=2))
    with pytest.raises(DataError, match=r"evil\.pth: not an array-only torch file \(refusing"):
        safepickle.load_torch_zip(evil)
    assert not (tmp_path / "pwned").exists()


# ----------------------------------------------------------------------------- a repository-shaped fixture

# (script folder, result folder, visualisation folder, dataset folder, modularity, Y columns)
FAMILIES = [
    ("exemplars", "exemplar", "exemplar", "exemplar", [2, 1, 2], ["0110", "1001"]),
    ("increasing_hierarchical_levels", "increasing_hierarchical_levels", "increasing_hierarchical_levels",
     "increasing_hierarchical_levels", [2, 1, 1], ["0001"]),
    ("input_overlap_exp", "input_overlap_exp", "input_overlap_exp/overlap_0", "input_overlap_exp",
     [2, 2, 2], ["0011", "0101"]),
    ("non_separable_increasing_use", "non_separable_increasing_use", "non_separable_increasing_use",
     "increasing_reuse_non_separable", [2, 1, 1], ["0111"]),
]


def _line(result, vis, modularity, arch, seed, p_u, p_e, extra=""):
    return (f"python3 main.py --experiment module_detection --task boolean --result_path ./results/{result}/unit_edge/"
            f" --modularity {' '.join(map(str, modularity))} --arch {' '.join(map(str, arch))} --lr 0.05"
            f" --batch_size 8 --epochs 15 --seed {seed} --unit_pruning_gradient {p_u} --pruning_gradient {p_e}"
            f" --feature_step_size 2 --clusterability_step_size 2 --visualization_path ./visualizations/{vis}/{extra}")


def _network(root: Path, result, modularity, arch, seed, p_u, p_e, rng):
    stem = f"pruneactivation_gradient_productboolean0.05815{p_u}{p_e}None1.0"
    base = root / "results" / result / "unit_edge" / str(modularity)
    masks = [(rng.random((b, a)) < 0.5).astype(np.float32) for a, b in zip(arch, arch[1:])]
    weights = [rng.standard_normal(m.shape).astype(np.float32) * m for m in masks]
    biases = [rng.standard_normal(m.shape[0]).astype(np.float32) for m in masks]
    (base / "Masks" / str(arch)).mkdir(parents=True, exist_ok=True)
    (base / "Models" / str(arch)).mkdir(parents=True, exist_ok=True)
    (base / "Masks" / str(arch) / f"{stem}_Mask{seed}.pkl").write_bytes(_mask_pickle(masks))
    model = torch.nn.Module()  # like the paper's mlp classes: lin1, lin2, ... and their state_dict
    for l, (w, b) in enumerate(zip(weights, biases), 1):
        layer = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(w))
            layer.bias.copy_(torch.from_numpy(b))
        setattr(model, f"lin{l}", layer)
    (base / "Models" / str(arch) / f"{stem}_Model{seed}.pth").write_bytes(_state_dict_bytes(model.state_dict()))
    return masks, weights, biases


@pytest.fixture()
def paper_repo(tmp_path):
    """A tiny clone-shaped tree: one script per family, two networks in the first, one dataset each."""
    root = tmp_path / "Neural-Sculpting"
    rng = np.random.default_rng(0)
    expected = []
    for script_folder, result, vis, data_folder, modularity, columns in FAMILIES:
        arch = [modularity[0], 3, modularity[-1]]
        lines = ["#!/bin/bash", "", _line(result, vis, modularity, arch, 0, 70.0, 2.5)]
        expected.append((result, vis, modularity, arch, 0, 70.0, 2.5, _network(root, result, modularity, arch, 0, 70.0, 2.5, rng)))
        if script_folder == "exemplars":
            lines.append(_line(result, vis + "/other_structure", modularity, arch, 5, 35.0, 1.5, " --mm_threshold 0.3"))
            expected.append((result, vis + "/other_structure", modularity, arch, 5, 35.0, 1.5,
                             _network(root, result, modularity, arch, 5, 35.0, 1.5, rng)))
            lines.append("python3 main.py --experiment module_detection --task MNIST --arch 1 2")
        (root / "shell" / script_folder).mkdir(parents=True)
        (root / "shell" / script_folder / "a.sh").write_text("\n".join(lines) + "\n")
        X = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=torch.int64)
        Y = torch.tensor([[int(c[r]) for c in columns] for r in range(4)], dtype=torch.float64)
        order = torch.tensor([3, 1, 0, 2])  # rows shuffled: the converter must sort them
        (root / "datasets" / data_folder).mkdir(parents=True)
        (root / "datasets" / data_folder / f"boolean{modularity}.pkl").write_bytes(
            pickle.dumps([X[order], Y[order]], protocol=5))
    (root / "datasets" / ".DS_Store").write_bytes(b"\0junk")
    return root, expected


def test_conversion_of_a_repository_shaped_fixture(paper_repo, tmp_path):
    root, expected = paper_repo
    out = convert_paper_repository(root, tmp_path / "ref", progress=False)
    records = load_records(out)
    assert [r["id"] for r in records] == ["net0000", "net0001", "net0002", "net0003", "net0004"]
    first, other = records[0], records[1]
    assert first == {"id": "net0000", "experiment": "exemplar", "family_folder": ["exemplar"],
                     "modularity": [2, 1, 2], "arch": [2, 3, 2], "seed": 0, "lr": 0.05, "batch_size": 8,
                     "epochs": 15, "p_u": 70.0, "p_e": 2.5, "feature_step_size": 2,
                     "clusterability_step_size": 2, "modularity_threshold": -0.2, "merge_threshold": 0.9,
                     "density": first["density"], "other_structure": False}
    assert other["family_folder"] == ["exemplar", "other_structure"] and other["other_structure"]
    assert other["modularity_threshold"] == -0.3 and other["seed"] == 5
    assert records[3]["family_folder"] == ["input_overlap_exp", "overlap_0"]
    assert [r["id"] for r in select_records(out, other_structure=False)] == ["net0000", "net0002", "net0003", "net0004"]
    for record, (*_, (masks, weights, biases)) in zip(records, expected):
        net = load_network(record["id"], out, with_weights=True)
        assert all(m.dtype == bool and np.array_equal(m, e) for m, e in zip(net.masks, masks))
        assert all(np.array_equal(w, e) and w.dtype == np.float32 for w, e in zip(net.weights, weights))
        assert all(np.array_equal(b, e) for b, e in zip(net.biases, biases))
        arch = record["arch"]
        assert record["density"] == sum(int(m.sum()) for m in masks) / sum(a * b for a, b in zip(arch, arch[1:]))
    table = json.loads(load_network("net0000", out).truth_table_path(out).read_text())
    assert table["source"] == "datasets/exemplar/boolean[2, 1, 2].pkl"
    assert table["output_function_ids"] == [0, 1] and table["X_dtype"] == "int64" and table["Y_dtype"] == "float64"
    assert [(f["truth_table_bits"], f["support"], f["n_true_rows"]) for f in table["functions"]] == [
        ("0110", [0, 1], 2), ("1001", [0, 1], 2)]
    overlap = json.loads((out / "truth_tables" / "input_overlap_exp" / "boolean[2, 2, 2].json").read_text())
    assert [f["support"] for f in overlap["functions"]] == [[0], [1]] and overlap["distinct_output_rows"] == 4
    assert "Do not\nredistribute it or commit it" in (out / "README.md").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Neural-Sculpting", "ref"]


def test_a_bad_file_leaves_nothing_behind(paper_repo, tmp_path):
    root, _ = paper_repo
    mask = next((root / "results" / "non_separable_increasing_use").rglob("*_Mask0.pkl"))
    mask.write_bytes(mask.read_bytes()[:-5])
    with pytest.raises(DataError, match=f"^{re.escape(str(mask))}: not an array-only pickle \\(pickle data was truncated\\)$"):
        convert_paper_repository(root, tmp_path / "out" / "ref", progress=False)
    assert list((tmp_path / "out").iterdir()) == []
    mask.unlink()
    with pytest.raises(DataError, match=r"_Mask0\.pkl: missing \(named by a shell line of non_separable_increasing_use\)"):
        convert_paper_repository(root, tmp_path / "out" / "ref", progress=False)
    assert list((tmp_path / "out").iterdir()) == []


def test_existing_targets_need_force_and_foreign_folders_are_never_replaced(paper_repo, tmp_path):
    root, _ = paper_repo
    target = convert_paper_repository(root, tmp_path / "ref", progress=False)
    with pytest.raises(DataError, match="already holds converted reference data; pass --force"):
        convert_paper_repository(root, target, progress=False)
    (target / "detection_exemplar.jsonl").write_text("{}\n")
    convert_paper_repository(root, target, force=True, progress=False)
    assert not (target / "detection_exemplar.jsonl").exists() and len(load_records(target)) == 5
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(DataError, match="is not an earlier conversion; refusing to replace it"):
        convert_paper_repository(root, foreign, force=True, progress=False)
    assert (foreign / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Neural-Sculpting", "mine", "ref"]


def test_cli_writes_the_cache_and_names_a_wrong_path(paper_repo, tmp_path, monkeypatch, capsys):
    root, _ = paper_repo
    monkeypatch.delenv("SCULPT_REFERENCE", raising=False)
    monkeypatch.setenv("SCULPT_CACHE", str(tmp_path / "cache"))
    assert cli_main(["data", "paper", "--from", str(root)]) == 0
    assert len(load_records(tmp_path / "cache" / "reference")) == 5
    assert f"written to {tmp_path / 'cache' / 'reference'}" in capsys.readouterr().out
    monkeypatch.setenv("SCULPT_REFERENCE", str(tmp_path / "elsewhere"))
    assert cli_main(["data", "paper", "--from", str(root)]) == 0
    assert load_records() == load_records(tmp_path / "elsewhere")
    capsys.readouterr()
    assert cli_main(["data", "paper", "--from", str(tmp_path / "cache")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"sculpt data: error: {tmp_path / 'cache'}: not a clone of"
                   " ShreyasMalakarjunPatil/Neural-Sculpting (missing shell/, results/, datasets/)"]
    assert cli_main(["data", "paper"]) == 2
    assert "needs --from PATH" in capsys.readouterr().err


def test_shell_lines_that_are_not_boolean_detection_are_skipped():
    assert parse_shell_line("# python3 main.py --experiment module_detection", "x") is None
    assert parse_shell_line("python3 main.py --experiment prune --task boolean", "x") is None
    with pytest.raises(DataError, match=r"^s\.sh:4: --seed 'x' is not a int"):
        parse_shell_line(_line("exemplar", "exemplar", [2, 1, 2], [2, 3, 2], 0, 70.0, 2.5).replace(
            "--seed 0", "--seed x"), "s.sh:4")


# ----------------------------------------------------------------------------- the real repository

def test_the_real_repository_converts_to_the_reference_data(tmp_path, reference_dir):
    """Set SCULPT_PAPER_REPO to a clone of the paper's repository to run this (about 10 s)."""
    source = os.environ.get("SCULPT_PAPER_REPO")
    if not source:
        pytest.skip("set SCULPT_PAPER_REPO to a clone of ShreyasMalakarjunPatil/Neural-Sculpting")
    out = convert_paper_repository(source, tmp_path / "ref", progress=False)
    assert (out / "pruned_networks.jsonl").read_text() == (reference_dir / "pruned_networks.jsonl").read_text()
    with np.load(out / "pruned_networks.npz") as ours, np.load(reference_dir / "pruned_networks.npz") as ref:
        assert ours.files == ref.files
        for name in ref.files:
            assert ours[name].dtype == ref[name].dtype and np.array_equal(ours[name], ref[name]), name
    for path in sorted((reference_dir / "truth_tables").glob("*/*.json")):
        theirs = json.loads(path.read_text())
        theirs.pop("inferred_structure", None)  # our own hand-written reading, not in the repository
        for f in theirs["functions"]:
            f.pop("minimal_sop", None)
        assert json.loads((out / path.relative_to(reference_dir)).read_text()) == theirs, path.name
