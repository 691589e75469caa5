"""MaskedMLP stacks and the PrunedNet snapshot."""
from __future__ import annotations

import json
import math
import zipfile

import numpy as np
import pytest
import torch

from sculpt.errors import ConfigError, SnapshotError
from sculpt.nets import MaskedMLP, PrunedNet, validate_arch


def test_init_is_kaiming_normal_fan_in_with_zero_biases():
    model = MaskedMLP([50, 400, 300, 10], members=2, seed=3)
    for w, fan_in in zip(model.weights, (50, 400, 300)):
        assert w.shape[1:] == (w.shape[1], fan_in)
        assert float(w.detach().std()) == pytest.approx(math.sqrt(2.0 / fan_in), rel=0.03)
    assert all(float(b.detach().abs().max()) == 0.0 for b in model.biases)


def test_member_init_depends_only_on_its_seed():
    stack = MaskedMLP([4, 6, 3], members=3, seed=10)
    for e in range(3):
        alone = MaskedMLP([4, 6, 3], members=1, seed=10 + e)
        for w_stack, w_alone in zip(stack.weights, alone.weights):
            assert torch.equal(w_stack[e], w_alone[0])
    same = MaskedMLP([4, 6, 3], members=2, seed=[7, 7])
    assert torch.equal(same.weights[0][0], same.weights[0][1])
    assert not torch.equal(stack.weights[0][0], stack.weights[0][1])


def test_unit_masks_remove_row_and_column_and_bias():
    model = MaskedMLP([3, 4, 2], members=2, seed=0)
    with torch.no_grad():
        for b in model.biases:
            b.fill_(0.5)
    units = [torch.tensor([[True, False, True, True], [True, True, True, True]])]
    model.set_unit_masks(units)
    assert model.weight_masks[0][0, 1].sum() == 0 and model.weight_masks[1][0, :, 1].sum() == 0
    assert float(model.weights[0].detach()[0, 1].abs().sum()) == 0.0
    assert model.biases[0].detach()[:, 1].tolist() == [0.0, 0.5]
    assert model.kept_weights().tolist() == [3 * 3 + 2 * 3, 3 * 4 + 2 * 4]
    assert model.density().tolist() == [15 / 20, 1.0]


def test_forward_matches_pruned_net_predict():
    model = MaskedMLP([4, 5, 5, 3], members=2, seed=1)
    masks = [torch.rand(w.shape, generator=torch.Generator().manual_seed(l)) > 0.4
             for l, w in enumerate(model.weights)]
    model.set_weight_masks(masks)
    X = torch.rand(7, 4)
    probs = torch.sigmoid(model(X)).detach().numpy()
    for e in range(2):
        net = model.to_pruned_net(e)
        np.testing.assert_allclose(net.predict(X.numpy()), probs[e], rtol=1e-5, atol=1e-6)
        assert net.density == pytest.approx(float(model.density()[e]))


def test_state_rewinds_only_chosen_members():
    model = MaskedMLP([2, 3, 1], members=2, seed=0)
    saved = model.state()
    with torch.no_grad():
        model.weights[0].add_(1.0)
    model.load_state(saved, members=torch.tensor([True, False]))
    assert torch.equal(model.weights[0][0], saved[0][0][0])
    assert torch.equal(model.weights[0][1], saved[0][0][1] + 1.0)


@pytest.mark.parametrize("arch, message", [([4, 0, 2], r"arch\[1\] is 0"), ([4, 2], "at least one hidden"),
                                           ([4, 2.5, 2], "integer widths"), ("abc", "integer widths")])
def test_validate_arch_refuses(arch, message):
    with pytest.raises(ConfigError, match=message):
        validate_arch(arch)


def _net() -> PrunedNet:
    model = MaskedMLP([4, 6, 3], members=1, seed=2)
    model.set_weight_masks([torch.rand(w.shape, generator=torch.Generator().manual_seed(5)) > 0.5
                            for w in model.weights])
    return model.to_pruned_net(0, history={"unit": [{"p": 5.0, "accepted": True}]}, meta={"task": "t", "seed": 2})


def test_snapshot_round_trip(tmp_path):
    net = _net()
    path = net.save(tmp_path / "run" / "net")
    assert path.name == "net.npz" and (tmp_path / "run" / "net.json").is_file()
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["net.json", "net.npz"]
    back = PrunedNet.load(tmp_path / "run" / "net.npz")
    assert back.arch == [4, 6, 3] and back.history == net.history and back.meta == net.meta
    for a, b in zip(back.weights + back.biases + back.masks, net.weights + net.biases + net.masks):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert back.density == net.density
    sidecar = json.loads((tmp_path / "run" / "net.json").read_text())
    assert sidecar["arch"] == [4, 6, 3] and sidecar["format"] == "sculpt.PrunedNet/1"


def _rewrite(path, **changes):
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    for k, v in changes.items():
        if v is None:
            arrays.pop(k)
        else:
            arrays[k] = v
    np.savez(path, **arrays)


@pytest.mark.parametrize("change, message", [
    (dict(mask0=None), "missing key 'mask0'"),
    (dict(weight1=np.zeros((3, 6), dtype=np.float64)), "weight1 must be a float32 array"),
    (dict(mask1=np.ones((6, 3), dtype=bool)), r"mask1 has shape \(6, 3\)"),
    (dict(header=np.array("{not json")), "header is not valid JSON"),
    (dict(header=np.array(json.dumps({"format": "other"}))), "header format"),
    (dict(extra=np.zeros(2)), "unexpected key 'extra'"),
])
def test_load_refuses_bad_content(tmp_path, change, message):
    path = _net().save(tmp_path / "net")
    _rewrite(path, **change)
    with pytest.raises(SnapshotError, match=message):
        PrunedNet.load(path)


def test_load_refuses_weights_outside_mask_and_corrupt_files(tmp_path):
    net = _net()
    path = net.save(tmp_path / "net")
    w = net.weights[0].copy()
    w[~net.masks[0]] = 1.0
    _rewrite(path, weight0=w)
    with pytest.raises(SnapshotError, match="weight0 is non-zero at"):
        PrunedNet.load(path)
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(SnapshotError, match="not a readable .npz"):
        PrunedNet.load(tmp_path / "bad")
    with pytest.raises(SnapshotError, match="no such snapshot"):
        PrunedNet.load(tmp_path / "missing")
    assert zipfile.is_zipfile(path)


def test_from_arrays_builds_from_masks_only():
    masks = [np.array([[1, 0], [1, 1], [0, 0]], dtype=bool), np.array([[1, 1, 0]], dtype=bool)]
    net = PrunedNet.from_arrays(masks)
    assert net.arch == [2, 3, 1] and net.kept_weights == 5 and net.density == 5 / 9
    assert net.weights[0].dtype == np.float32 and net.biases[1].tolist() == [0.0]
    with pytest.raises(SnapshotError, match=r"masks\[1\] has 2 inputs but masks\[0\] has 3 outputs"):
        PrunedNet.from_arrays([masks[0], np.ones((1, 2), dtype=bool)])


def test_from_pruned_net_restores_the_stack():
    net = _net()
    model = MaskedMLP.from_pruned_net(net, members=2)
    for e in range(2):
        again = model.to_pruned_net(e)
        assert all(np.array_equal(a, b) for a, b in zip(again.weights + again.masks, net.weights + net.masks))
