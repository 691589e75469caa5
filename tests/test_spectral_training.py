"""Training-time spectral tools: regulariser gradient (A6), normalisation, clusterable init, GSR, NeuNcut."""
from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sculpt.errors import ConfigError  # noqa: E402
from sculpt.spectral import (ClusterabilityRegularizer, GraphSpectralRegularizer, NeuNcutRegularizer,  # noqa: E402
                             clusterable_factors, clusterable_init_, fixed_graph_adjacency, graph_laplacian,
                             gsr_penalty, ncut, relaxed_ncut_loss, relu_rescale_normalize_, weight_graph)
from sculpt.spectral.init import same_tag_factor  # noqa: E402
from sculpt.spectral.neuncut import stacked_dense_adjacency  # noqa: E402
from sculpt.spectral.regularizer import dense_laplacian, eigvalsh_eigenvalues, rayleigh_eigenvalues  # noqa: E402


def small_weights(seed=0, sizes=(5, 6, 7, 4)):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(1, o, i, generator=gen, dtype=torch.float64).requires_grad_()
            for i, o in zip(sizes[:-1], sizes[1:])]


# ----------------------------------------------------------------------------- A6 gradient check

def test_rayleigh_eigenvalues_match_eigvalsh_values_and_gradients():
    ws = small_weights()
    lam_r = rayleigh_eigenvalues(ws, 3)
    lam_e = eigvalsh_eigenvalues(ws, 3)
    assert lam_r.detach().numpy() == pytest.approx(lam_e.detach().numpy(), abs=1e-10)
    g_r = torch.autograd.grad(lam_r.sum(), ws)
    g_e = torch.autograd.grad(lam_e.sum(), ws)
    for a, b in zip(g_r, g_e):
        assert torch.allclose(a, b, atol=1e-8)


def test_eigenvalue_gradient_equals_finite_differences():
    ws = small_weights(1)
    grads = torch.autograd.grad(rayleigh_eigenvalues(ws, 3).sum(), ws)

    def value(shifted):
        lap = dense_laplacian(shifted)
        return float(torch.linalg.eigvalsh(lap)[0, 1:4].sum())

    h = 1e-6
    for l, (i, j) in [(0, (2, 3)), (1, (4, 0)), (2, (3, 6))]:
        plus = [w.detach().clone() for w in ws]
        minus = [w.detach().clone() for w in ws]
        plus[l][0, i, j] += h
        minus[l][0, i, j] -= h
        fd = (value(plus) - value(minus)) / (2 * h)
        assert float(grads[l][0, i, j]) == pytest.approx(fd, abs=1e-7)


def tf_half_gradient(ws, num_eigs):
    """The TF code's closed form (spec 4.4): 1/2 c_m + 1/2 c_n - G_mn s_m s_n, times sign(w)."""
    W = [w.detach()[0] for w in ws]
    lap = dense_laplacian([w.detach() for w in ws])[0].numpy()
    vals, vecs = np.linalg.eigh(lap)
    U = vecs[:, 1:num_eigs + 1]
    G = U @ U.T
    A = stacked_dense_adjacency([w.detach() for w in ws])[0].numpy()
    d = A.sum(axis=1)
    s = d ** -0.5
    c = d ** -1.5 * (A * G * s[None, :]).sum(axis=1)
    sizes = [W[0].shape[1]] + [w.shape[0] for w in W]
    off = np.concatenate([[0], np.cumsum(sizes)])
    out = []
    for l, w in enumerate(W):
        m = np.arange(off[l], off[l + 1])       # sources (in)
        n = np.arange(off[l + 1], off[l + 2])   # targets (out)
        g = 0.5 * c[n][:, None] + 0.5 * c[m][None, :] - G[np.ix_(n, m)] * s[n][:, None] * s[m][None, :]
        out.append(np.sign(w.numpy()) * g)
    return out


def test_paper_half_gradient_is_half_and_matches_the_tf_formula():
    ws = small_weights(2)
    exact = ClusterabilityRegularizer(num_eigs=3, coef=3.0)          # coef / K = 1
    half = ClusterabilityRegularizer(num_eigs=3, coef=3.0, paper_half_gradient=True)
    p_exact, p_half = exact.penalty(ws), half.penalty(ws)
    assert float(p_exact.detach()) == pytest.approx(float(p_half.detach()), abs=1e-14)
    g_exact = torch.autograd.grad(p_exact.sum(), ws)
    g_half = torch.autograd.grad(p_half.sum(), ws)
    tf = tf_half_gradient(ws, 3)
    for a, b, t in zip(g_exact, g_half, tf):
        assert torch.allclose(b, 0.5 * a, atol=1e-14)
        assert b[0].numpy() == pytest.approx(t, abs=1e-10)


