"""How much of a from-scratch gap the authors' free choice among tied sparsest networks can close.

The paper's grid keeps the sparsest accepted network, and when several tie the authors picked one
by hand (spec 4.4). Records written since the ``ties`` field score every tied network; this prints,
per paper bar, our rate under the fixed rule, the rate when any tied network may count, and
whether the paper's value lies in each 95 % Wilson interval.

    PYTHONPATH=. python bench/fidelity/tie_freedom.py docs/figure10/records.jsonl.gz [--all]

``--all`` lists every bar, not only those the tie freedom changes or that lie outside.
"""
from __future__ import annotations

import argparse

from sculpt.experiments import paper_numbers
from sculpt.experiments.report import Rate, latest_records, success_rates, tie_rates
from sculpt.stats import consistent


def rows(records: list[dict]):
    """(paper value, fixed-rule Rate, any-tie Rate) for every paper bar the records measure with ties scored."""
    figures = {r.get("figure") for r in records}
    per = {False: success_rates(records), True: success_rates(records, pooled=True)}
    ties = {False: tie_rates(records), True: tie_rates(records, pooled=True)}
    for figure in sorted(f for f in figures if f):
        for v in paper_numbers.paper_values(figure):
            key = (v.graph, v.criterion, v.hidden_layers)
            pooled = v.hidden_layers is None
            if v.value is not None and key in ties[pooled]:
                yield v, per[pooled][key], ties[pooled][key]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records")
    parser.add_argument("--all", action="store_true")
    args = parser.parse_args()
    found = latest_records(args.records)[0]
    print("| bar | paper | fixed rule (k/n) [95 % CI] | any tied network [95 % CI] | paper inside: fixed / any tie |")
    print("|---|---|---|---|---|")
    counts = [0, 0, 0]
    for v, fixed, tie in rows(found):
        inside = [consistent(v.value, r.interval) for r in (fixed, tie)]
        counts = [counts[0] + 1, counts[1] + inside[0], counts[2] + inside[1]]
        if args.all or fixed.successes != tie.successes or not inside[0]:
            depth = "all" if v.hidden_layers is None else v.hidden_layers
            print(f"| {v.panel} {v.graph} {v.criterion} ({depth} HL) | {v.value:.2f} | {_text(fixed)} | "
                  f"{_text(tie)} | {'yes' if inside[0] else 'no'} / {'yes' if inside[1] else 'no'} |")
    print(f"\n{counts[0]} bars with ties scored: paper inside {counts[1]} (fixed rule), {counts[2]} (any tied network)")


def _text(rate: Rate) -> str:
    return f"{rate.text()} {rate.interval_text()}"


if __name__ == "__main__":
    main()
