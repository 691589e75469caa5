"""Oracle: the paper's own pruning code, logged round by round (a development tool).

Runs the two CLI stages of the Neural Sculpting reference code (commit dae13ab, patched by
``../shared/tools/paperbench/setup.sh``) exactly as its README does: one process for the unit stage
(``--prune_units 1``), one for the edge stage (``--prune_units 0``, by default the five P_e values
[2.5, 2.0, 1.5, 1.0, 0.5] in one process, as the paper's shell scripts ran them). Nothing of the
paper's code is changed: this driver wraps a few of its module functions at run time to record

* every round: the cumulative percentage tried, whether it was trained, accepted, the surviving
  hidden units per layer and edges of the tried masks, the accuracy of the kept epoch and the
  kept (best) epoch, re-derived from the returned per-epoch curves with the code's own rule;
* the dense training and the retraining at the start of the edge stage;
* the final mask of every P_e search (the ``.pkl`` the paper's code writes).

Usage (in the PAPER's venv, e.g. ``$NSREF/venv/bin/python``):

    python bench/fidelity/oracle.py --src $NSREF/src --family exemplar --modularity 4 2 4 \
        --arch 4 24 4 --seed 0 --lr 0.05 --batch-size 8 --epochs 15 --pu 70 --pe 2.5 --out t.json

The JSON it writes is the format ``bench/fidelity/compare.py`` reads (and the committed
``tests/data/replay_oracle.json``). The project never needs this file at run time.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def best_epoch(losses, accs):
    """The index of the epoch ``utils/train.py`` keeps, from its returned curves (same rule)."""
    avg_min, acc_max, kept = 1000.0, 0.0, None
    for e, (loss, acc) in enumerate(zip(losses, accs)):
        if loss < 1000.0:
            if avg_min >= loss and acc >= acc_max:
                kept, avg_min, acc_max = e, loss, acc
            elif acc > acc_max:
                kept, avg_min, acc_max = e, loss, acc
        elif acc >= acc_max:
            kept, acc_max = e, acc
    return kept


def _mask_summary(masks):
    import numpy as np

    ms = [np.asarray(m.detach().cpu().numpy() if hasattr(m, "detach") else m) != 0 for m in masks]
    units = [int((m.sum(axis=1) > 0).sum()) for m in ms[:-1]]
    return {"units": units, "edges": int(sum(int(m.sum()) for m in ms))}


def encode_masks(masks):
    """Masks as lists of '0'/'1' row strings (compact, diff-able JSON)."""
    import numpy as np

    out = []
    for m in masks:
        a = np.asarray(m.detach().cpu().numpy() if hasattr(m, "detach") else m) != 0
        out.append(["".join("1" if v else "0" for v in row) for row in a])
    return out


def restricted_pickle():
    """A ``pickle`` stand-in whose load() only rebuilds tensors and containers (no other globals).

    The paper's dataset and mask files are pickles; this loads them without arbitrary code. Works
    with torch 1.12 (no ``weights_only``) and 2.x.
    """
    import collections
    import io
    import pickle
    import types

    import torch
    import torch._utils

    def load_storage(b):
        return torch.load(io.BytesIO(b), map_location="cpu", **_weights_only())

    allowed = {("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
               ("torch.storage", "_load_from_bytes"): load_storage,
               ("collections", "OrderedDict"): collections.OrderedDict}

    class Restricted(pickle.Unpickler):
        def find_class(self, module, name):
            try:
                return allowed[(module, name)]
            except KeyError:
                raise pickle.UnpicklingError(f"oracle: forbidden global {module}.{name}") from None

    shim = types.ModuleType("pickle_restricted")
    shim.load = lambda f, **k: Restricted(f, **k).load()
    shim.dump = pickle.dump
    shim.HIGHEST_PROTOCOL = pickle.HIGHEST_PROTOCOL
    shim.Unpickler = Restricted
    return shim


def _weights_only() -> dict:
    import torch

    major, minor = (int(x) for x in torch.__version__.split(".")[:2])
    return {"weights_only": True} if (major, minor) >= (1, 13) else {}


def _stage(ns) -> int:
    """One CLI stage of the paper's code in this process, with logging wrappers."""
    import runpy

    import torch

    torch.set_num_threads(1)
    if not _weights_only():  # torch 1.12: the paperbench patch's weights_only=True is unknown
        real_load = torch.load

        def load(f, map_location=None, weights_only=False, **k):
            return real_load(f, map_location=map_location, pickle_module=restricted_pickle())

        torch.load = load
    src = os.path.abspath(ns.src)
    sys.path.insert(0, src)
    os.chdir(src)
    import run.prune
    import utils.load
    import utils.prune
    import utils.prune_units
    import utils.train

    shim = restricted_pickle()
    utils.load.pkl = shim
    events = []

    real_train = utils.train.train_network

    def train_network(*a, **k):
        out = real_train(*a, **k)
        losses = [float(x) for x in out[2]]
        accs = [float(x) for x in out[3]]
        events.append({"ev": "train", "best_epoch": best_epoch(losses, accs), "accuracy": float(out[5]),
                       "val_loss": losses, "val_acc": accs})
        return out

    real_units = utils.prune_units.prune_units

    def prune_units(args, network, prune_perc, dev, layer=None, mask=None):
        out = real_units(args, network, prune_perc, dev, layer=layer, mask=mask)
        events.append(dict({"ev": "prune", "p": float(prune_perc)}, **_mask_summary(out[0])))
        return out

    real_mag = utils.prune.magnitude_prune

    def magnitude_prune(network, prune_perc, dev):
        out = real_mag(network, prune_perc, dev)
        events.append(dict({"ev": "prune", "p": float(prune_perc)}, **_mask_summary(out[0])))
        return out

    def log_print(*a, **k):
        if a and isinstance(a[0], str) and a[0].strip().rstrip(":").strip() in (
                "Pruning Percentage", "Edge Pruning Percentage"):
            events.append({"ev": "round", "p": float(a[1])})

    real_save = torch.save

    def save(obj, path, *a, **k):
        events.append({"ev": "save", "path": os.path.basename(str(path))})
        return real_save(obj, path, *a, **k)

    utils.train.train_network = train_network
    utils.prune_units.prune_units = prune_units
    utils.prune.magnitude_prune = magnitude_prune
    run.prune.print = log_print
    torch.save = save

    sys.argv = ["main.py"] + ns.argv
    with open(os.devnull, "w") as devnull:
        old = sys.stdout
        sys.stdout = devnull
        try:
            runpy.run_path(os.path.join(src, "main.py"), run_name="__main__")
        finally:
            sys.stdout = old
    with open(ns.events, "w") as f:
        json.dump(events, f)
    return 0