def test_dead_units_are_left_out_of_the_spectrum():
    ws = small_weights(3)
    masks = [torch.ones_like(w) for w in ws]
    masks[0][0, 2, :] = 0   # hidden unit 2 of layer 1 has no inputs ...
    masks[1][0, :, 2] = 0   # ... and no outputs: degree 0
    lam_r = rayleigh_eigenvalues(ws, 3, masks)
    lam_e = eigvalsh_eigenvalues(ws, 3, masks)
    assert lam_r.detach().numpy() == pytest.approx(lam_e.detach().numpy(), abs=1e-10)
    g = torch.autograd.grad(lam_r.sum(), ws)
    assert torch.isfinite(g[0]).all() and torch.isfinite(g[1]).all()


def test_every_n_steps_scales_and_skips():
    ws = small_weights(4)
    reg = ClusterabilityRegularizer(num_eigs=2, coef=0.1, every_n_steps=3)
    values = [float(reg.penalty(ws).detach()) for _ in range(4)]
    full = float(ClusterabilityRegularizer(num_eigs=2, coef=0.1).penalty(ws).detach())
    assert values[0] == pytest.approx(3 * full) and values[1] == values[2] == 0.0
    assert values[3] == pytest.approx(3 * full)
    with pytest.raises(ConfigError, match="solver='x'"):
        ClusterabilityRegularizer(solver="x")


# ----------------------------------------------------------------------------- normalisation (spec 4.2)

def test_relu_rescale_keeps_function_and_sets_norms():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU(), torch.nn.Linear(6, 5), torch.nn.ReLU(),
                                torch.nn.Linear(5, 2))
    with torch.no_grad():
        model[0].weight[3] = 0.0
        model[0].bias[3] = 0.0
    x = torch.randn(10, 4)
    before = model(x).detach()
    relu_rescale_normalize_(model)
    assert torch.allclose(model(x), before, atol=1e-5)
    for lin in (model[0], model[2]):
        norms = torch.sqrt((lin.weight ** 2).sum(dim=1) + lin.bias ** 2)
        alive = norms > 0
        assert torch.allclose(norms[alive], torch.full_like(norms[alive], math.sqrt(2)), atol=1e-6)
    assert torch.all(model[2].weight[:, 3] == 0)  # dead unit's outgoing weights zeroed


def test_weight_scales_emulate_the_tf_threshold_quirk():
    # the paper's pruning-phase callback took x = ||[t W_col, b]|| (t: tfmot threshold)
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    x = torch.randn(8, 4)
    before = model(x).detach()
    w0, b0 = model[0].weight.detach().clone(), model[0].bias.detach().clone()
    relu_rescale_normalize_(model, weight_scales=[0.5, 1.0])
    factor = torch.sqrt((0.5 * w0).pow(2).sum(dim=1) + b0 ** 2) / math.sqrt(2)
    assert torch.allclose(model[0].weight, w0 / factor[:, None], atol=1e-6)
    norms = torch.sqrt((0.5 * model[0].weight).pow(2).sum(dim=1) + model[0].bias ** 2)
    assert torch.allclose(norms, torch.full_like(norms, math.sqrt(2)), atol=1e-6)
    assert torch.allclose(model(x), before, atol=1e-5)
    # threshold 0 (before tfmot's first mask update): only the bias sets the scale, bias -> +-sqrt(2)
    relu_rescale_normalize_(model, weight_scales=[0.0, 0.0])
    assert torch.allclose(model[0].bias.abs(), torch.full((3,), math.sqrt(2)), atol=1e-6)
    assert torch.allclose(model(x), before, atol=1e-4)


def test_regularizer_after_step_reads_norm_weight_scales():
    torch.manual_seed(2)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    twin = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    twin.load_state_dict(model.state_dict())
    reg = ClusterabilityRegularizer()
    reg.norm_weight_scales = lambda: [2.0, 1.0]
    reg.after_step(model)
    relu_rescale_normalize_(twin, weight_scales=[2.0, 1.0])
    assert torch.equal(model[0].weight, twin[0].weight) and torch.equal(model[2].weight, twin[2].weight)


# ----------------------------------------------------------------------------- clusterable init (spec 5)

def test_clusterable_factors_exact_and_mean_preserving():
    assert same_tag_factor(10, 0.6) == pytest.approx(4.6)
    factors = clusterable_factors([6, 50, 40, 10], c=10, beta=0.6, seed=1)
    assert np.all(factors[0] == 1.0)                        # input layer skipped by default
    assert set(np.unique(factors[1])) <= {0.6, 4.6}
    assert (1 / 10) * 4.6 + (9 / 10) * 0.6 == pytest.approx(1.0)
    # outputs tagged 0..9: each output unit row of the last layer has the same-tag factor where the
    # hidden unit's tag equals its index
    f_all = clusterable_factors([6, 50, 40, 10], seed=1, skip_first_layer=False)
    assert not np.all(f_all[0] == 1.0)


