"""Assemble tests/data/replay_oracle.json from oracle records (bench/fidelity/oracle.py output).

    python bench/fidelity/make_test_data.py KEY=WORKERS=PATH[:P_E] ... > tests/data/replay_oracle.json

``:P_E`` keeps only that P_e search (the first search of an edge process does not depend on the
later ones, so a five-P_e oracle run gives a one-P_e test case). Per-epoch curves are dropped.
"""
import json
import sys

out = {}
for arg in sys.argv[1:]:
    key, workers, rest = arg.split("=", 2)
    path, _, pe = rest.partition(":")
    with open(path) as f:
        rec = json.load(f)
    rec.pop("wall_s", None)
    if pe:
        rec["edge"] = {pe: rec["edge"][pe]}
        rec["p_e"] = [float(pe)]
    rec["workers"] = int(workers)
    out[key] = rec
json.dump(out, sys.stdout, sort_keys=True)
