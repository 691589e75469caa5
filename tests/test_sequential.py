"""A user's own nn.Sequential through the stacked engine: activations, losses, data, export."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn.utils import prune

from sculpt.adapters import read_sequential
from sculpt.errors import ConfigError, SculptError
from sculpt.nets import MaskedMLP, PrunedNet
from sculpt.objectives import make_loss
from sculpt.prune.sequential import from_sequential, prune_sequential, to_sequential
from sculpt.train import row_losses

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def boolean_rows():
    """All 16 rows of 4 bits; y0 = x0 AND x1, y1 = x2 OR x3 (two independent sub-functions)."""
    X = torch.tensor([[(r >> (3 - i)) & 1 for i in range(4)] for r in range(16)], dtype=torch.float32)
    Y = torch.stack([X[:, 0] * X[:, 1], torch.clamp(X[:, 2] + X[:, 3], max=1)], dim=1)
    return X, Y


def two_gate_model(hidden=4):
    """Hand weights: hidden 0 = relu(x0 + x1 - 1), hidden 1 = relu(x2 + x3); the rest start at 0."""
    model = torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 2))
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model[0].weight[0, :2] = 1.0
        model[0].bias[0] = -1.0
        model[0].weight[1, 2:] = 1.0
        model[2].weight[0, 0] = 4.0
        model[2].bias[0] = -2.0
        model[2].weight[1, 1] = 4.0
        model[2].bias[1] = -2.0
    return model


# ----------------------------------------------------------------------------- engine hooks

def test_masked_mlp_applies_the_given_activations_per_layer():
    net = MaskedMLP([3, 4, 5, 2], members=2, seed=3, activations=[torch.tanh, torch.sigmoid])
    x = torch.randn(6, 3, generator=torch.Generator().manual_seed(0))
    for e in range(2):
        h = torch.tanh(x @ net.weights[0][e].T + net.biases[0][e])
        h = torch.sigmoid(h @ net.weights[1][e].T + net.biases[1][e])
        want = h @ net.weights[2][e].T + net.biases[2][e]
        torch.testing.assert_close(net(x)[e], want)
    assert net.select([1, 1]).activations == net.activations
    with pytest.raises(ConfigError, match="activations must be 2 callables"):
        MaskedMLP([3, 4, 5, 2], activations=[torch.tanh])


def test_builtin_bce_rows_equal_the_papers_loss():
    logits = torch.randn(3, 5, 2, generator=torch.Generator().manual_seed(1))
    y = torch.randint(0, 2, (5, 2), generator=torch.Generator().manual_seed(2)).float()
    torch.testing.assert_close(make_loss("bce", 2).rows(logits, y), row_losses(logits, y))


def test_callable_loss_rows_equal_the_builtin_ones():
    logits = torch.randn(2, 7, 3, generator=torch.Generator().manual_seed(3))
    classes = torch.tensor([0, 2, 1, 1, 0, 2, 2])
    onehot = torch.nn.functional.one_hot(classes, 3).float()
    builtin = make_loss("cross_entropy", 3).rows(logits, onehot)
    wrapped = make_loss(torch.nn.CrossEntropyLoss(), 3, target_dtype=torch.long, squeeze=True)
    torch.testing.assert_close(wrapped.rows(logits, classes[:, None].float()), builtin)
    mse = make_loss(torch.nn.functional.mse_loss, 3).rows(logits, onehot)
    torch.testing.assert_close(mse, make_loss("mse", 3).rows(logits, onehot))


def test_unknown_loss_and_bad_cross_entropy_setups_are_refused():
    with pytest.raises(ConfigError, match="unknown loss 'hinge'"):
        make_loss("hinge", 2)
    with pytest.raises(ConfigError, match="needs at least 2 outputs"):
        make_loss("cross_entropy", 1)


# ----------------------------------------------------------------------------- reading a model

@pytest.mark.parametrize("layer, where, kind", [
    (torch.nn.BatchNorm1d(6), "1", "BatchNorm1d"),
    (torch.nn.Softmax(dim=1), "1", "Softmax"),
    (torch.nn.PReLU(), "1", "PReLU"),
    (torch.nn.ModuleList([torch.nn.ReLU()]), "1", "ModuleList"),
    (torch.nn.Conv1d(1, 1, 1), "1", "Conv1d"),
])
def test_a_layer_sculpt_cannot_run_is_named_by_index_and_type(layer, where, kind):
    model = torch.nn.Sequential(torch.nn.Linear(4, 6), layer, torch.nn.Linear(6, 2))
    with pytest.raises(SculptError, match=rf"layer {where} \({kind}\)"):
        read_sequential(model)


def test_skip_connections_and_shape_breaks_are_refused():
    class Residual(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Linear(4, 4)

        def forward(self, x):
            return x + self.a(x)

    with pytest.raises(SculptError, match="got Residual: a model with its own forward"):
        read_sequential(Residual())

    class SkipSequential(torch.nn.Sequential):  # a Sequential whose forward adds a skip connection
        def forward(self, x):
            return super().forward(x) + x

    with pytest.raises(SculptError, match="got SkipSequential: a model with its own forward"):
        read_sequential(SkipSequential(torch.nn.Linear(4, 4), torch.nn.ReLU(), torch.nn.Linear(4, 4)))
    nested = torch.nn.Sequential(torch.nn.Linear(4, 4), SkipSequential(torch.nn.ReLU(), torch.nn.Linear(4, 4)))
    with pytest.raises(SculptError, match=r"layer 1 \(SkipSequential\) is a container sculpt cannot flatten"):
        read_sequential(nested)
    with pytest.raises(SculptError, match=r"layer 2 \(Linear\) has 5 inputs but the Linear before it \(layer 0\) has 6"):
        read_sequential(torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU(), torch.nn.Linear(5, 2)))


def test_nested_sequentials_flatten_and_dropout_is_skipped():
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.GELU()),
                                torch.nn.Dropout(0.2), torch.nn.Linear(6, 2))
    layout = read_sequential(model)
    assert [w for w, _ in layout.linears] == ["1.0", "3"]
    assert [[type(m).__name__ for m in a] for a in layout.after] == [["GELU"], []]
    assert layout.arch == [4, 6, 2]


def test_from_sequential_copies_weights_masks_and_activations():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 2))
    mask = torch.ones(6, 4)
    mask[torch.arange(6), torch.arange(6) % 4] = 0  # every unit keeps three inputs
    prune.custom_from_mask(model[0], "weight", mask)
    net = from_sequential(model)
    x = torch.randn(5, 4)
    with torch.no_grad():
        torch.testing.assert_close(net(x)[0], model(x))
    assert torch.equal(net.weight_masks[0][0] > 0, model[0].weight_mask > 0)
    # the paper's rule: a unit left without incoming edges loses its bias too
    mask[2] = 0
    prune.custom_from_mask(model[0], "weight", mask)
    assert from_sequential(model).bias_masks[0][0].tolist() == [1, 1, 0, 1, 1, 1]


# ----------------------------------------------------------------------------- pruning

def test_the_users_weights_are_the_start_and_the_rewind_point():
    """Hand weights, untrained dense net, lr too small to learn: edge pruning removes exactly the
    zero weights (every later step breaks a gate and is rewound), so the result is the user's
    network itself, not a fresh initialisation, and its two modules are the two gates."""
    X, Y = boolean_rows()
    model = two_gate_model()
    net = prune_sequential(model, (X, Y), loss="bce", p_u=None, p_e=[30.0], lr=1e-9, epochs=2,
                           dense_epochs=0, threshold=100.0, batch_size=16)
    assert net.history["dense"]["validation_accuracy"] == 100.0
    assert [r["accepted"] for r in net.history["edge"]][:3] == [True, True, False]  # 30, 60, 90 %
    assert net.kept_weights == 6
    for l, layer in enumerate((model[0], model[2])):
        np.testing.assert_array_equal(net.masks[l], layer.weight.detach().numpy() != 0)
        np.testing.assert_allclose(net.weights[l], layer.weight.detach().numpy(), atol=1e-6)
    from sculpt.detect import detect_modules

    modules = [dict(m) for m in detect_modules(to_sequential(net)).modules]
    assert sorted(modules, key=lambda m: m[0]) == [{0: (0, 1), 1: (0,), 2: (0,)}, {0: (2, 3), 1: (1,), 2: (1,)}]


# ----------------------------------------------------------------------------- the whole path

def users_pruned_model():
    """A user's model as people write it: Tanh MLP, 30 % of its weights pruned by torch itself."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16),
                                torch.nn.Tanh(), torch.nn.Linear(16, 4))
    for layer in (model[0], model[2], model[4]):
        prune.l1_unstructured(layer, "weight", amount=0.3)
    return model