def _rounds(events):
    """Group a stage's event list into (first training, [searches of rounds])."""
    first, searches, cur, rnd = None, [], [], None
    for ev in events:
        if ev["ev"] == "round":
            rnd = {"p": round(ev["p"], 10), "trained": False, "accepted": False}
            cur.append(rnd)
        elif ev["ev"] == "prune":
            rnd.update(units=ev["units"], edges=ev["edges"])
        elif ev["ev"] == "train":
            rec = {"accuracy": ev["accuracy"], "best_epoch": ev["best_epoch"]}
            if rnd is None:
                first = rec
            else:
                rnd.update(rec, trained=True, accepted=bool(ev["accuracy"] >= 100.0))
        elif ev["ev"] == "save" and ev["path"].endswith(".pth"):
            # the end of a search (torch.save of its model); pickling tensors into the result
            # .pkl files calls torch.save on byte buffers too, which are not search ends
            searches.append(cur)
            cur, rnd = [], None
    return first, searches


def run_trial(src, python, family, modularity, arch, seed, lr, batch_size, epochs, p_u, p_e, workdir=None):
    """Both stages of one trial; returns the trial record (dict)."""
    work = workdir or tempfile.mkdtemp(prefix="oracle_")
    res = os.path.join(work, "results") + "/"
    common = ["--task", "boolean", "--dataset_path", f"./datasets/{family}/", "--result_path", res,
              "--modularity", *map(str, modularity), "--arch", *map(str, arch), "--lr", str(lr),
              "--batch_size", str(batch_size), "--epochs", str(epochs), "--seed", str(seed),
              "--experiment", "prune", "--unit_pruning_gradient", str(float(p_u)),
              "--prune_acc_threshold", "100.0"]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    logs = {}
    t0 = time.time()
    for name, extra in (("unit", ["--prune_units", "1"]),
                        ("edge", ["--prune_units", "0", "--pruning_gradient", *map(str, map(float, p_e))])):
        ev = os.path.join(work, f"{name}.events.json")
        if not (workdir and os.path.exists(ev)):  # --workdir of a finished run: assemble only
            subprocess.run([python, os.path.abspath(__file__), "--stage", "--src", src, "--events", ev, "--",
                            *common, *extra], check=True, env=env)
        with open(ev) as f:
            logs[name] = json.load(f)
    dense, unit_searches = _rounds(logs["unit"])
    edge_start, edge_searches = _rounds(logs["edge"])
    shim = restricted_pickle()
    mdir = os.path.join(res, str(list(modularity)), "Masks", str(list(arch)))
    base = f"pruneactivation_gradient_productboolean{lr}{batch_size}{epochs}{float(p_u)}"
    searches = {}
    for pe, rounds in zip(p_e, edge_searches):
        path = os.path.join(mdir, f"{base}{float(pe)}None1.0_Mask{seed}.pkl")
        with open(path, "rb") as f:
            masks = shim.load(f)
        searches[str(float(pe))] = {"rounds": rounds, "masks": encode_masks(masks), **_mask_summary(masks)}
    with open(os.path.join(mdir, f"{base}None1.0_Mask{seed}.pkl"), "rb") as f:
        unit_masks = shim.load(f)
    return {"family": family, "modularity": list(modularity), "arch": list(arch), "seed": seed, "lr": lr,
            "batch_size": batch_size, "epochs": epochs, "p_u": float(p_u), "p_e": [float(x) for x in p_e],
            "dense": dense, "unit": {"rounds": unit_searches[0] if unit_searches else [],
                                     **_mask_summary(unit_masks)},
            "edge_start": edge_start, "edge": searches, "wall_s": round(time.time() - t0, 1)}


def main(argv) -> int:
    if "--stage" in argv:
        cut = argv.index("--")
        p = argparse.ArgumentParser()
        p.add_argument("--stage", action="store_true")
        p.add_argument("--src", required=True)
        p.add_argument("--events", required=True)
        ns = p.parse_args(argv[:cut])
        ns.argv = argv[cut + 1:]
        return _stage(ns)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--src", required=True, help="$NSREF/src (patched paper code)")
    p.add_argument("--family", default="exemplar")
    p.add_argument("--modularity", nargs="+", type=int, required=True)
    p.add_argument("--arch", nargs="+", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--pu", type=float, required=True)
    p.add_argument("--pe", nargs="+", type=float, default=[2.5, 2.0, 1.5, 1.0, 0.5])
    p.add_argument("--out", required=True)
    p.add_argument("--workdir", help="scratch folder of the run (default: a new temporary one); "
                                     "if it holds a finished run, only assemble its record")
    ns = p.parse_args(argv)
    rec = run_trial(ns.src, sys.executable, ns.family, ns.modularity, ns.arch, ns.seed, ns.lr, ns.batch_size,
                    ns.epochs, ns.pu, ns.pe, workdir=ns.workdir)
    with open(ns.out, "w") as f:
        json.dump(rec, f)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
