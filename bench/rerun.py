"""Rerun trials of a committed records file with this checkout and compare every field but timings.

``python -m bench rerun RECORDS [--pick 4,12,24] [--pack] [--no-chunks]``

The check behind every "bit-identical" claim about a speed change: a trial's record (network,
modules, scores, densities, every metric down to the loss floats and the 70 grid densities) is a
digest of its whole pruning trajectory, so a record that reruns identical means the change left
the arithmetic alone. ``--pack`` runs the picked trials as one pack (as ``sculpt grid`` does for
seeds of a cell); ``--no-chunks`` turns off leaving idle member chunks out of the stack
(:func:`sculpt.prune.driver.train_trying`), for a same-run A/B of its cost. Fields the committed
record lacks (added by later code, e.g. ``ties``) are not compared. Prints CPU and wall seconds
and the load average; exits 1 when a record differs.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path

IGNORED = ("timings", "provenance")


def _records(path: Path) -> list[dict]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _comparable(record: dict, like: dict) -> dict:
    return {k: v for k, v in record.items() if k not in IGNORED and k in like}


def _params(record: dict) -> dict:
    return {k: v for k, v in record["config"].items() if k != "kind"}


def rerun(chosen: list[dict], pack: bool) -> list[dict]:
    from sculpt.experiments.runner import execute_pack, execute_trial

    first = chosen[0]
    if pack:
        return execute_pack(first["kind"], [_params(r) for r in chosen], [r["trial_id"] for r in chosen],
                            first["experiment"], first["figure"], [None] * len(chosen), True)
    return [execute_trial(r["kind"], _params(r), r["trial_id"], r["experiment"], r["figure"], None, True)
            for r in chosen]


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench rerun", description=__doc__.split("\n\n")[0])
    p.add_argument("records", type=Path)
    p.add_argument("--pick", default="0", help="comma-separated line numbers (0-based) of the records to rerun")
    p.add_argument("--pack", action="store_true", help="run the picked trials as one pack")
    p.add_argument("--no-chunks", action="store_true", help="keep idle members in the stack (the A/B baseline)")
    args = p.parse_args(argv)
    if args.no_chunks:
        import sculpt.prune.driver as driver

        driver._chunks_are_exact = lambda model: False
    records = _records(args.records)
    chosen = [records[int(i)] for i in args.pick.split(",")]
    load = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), time.process_time()
    fresh = rerun(chosen, args.pack)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    differing = 0
    for old, new in zip(chosen, fresh):
        a, b = _comparable(old, old), _comparable(new, old)
        fields = sorted(k for k in a if a[k] != b.get(k))
        differing += bool(fields)
        c = old["config"]
        print(f"{old['trial_id'][:16]} {c['graph']} {c['arch']} seed {c['seed']}: "
              f"{'identical' if not fields else 'DIFFERENT in ' + ', '.join(fields)}")
    print(f"{len(chosen)} trials{' (one pack)' if args.pack else ''}, idle chunks "
          f"{'kept' if args.no_chunks else 'left out'}: {cpu:.1f} CPU s, {wall:.1f} s wall; "
          f"load {load:.2f} -> {os.getloadavg()[0]:.2f}; {differing} differing")
    return 1 if differing else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