@pytest.fixture(scope="module")
def pruned_path():
    import functiongraphs as fg
    from functiongraphs import catalog

    graph = catalog.get("input-separable")  # y0, y1 from (x0, x1); y2, y3 from (x2, x3)
    X, Y = graph.truth_table()
    model = users_pruned_model()
    before = [layer.weight_mask.clone() for layer in (model[0], model[2], model[4])]
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(
        torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(Y, dtype=torch.float32)), batch_size=8)
    net = prune_sequential(model, loader, loss="bce", p_u=[20.0], p_e=[10.0], lr=0.05, epochs=30,
                           noise=0.1, threshold=100.0, seed=0)
    return model, before, net, to_sequential(net), fg.structure(graph), X, Y


def test_users_model_is_pruned_further_and_exported_with_prune_masks(pruned_path):
    model, before, net, exported, _, X, Y = pruned_path
    assert net.meta["validation_accuracy"] == 100.0 and net.density < 0.35
    assert [w for w, _ in read_sequential(exported).linears] == ["0", "2", "4"]
    assert [type(m).__name__ for m in exported] == ["Linear", "Tanh", "Linear", "Tanh", "Linear"]
    for l, (layer, start) in enumerate(zip((exported[0], exported[2], exported[4]), before)):
        mask = layer.weight_mask.numpy().astype(bool)
        np.testing.assert_array_equal(mask, net.masks[l])
        assert not (mask & ~start.numpy().astype(bool)).any()  # torch's pruned weights stay pruned
        assert hasattr(layer, "weight_orig") and hasattr(layer, "bias_mask")
    with torch.no_grad():
        out = exported(torch.as_tensor(X, dtype=torch.float32))
    assert ((out > 0).numpy() == (Y > 0.5)).all()  # the user's own code runs the pruned network
    # the model passed in is untouched; the result round-trips through a snapshot
    assert torch.equal(model[0].weight_mask, before[0])


