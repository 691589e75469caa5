"""``sculpt ncut RUN_DIR|NET.npz``: spectral n-cut clusterability next to the detected modules."""
from __future__ import annotations

from pathlib import Path

from sculpt.atomic import write_json_atomic
from sculpt.commands._inputs import load_network_argument


def register(subparsers) -> None:
    p = subparsers.add_parser("ncut", help="spectral n-cut clusterability of a saved network",
                              description="Spectral clustering of the |W| graph, n-cut against shuffled "
                                          "networks (Z, p), and the n-cut of the detected modules.")
    p.add_argument("path", help="a run directory holding net.npz, a PrunedNet .npz, or a plain .npz "
                                "with weight0.. (and optionally mask0..) arrays, out x in")
    p.add_argument("--k", default="12", help="number of clusters, or 'modules' (number of detected "
                                            "modules) or 'eigengap' (default 12, the paper's)")
    p.add_argument("--shuffles", type=int, default=50, help="number of shuffled networks (default 50)")
    p.add_argument("--method", choices=("layer", "layer_nonzero"), default="layer",
                   help="shuffle all weights of a layer, or only its non-zero ones (topology kept)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dead", choices=("degree0", "components", "largest"), default="degree0",
                   help="which units to drop before clustering (default degree0, the paper's)")
    p.add_argument("--ties", choices=("conservative", "paper", "mid"), default="conservative",
                   help="how shuffles equal to the observed n-cut count in p (default: against significance)")
    p.add_argument("--jobs", type=int, default=1, help="parallel workers for the shuffles")
    p.add_argument("--json", dest="json_out", default=None, help="also write the full summary to this JSON file")
    p.set_defaults(func=run)


def format_summary(s: dict) -> str:
    """The lines `sculpt ncut` prints."""
    g = s["graph"]
    dropped = f"{g['n_dropped']} unit(s) dropped ({g['dead']})"
    lines = [f"weight graph: {g['n_nodes']} nodes, {g['n_edges']} edges, {dropped}, {g['n_components']} component(s)",
             f"k = {s['k']} ({s['k_choice']['policy']}: {s['k_choice']['reason']})",
             f"n-cut of the spectral partition: {s['ncut']:.4f}",
             f"{s['method']} shuffles ({s['n_shuffles']}): mean {s['shuffle_mean']:.4f}, std {s['shuffle_std']:.4f}",
             f"Z = {s['z']:.3f}" if isinstance(s["z"], float) else f"Z = {s['z']}",
             f"p = {s['p']:.4f} (ties {s['ties']}; the paper's count gives {s['p_paper']:.4f})"]
    if "modules" in s:
        m = s["modules"]
        lines.append(f"n-cut of the {m['n_modules']} detected module(s): {m['ncut']:.4f} "
                     f"({m['n_unassigned']} unit(s) outside modules, each its own cluster); "
                     f"vs spectral: ARI {m['ari_vs_spectral']:.3f}, NMI {m['nmi_vs_spectral']:.3f}")
    else:
        lines.append(f"detected modules: skipped ({s['modules_note']})")
    for w in s["warnings"]:
        lines.append(f"warning: {w}")
    return "\n".join(lines)


def run(args) -> int:
    from sculpt.spectral import summary

    net = load_network_argument(args.path, need_weights=True)
    s = summary(net, k=args.k, n_shuffles=args.shuffles, method=args.method, seed=args.seed, dead=args.dead,
                n_jobs=args.jobs, ties=args.ties, progress=getattr(args, "progress", True))
    print(format_summary(s))
    if args.json_out:
        write_json_atomic(Path(args.json_out), s)
    return 0
