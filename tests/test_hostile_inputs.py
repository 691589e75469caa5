"""Hostile network, record, config and graph files: one toolkit error naming what and where, never a
traceback, a hang, a silently dropped layer or an allocation the file only pretends to need."""
from __future__ import annotations

import io
import json
import os
import struct
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import functiongraphs as fg
from functiongraphs import GraphError
from sculpt.cli import main as cli_main
from sculpt.commands._inputs import load_network_argument
from sculpt.config import RunConfig
from sculpt.errors import ConfigError, DataError, SnapshotError
from sculpt.experiments.report import latest_records
from sculpt.nets import PrunedNet

DEEP = "[" * 100_000 + "]" * 100_000


def small_net() -> PrunedNet:
    masks = [np.array([[1, 1, 0, 1], [0, 1, 1, 1], [1, 0, 1, 1]], bool), np.array([[1, 1, 0], [0, 1, 1]], bool)]
    weights = [np.where(m, 0.5, 0).astype(np.float32) for m in masks]
    return PrunedNet.from_arrays(masks, weights=weights)


def plain(tmp_path: Path, **arrays) -> Path:
    path = tmp_path / "net.npz"
    np.savez(path, **arrays)
    return path


def plain_arrays() -> dict:
    net = small_net()
    return {**{f"weight{l}": w for l, w in enumerate(net.weights)}, **{f"mask{l}": m for l, m in enumerate(net.masks)}}


