"""``sculpt reproduce``: every Boolean experiment of the paper into docs/, then docs/paper/index.md."""
from __future__ import annotations

import sys
import time
from pathlib import Path


def register(subparsers) -> None:
    from sculpt.experiments.reproduce import STEPS

    p = subparsers.add_parser(
        "reproduce", help="run every Boolean experiment of the paper (resumable) and write the per-figure reports",
        description="Run Figures 7, 8, 10, 12, Tables 2-3 (with their epoch pre-step) and section 2 from "
                    "scratch into DOCS/<figure>/ (records.jsonl, report, figures), resuming whatever is already "
                    "recorded there, and write DOCS/paper/index.md: every result of the paper next to ours.")
    p.add_argument("--experiments", default="examples/experiments", help="folder of the experiment TOML files")
    p.add_argument("--docs", default="docs", help="output folder (default: docs)")
    p.add_argument("--only", nargs="+", metavar="NAME", default=None,
                   help=f"run only these: {', '.join(s.name for s in STEPS)}")
    p.add_argument("--backend", choices=("loky", "ray", "serial"), default="loky",
                   help="loky: local worker processes (default); ray: a Ray node or cluster; serial: this process")
    p.add_argument("--address", default=None, help="Ray cluster address (e.g. auto); a local Ray node when omitted")
    p.add_argument("--jobs", "-j", type=int, default=None, help="parallel workers (default: all cores)")
    p.add_argument("--restart", action="store_true",
                   help="clear a folder whose records hold trials of other settings instead of refusing")
    p.add_argument("--dry-run", action="store_true",
                   help="list the trials behind every folder (counts, finished, to run) and exit")
    p.add_argument("--list", action="store_true", help="with --dry-run: every trial's id and settings too")
    p.add_argument("--index-only", action="store_true", help="only rewrite DOCS/paper/index.md from the reports")
    p.add_argument("--reports-only", action="store_true",
                   help="run nothing: rewrite each folder's report from the records it holds (a stopped run's "
                        "report is marked partial), then the index")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args) -> int:
    from sculpt.experiments.paper_index import write_paper_index
    from sculpt.experiments.reproduce import format_plan, plan, reproduce, rewrite_reports

    if args.dry_run:
        print(format_plan(plan(args.experiments, args.docs, args.only), list_trials=args.list))
        return 0
    if args.index_only:
        print(write_paper_index(args.docs))
        return 0
    if args.reports_only:
        for report in rewrite_reports(args.experiments, args.docs, only=args.only):
            print(report)
        print(Path(args.docs) / "paper" / "index.md")
        return 0
    start = time.perf_counter()
    results = reproduce(args.experiments, args.docs, only=args.only, backend=args.backend, jobs=args.jobs,
                        address=args.address, restart=args.restart, progress=not args.quiet)
    for r in results:
        print(f"{r.step}: ran {r.ran} ({r.failed} failed), {r.skipped} already finished, {r.remaining} remaining; "
              f"{r.wall_s:.1f} s; {r.folder}")
    print(f"total wall time {time.perf_counter() - start:.1f} s; index: {args.docs}/paper/index.md", file=sys.stderr)
    return 1 if any(r.failed for r in results) else 0