def test_clusterable_init_rewrites_lists_and_modules_in_place():
    arrays = [np.ones((3, 2)), np.ones((2, 3))]
    out = clusterable_init_(arrays, c=2, beta=0.5, seed=0, skip_first_layer=False)
    assert out is arrays and set(np.unique(arrays[0])) <= {0.5, 1.5}
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    w1 = model[2].weight.detach().clone()
    clusterable_init_(model, c=2, beta=0.5, seed=0)
    ratio = (model[2].weight.detach() / w1).numpy()
    assert set(np.round(np.unique(ratio), 6)) <= {0.5, 1.5}


# ----------------------------------------------------------------------------- GSR (spec 7)

def test_gsr_penalty_is_smoothness_over_the_graph():
    adj = fixed_graph_adjacency("grid", 2, 3)
    assert adj.sum() == 2 * 7  # 2x3 lattice has 7 edges
    L = torch.as_tensor(graph_laplacian(adj))
    f = torch.randn(4, 6, dtype=torch.float64)
    expected = np.mean([0.5 * (adj * (fb[:, None] - fb[None, :]) ** 2).sum() for fb in f.numpy()])
    assert float(gsr_penalty(f, L)) == pytest.approx(expected)
    assert fixed_graph_adjacency("rings", 1, 4).sum() == 2 * 4


def test_gsr_regularizer_fixed_and_learned_on_a_sequential():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.ReLU(), torch.nn.Linear(6, 1))
    X = np.random.default_rng(0).normal(size=(50, 3))
    fixed = GraphSpectralRegularizer(X, weight=0.1, graph="grid", batch_size=8)
    p = fixed.penalty(model)
    assert p.shape == (1,) and p.requires_grad
    learned = GraphSpectralRegularizer(X, weight=0.1, graph="learned", knn=2, warmup_steps=1, batch_size=8)
    assert float(learned.penalty(model)) == 0.0
    assert float(learned.penalty(model).detach()) >= 0.0 and learned.laplacian.shape == (1, 6, 6)


# ----------------------------------------------------------------------------- NeuNcut (spec 6)

def test_relaxed_ncut_equals_ncut_for_hard_assignments():
    g = weight_graph([np.abs(np.random.default_rng(0).normal(size=(6, 5))), np.ones((3, 6))])
    A = torch.as_tensor(g.adjacency.toarray())
    labels = np.arange(g.n_nodes) % 3
    P = torch.nn.functional.one_hot(torch.as_tensor(labels), 3).double()
    loss, spectral, orth = relaxed_ncut_loss(A, P)
    assert float(spectral) == pytest.approx(ncut(g, labels), abs=1e-6)
    assert float(orth) == pytest.approx(0.0, abs=1e-6)


def test_neuncut_regularizer_gives_weight_gradients():
    ws = small_weights(5)
    reg = NeuNcutRegularizer(k=3, coef=0.5, seed=0)
    p = reg.penalty(ws)
    g = torch.autograd.grad(p.sum(), ws)
    assert p.shape == (1,) and all(torch.isfinite(x).all() for x in g)
    assert reg.labels().shape == (1, 22)


# ----------------------------------------------------------------------------- training loop

def test_pruning_engine_training_accepts_the_regularizers():
    nets = pytest.importorskip("sculpt.nets")
    train_mod = pytest.importorskip("sculpt.train")
    from functiongraphs.task import Split, Task

    rng = np.random.default_rng(0)
    X = rng.integers(0, 2, size=(16, 4)).astype(np.float32)
    Y = np.stack([X[:, 0] * X[:, 1], np.maximum(X[:, 2], X[:, 3])], axis=1).astype(np.float32)
    task = Task.from_arrays("toy", Split(X, Y), Split(X, Y))
    for reg in (ClusterabilityRegularizer(num_eigs=2, coef=0.05),
                GraphSpectralRegularizer(X, weight=1e-3, batch_size=8),
                NeuNcutRegularizer(k=3, coef=0.01)):
        model = nets.MaskedMLP([4, 8, 8, 2], members=2, seed=0)
        before = [w.detach().clone() for w in model.weights]
        result = train_mod.train(model, task, lr=0.01, batch_size=8, epochs=2,
                                 generator=torch.Generator().manual_seed(0), regularizer=reg)
        assert result.accuracy.shape == (2,)
        assert any(not torch.equal(a, b) for a, b in zip(before, model.weights))
    model = nets.MaskedMLP([4, 8, 8, 2], members=2, seed=0)
    reg = ClusterabilityRegularizer(num_eigs=2)
    reg.after_step(model)
    norms = torch.sqrt((model.weights[0] ** 2).sum(dim=2) + model.biases[0] ** 2)
    assert torch.allclose(norms, torch.full_like(norms, math.sqrt(2)), atol=1e-5)
