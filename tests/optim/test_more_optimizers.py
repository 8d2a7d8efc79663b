"""Adadelta, Adamax, NAdam, RAdam, ASGD, Rprop and LBFGS against torch.optim: the same
parameters after several steps on the same gradients."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

CASES = [
    ("Adadelta", {}), ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1, maximize=True)),
    ("Adamax", {}), ("Adamax", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1)),
    ("NAdam", {}), ("NAdam", dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", {}), ("RAdam", dict(lr=0.01, weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("ASGD", {}), ("ASGD", dict(lr=0.05, lambd=0.01, t0=3, weight_decay=0.1)),
    ("Rprop", {}), ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2))),
]


@pytest.mark.parametrize("name,hp", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_steps_match_torch(name, hp):
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((4, 3))
    ew = ember.nn.Parameter(ember.tensor(w0))
    tw = torch.nn.Parameter(torch.tensor(w0))
    eo = getattr(ember.optim, name)([ew], **hp)
    to = getattr(torch.optim, name)([tw], **hp)
    for step in range(12):  # a gradient that flips sign now and then (Rprop's case)
        g = rng.standard_normal((4, 3)) + (w0 if step % 3 else -w0)
        ew.grad = ember.tensor(g)
        tw.grad = torch.tensor(g)
        eo.step()
        to.step()
        np.testing.assert_allclose(ew.detach().numpy(), tw.detach().numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=f"step {step + 1}")
    es, ts = eo.state_dict()["state"][0], to.state_dict()["state"][0]
    for k, v in ts.items():
        got = es[k]
        want = v.numpy() if isinstance(v, torch.Tensor) else v
        np.testing.assert_allclose(np.asarray(got, dtype=np.float64),
                                   np.asarray(want, dtype=np.float64), rtol=1e-10, atol=1e-12,
                                   err_msg=k)


def test_lbfgs_matches_torch_on_a_least_squares_problem():
    rng = np.random.default_rng(1)
    a, b, w0 = rng.standard_normal((20, 5)), rng.standard_normal(20), rng.standard_normal(5)
    results = []
    for lib in (ember, torch):
        w = lib.nn.Parameter(lib.tensor(w0))
        A, B = lib.tensor(a), lib.tensor(b)
        opt = lib.optim.LBFGS([w], lr=0.5, max_iter=10, history_size=4)

        def closure():
            opt.zero_grad()
            loss = ((A @ w - B) ** 2).mean()
            loss.backward()
            return loss
        losses = [float(opt.step(closure)) for _ in range(3)]
        results.append((w.detach().numpy().copy(), losses))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-9)


def test_bad_arguments_are_refused_clearly():
    w = ember.nn.Parameter(ember.zeros(2))
    with pytest.raises(ValueError, match="Rprop: Invalid eta values"):
        ember.optim.Rprop([w], etas=(1.5, 1.2))
    with pytest.raises(ValueError, match="NAdam: Invalid learning rate"):
        ember.optim.NAdam([w], lr=-1.0)
    with pytest.raises(ValueError, match="line_search_fn='strong_wolfe' is not supported"):
        ember.optim.LBFGS([w], line_search_fn="strong_wolfe")
    with pytest.raises(RuntimeError, match="LBFGS.step needs a closure"):
        ember.optim.LBFGS([w]).step(None)


@pytest.mark.parametrize("name", ["Adadelta", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop"])
def test_float32_model_trains_and_keeps_its_dtype(name):
    ember.manual_seed(0)
    model = ember.nn.Linear(3, 1)
    x = ember.randn(64, 3)
    y = x @ ember.tensor([[1.0], [-2.0], [0.5]])
    opt = getattr(ember.optim, name)(model.parameters(), **({"lr": 0.05} if name != "Adadelta"
                                                            else {}))
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = ember.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert model.weight.dtype == ember.float32 and model.bias.dtype == ember.float32
    # Adadelta's first steps are small by design (its step grows from sqrt(eps))
    assert losses[-1] < (0.8 if name == "Adadelta" else 0.5) * losses[0]
