"""Write tests/data/paper_percentile_numpy1.json: np.percentile as numpy 1.x computes it.

Run in the paper's venv (numpy 1.26 / 1.22):  $NSREF/venv/bin/python bench/fidelity/percentile_cases.py OUT
Float32 arrays with ties and zeros (like unit scores and |w| with pruned weights), q a Python float
(unit stage) or a float32 tensor (edge stage, ``100 * (1 - density) + p_e * i``).
"""
import json
import sys

import numpy as np
import torch

rs = np.random.RandomState(11)
cases = []
for k in range(160):
    n = int(rs.choice([5, 12, 24, 48, 72]))
    a = np.abs(rs.randn(n)).astype(np.float32)
    a[rs.rand(n) < rs.rand() * 0.8] = 0
    if k % 5 == 0:
        a[: n // 3] = a[n // 2]  # exact ties
    f32 = k % 2 == 1
    if f32:
        q = torch.tensor(100.0) * (1.0 - torch.tensor(float(rs.randint(1, n))) / n) + float(rs.rand() * 5)
        q = torch.clamp(q, 0.0, 99.9)
        t = np.percentile(np.array(list(a)), q)
        qv = float(q)
    else:
        qv = float(rs.choice([5.0, 17.5, 35.0, 52.5, 61.25, 70.0, 78.75, 87.5]))
        t = np.percentile(np.array(list(a)), qv)
    cases.append({"values": [float(x) for x in a], "q": qv, "q_float32": f32, "percentile": float(t),
                  "kept_float32": int((a > t).sum())})
with open(sys.argv[1], "w") as f:
    json.dump({"numpy": np.__version__, "cases": cases}, f)
print(np.__version__, len(cases))
