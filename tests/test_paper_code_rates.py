"""The committed rates of the paper's own code from scratch are what the replay records say, and
the reports can read them."""
from __future__ import annotations

import json
from pathlib import Path

from bench.fidelity.paper_code_rates import rates
from sculpt.experiments.paper_numbers import load_paper_code_rates

ROOT = Path(__file__).resolve().parents[1]
RATES = ROOT / "docs" / "fidelity" / "paper_code_rates.json"


def test_committed_rates_are_the_replay_records():
    assert json.loads(RATES.read_text()) == rates()


def test_reports_read_the_four_reuse_gap_cells():
    loaded = load_paper_code_rates(RATES)
    got = {(key[0], key[1], key[3]): (entry["successes"], entry["trials"]) for key, entry in loaded.items()}
    assert got == {("fig7", "reused", 2): (9, 12), ("fig7", "reused", 3): (2, 12),
                   ("fig8", "reuse-use1", 2): (2, 12), ("fig8", "reuse-use2", 2): (7, 12)}
