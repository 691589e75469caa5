"""The loader of the paper's stored networks (sculpt.reference)."""
from __future__ import annotations

import numpy as np
import pytest

from sculpt.errors import DataError
from sculpt.reference import (iter_networks, load_exemplar_detections, load_network, load_records,
                              select_records)


def test_records_count_and_order(reference_dir):
    records = load_records(reference_dir)
    assert len(records) == 1499
    assert [r["id"] for r in records[:3]] == ["net0000", "net0001", "net0002"]
    assert sum(not r["other_structure"] for r in records) == 1444


def test_select_filters(reference_dir):
    sel = select_records(reference_dir, experiment="exemplar", modularity=[4, 2, 4], seed=0)
    assert len(sel) == 9
    assert all(r["modularity"] == [4, 2, 4] and r["seed"] == 0 for r in sel)
    assert [r["id"] for r in select_records(reference_dir, ids=["net0005", "net0001"])] == ["net0001", "net0005"]


def test_network_arrays_match_arch_and_density(reference_dir):
    net = load_network("net0000", reference_dir, with_weights=True)
    assert net.arch == [4, 24, 4] and net.experiment == "exemplar" and net.hidden_layers == 1
    assert [m.shape for m in net.masks] == [(24, 4), (4, 24)]
    assert all(m.dtype == bool for m in net.masks)
    density = sum(m.sum() for m in net.masks) / sum(m.size for m in net.masks)
    assert density == pytest.approx(net.record["density"], abs=1e-12)
    # weights are zero outside the mask, biases have one entry per output unit
    assert all(np.all(w[~m] == 0) for w, m in zip(net.weights, net.masks))
    assert [b.shape for b in net.biases] == [(24,), (4,)]
    assert net.truth_table_path(reference_dir).name == "boolean[4, 2, 4].json"


def test_masks_only_by_default_and_unknown_id(reference_dir):
    net = next(iter_networks(reference_dir=reference_dir, ids=["net0001"]))
    assert net.weights == [] and net.biases == []
    with pytest.raises(DataError, match="net9999"):
        load_network("net9999", reference_dir)


def test_missing_reference_dir_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="reference data not found"):
        load_records(tmp_path)


def test_exemplar_detections(exemplar_detections):
    recs = exemplar_detections
    assert len(recs) == 160 and recs["net0000"]["k_per_layer"] == [2, 2]


def test_the_package_looks_in_the_environment_and_the_user_cache_only(tmp_path, monkeypatch):
    from sculpt.reference import default_reference_dir, find_reference_dir, reference_candidates

    monkeypatch.delenv("SCULPT_REFERENCE", raising=False)
    monkeypatch.delenv("SCULPT_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_reference_dir() == tmp_path / "xdg" / "sculpt" / "reference"
    assert reference_candidates() == [tmp_path / "xdg" / "sculpt" / "reference"]
    assert find_reference_dir() is None
    with pytest.raises(DataError, match=r"reference data not found: .*xdg/sculpt/reference/pruned_networks\.jsonl"
                                        r" does not exist; convert a clone of the paper's repository with"
                                        r" `sculpt data paper --from PATH`"):
        load_records()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "pruned_networks.jsonl").write_text("")
    monkeypatch.setenv("SCULPT_REFERENCE", str(tmp_path / "mine"))
    assert find_reference_dir([tmp_path / "other"]) == tmp_path / "mine"
    assert reference_candidates([tmp_path / "other"])[::2] == [tmp_path / "mine", tmp_path / "other"]
    with pytest.raises(DataError, match="detection_exemplar.jsonl does not exist: it holds the paper code's own"):
        load_exemplar_detections()
