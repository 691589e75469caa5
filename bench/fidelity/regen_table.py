"""Markdown table of bench/fidelity/regenerate.py results: mask-identical counts per cell.

    python bench/fidelity/regen_table.py docs/fidelity/data/regen_w2.jsonl docs/fidelity/data/regen_w0.jsonl
"""
import collections
import json
import sys

print("| stored networks (experiment exemplar) | workers | regenerated | mask identical | weights identical | replay edges vs stored edges |")
print("|---|---|---|---|---|---|")
for path in sys.argv[1:]:
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    groups = collections.OrderedDict()
    for r in rows:
        groups.setdefault((str(r.get("modularity")), str(r.get("arch"))), []).append(r)
    for (mod, arch), rs in groups.items():
        more = sum(r["edges_replay"] > r["edges_stored"] for r in rs)
        fewer = sum(r["edges_replay"] < r["edges_stored"] for r in rs)
        print(f"| {mod} arch {arch} | {rs[0]['workers']} | {len(rs)} | {sum(r['mask_identical'] for r in rs)} | "
              f"{sum(r['weights_identical'] for r in rs)} | more {more}, equal {len(rs) - more - fewer}, fewer {fewer} |")
    more = sum(r["edges_replay"] > r["edges_stored"] for r in rows)
    fewer = sum(r["edges_replay"] < r["edges_stored"] for r in rows)
    print(f"| **all run** | {rows[0]['workers']} | **{len(rows)} of 160** | **{sum(r['mask_identical'] for r in rows)}** | "
          f"**{sum(r['weights_identical'] for r in rows)}** | more {more}, equal {len(rows) - more - fewer}, fewer {fewer} |")
