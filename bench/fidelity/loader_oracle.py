"""Record what the paper's training DataLoader yields: tests/data/paper_loader.json.

Run in the paper's venv with its tree on the path (it imports the paper's dataset class):
    $NSREF/venv/bin/python bench/fidelity/loader_oracle.py $NSREF/src OUT.json

For workers 0 and 2 and batch sizes 4, 8, 16: torch.manual_seed(seed), then for 2 epochs one pass
over the shuffled, noised training loader (CustomTensorDataset + AddGaussianNoise, std 0.1, of the
[4,2,4] truth table) followed by one pass over the unshuffled validation loader, exactly as
utils/train.py iterates them; then one int64 draw shows where the process generator stands.
"""
import json
import sys

import torch

sys.path.insert(0, sys.argv[1])
from utils.load import AddGaussianNoise, CustomTensorDataset  # noqa: E402  (the paper's)

X = torch.tensor([[(r >> (3 - i)) & 1 for i in range(4)] for r in range(16)], dtype=torch.int64)
Y = torch.zeros(16, 4, dtype=torch.float64)
out = []
for workers in (0, 2):
    for bs in (4, 8, 16):
        torch.manual_seed(5)
        train = torch.utils.data.DataLoader(CustomTensorDataset((X, Y), transform=AddGaussianNoise, std=0.1),
                                            batch_size=bs, shuffle=True, num_workers=workers)
        val = torch.utils.data.DataLoader(CustomTensorDataset((X, Y)), batch_size=bs, shuffle=False,
                                          num_workers=workers)
        epochs = []
        for epoch in range(2):
            epochs.append([x.tolist() for x, _ in train])
            for _ in val:
                pass
        after = int(torch.empty((), dtype=torch.int64).random_().item())
        out.append({"workers": workers, "batch_size": bs, "seed": 5, "epochs": epochs, "next_int64": after})
with open(sys.argv[2], "w") as f:
    json.dump({"torch": torch.__version__, "cases": out}, f)
print("ok", len(out))
