"""``sculpt detect RUN_DIR|NET.npz``: modules and hierarchy of a saved network, written to JSON.

A ``sculpt run`` directory is left as it is: its ``modules.json``, ``hierarchy.json``,
``score.json`` and drawings come from one detection and must agree, so detecting again (say with
other thresholds) prints the result and writes it only where ``-o`` says, never over the run's
own files.
"""
from __future__ import annotations

from pathlib import Path

from sculpt.atomic import write_json_atomic
from sculpt.commands._inputs import load_network_argument
from sculpt.errors import ConfigError


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
                   help="where to write the JSON (default: modules.json beside a network file; nothing "
                        "for a sculpt run directory, whose own modules.json is never rewritten)")
    p.set_defaults(func=run)


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

    net = load_network_argument(args.path)
    snapshot = net.source
    detection = detect_modules(net.masks, feature_step_size=args.feature_step_size,
                               clusterability_step_size=args.clusterability_step_size,
                               modularity_threshold=args.modularity_threshold,
                               merge_threshold=args.merge_threshold)
    output = _output_path(args.output, snapshot)
    print(format_detection(detection))
    if output is None:
        print(f"not written: {snapshot.parent} is a sculpt run directory, whose modules.json belongs with its "
              "hierarchy.json, score.json and drawings; save this detection with -o FILE")
        return 0
    payload = {"source": str(snapshot), **detection.to_dict()}
    write_json_atomic(output, payload)
    print(f"wrote {output}")
    return 0


def _output_path(option: str | None, snapshot: Path) -> Path | None:
    """Where the detection goes: ``-o``, else ``modules.json`` beside the network; None inside a run.

    A run directory is never rewritten (its files agree with each other): without ``-o`` nothing
    is written, and ``-o`` naming one of the run's own files is refused.
    """
    from sculpt.run import RUN_FILES, is_run_dir

    if option is None:
        return None if is_run_dir(snapshot.parent) else snapshot.parent / "modules.json"
    output = Path(option)
    if output.name in RUN_FILES and is_run_dir(output.parent):
        raise ConfigError(f"-o {output}: that is a file of the run directory {output.parent}, written with "
                          "its other files; choose a file outside the run's own")
    return output