def finishes(call, timeout: float = 20.0):
    """Run ``call`` in a thread; fail (instead of hanging the suite) when it blocks."""
    box: dict = {}

    def target():
        try:
            box["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "the reader blocked"
    if "error" in box:
        raise box["error"]
    return box.get("value")


# ------------------------------------------------------------------------------------ network files
def test_bit_flips_in_the_zip_structure_are_snapshot_errors(tmp_path):
    path = small_net().save(tmp_path / "net")
    raw = path.read_bytes()
    central = raw.index(b"PK\x01\x02")
    # offset 28: the first member's extra-field length (shifts its data: zlib.error before);
    # central directory +6: "version needed" (NotImplementedError), +8: the encryption flag (RuntimeError)
    for position, bit in ((28, 0), (central + 6, 6), (central + 8, 0)):
        flipped = bytearray(raw)
        flipped[position] ^= 1 << bit
        path.write_bytes(bytes(flipped))
        with pytest.raises(SnapshotError, match="net.npz"):
            load_network_argument(path)
        with pytest.raises(SnapshotError, match="net.npz"):
            PrunedNet.load(path)


@pytest.mark.parametrize("label, value, message", [
    ("nan", np.where(small_net().masks[0], np.nan, 0), r"'weight0' holds a non-finite value \(nan\) at \[0, 0\]"),
    ("inf", np.where(small_net().masks[0], np.inf, 0), r"'weight0' holds a non-finite value \(inf\)"),
    ("string", np.full((3, 4), "a"), r"'weight0' must hold real numbers, got dtype <U1"),
    ("complex", small_net().weights[0].astype(np.complex64), "'weight0' must hold real numbers, got dtype complex64"),
    ("1-d", np.ones(12, np.float32), r"'weight0' must be a non-empty 2-d \(out x in\) array, got shape \(12,\)"),
    ("empty", np.zeros((0, 4), np.float32), r"non-empty 2-d"),
    ("too large for float32", np.where(small_net().masks[0], 1e300, 0), "too large for float32"),
])
def test_plain_npz_weights_are_validated(tmp_path, label, value, message):
    arrays = plain_arrays()
    arrays["weight0"] = value
    with pytest.raises(SnapshotError, match=message):
        load_network_argument(plain(tmp_path, **arrays))


def test_object_arrays_are_refused_without_unpickling(tmp_path):
    path = tmp_path / "net.npz"
    np.savez(path, weight0=np.array([[1, "a"]], dtype=object), allow_pickle=True)
    with pytest.raises(SnapshotError, match=r"array 'weight0': dtype object is not a plain numeric or string type"):
        load_network_argument(path)


@pytest.mark.parametrize("value, found", [(2, "2"), (0.5, "0.5"), (-1, "-1")])
def test_plain_masks_hold_only_zero_and_one(tmp_path, value, found):
    arrays = plain_arrays()
    mask = arrays["mask1"].astype(type(value))
    mask[0, 0] = value
    arrays["mask1"] = mask
    arrays["weight1"] = np.where(mask != 0, arrays["weight1"], 0).astype(np.float32)
    with pytest.raises(SnapshotError, match=rf"'mask1' must hold only 0/1 \(or booleans\), found {found}"):
        load_network_argument(plain(tmp_path, **arrays))


def test_integer_zero_one_masks_are_still_accepted(tmp_path):
    arrays = plain_arrays()
    arrays["mask0"] = arrays["mask0"].astype(np.int8)
    net = load_network_argument(plain(tmp_path, **arrays))
    assert [m.dtype for m in net.masks] == [np.bool_, np.bool_]
    assert np.array_equal(net.masks[0], small_net().masks[0])


def test_a_missing_middle_mask_is_refused_not_a_dropped_layer(tmp_path):
    net = small_net()
    third = np.ones((1, 2), bool)
    arrays = {"mask0": net.masks[0], "mask2": third, "mask1": net.masks[1]}
    assert len(load_network_argument(plain(tmp_path, **arrays)).masks) == 3
    del arrays["mask1"]
    with pytest.raises(SnapshotError, match=r"missing array 'mask1' \(found mask0, mask2\)"):
        load_network_argument(plain(tmp_path, **arrays))


def test_unknown_arrays_and_weights_outside_masks_are_refused(tmp_path):
    arrays = plain_arrays()
    with pytest.raises(SnapshotError, match="unexpected array 'extra'"):
        load_network_argument(plain(tmp_path, **arrays, extra=np.zeros(3)))
    arrays["weight0"] = np.ones((3, 4), np.float32)
    with pytest.raises(SnapshotError, match="weight0 is non-zero at 3 positions its mask prunes"):
        load_network_argument(plain(tmp_path, **arrays))


def npy_header_only(shape) -> bytes:
    text = repr({"descr": "<f4", "fortran_order": False, "shape": shape}).encode()
    text += b" " * (64 - (11 + len(text)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + b"\x00" * 16


def test_a_declared_shape_is_checked_before_anything_is_allocated(tmp_path):
    path = tmp_path / "net.npz"
    with zipfile.ZipFile(path, "w") as zf:  # stored: np.load would allocate 37 GiB, then fail
        zf.writestr("weight0.npy", npy_header_only((100_000, 100_000)))
        zf.writestr("mask0.npy", io.BytesIO().getvalue())
    with pytest.raises(SnapshotError, match=r"array 'weight0': header declares shape \(100000, 100000\) of float32 "
                                            r"\(37.3 GiB\) but the archive holds 16 bytes of data"):
        load_network_argument(path)


def test_a_deep_or_nan_snapshot_header_is_a_snapshot_error(tmp_path):
    net = small_net()
    path = net.save(tmp_path / "net")
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    for header, message in ((DEEP, "header is not valid JSON \\(nested too deeply\\)"),
                            ('{"format": "sculpt.PrunedNet/1", "arch": [4, 3, 2], "history": {}, "meta": {"x": NaN}}',
                             "NaN is not a JSON number"),
                            ('{"format": "sculpt.PrunedNet/1", "arch": [true, 3, 2], "history": {}, "meta": {}}',
                             "arch must be a list of at least two integer widths")):
        np.savez(path, **{**arrays, "header": np.array(header)})
        with pytest.raises(SnapshotError, match=message):
            PrunedNet.load(path)
        with pytest.raises(SnapshotError, match=message):
            load_network_argument(path)


def test_a_fifo_named_net_npz_is_refused_without_blocking(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    os.mkfifo(run_dir / "net.npz")
    with pytest.raises(SnapshotError, match=r"net.npz: cannot read \(not a regular file \(a FIFO\)\)"):
        finishes(lambda: load_network_argument(run_dir))
    with pytest.raises(SnapshotError, match="not a regular file"):
        finishes(lambda: PrunedNet.load(run_dir / "net.npz"))
    assert finishes(lambda: cli_main(["detect", str(run_dir)])) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a regular file (a FIFO)" in err


# ------------------------------------------------------------------------------------ run directories
@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from sculpt.detect import detect_modules
    from sculpt.run import write_json

    root = tmp_path_factory.mktemp("run")
    net = small_net()
    net.save(root / "net")
    detection = detect_modules(net.masks)
    write_json(root / "modules.json", detection.to_dict())
    write_json(root / "config.json", {"graph": "mine", "seed": 3})
    write_json(root / "score.json", {"density": 0.5, "chosen": {"p_u": 10.0, "p_e": 1.0}, "criteria": {"a": True}})
    return root


def copy_run(run_dir: Path, tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "copy"
    shutil.copytree(run_dir, target)
    return target


def test_a_valid_run_dir_still_renders(run_dir, tmp_path):
    from sculpt.render.files import render_run_dir

    written, _ = render_run_dir(copy_run(run_dir, tmp_path), tmp_path / "out", formats=())
    assert sorted(p.name for p in written) == ["hierarchy.gv", "network.gv"]


@pytest.mark.parametrize("side, content, message", [
    ("modules.json", DEEP, r"modules.json: not valid JSON \(nested too deeply\)"),
    ("modules.json", b"{\"modules\": \"\xe9\"}", r"modules.json: not UTF-8 text: byte 0xe9 at line 1, column 14"),
    ("modules.json", "[]", "a detection must be a JSON object, got list"),
    ("modules.json", json.dumps({"modules": [{"id": 0, "units": {"0": [99]}}], "hierarchy": {}}),
     r"modules\[0\].units\['0'\] holds unit 99, but layer 0 has 4 units"),
    ("modules.json", json.dumps({"modules": [{"id": 0, "units": {"7": [0]}}]}),
     r"modules\[0\].units names layer 7, but the network has layers 0..2"),
    ("modules.json", json.dumps({"modules": []}), "missing key 'hierarchy'"),
    ("modules.json", json.dumps({"modules": [], "hierarchy": {"modules": [], "edges": [{"source": 5, "target": 0,
                                                                                       "edges": 1}]}}),
     r"hierarchy.edges\[0\].source is module 5, which the hierarchy does not list"),
    ("modules.json", json.dumps({"modules": [], "surviving_units": [["a"]]}), "surviving_units must list"),
    ("config.json", "null", "config.json: expected a JSON object, got NoneType"),
    ("config.json", '{"graph": "x", "seed": NaN}', "NaN is not a JSON number"),
    ("config.json", json.dumps({"graph": ["x"]}), "config.json: 'graph' must be a string"),
    ("score.json", json.dumps({"chosen": {"p_u": 1.0, "p_e": None}}), "'chosen' must be an object with numbers"),
    ("score.json", json.dumps({"density": "x"}), "score.json: 'density' must be a number"),
    ("graph.fg", "inputs x0 x1\ny0 = and(x0, x1)\noutputs y0\n",
     "graph.fg: the graph has 2 inputs and 1 outputs but the network 4 and 2"),
])
def test_damaged_side_files_of_a_run_dir_are_named(run_dir, tmp_path, side, content, message, capsys):
    from sculpt.render.files import render_run_dir

    target = copy_run(run_dir, tmp_path)
    (target / side).write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(SnapshotError, match=message):
        render_run_dir(target, tmp_path / "out", formats=())
    assert cli_main(["render", str(target), "-o", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_a_fifo_side_file_is_refused_not_skipped(run_dir, tmp_path):
    from sculpt.render.files import render_run_dir

    for side in ("modules.json", "config.json"):
        target = copy_run(run_dir, tmp_path / side)
        (target / side).unlink()
        os.mkfifo(target / side)
        with pytest.raises(SnapshotError, match=f"{side}: cannot read \\(not a regular file \\(a FIFO\\)\\)"):
            finishes(lambda: render_run_dir(target, tmp_path / "out", formats=()))


# ------------------------------------------------------------------------------------ configs
def test_a_config_that_is_not_utf8_names_line_and_column(tmp_path):
    path = tmp_path / "run.toml"
    path.write_bytes(b'graph = "input-separable"\nseed = 1 # caf\xe9\n')
    with pytest.raises(ConfigError, match=r"run.toml: not UTF-8 text: byte 0xe9 at line 2, column 15"):
        RunConfig.from_file(path)


@pytest.mark.parametrize("name, text", [("deep.toml", "x = " + DEEP), ("deep.json", DEEP),
                                        ("nan.json", '{"graph": "reused", "lr": NaN}')])
def test_deep_or_nan_configs_are_config_errors(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError, match=name):
        RunConfig.from_file(path)


def test_config_and_experiment_fifos_are_refused(tmp_path):
    from sculpt.experiments.config import load_experiment

    os.mkfifo(tmp_path / "run.toml")
    with pytest.raises(ConfigError, match=r"cannot read config .*run.toml: not a regular file \(a FIFO\)"):
        finishes(lambda: RunConfig.from_file(tmp_path / "run.toml"))
    with pytest.raises(ConfigError, match=r"cannot read experiment .*run.toml: not a regular file"):
        finishes(lambda: load_experiment(tmp_path / "run.toml"))


def test_an_experiment_naming_a_fifo_graph_is_refused(tmp_path):
    from sculpt.experiments.config import load_experiment

    os.mkfifo(tmp_path / "g.fg")
    (tmp_path / "exp.toml").write_text('kind = "sculpt"\n[defaults]\ngraph = "g.fg"\n')
    with pytest.raises(ConfigError, match=r"graph file '.*g.fg' is not a regular file"):
        finishes(lambda: load_experiment(tmp_path / "exp.toml"))


def test_a_bom_in_a_config_is_accepted(tmp_path):
    path = tmp_path / "run.toml"
    path.write_bytes(b'\xef\xbb\xbfgraph = "reused"\r\nseed = 4\r\n')
    assert RunConfig.from_file(path) == RunConfig(graph="reused", seed=4)


@pytest.mark.parametrize("settings, message", [
    ({"epochs": 10 ** 9}, "epochs must be at most 100,000, got 1,000,000,000"),
    ({"arch": [24] * 2000}, "arch lists 2000 hidden layers; at most 64 are allowed"),
    ({"seed": 2 ** 63}, "seed must be at most 4,294,967,295"),
    ({"batch_size": 10 ** 13}, "batch_size must be at most"),
])
def test_absurd_settings_are_refused_with_the_config(settings, message):
    with pytest.raises(ConfigError, match=message):
        RunConfig(graph="reused", **settings)


def test_the_stack_memory_estimate_counts_every_copy():
    from sculpt.nets import estimate_stack_bytes

    # one member of [2, 3, 1]: 13 parameters x 8 copies, 3 activations x 5 batch rows x 4 units,
    # 2 layers x 7 evaluation rows x width 3, in float32
    assert estimate_stack_bytes([2, 3, 1], members=1, batch_rows=5, eval_rows=7) == 4 * (8 * 13 + 3 * 5 * 4 + 2 * 7 * 3)
    assert estimate_stack_bytes([2, 3, 1], 70, 5, 7) == 70 * estimate_stack_bytes([2, 3, 1], 1, 5, 7)


def test_a_stack_that_cannot_fit_is_refused_before_allocating(monkeypatch):
    import sculpt.memory
    from sculpt.prune import prune_grid

    task = fg.Task(fg.catalog.get("input-separable"), noise=0.1)
    monkeypatch.setattr(sculpt.memory, "available_bytes", lambda: 2 ** 30)
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=r"training arch \[4, 20000, 20000, 4\] as a stack of 70 network\(s\) "
                                          r"needs 835.5 GiB but only 1.0 GiB of memory is available"):
        prune_grid(task, [4, 20000, 20000, 4], lr=0.05, batch_size=8, epochs=1, progress=False)
    assert time.perf_counter() - start < 30  # refused up front, not after training


def test_a_huge_arch_from_the_cli_is_one_line(tmp_path, capsys, monkeypatch):
    import sculpt.memory

    monkeypatch.setattr(sculpt.memory, "available_bytes", lambda: 2 ** 30)
    code = cli_main(["run", "input-separable", "--arch", "100000", "100000", "--out", str(tmp_path / "r"),
                     "--no-progress", "--no-spectral"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "of memory is available" in err
    assert not (tmp_path / "r").exists()


# ------------------------------------------------------------------------------------ records
def record(tid="a", **extra) -> str:
    r = {"trial_id": tid, "status": "ok", "figure": "fig7", "experiment": "fig7",
         "config": {"graph": "reused", "arch": [24], "seed": 0}, "score": {"reused_success": True},
         "densities": {"weights": 0.05}, "timings": {"wall_s": 1.0}, "metrics": {}}
    r.update(extra)
    return json.dumps(r)


@pytest.mark.parametrize("line, message", [
    (record(trial_id=[1]), "'trial_id' must be a non-empty string"),
    (record(config="abc"), "'config' must be an object"),
    (record(config={"graph": "reused", "arch": 3}), "config.arch must be a list of integers"),
    (record(score=[True]), "'score' must map criteria to true/false"),
    (record(densities={"weights": "x"}), "densities.weights must be a number"),
    (record(timings=[1]), "'timings' must be an object"),
    (record(network={"arch": [2, 2], "edges": [[[5, 5]]]}, modules={"modules": []}),
     r"network.edges\[0\] holds \[5, 5\], not an \[out, in\] pair inside 2 x 2"),
    (record(network={"arch": [2, 2], "edges": [[[0, 0]]]}, modules={"modules": 5}),
     "modules: modules must be a list of modules"),
    (json.dumps({"trial_id": "e", "status": "error"}), "'config' must be an object"),
    (record(spectral={"n_shuffles": 5, "k_modules": 2, "modules": {"ncut": 0.5, "z": "big", "modular": True}}),
     "spectral.modules.z must be a number or null"),
    (record(spectral={"n_shuffles": "5"}), "spectral.n_shuffles must be an integer"),
])
def test_records_of_the_wrong_shape_name_file_and_line(tmp_path, line, message, capsys):
    path = tmp_path / "records.jsonl"
    path.write_text(record("x") + "\n" + line + "\n" + record("y") + "\n")
    with pytest.raises(SnapshotError, match=f"records.jsonl:2: {message}"):
        latest_records(path)
    assert cli_main(["report", str(path), "-o", str(tmp_path / "report")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert not (tmp_path / "report" / "index.md").exists()


def test_deep_or_nan_record_lines_are_damage_with_a_line_number(tmp_path):
    path = tmp_path / "records.jsonl"
    for bad in (DEEP, record().replace("0.05", "NaN")):
        path.write_text(record("x") + "\n" + bad + "\n" + record("y") + "\n")
        with pytest.raises(SnapshotError, match="records.jsonl:2: not a JSON record"):
            latest_records(path)


def test_a_corrupt_gzip_records_file_is_a_snapshot_error(tmp_path):
    import gzip

    packed = gzip.compress((record("x") + "\n").encode(), mtime=0)
    path = tmp_path / "records.jsonl.gz"
    path.write_bytes(packed[:10] + bytes([packed[10] ^ 0xFF]) + packed[11:])  # zlib.error before
    with pytest.raises(SnapshotError, match="records.jsonl.gz: not a readable gzip file"):
        latest_records(path)
    path.write_bytes(gzip.compress((record("x") + "\n{bad\n" + record("y") + "\n").encode(), mtime=0))
    with pytest.raises(SnapshotError, match=r"records.jsonl.gz:2: not a JSON record"):  # the file itself, not a temp copy
        latest_records(path)
    path.unlink()
    os.mkfifo(path)
    with pytest.raises(SnapshotError, match="not a regular file"):
        finishes(lambda: latest_records(path))


def test_a_records_fifo_is_refused(tmp_path):
    os.mkfifo(tmp_path / "records.jsonl")
    with pytest.raises(SnapshotError, match="not a regular file"):
        finishes(lambda: latest_records(tmp_path / "records.jsonl"))


# ------------------------------------------------------------------------------------ .fg and IDX
VALID_FG = "inputs x0 x1\na = and(x0, !x1)\ny0 = or(a, x1)\noutputs y0\n"


@pytest.mark.parametrize("text", ["\ufeff" + VALID_FG, VALID_FG.replace("\n", "\r"), VALID_FG.replace("\n", "\r\n"),
                                  "\ufeff" + VALID_FG.replace("\n", "\r")])
def test_bom_and_every_line_ending_parse_alike(tmp_path, text, capsys):
    expected = fg.parse(VALID_FG)
    assert fg.parse(text) == expected
    path = tmp_path / "g.fg"
    path.write_bytes(text.encode("utf-8"))
    loaded = fg.load(path)
    assert (loaded.inputs, loaded.gates, loaded.outputs) == (expected.inputs, expected.gates, expected.outputs)
    assert cli_main(["graph", "check", str(path)]) == 0
    assert capsys.readouterr().out.startswith("ok: 2 inputs, 1 outputs, 2 gates")


def test_errors_after_a_bom_keep_their_columns():
    with pytest.raises(GraphError, match=r"<string>:1:7: expected at least one name after 'inputs', found end of line$"):
        fg.parse("\ufeffinputs\n")


def test_a_graph_file_that_is_not_utf8_or_a_fifo(tmp_path):
    path = tmp_path / "g.fg"
    path.write_bytes(b"inputs x0\r\nab = and(x0, \xe9)\n")
    with pytest.raises(GraphError, match=r"g.fg:2:14: not UTF-8 text \(byte 0xe9\)"):
        fg.load(path)
    os.mkfifo(tmp_path / "f.fg")
    with pytest.raises(GraphError, match=r"f.fg: cannot read graph file: not a regular file \(a FIFO\)"):
        finishes(lambda: fg.load(tmp_path / "f.fg"))


def test_ten_thousand_gates_in_reverse_order_parse_quickly():
    # Each gate reads the next one defined: the old pass-by-pass sort took one pass per gate
    # (quadratic: 135 s); the graphlib sweep is linear. No timing assertion, it simply completes.
    n = 10_000
    lines = ["inputs x0 x1"] + [f"g{i} = and(g{i + 1}, x0)" for i in range(n - 1)]
    lines += [f"g{n - 1} = and(x0, x1)", "outputs g0"]
    graph = fg.parse("\n".join(lines))
    order = [g.name for g in graph.topological_order]
    assert order == [f"g{i}" for i in reversed(range(n))]


def test_topological_order_keeps_the_pass_order():
    # passes over the definitions: b and c are ready in the first pass, a only in the second
    graph = fg.parse("inputs x0 x1\na = and(b, c)\nb = id(x0)\nc = and(b, x1)\ny = or(a, c)\noutputs y\n")
    assert [g.name for g in graph.topological_order] == ["b", "c", "a", "y"]


def test_corrupt_or_huge_idx_files_are_data_errors(tmp_path):
    import gzip

    from functiongraphs.mnist import read_idx, write_idx

    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    raw = write_idx(tmp_path / "a-idx3-ubyte", array).read_bytes()
    packed = gzip.compress(raw, mtime=0)
    corrupt = tmp_path / "corrupt.gz"
    corrupt.write_bytes(packed[:10] + bytes([packed[10] ^ 0xFF]) + packed[11:])  # zlib.error before
    with pytest.raises(DataError, match="corrupt.gz: cannot read"):
        read_idx(corrupt)
    huge = tmp_path / "huge"
    huge.write_bytes(raw[:4] + struct.pack(">III", 2 ** 31, 2 ** 31, 2 ** 31))
    with pytest.raises(DataError, match=r"huge: IDX header declares shape \(2147483648, 2147483648, 2147483648\)"):
        read_idx(huge)
    bomb = tmp_path / "bomb.gz"
    bomb.write_bytes(gzip.compress(raw + b"\x00" * 10_000_000, mtime=0))
    with pytest.raises(DataError, match="but the file holds more than 24"):
        read_idx(bomb)
    assert np.array_equal(read_idx(tmp_path / "a-idx3-ubyte"), array)


def test_a_damaged_reference_jsonl_names_its_line(tmp_path):
    from sculpt.reference import read_jsonl

    path = tmp_path / "pruned_networks.jsonl"
    path.write_text('{"id": "net0000"}\n{"id": \n' + DEEP + "\n")
    with pytest.raises(DataError, match=r"pruned_networks.jsonl:2: not a JSON record"):
        read_jsonl(path)
    path.write_text('{"id": "net0000"}\r\n\r\n{"id": "net0001"}\r\n')
    assert read_jsonl(path) == [{"id": "net0000"}, {"id": "net0001"}]