def test_same_settings_give_bit_identical_masks(pruned_path):
    import functiongraphs as fg
    from functiongraphs import catalog

    _, _, net, _, _, X, Y = pruned_path
    again = prune_sequential(users_pruned_model(), (torch.as_tensor(X), torch.as_tensor(Y)), loss="bce",
                             p_u=[20.0], p_e=[10.0], lr=0.05, epochs=30, noise=0.1, threshold=100.0,
                             seed=0, batch_size=8)
    for a, b in zip(net.masks, again.masks):
        np.testing.assert_array_equal(a, b)


def test_detection_spectral_drawing_and_scoring_read_the_exported_model(pruned_path, tmp_path):
    from sculpt import score, spectral
    from sculpt.detect import detect_modules
    from sculpt.render.network import draw_network

    _, _, net, exported, structure, _, _ = pruned_path
    detection = detect_modules(exported)
    assert detection.to_dict() == detect_modules(net.masks).to_dict()
    summary = spectral.summary(exported, k="modules", n_shuffles=4, seed=0)
    assert summary["k_choice"]["policy"] == "modules"
    assert summary["modules"]["n_modules"] == detection.num_modules
    assert summary["graph"]["n_edges"] == spectral.weight_graph(net).report()["n_edges"]
    drawing = draw_network(exported, detection.modules)
    assert drawing.source == draw_network(net.masks, detection.modules).source
    scored = score.compare(exported, structure, name="input-separable")
    assert scored == score.compare(detection, structure, name="input-separable")
    net.save(tmp_path / "net")
    reloaded = to_sequential(PrunedNet.load(tmp_path / "net"))
    assert [type(m).__name__ for m in reloaded] == [type(m).__name__ for m in exported]
    for a, b in zip(reloaded.parameters(), exported.parameters()):
        assert torch.equal(a, b)


