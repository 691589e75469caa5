"""Hostile-input probe: several hundred bad network, record, config and graph files through every reader.

Each case is one file (or run directory) and what a careful reader must do with it: refuse it with
the toolkit's own exception (the CLI: one line on stderr, exit code 2), or accept it and read back
exactly what was written. Every reader runs in a forked child with a time limit and a memory limit,
so a hang or a memory bomb is counted instead of stopping the probe. Outcomes counted:

* traceback: an exception other than the toolkit's (``SculptError``, ``GraphError``) escaped, or
  the CLI's error was not one line;
* hang: the reader did not finish within the time limit (a FIFO, an endless training);
* wrongly accepted: a file that must be refused was read without complaint;
* data lost: a valid file was refused, or read back with other content (a layer dropped, a value
  changed, a record skipped).

Usage: ``python -m bench probe [--quick] [--timeout S] [--list]``. The goal is 0 / 0 / 0 / 0.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import resource
import select
import shutil
import signal
import struct
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

OUTCOMES = ("traceback", "hang", "wrongly_accepted", "data_lost")


@dataclass
class Case:
    """One hostile (or valid control) input.

    Attributes
    ----------
    kind : str
        Which readers apply (``npz``, ``rundir``, ``config``, ``experiment``, ``records``, ``fg``, ``idx``).
    name : str
    path : Path
    expect : {"refuse", "accept", "same"}
        ``same``: refusing is right, and so is accepting with exactly the original content
        (a bit flip in a zip timestamp changes nothing).
    original : Any
        What an accepting reader must read back (compared by :func:`_digest`).
    """

    kind: str
    name: str
    path: Path
    expect: str
    original: Any = None
    refused_by: tuple = ()  # readers for which refusing this valid input is right (ncut on masks only)
    accepted_by: tuple = ()  # readers for which accepting this hostile input is right (see _config_cases)


@dataclass
class Report:
    runs: int = 0
    counts: dict = field(default_factory=lambda: {k: 0 for k in OUTCOMES})
    examples: dict = field(default_factory=lambda: {k: [] for k in OUTCOMES})

    def add(self, outcome: str, label: str) -> None:
        self.counts[outcome] += 1
        self.examples[outcome].append(label)


# ------------------------------------------------------------------------------------------ files
def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asanyarray(array), allow_pickle=True)
    return buf.getvalue()


def _write_npz(path: Path, members: dict[str, bytes], compress: bool = True) -> Path:
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        for name, payload in members.items():
            zf.writestr(name + ".npy", payload)
    return path


def _arrays_npz(path: Path, arrays: dict[str, Any]) -> Path:
    return _write_npz(path, {k: _npy_bytes(np.asarray(v) if not isinstance(v, np.ndarray) else v)
                             for k, v in arrays.items()})


def _huge_header(shape, dtype="<f4") -> bytes:
    """An .npy header declaring ``shape`` followed by 16 bytes of data."""
    header = {"descr": dtype, "fortran_order": False, "shape": tuple(shape)}
    text = repr(header).encode("latin1")
    pad = 64 - (10 + len(text) + 1) % 64
    text = text + b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + b"\x00" * 16


def _base_network(rng: np.random.Generator, arch=(4, 6, 5, 2)):
    masks = [rng.random((arch[i + 1], arch[i])) < 0.7 for i in range(len(arch) - 1)]
    for m in masks:  # keep every layer connected so detection has something to work on
        m[np.arange(m.shape[0]), np.arange(m.shape[0]) % m.shape[1]] = True
    weights = [np.where(m, rng.normal(size=m.shape), 0).astype(np.float32) for m in masks]
    biases = [np.zeros(m.shape[0], dtype=np.float32) for m in masks]
    return list(arch), weights, biases, masks


def _plain(weights, masks) -> dict:
    out = {f"weight{l}": w for l, w in enumerate(weights)}
    out.update({f"mask{l}": m for l, m in enumerate(masks)})
    return out


def _net_cases(root: Path, quick: bool) -> list[Case]:
    from sculpt.nets import PrunedNet

    rng = np.random.default_rng(7)
    arch, weights, biases, masks = _base_network(rng)
    original = ("net", [m.astype(bool) for m in masks], weights)
    cases: list[Case] = []

    def case(name, expect, writer, orig=None):
        d = root / "npz" / name
        d.mkdir(parents=True)
        path = d / "net.npz"
        writer(path)
        cases.append(Case("npz", name, path, expect, orig))

    snap_dir = root / "npz-base"
    snap_dir.mkdir(parents=True)
    snapshot = PrunedNet(arch=arch, weights=weights, biases=biases, masks=masks, history={}, meta={}).save(snap_dir / "net")
    snapshot_bytes = snapshot.read_bytes()
    case("valid-snapshot", "accept", lambda p: p.write_bytes(snapshot_bytes), original)
    case("valid-plain", "accept", lambda p: _arrays_npz(p, _plain(weights, masks)), original)
    case("valid-plain-float64", "accept",
         lambda p: _arrays_npz(p, _plain([w.astype(np.float64) for w in weights], masks)), original)
    case("valid-plain-masks-only", "accept", lambda p: _arrays_npz(p, {f"mask{l}": m for l, m in enumerate(masks)}),
         ("net", [m.astype(bool) for m in masks], None))
    cases[-1].refused_by = ("cli ncut",)  # the spectral tools need weights and say so
    case("valid-plain-int-masks", "accept",
         lambda p: _arrays_npz(p, _plain(weights, [m.astype(np.int8) for m in masks])), original)

    flips = 12 if quick else 60
    for i in range(flips):
        pos = int(rng.integers(0, len(snapshot_bytes)))
        bit = int(rng.integers(0, 8))
        data = bytearray(snapshot_bytes)
        data[pos] ^= 1 << bit
        case(f"bitflip-{i}-at{pos}", "same", lambda p, d=bytes(data): p.write_bytes(d), original)
    for i, cut in enumerate(sorted(set(int(x) for x in rng.integers(1, len(snapshot_bytes), 6 if quick else 20)))):
        case(f"truncated-{cut}", "refuse", lambda p, c=cut: p.write_bytes(snapshot_bytes[:c]))
    case("empty", "refuse", lambda p: p.write_bytes(b""))
    case("random-bytes", "refuse", lambda p: p.write_bytes(rng.bytes(500)))
    case("text", "refuse", lambda p: p.write_text("inputs x0\n"))
    case("zip-without-arrays", "refuse", lambda p: _write_npz(p, {}))

    def plain_with(l, key, value):
        arrays = _plain(weights, masks)
        if value is None:
            del arrays[f"{key}{l}"]
        else:
            arrays[f"{key}{l}"] = value
        return lambda p: _arrays_npz(p, arrays)

    w0 = weights[0]
    bad_values = {
        "nan": np.where(masks[0], np.nan, 0).astype(np.float32),
        "inf": np.where(masks[0], np.inf, 0).astype(np.float32),
        "neg-inf": np.where(masks[0], -np.inf, 0).astype(np.float64),
        "string": np.full(w0.shape, "a"),
        "bytes": np.full(w0.shape, b"a"),
        "complex": w0.astype(np.complex64),
        "object": np.array([[1, "a"], [None, 2.0]], dtype=object),
        "structured": np.zeros(w0.shape, dtype=[("a", "<f4"), ("b", "<i4")]),
        "datetime": np.zeros(w0.shape, dtype="datetime64[s]"),
        "1d": w0.ravel(),
        "3d": w0[None],
        "scalar": np.float32(1.0),
        "empty-rows": np.zeros((0, arch[0]), dtype=np.float32),
        "wrong-shape": np.zeros((arch[1] + 1, arch[0]), dtype=np.float32),
        "float16-huge": np.full(w0.shape, 1e30).astype(np.float64) * 1e300,
    }
    for label, value in bad_values.items():
        case(f"weight0-{label}", "refuse", plain_with(0, "weight", value))
        if label not in ("nan", "inf", "neg-inf", "float16-huge"):
            case(f"mask1-{label}", "refuse", plain_with(1, "mask", value if label != "1d" else masks[1].ravel()))
    case("mask-holding-2", "refuse", plain_with(1, "mask", masks[1].astype(np.int64) * 2))
    case("mask-holding-half", "refuse", plain_with(1, "mask", masks[1] * 0.5))
    case("mask-holding-minus1", "refuse", plain_with(0, "mask", -masks[0].astype(np.int8)))
    case("mask-nan", "refuse", plain_with(0, "mask", np.where(masks[0], np.nan, 0)))
    case("missing-mask1", "refuse", plain_with(1, "mask", None))
    case("missing-weight1", "refuse", plain_with(1, "weight", None))
    case("missing-mask0", "refuse", plain_with(0, "mask", None))
    case("extra-key", "refuse", lambda p: _arrays_npz(p, {**_plain(weights, masks), "bias7": np.zeros(3)}))
    case("weight-outside-mask", "refuse", plain_with(0, "weight", np.ones_like(w0)))
    case("unchained", "refuse", lambda p: _arrays_npz(p, {"mask0": masks[0], "mask1": np.ones((2, 3), bool)}))
    for label, shape in (("huge-2d", (200_000, 200_000)), ("huge-1d", (2 ** 40,)), ("neg", (-1, 4))):
        case(f"declared-{label}", "refuse",
             lambda p, s=shape: _write_npz(p, {"mask0": _npy_bytes(masks[0]), "weight0": _huge_header(s)},
                                           compress=False))
    case("declared-huge-compressed", "refuse",
         lambda p: _write_npz(p, {"weight0": _huge_header((100_000, 100_000)), "mask0": _npy_bytes(masks[0])}))
    case("pickle-payload", "refuse",
         lambda p: _write_npz(p, {"weight0": _npy_bytes(np.array([print], dtype=object))}))

    def snap_with(**edit):
        def writer(p):
            with np.load(snapshot, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            for k, v in edit.items():
                if v is None:
                    arrays.pop(k, None)
                else:
                    arrays[k] = v
            _arrays_npz(p, arrays)
        return writer

    header = {"format": "sculpt.PrunedNet/1", "arch": arch, "history": {}, "meta": {}}
    deep = "[" * 100_000 + "]" * 100_000
    for label, text in (("not-json", "{"), ("deep", deep), ("deep-meta", '{"format": "sculpt.PrunedNet/1", '
                        f'"arch": {arch}, "history": {deep}, "meta": {{}}}}'),
                        ("list", "[]"), ("nan-meta", json.dumps({**header, "meta": {"x": float("nan")}})),
                        ("bool-arch", json.dumps({**header, "arch": [True, 6, 5, 2]})),
                        ("huge-arch", json.dumps({**header, "arch": [4, 10 ** 12, 5, 2]})),
                        ("neg-arch", json.dumps({**header, "arch": [4, -6, 5, 2]})),
                        ("meta-list", json.dumps({**header, "meta": []})),
                        ("format", json.dumps({**header, "format": "other/1"})),
                        ("surrogate", '{"format": "sculpt.PrunedNet/1", "arch": [4, 6, 5, 2], "history": {},'
                                      ' "meta": {"x": "\\ud800"}}')):
        case(f"header-{label}", "refuse" if label != "surrogate" else "same",
             snap_with(header=np.array(text)), original)
    case("header-bytes", "refuse", snap_with(header=np.array(b"{}")))
    case("header-2d", "refuse", snap_with(header=np.array([["a"]])))
    case("snapshot-nan-weight", "refuse", snap_with(weight1=np.full(weights[1].shape, np.nan, np.float32)))
    case("snapshot-mask-int", "refuse", snap_with(mask0=masks[0].astype(np.int64) * 2))
    case("snapshot-missing-mask1", "refuse", snap_with(mask1=None))
    case("snapshot-bias-inf", "refuse", snap_with(bias0=np.full(arch[1], np.inf, np.float32)))

    fifo_dir = root / "npz" / "fifo"
    fifo_dir.mkdir(parents=True)
    os.mkfifo(fifo_dir / "net.npz")
    cases.append(Case("npz", "fifo", fifo_dir / "net.npz", "refuse"))
    cases.append(Case("npz", "fifo-dir", fifo_dir, "refuse"))
    dev_dir = root / "npz" / "devzero"
    dev_dir.mkdir(parents=True)
    os.symlink("/dev/zero", dev_dir / "net.npz")
    cases.append(Case("npz", "dev-zero-dir", dev_dir, "refuse"))
    return cases


def _rundir_cases(root: Path, template: Path, quick: bool) -> list[Case]:
    """A real run directory with one side file replaced by something hostile."""
    cases: list[Case] = []
    deep = "[" * 100_000 + "]" * 100_000
    modules = json.loads((template / "modules.json").read_text())
    bad_json = {"not-json": "{", "deep": deep, "list": "[]", "null": "null", "latin1": "\xe9t\xe9".encode("latin-1"),
                "nan": '{"x": NaN}', "empty": ""}
    bad_modules = {
        "modules-not-list": {**modules, "modules": 5},
        "module-units-str": {**modules, "modules": [{"id": 0, "units": "abc"}]},
        "module-unit-out-of-range": {**modules, "modules": [{"id": 0, "units": {"0": [999]}}]},
        "module-layer-out-of-range": {**modules, "modules": [{"id": 0, "units": {"9": [0]}}]},
        "module-no-id": {**modules, "modules": [{"units": {"0": [0]}}]},
        "hierarchy-missing": {k: v for k, v in modules.items() if k != "hierarchy"},
        "hierarchy-list": {**modules, "hierarchy": []},
        "hierarchy-edge-unknown": {**modules, "hierarchy": {**modules["hierarchy"],
                                                             "edges": [{"source": 77, "target": 0, "edges": 1}]}},
        "hierarchy-edge-bad": {**modules, "hierarchy": {**modules["hierarchy"], "edges": [[1, 2]]}},
        "surviving-units-bad": {**modules, "surviving_units": [["a"]]},
        "surviving-units-range": {**modules, "surviving_units": [[999], [0], [0]]},
        "hierarchy-modules-str": {**modules, "hierarchy": {**modules["hierarchy"], "modules": "x"}},
        "hierarchy-levels-bad": {**modules, "hierarchy": {**modules["hierarchy"], "levels": [["a"]]}},
    }
    config = json.loads((template / "config.json").read_text())
    score = json.loads((template / "score.json").read_text())
    edits: list[tuple[str, str, Any]] = []
    for side in ("modules.json", "config.json", "score.json"):
        for label, text in bad_json.items():
            edits.append((f"{side}-{label}", side, text))
    for label, doc in bad_modules.items():
        edits.append((label, "modules.json", json.dumps(doc)))
    edits += [("config-graph-list", "config.json", json.dumps({**config, "graph": [1]})),
              ("config-seed-str", "config.json", json.dumps({**config, "seed": "x"})),
              ("score-density-str", "score.json", json.dumps({**score, "density": "x"})),
              ("score-chosen-bad", "score.json", json.dumps({**score, "chosen": {"p_u": "x", "p_e": None}})),
              ("score-criteria-list", "score.json", json.dumps({**score, "criteria": [1, 2]})),
              ("graph-fg-bad", "graph.fg", "inputs x0\ny0 = and(x0\n"),
              ("graph-fg-latin1", "graph.fg", "inputs x\u00e9\n".encode("latin-1")),
              ("graph-fg-other-size", "graph.fg", "inputs x0 x1\ny0 = and(x0, x1)\noutputs y0\n"),
              ("modules-json-fifo", "modules.json", "FIFO"),
              ("config-json-fifo", "config.json", "FIFO"),
              ("modules-json-missing", "modules.json", "MISSING")]
    for label, side, content in edits:
        d = root / "rundir" / label
        shutil.copytree(template, d)
        target = d / side
        target.unlink(missing_ok=True)
        if content == "FIFO":
            os.mkfifo(target)
        elif content == "MISSING":
            pass
        elif isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
        cases.append(Case("rundir", label, d, "refuse"))
    d = root / "rundir" / "valid"
    shutil.copytree(template, d)
    cases.append(Case("rundir", "valid", d, "accept"))
    return cases


def _text_cases(root: Path, kind: str, suffix: str, valid: str, hostile: dict, original=None) -> list[Case]:
    cases = []
    base = root / kind
    base.mkdir(parents=True, exist_ok=True)
    path = base / f"valid{suffix}"
    path.write_text(valid)
    cases.append(Case(kind, "valid", path, "accept", original))
    for label, content in hostile.items():
        path = base / f"{label}{suffix}"
        if content == "FIFO":
            os.mkfifo(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        expect = "accept" if label.startswith("ok-") else "refuse"
        cases.append(Case(kind, label, path, expect, original if expect == "accept" else None))
    return cases


def _config_cases(root: Path) -> list[Case]:
    valid = 'graph = "input-separable"\narch = [8]\nepochs = 3\np_u = [10]\np_e = [1]\n'
    deep_toml = "x = " + "[" * 100_000 + "]" * 100_000 + "\n"
    hostile = {
        "latin1": 'graph = "caf\xe9"\n'.encode("latin-1"), "binary": bytes(range(256)), "empty": "",
        "deep": deep_toml, "not-toml": "graph = \n", "fifo": "FIFO", "nul": "graph = \"a\x00\"\n",
        "arch-huge": valid.replace("[8]", "[100000, 100000]"),
        "arch-2000-layers": valid.replace("[8]", "[" + ", ".join(["24"] * 2000) + "]"),
        "epochs-1e9": valid.replace("epochs = 3", "epochs = 1000000000"),
        "epochs-float": valid.replace("epochs = 3", "epochs = 1e9"),
        "batch-huge": valid + "batch_size = 10000000000000\n",
        "seed-huge": valid + "seed = 100000000000000000000\n" if False else valid + "seed = 9223372036854775807\n",
        "arch-str": valid.replace("[8]", '"8"'), "arch-bool": valid.replace("[8]", "[true]"),
        "arch-empty": valid.replace("[8]", "[]"), "lr-inf": valid + "lr = inf\n", "lr-nan": valid + "lr = nan\n",
        "p_u-nested": valid.replace("p_u = [10]", "p_u = [[10]]"), "unknown": valid + "colour = 1\n",
        "graph-table": 'graph = {a = 1}\n', "graph-missing": "arch = [8]\n",
        "date": valid + "noise = 1979-05-27\n",
    }
    cases = _text_cases(root, "config", ".toml", valid, hostile, original=("config", valid))
    for case in cases:
        if case.name == "arch-huge":  # a valid file: too large for this machine's memory, not malformed
            case.accepted_by = ("RunConfig.from_file",)
    json_hostile = {"deep": "[" * 100_000 + "]" * 100_000, "nan": '{"graph": "input-separable", "noise": NaN}',
                    "list": "[1]", "latin1": '{"graph": "caf\xe9"}'.encode("latin-1"),
                    "dup-infinity": '{"graph": "input-separable", "lr": Infinity}',
                    "bom-ok": None}
    base = root / "config-json"
    base.mkdir(parents=True)
    valid_json = json.dumps({"graph": "input-separable", "arch": [8], "epochs": 3, "p_u": [10], "p_e": [1]})
    (base / "valid.json").write_text(valid_json)
    cases.append(Case("config", "json-valid", base / "valid.json", "accept", ("config", valid)))
    for label, content in json_hostile.items():
        if content is None:
            continue
        path = base / f"{label}.json"
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        cases.append(Case("config", f"json-{label}", path, "refuse"))
    return cases


def _experiment_cases(root: Path) -> list[Case]:
    valid = 'name = "probe"\nkind = "echo"\n[grid]\nvalue = [1, 2]\n'
    hostile = {
        "latin1": 'name = "\xe9"\n'.encode("latin-1"), "deep": "name = " + "[" * 100_000 + "]" * 100_000 + "\n",
        "deep-inline": "name = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n",
        "fifo": "FIFO", "binary": bytes(range(256)), "cells-str": valid + 'cells = "x"\n',
        "grid-str": 'name = "p"\nkind = "echo"\ngrid = "x"\n', "kind-list": 'kind = [1]\n',
        "unknown": valid + "colour = 1\n", "grid-axis-empty": 'kind = "echo"\n[grid]\nvalue = []\n',
    }
    return _text_cases(root, "experiment", ".toml", valid, hostile, original=("experiment", 2))


def _records_cases(root: Path) -> list[Case]:
    def rec(tid, **extra):
        r = {"trial_id": tid, "experiment": "fig7", "figure": "fig7", "kind": "sculpt", "status": "ok",
             "config": {"kind": "sculpt", "graph": "reused", "arch": [24], "seed": 0}, "metrics": {},
             "densities": {"weights": 0.05}, "modules": None, "score": {"reused_success": True},
             "timings": {"wall_s": 1.5}}
        r.update(extra)
        return json.dumps(r, sort_keys=True)

    good = "\n".join(rec(f"t{i}") for i in range(3)) + "\n"
    wrong_shapes = {
        "trial-id-list": rec("x", trial_id=[1]), "trial-id-int": rec("x", trial_id=5),
        "status-list": rec("x", status=["ok"]), "config-str": rec("x", config="abc"),
        "config-missing": json.dumps({"trial_id": "z", "status": "ok"}),
        "arch-int": rec("x", config={"graph": "reused", "arch": 3}),
        "arch-missing": rec("x", config={"graph": "reused"}),
        "graph-list": rec("x", config={"graph": ["a"], "arch": [24]}),
        "score-list": rec("x", score=[True]), "score-str": rec("x", score="yes"),
        "densities-str": rec("x", densities="x"), "density-str": rec("x", densities={"weights": "x"}),
        "timings-list": rec("x", timings=[1]), "wall-str": rec("x", timings={"wall_s": "x"}),
        "figure-list": rec("x", figure=[1]), "experiment-int": rec("x", experiment=5),
        "network-bad": rec("x", network={"arch": [2, 2], "edges": [[[5, 5]]]}),
        "network-str": rec("x", network="abc", modules={"modules": []}),
        "modules-bad": rec("x", network={"arch": [2, 2, 2], "edges": [[[0, 0]], [[0, 0]]]}, modules={"modules": 5}),
        "metrics-str": rec("x", metrics="x", figure="section2"),
        "error-record-no-config": json.dumps({"trial_id": "e", "status": "error", "error": "boom"}),
        "deep": "[" * 100_000 + "]" * 100_000, "array": "[1, 2]", "nan": rec("x").replace('"weights": 0.05', '"weights": NaN'),
    }
    hostile = {f"line-{k}": good + v + "\n" + rec("t9") + "\n" for k, v in wrong_shapes.items()}
    # A last line that is not a JSON object is a torn tail (a killed writer), reported and skipped by
    # design; a last line that is JSON of the wrong shape is refused like any other.
    hostile.update({f"last-{k}": good + v + "\n" for k, v in wrong_shapes.items() if k not in ("deep", "array", "nan")})
    hostile.update({"latin1": good.encode() + b'{"trial_id": "\xe9"}\n' + rec("t9").encode() + b"\n",
                    "fifo": "FIFO", "binary": bytes(range(256)) + b"\n" + good.encode(),
                    "ok-torn-tail": good + rec("t9")[:20], "ok-crlf": good.replace("\n", "\r\n")})
    return _text_cases(root, "records", ".jsonl", good, hostile, original=("records", 3))


def _fg_cases(root: Path) -> list[Case]:
    import functiongraphs as fg

    valid = "inputs x0 x1 x2 x3\na = and(x0, !x1)\nb = or(x2, x3)\ny0 = and(a, b)\ny1 = or(a, !b)\noutputs y0 y1\n"
    original = ("fg", fg.parse(valid))
    hostile = {"ok-bom": "\ufeff" + valid, "ok-crlf": valid.replace("\n", "\r\n"), "ok-cr": valid.replace("\n", "\r"),
               "ok-bom-cr": "\ufeff" + valid.replace("\n", "\r"),
               "latin1": valid.replace("a =", "\xe9 =").encode("latin-1"), "fifo": "FIFO", "binary": bytes(range(256)),
               "cycle": "inputs x0\na = and(x0, b)\nb = and(x0, a)\ny = id(a)\noutputs y\n",
               "deep-parens": "inputs x0\ny = and(" + "(" * 100_000 + "\noutputs y\n", "nul": valid.replace("b =", "\x00b =")}
    return _text_cases(root, "fg", ".fg", valid, hostile, original=original)


def _idx_cases(root: Path) -> list[Case]:
    import gzip

    from functiongraphs.mnist import write_idx

    base = root / "idx"
    base.mkdir(parents=True)
    array = np.arange(60, dtype=np.uint8).reshape(3, 4, 5)
    valid = write_idx(base / "valid-idx3-ubyte", array)
    raw = valid.read_bytes()
    gz = gzip.compress(raw, mtime=0)
    cases = [Case("idx", "valid", valid, "accept", ("idx", array))]
    (base / "valid.gz").write_bytes(gz)
    cases.append(Case("idx", "valid-gz", base / "valid.gz", "accept", ("idx", array)))
    hostile = {"empty": b"", "magic": b"\x01\x02" + raw[2:], "code": raw[:2] + b"\x07" + raw[3:],
               "truncated": raw[:-3], "longer": raw + b"\x00", "header-huge": raw[:4] + struct.pack(">III", 2**31, 2**31, 2**31),
               "gz-corrupt": gz[:12] + bytes(b ^ 0x55 for b in gz[12:-8]) + gz[-8:], "gz-truncated": gz[:-5],
               "gz-bomb": gzip.compress(b"\x00\x00\x08\x01" + struct.pack(">I", 300_000_000) + b"\x00" * 300_000_000,
                                        mtime=0) if False else gzip.compress(raw[:4] + b"\x00" * 50_000_000, mtime=0)}
    for label, data in hostile.items():
        (base / label).write_bytes(data)
        cases.append(Case("idx", label, base / label, "refuse"))
    os.mkfifo(base / "fifo")
    cases.append(Case("idx", "fifo", base / "fifo", "refuse"))
    return cases


def make_cases(root: Path, template_run: Path | None, quick: bool = False) -> list[Case]:
    """Write every hostile input under ``root``; ``template_run`` is a real run directory to vary."""
    cases = _net_cases(root, quick)
    if template_run is not None:
        cases += _rundir_cases(root, template_run, quick)
    cases += _config_cases(root) + _experiment_cases(root) + _records_cases(root) + _fg_cases(root) + _idx_cases(root)
    return cases


# ------------------------------------------------------------------------------------------ readers
def _digest(value) -> Any:
    """A comparable summary of what a reader returned."""
    from functiongraphs import FunctionGraph

    from sculpt.config import RunConfig
    from sculpt.nets import PrunedNet

    if isinstance(value, FunctionGraph):
        return ("fg", (value.inputs, value.gates, value.outputs))
    if isinstance(value, RunConfig):
        return ("config", value)
    if isinstance(value, tuple):
        return value
    if isinstance(value, np.ndarray):
        return ("idx", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, PrunedNet) or hasattr(value, "masks"):
        masks = [np.asarray(m, dtype=bool).tobytes() + str(np.shape(m)).encode() for m in value.masks]
        weights = None if value.weights is None else [np.asarray(w, np.float32).tobytes() for w in value.weights]
        return ("net", masks, weights)
    return ("other", repr(value)[:200])


def _expected_digest(case: Case):
    from sculpt.config import RunConfig

    kind = case.original[0] if case.original else None
    if kind == "net":
        _, masks, weights = case.original
        return ("net", [m.tobytes() + str(m.shape).encode() for m in masks],
                None if weights is None else [np.asarray(w, np.float32).tobytes() for w in weights])
    if kind == "fg":
        g = case.original[1]
        return ("fg", (g.inputs, g.gates, g.outputs))
    if kind == "idx":
        a = case.original[1]
        return ("idx", a.dtype.str, a.shape, a.tobytes())
    if kind == "config":
        import tomllib

        return ("config", RunConfig.from_dict(tomllib.loads(case.original[1])))
    return case.original


def _cli(argv: list[str]) -> Callable[[], Any]:
    def call():
        from sculpt.cli import main

        code = main(argv)
        return ("cli", code)
    return call


def readers(case: Case, scratch: Path) -> list[tuple[str, Callable[[], Any]]]:
    """(name, call) pairs that read ``case``; a call returns what it read or raises."""
    p = str(case.path)
    out = str(scratch / "out")
    if case.kind == "npz":
        from sculpt.commands._inputs import load_network_argument
        from sculpt.nets import PrunedNet

        calls = [("load_network_argument", lambda: load_network_argument(p)),
                 ("cli detect", _cli(["detect", p, "-o", out + ".json"])),
                 ("cli ncut", _cli(["ncut", p, "--shuffles", "2", "--k", "2"])),
                 ("cli render", _cli(["render", p if p.endswith(".npz") else p, "-o", out]))]
        if case.name.startswith(("snapshot", "header", "valid-snapshot", "bitflip")):
            calls.append(("PrunedNet.load", lambda: PrunedNet.load(p)))
        return calls
    if case.kind == "rundir":
        from sculpt.render.files import render_run_dir

        return [("render_run_dir", lambda: (render_run_dir(p, out, formats=()), "ok")[1]),
                ("cli render", _cli(["render", p, "-o", out]))]  # detect and ncut read only net.npz
    if case.kind == "config":
        from sculpt.config import RunConfig

        calls = [("RunConfig.from_file", lambda: RunConfig.from_file(p))]
        if case.expect != "accept":
            calls.append(("cli run --config", _cli(["run", "--config", p, "--out", out, "--no-progress",
                                                    "--no-spectral"])))
        return calls
    if case.kind == "experiment":
        from sculpt.experiments.config import load_experiment

        return [("load_experiment", lambda: ("experiment", len(load_experiment(p)))),
                ("cli grid --dry-run", _cli(["grid", p, "--dry-run"]))]
    if case.kind == "records":
        from sculpt.experiments.report import latest_records

        return [("latest_records", lambda: ("records", len(latest_records(p)[0]))),
                ("cli report", _cli(["report", p, "-o", out]))]
    if case.kind == "fg":
        import functiongraphs as fg

        calls = [("functiongraphs.load", lambda: fg.load(p)), ("cli graph check", _cli(["graph", "check", p]))]
        if case.name != "fifo":
            def parse_text():
                text = Path(p).read_bytes().decode("utf-8")  # what a user passes to parse()
                return fg.parse(text, source=p)
            if case.name != "latin1" and case.name != "binary":
                calls.append(("functiongraphs.parse", parse_text))
        return calls
    if case.kind == "idx":
        from functiongraphs.mnist import read_idx

        return [("read_idx", lambda: read_idx(p))]
    raise ValueError(case.kind)


# ------------------------------------------------------------------------------------------ running
def _run_isolated(call: Callable[[], Any], timeout: float, memory_bytes: int) -> dict:
    """Run ``call`` in a forked child: {"status": ok|error|traceback|hang, ...}."""
    read_fd, write_fd = os.pipe()
    err_file = tempfile.TemporaryFile()
    pid = os.fork()
    if pid == 0:  # child
        status = 1
        try:
            os.close(read_fd)
            os.setpgid(0, 0)
            soft = memory_bytes
            resource.setrlimit(resource.RLIMIT_AS, (soft, soft))
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, 0)
            os.dup2(devnull, 1)
            os.dup2(err_file.fileno(), 2)
            # under pytest sys.stdout/sys.stderr are capture objects, not fds 1 and 2: rebind them
            sys.stdout = open(1, "w", closefd=False)
            sys.stderr = open(2, "w", closefd=False)
            result = _classify_call(call, err_file)
            os.write(write_fd, json.dumps(result, default=repr).encode())
            status = 0
        except BaseException:  # noqa: BLE001 - the child must never return into the probe
            pass
        finally:
            os._exit(status)
    os.close(write_fd)
    chunks = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            _kill(pid)
            os.close(read_fd)
            return {"status": "hang"}
        ready, _, _ = select.select([read_fd], [], [], left)
        if ready:
            chunk = os.read(read_fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    os.close(read_fd)
    _, wstatus = os.waitpid(pid, 0)
    if not chunks:
        return {"status": "traceback", "detail": f"child died (wait status {wstatus})"}
    return json.loads(b"".join(chunks))


def _kill(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)


def _classify_call(call, err_file) -> dict:
    from functiongraphs.errors import GraphError

    from sculpt.errors import SculptError

    try:
        value = call()
    except (SculptError, GraphError) as exc:
        message = str(exc)
        if "\n" in message or not message.strip():
            return {"status": "traceback", "detail": f"multi-line or empty message: {message[:200]!r}"}
        return {"status": "error", "detail": message[:300]}
    except BaseException as exc:  # noqa: BLE001 - that is what the probe counts
        return {"status": "traceback", "detail": f"{type(exc).__name__}: {str(exc)[:200]}"}
    if isinstance(value, tuple) and value and value[0] == "cli":
        code = value[1]
        sys.stderr.flush()
        err_file.seek(0)
        lines = [l for l in err_file.read().decode("utf-8", "replace").splitlines()
                 if l.strip() and not l.startswith("warning:")]
        errors = [l for l in lines if ": error: " in l]
        if code == 2:
            if len(errors) != 1 or "Traceback" in "\n".join(lines):
                return {"status": "traceback", "detail": "exit 2 without exactly one error line: " + " | ".join(lines)[:300]}
            return {"status": "error", "detail": errors[0][:300]}
        if code in (0, 1):
            return {"status": "ok", "cli": True}
        return {"status": "traceback", "detail": f"exit code {code}"}
    return {"status": "ok", "digest": _digest_text(value)}


def _digest_text(value) -> str:
    import hashlib

    return hashlib.sha256(repr(_digest(value)).encode()).hexdigest()


def judge(case: Case, reader: str, result: dict, report: Report) -> None:
    """Count one reader's outcome on one case."""
    label = f"{case.kind}/{case.name} [{reader}]"
    status = result["status"]
    if status in ("traceback", "hang"):
        report.add(status, f"{label}: {result.get('detail', '')}")
        return
    if case.expect == "refuse":
        if status == "ok" and reader not in case.accepted_by:
            report.add("wrongly_accepted", label)
        return
    if status == "error":
        if case.expect == "accept" and reader not in case.refused_by:
            report.add("data_lost", f"{label}: refused a valid file: {result.get('detail')}")
        return
    if result.get("cli") or case.original is None:
        return
    import hashlib

    want = hashlib.sha256(repr(_expected_digest(case)).encode()).hexdigest()
    if result.get("digest") != want:
        report.add("data_lost" if case.expect == "accept" else "wrongly_accepted", f"{label}: read back other content")


