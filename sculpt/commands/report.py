"""``sculpt report RECORDS.jsonl -o DIR``: success-rate tables and figures next to the paper's."""
from __future__ import annotations

from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "report", help="success-rate tables and figures of a grid's records, next to the paper's numbers",
        description="Read a records file written by `sculpt grid` and write index.md, summary.json and "
                    "the paper's figures (PNG + SVG) into the output directory.")
    p.add_argument("records", help="records file (OUT/records.jsonl) or the grid's output directory")
    p.add_argument("-o", "--out", default=None, help="report directory (default: <records dir>/report)")
    p.set_defaults(func=run)


def run(args) -> int:
    from sculpt.experiments.report import build_report

    records = Path(args.records)
    if records.is_dir():
        packed = records / "records.jsonl.gz"
        records = packed if packed.exists() and not (records / "records.jsonl").exists() else records / "records.jsonl"
    out = Path(args.out) if args.out else records.parent / "report"
    index = build_report(records, out)
    print(index)
    return 0