def test_spectral_summary_uses_the_prune_masks_of_a_sequential():
    """Before: no ``.masks`` on a Sequential, so detection was skipped and k='modules' failed."""
    from sculpt import spectral
    from sculpt.detect import detect_modules

    model = users_pruned_model()
    summary = spectral.summary(model, k="modules", n_shuffles=4, seed=0)
    assert summary["k"] == detect_modules(model).num_modules
    kept = sum(int(layer.weight_mask.sum()) for layer in (model[0], model[2], model[4]))
    assert summary["graph"]["n_edges"] == kept
    with pytest.raises(SculptError, match=r"layer 1 \(BatchNorm1d\)"):
        spectral.summary(torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 2)))


def test_compare_refuses_a_structure_of_another_size():
    import functiongraphs as fg
    from functiongraphs import catalog
    from sculpt import score
    from sculpt.detect import detect_modules

    detection = detect_modules(users_pruned_model())
    wrong = fg.structure(catalog.get("separable-reused"))  # 6 inputs, 3 outputs
    with pytest.raises(SculptError, match="the structure has 6 inputs and 3 outputs but the network has "
                                          "4 inputs and 4 outputs"):
        score.compare(detection, wrong)
    with pytest.raises(SculptError, match="the structure has 6 inputs and 3 outputs"):
        score.compare(users_pruned_model(), wrong)
    record = {k: v for k, v in detection.to_dict().items() if k != "arch"}  # an older record
    small = fg.structure(fg.parse("inputs a b\ny = and(a, b)\noutputs y\n"))
    with pytest.raises(SculptError, match="the structure has 2 inputs but the network has input unit 3"):
        score.compare(record, small)


def test_run_result_repr_is_short():
    from functiongraphs import Task, catalog
    from sculpt.detect import detect_modules
    from sculpt.run import RunResult

    net = PrunedNet.from_arrays([np.ones((64, 4), bool), np.ones((4, 64), bool)], meta={"task": "input-separable"})
    result = RunResult(config=None, task=Task(catalog.get("input-separable")), net=net,
                       detection=detect_modules(net), score={})
    assert repr(result) == ("RunResult(task='input-separable', net=PrunedNet(arch=[4, 64, 4], density=1.0000, "
                            "task='input-separable'), detection=Detection(arch=[4, 64, 4], condensed_arch=[4, 64, 4], "
                            "k_per_layer=[1, 1], num_modules=1), run_dir=None)")


# ----------------------------------------------------------------------------- other models, losses, data

def test_cross_entropy_on_class_indices_with_gelu_and_a_callable_loss_agree():
    X, _ = boolean_rows()
    classes = (X[:, 0].long() ^ X[:, 1].long()) + 2 * (X[:, 2] * X[:, 3]).long()

    def model():
        torch.manual_seed(1)
        return torch.nn.Sequential(torch.nn.Linear(4, 12), torch.nn.GELU(), torch.nn.Dropout(0.1),
                                   torch.nn.Linear(12, 4))

    settings = dict(p_u=[20.0], p_e=[5.0], lr=0.02, epochs=20, threshold=100.0, batch_size=8)
    builtin = prune_sequential(model(), (X, classes), loss="cross_entropy", **settings)
    custom = prune_sequential(model(), (X, classes), loss=torch.nn.CrossEntropyLoss(), **settings)
    assert builtin.meta["metric"] == custom.meta["metric"] == "accuracy"
    assert builtin.meta["validation_accuracy"] == 100.0 and builtin.density < 0.5
    exported = to_sequential(builtin)
    assert [type(m).__name__ for m in exported] == ["Linear", "GELU", "Dropout", "Linear"]
    exported.eval()
    with torch.no_grad():
        assert torch.equal(exported(X).argmax(dim=1), classes)
    # the same loss written two ways prunes to networks of the same sparsity
    assert custom.kept_weights == builtin.kept_weights
    with pytest.raises(ConfigError, match="own activations: run sculpt.prune.sequential.to_sequential"):
        builtin.predict(X.numpy())


def test_mse_with_a_final_sigmoid_and_layers_without_bias():
    X, Y = boolean_rows()
    torch.manual_seed(3)
    model = torch.nn.Sequential(torch.nn.Linear(4, 10, bias=False), torch.nn.LeakyReLU(0.1),
                                torch.nn.Linear(10, 2), torch.nn.Sigmoid())
    net = prune_sequential(model, (X, Y), loss="mse", metric="bit_accuracy", p_u=None, p_e=[10.0], lr=0.05,
                           epochs=30, threshold=100.0, batch_size=8)
    assert not net.biases[0].any()  # a Linear without bias stays without one
    exported = to_sequential(net)
    assert exported[0].bias is None and exported[1].negative_slope == 0.1
    assert isinstance(exported[3], torch.nn.Sigmoid)
    with torch.no_grad():
        assert ((exported(X) > 0.5) == (Y > 0.5)).all()
    like = to_sequential(net, like=model)
    with torch.no_grad():
        torch.testing.assert_close(like(X), exported(X))