def make_template_run(root: Path) -> Path:
    """A small real run directory (trained in a few seconds) whose side files the probe replaces."""
    from sculpt.run import run

    out = root / "template-run"
    run("input-separable", arch=[12], epochs=15, p_u=[10], p_e=[1], config={"graph": "input-separable"},
        out=out, progress=False, spectral=False)
    for picture in list(out.glob("*.svg")) + list(out.glob("*.png")):
        picture.unlink()
    return out


def probe(root: Path, quick: bool = False, timeout: float = 20.0, memory_gb: float = 3.0,
          progress: bool = False, template_run: Path | None = None, kinds: tuple | None = None,
          cli: bool = True) -> Report:
    """Write the hostile cases under ``root``, run every reader on each, and count the outcomes.

    ``kinds`` limits the cases to those kinds (None: all; without ``rundir`` no run is trained),
    ``cli=False`` runs only the library readers (the CLI commands add the drawing and n-cut work).
    """
    import warnings

    import sculpt.cli  # noqa: F401 - import everything once, before forking
    from sculpt.cli import build_parser

    build_parser()
    import sculpt.detect, sculpt.spectral, sculpt.render.files, sculpt.experiments.report  # noqa: E401,F401

    warnings.simplefilter("ignore")
    os.environ.setdefault("MPLBACKEND", "Agg")
    if template_run is None and (kinds is None or "rundir" in kinds):
        template_run = make_template_run(root)
    cases = [c for c in make_cases(root / "cases", template_run, quick=quick) if kinds is None or c.kind in kinds]
    base_vm = _vm_size()
    report = Report()
    for i, case in enumerate(cases):
        for name, call in readers(case, root / "scratch" / f"{i}"):
            if not cli and name.startswith("cli "):
                continue
            (root / "scratch" / f"{i}").mkdir(parents=True, exist_ok=True)
            result = _run_isolated(call, timeout, base_vm + int(memory_gb * 2 ** 30))
            report.runs += 1
            judge(case, name, result, report)
            if progress:
                print(f"{case.kind}/{case.name} [{name}]: {result['status']} {result.get('detail', '')[:120]}",
                      file=sys.stderr)
        shutil.rmtree(root / "scratch" / f"{i}", ignore_errors=True)
    report.cases = len(cases)
    return report


def _vm_size() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4 * 2 ** 30


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench probe", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer bit flips and truncations")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds before a reader counts as hanging")
    parser.add_argument("--verbose", "-v", action="store_true", help="one line per reader run")
    parser.add_argument("--keep", default=None, help="write the cases here and keep them")
    args = parser.parse_args(argv)
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="sculpt-probe-"))
    start = time.monotonic()
    try:
        report = probe(root, quick=args.quick, timeout=args.timeout, progress=args.verbose)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(f"{report.cases} hostile inputs, {report.runs} reader runs, {time.monotonic() - start:.0f} s "
          f"(load average {os.getloadavg()[0]:.2f})")
    for outcome in OUTCOMES:
        print(f"{outcome}: {report.counts[outcome]}")
        for example in report.examples[outcome][:400]:
            print(f"    {example}")
    return 0 if not any(report.counts.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
