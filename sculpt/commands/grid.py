"""``sculpt grid EXP.toml``: run an experiment grid with resumable records."""
from __future__ import annotations

import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "grid", help="run an experiment grid (TOML) on local cores or Ray, one record per trial",
        description="Expand an experiment file into trials and run them; every finished trial is "
                    "appended to OUT/records.jsonl at once, so an interrupted run can --resume.")
    p.add_argument("experiment", help="experiment TOML file (see examples/experiments/)")
    p.add_argument("--backend", choices=("loky", "ray", "serial"), default="loky",
                   help="loky: local worker processes (default); ray: a Ray node or cluster; serial: this process")
    p.add_argument("--address", default=None,
                   help="Ray cluster address for ray.init (e.g. auto); a local Ray node when omitted")
    p.add_argument("--jobs", "-j", type=int, default=None, help="parallel workers (default: all cores)")
    p.add_argument("--resume", action="store_true", help="continue OUT/records.jsonl, skipping finished trials")
    p.add_argument("--limit", type=int, default=None, help="run at most N pending trials")
    p.add_argument("--keep-runs", action="store_true", help="save every trial's network under OUT/runs/<trial id>/")
    p.add_argument("--out", "-o", default=None, help="output directory (default: runs/<experiment name>)")
    p.add_argument("--dry-run", action="store_true", help="list the trials (id and settings) and exit")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    from sculpt.experiments.config import canonical_json, load_experiment
    from sculpt.experiments.runner import run_grid

    experiment = load_experiment(args.experiment)
    if args.dry_run:
        for trial in experiment.trials:
            print(trial.trial_id, canonical_json(trial.params))
        print(f"{len(experiment)} trials", file=sys.stderr)
        return 0
    result = run_grid(experiment, backend=args.backend, jobs=args.jobs, resume=args.resume,
                      limit=args.limit, address=args.address, keep_runs=args.keep_runs,
                      out=args.out, progress=not args.quiet)
    print(f"{experiment.name}: ran {result.ran} trials ({result.failed} failed), skipped {result.skipped} "
          f"finished, {result.remaining} remaining; {result.wall_s:.1f} s; records: {result.records_path}")
    return 1 if result.failed else 0
