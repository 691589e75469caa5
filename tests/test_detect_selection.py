"""Choosing among equally sparse networks by their detected structure."""
from __future__ import annotations

from sculpt.detect import detect_modules, fewest_modules
from sculpt.reference import load_network


def test_fewest_modules_picks_the_simplest_structure_first_on_ties(reference_dir, exemplar_detections):
    records = exemplar_detections.values()
    by_count = {}
    for rec in records:
        by_count.setdefault(rec["num_modules"], rec["id"])
    many, few = max(by_count), min(by_count)
    nets = [load_network(by_count[k], reference_dir) for k in (many, few, few)]
    assert fewest_modules(nets) == 1
    assert detect_modules(nets[1]).num_modules == few < many
