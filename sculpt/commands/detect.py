"""``sculpt detect RUN_DIR|NET.npz``: modules and hierarchy of a saved network, written to JSON."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from sculpt.errors import SnapshotError

SNAPSHOT_NAMES = ("net.npz",)  # what `sculpt run` writes into a run directory


def register(subparsers) -> None:
    p = subparsers.add_parser("detect", help="detect the modules and hierarchy of a saved network",
                              description="Detect the modules of a pruned network (spec 5) and "
                                          "write them with their hierarchy to modules.json.")
    p.add_argument("path", help="a run directory holding net.npz, a PrunedNet .npz, or a plain "
                                ".npz with mask0..maskL-1 (out x in)")
    p.add_argument("--feature-step-size", type=int, default=None,
                   help="reachability horizon in hops (default: number of weight layers)")
    p.add_argument("--clusterability-step-size", type=int, default=None,
                   help="layers seen by the separability tests (default: number of weight layers)")
    p.add_argument("--modularity-threshold", type=float, default=-0.2,
                   help="t_m: weaker best modularity lets the separability tests decide (default -0.2)")
    p.add_argument("--merge-threshold", type=float, default=0.9,
                   help="delta: edge fraction above which adjacent clusters merge (default 0.9)")
    p.add_argument("-o", "--output", default=None,
                   help="where to write the JSON (default: modules.json beside the network)")
    p.set_defaults(func=run)


def find_snapshot(path: Path) -> Path:
    """The network file behind a CLI argument: the file itself, or the snapshot in a run dir."""
    if path.is_file():
        return path
    if not path.is_dir():
        raise SnapshotError(f"{path}: no such file or directory")
    for name in SNAPSHOT_NAMES:
        if (path / name).is_file():
            return path / name
    candidates = sorted(path.glob("*.npz"))
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise SnapshotError(f"{path}: no network snapshot (.npz) in this directory")
    raise SnapshotError(f"{path}: several .npz files ({', '.join(c.name for c in candidates)}); "
                        "name the one to use")


def load_masks(path: Path) -> list[np.ndarray]:
    """Masks of a PrunedNet snapshot, or of a plain .npz holding mask0..maskL-1."""
    try:
        with np.load(path, allow_pickle=False) as data:
            keys = set(data.files)
            if "header" in keys:
                from sculpt.nets import PrunedNet

                return [np.asarray(m, dtype=bool) for m in PrunedNet.load(path).masks]
            n = 0
            while f"mask{n}" in keys:
                n += 1
            if n == 0:
                raise SnapshotError(f"{path}: no 'header' (PrunedNet) and no 'mask0' array inside")
            return [data[f"mask{l}"] for l in range(n)]
    except (OSError, ValueError) as exc:
        raise SnapshotError(f"{path}: not a readable .npz file ({exc})") from None


def _write_json_atomic(target: Path, payload: dict) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=1)
            fh.write("\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def format_detection(detection) -> str:
    """Human-readable summary: condensed arch, modules with their units, hierarchy."""
    h = detection.hierarchy
    lines = [f"condensed architecture: {detection.condensed_arch}",
             f"clusters per layer: {detection.k_per_layer}",
             f"{detection.num_modules} modules:"]
    for m in detection.modules:
        first, last = m.layer_span
        units = "  ".join(f"L{layer}: {list(u)}" for layer, u in m.units.items())
        lines.append(f"  module {m.id} (layers {first}-{last}, level {h.level_of(m.id)}): {units}")
    lines.append("hierarchy (edges between modules):")
    for a, b, data in sorted(h.graph.edges(data=True)):
        lines.append(f"  {a} -> {b}  ({data['edges']} edges)")
    lines.append(f"input modules: {list(h.input_modules)}   output modules: {list(h.output_modules)}"
                 f"   reused: {list(h.reused_modules)}")
    return "\n".join(lines)


def run(args) -> int:
    from sculpt.detect import detect_modules

    path = Path(args.path)
    snapshot = find_snapshot(path)
    detection = detect_modules(load_masks(snapshot), feature_step_size=args.feature_step_size,
                               clusterability_step_size=args.clusterability_step_size,
                               modularity_threshold=args.modularity_threshold,
                               merge_threshold=args.merge_threshold)
    output = Path(args.output) if args.output else snapshot.parent / "modules.json"
    payload = {"source": str(snapshot), **detection.to_dict()}
    _write_json_atomic(output, payload)
    print(format_detection(detection))
    print(f"wrote {output}")
    return 0