def test_bad_data_is_refused_with_what_and_where():
    X, Y = boolean_rows()
    model = two_gate_model()
    with pytest.raises(ConfigError, match="data: inputs have 3 features but the model's first Linear takes 4"):
        prune_sequential(model, (X[:, :3], Y))
    with pytest.raises(ConfigError, match="data: 16 input rows but 15 target rows"):
        prune_sequential(model, (X, Y[:15]))
    with pytest.raises(ConfigError, match="validation: targets must be finite"):
        prune_sequential(model, (X, Y), validation=(X, Y * float("nan")))
    with pytest.raises(ConfigError, match=r"class targets must be a vector of integers in 0\.\.1"):
        prune_sequential(model, (X, torch.full((16,), 2)), loss="cross_entropy")
    with pytest.raises(ConfigError, match="data: targets have 2 columns but the model has 3 outputs"):
        prune_sequential(torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 3)), (X, Y))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X), batch_size=4)
    with pytest.raises(ConfigError, match="data: batch 0 of the DataLoader is not an"):
        prune_sequential(model, loader)
    with pytest.raises(ConfigError, match="loss 'cross_entropy' reads logits: end the model with its last Linear"):
        prune_sequential(torch.nn.Sequential(*model, torch.nn.Tanh()), (X, Y.argmax(1)), loss="cross_entropy")
    with pytest.raises(ConfigError, match="needs at least two Linear layers"):
        prune_sequential(torch.nn.Sequential(torch.nn.Linear(4, 2)), (X, Y))


def test_a_classifier_ending_in_log_softmax_prunes_with_nll_and_is_read_by_detection():
    from sculpt.detect import detect_modules

    X, _ = boolean_rows()
    classes = X[:, 0].long() + 2 * X[:, 2].long()  # 4 classes from x0 and x2
    torch.manual_seed(2)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4),
                                torch.nn.LogSoftmax(dim=1))
    net = prune_sequential(model, (X, classes), loss=torch.nn.NLLLoss(), p_u=[20.0], p_e=[10.0], lr=0.05,
                           epochs=20, threshold=100.0, batch_size=8)
    exported = to_sequential(net)
    assert isinstance(exported[3], torch.nn.LogSoftmax) and exported[3].dim == 1
    with torch.no_grad():
        assert torch.equal(exported(X).argmax(dim=1), classes)
    assert detect_modules(exported).to_dict() == detect_modules(net.masks).to_dict()
    with pytest.raises(SculptError, match=r"layer 3 \(Softmax\) normalises over dim=0"):
        read_sequential(torch.nn.Sequential(*model[:3], torch.nn.Softmax(dim=0)))


def test_a_relu_sequential_with_bce_is_the_papers_engine_bit_for_bit():
    """Same start, same settings: prune_sequential and prune_grid(init=...) keep identical networks."""
    import functiongraphs as fg
    from functiongraphs import catalog
    from sculpt.prune import prune_grid

    graph = catalog.get("input-separable")
    X, Y = (torch.as_tensor(a, dtype=torch.float32) for a in graph.truth_table())
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 24), torch.nn.ReLU(), torch.nn.Linear(24, 4))
    assert from_sequential(model).activations is None  # the engine's own ReLU (and its fast path)
    ours = prune_sequential(model, (X, Y), loss="bce", p_u=[70.0], p_e=[2.5], lr=0.05, batch_size=8,
                            epochs=15, noise=0.1, threshold=100.0)
    paper = prune_grid(fg.Task(graph, noise=0.1), [4, 24, 4], p_u=[70.0], p_e=[2.5], lr=0.05, batch_size=8,
                       epochs=15, progress=False, init=from_sequential(model))
    for a, b in zip(ours.masks + ours.weights, paper.masks + paper.weights):
        np.testing.assert_array_equal(a, b)
