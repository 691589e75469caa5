"""``sculpt run GRAPH``: train, prune, detect, score and draw one task; print a short summary."""
from __future__ import annotations

import argparse
from pathlib import Path

from sculpt.config import TIE_BREAKS


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "run", help="train, prune, detect, score and draw one task (GRAPH.fg or a catalog name)",
        description="Train an MLP on a function graph, prune it (unit then edge pruning over the (p_u, p_e) "
                    "grid), detect its modules, score them against the true structure and draw it all "
                    "into a run directory. Command-line values override --config.")
    p.add_argument("graph", metavar="GRAPH.fg|NAME", nargs="?",
                   help="a .fg file, a catalog name or an MNIST task (mnist-two-digits, mnist-hierarchical,"
                        " mnist-halves-same, mnist-halves-diff; may come from --config instead)")
    p.add_argument("--preset", metavar="NAME",
                   help="MNIST tasks only: settings preset, 'small' (2-core CPU, default) or 'paper'; "
                        "the other options override it")
    p.add_argument("--arch", type=int, nargs="+", metavar="WIDTH", help="hidden-layer widths (default: 24 24)")
    p.add_argument("--seed", type=int, help="seed of initialisation, batches and noise (default 0)")
    p.add_argument("--lr", type=float, help="learning rate (default: per graph)")
    p.add_argument("--batch-size", type=int, help="batch size (default: per graph)")
    p.add_argument("--epochs", type=int, help="epochs of every (re)training (default: per graph)")
    p.add_argument("--p-u", type=float, nargs="+", metavar="PCT",
                   help="unit-pruning rates in percent; one value runs one trial (default: 5 10 ... 70)")
    p.add_argument("--p-e", type=float, nargs="+", metavar="PCT",
                   help="edge-pruning rates in percent (default: 2.5 2 1.5 1 0.5)")
    p.add_argument("--modularity-threshold", type=float, help="detection t_m (default -0.2)")
    p.add_argument("--merge-threshold", type=float, help="detection merge delta (default 0.9)")
    p.add_argument("--tie-break", choices=TIE_BREAKS,
                   help="choice among equally sparse networks (default: order)")
    p.add_argument("--replay", choices=["paper"],
                   help="prune by replaying the paper's own code random number for random number "
                        "(default: sculpt's pipeline)")
    p.add_argument("--loader-workers", type=int, metavar="N",
                   help="with --replay paper: DataLoader workers to replay (2 as published, 0 off; default 2)")
    p.add_argument("--out", type=Path, help="run directory (default: runs/<graph>-<timestamp>)")
    p.add_argument("--force", action="store_true", help="replace an existing run directory")
    p.add_argument("--config", type=Path, metavar="FILE", help="settings from a .toml file or a saved config.json")
    p.add_argument("--no-progress", action="store_true", help="no progress bar or step messages")
    p.add_argument("--no-spectral", action="store_true", help="skip the spectral clusterability score")
    p.add_argument("--shuffles", type=int, default=20, metavar="N",
                   help="layer shuffles of the spectral null model (default 20; p cannot go below 1/(N+1): "
                        "0.048 at 20, 0.0196 at the paper's 50)")
    p.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    from sculpt.errors import ConfigError
    from sculpt.run import run

    if args.graph is None and args.config is None:
        raise ConfigError("give a GRAPH (.fg file or catalog name) or --config FILE")
    from functiongraphs import mnist

    if args.graph in mnist.TASKS:
        return _run_mnist(args)
    if args.preset is not None:
        raise ConfigError(f"--preset applies to the MNIST tasks ({', '.join(mnist.TASKS)}), not to {args.graph!r}")
    result = run(args.graph, arch=args.arch, seed=args.seed, lr=args.lr, batch_size=args.batch_size,
                 epochs=args.epochs, p_u=args.p_u, p_e=args.p_e,
                 modularity_threshold=args.modularity_threshold, merge_threshold=args.merge_threshold,
                 tie_break=args.tie_break, out=args.out, force=args.force, progress=not args.no_progress,
                 config=args.config, spectral=not args.no_spectral, replay=args.replay,
                 loader_workers=args.loader_workers, shuffles=args.shuffles)
    print(result.summary())
    return 0


def _run_mnist(args: argparse.Namespace) -> int:
    """``sculpt run <mnist task> --preset NAME``: the preset's data and settings, options override them."""
    from sculpt import presets
    from sculpt.errors import ConfigError
    from sculpt.run import run

    if args.config is not None:
        raise ConfigError(f"--config does not apply to the MNIST task {args.graph!r}: use --preset and options")
    preset = presets.get(args.graph, args.preset or "small")
    task = preset.build_task()  # data sampling uses the preset's seed; --seed seeds the network

    def pick(value, default):
        return default if value is None else value

    base = {"graph": args.graph, "accuracy_threshold": preset.accuracy_threshold, "noise": preset.noise}
    result = run(task, arch=pick(args.arch, list(preset.hidden)), seed=pick(args.seed, preset.seeds[0]),
                 lr=pick(args.lr, preset.lr), batch_size=pick(args.batch_size, preset.batch_size),
                 epochs=pick(args.epochs, preset.epochs), p_u=pick(args.p_u, list(preset.p_u)),
                 p_e=pick(args.p_e, list(preset.p_e)),
                 modularity_threshold=pick(args.modularity_threshold, preset.modularity_threshold),
                 merge_threshold=pick(args.merge_threshold, preset.merge_threshold), tie_break=args.tie_break,
                 out=args.out, force=args.force, progress=not args.no_progress, config=base,
                 spectral=not args.no_spectral, prune_options=preset.prune_options(),
                 shuffles=args.shuffles)
    print(result.summary())
    return 0
