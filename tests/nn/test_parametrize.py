"""nn.utils.parametrize, parametrizations.weight_norm/spectral_norm and the hook forms
nn.utils.weight_norm/spectral_norm: keys, values, gradients and power iteration vs torch."""
import copy
import warnings

import numpy as np
import pytest

import ember
from ember.nn.utils import parametrize, parametrizations

torch = pytest.importorskip("torch")


def _np(t):
    return t.detach().numpy()


def _copy_state(tm, em):
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})


def _layers():
    return [(lambda: torch.nn.Linear(5, 4), lambda: ember.nn.Linear(5, 4)),
            (lambda: torch.nn.Conv2d(3, 4, 3), lambda: ember.nn.Conv2d(3, 4, 3)),
            (lambda: torch.nn.ConvTranspose2d(3, 4, 3), lambda: ember.nn.ConvTranspose2d(3, 4, 3))]


def _input(tm, rng):
    return rng.standard_normal((2, 5) if isinstance(tm, torch.nn.Linear) else (2, 3, 6, 6))


@pytest.mark.parametrize("which", [0, 1, 2])
@pytest.mark.parametrize("dim", [0, 1, None])
@pytest.mark.parametrize("form", ["parametrization", "hook"])
def test_weight_norm_matches_torch(which, dim, form):
    rng = np.random.default_rng(0)
    tmk, emk = _layers()[which]
    tm, em = tmk().double(), emk().double()
    _copy_state(tm, em)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        if form == "parametrization":
            tm = torch.nn.utils.parametrizations.weight_norm(tm, dim=dim)
            em = parametrizations.weight_norm(em, dim=dim)
        else:
            tm = torch.nn.utils.weight_norm(tm, dim=dim)
            em = ember.nn.utils.weight_norm(em, dim=dim)
    assert list(em.state_dict()) == list(tm.state_dict())
    for k, v in tm.state_dict().items():
        np.testing.assert_allclose(_np(em.state_dict()[k]), v.numpy(), atol=1e-14)
    x = _input(tm, rng)
    to, eo = tm(torch.tensor(x)), em(ember.tensor(x))
    np.testing.assert_allclose(_np(eo), _np(to), atol=1e-12)
    to.pow(2).sum().backward()
    eo.pow(2).sum().backward()
    eparams = dict(em.named_parameters())
    for n, p in tm.named_parameters():
        np.testing.assert_allclose(eparams[n].grad.numpy(), p.grad.numpy(), atol=1e-11)


@pytest.mark.parametrize("which", [0, 1, 2])
@pytest.mark.parametrize("form", ["parametrization", "hook"])
def test_spectral_norm_matches_torch(which, form):
    rng = np.random.default_rng(1)
    tmk, emk = _layers()[which]
    tm, em = tmk().double(), emk().double()
    _copy_state(tm, em)
    if form == "parametrization":
        tm = torch.nn.utils.parametrizations.spectral_norm(tm)
        em = parametrizations.spectral_norm(em)
    else:
        tm = torch.nn.utils.spectral_norm(tm)
        em = ember.nn.utils.spectral_norm(em)
    assert sorted(em.state_dict()) == sorted(tm.state_dict())
    _copy_state(tm, em)  # the same random start vectors
    opt_t = torch.optim.SGD(tm.parameters(), lr=0.1)
    opt_e = ember.optim.SGD(em.parameters(), lr=0.1)
    for step in range(3):  # power iteration in train mode, buffers and weights move
        x = _input(tm, rng)
        to, eo = tm(torch.tensor(x)), em(ember.tensor(x))
        np.testing.assert_allclose(_np(eo), _np(to), atol=1e-10)
        opt_t.zero_grad(), opt_e.zero_grad()
        to.pow(2).sum().backward()
        eo.pow(2).sum().backward()
        opt_t.step(), opt_e.step()
        for k, v in tm.state_dict().items():
            np.testing.assert_allclose(_np(em.state_dict()[k]), v.numpy(), atol=1e-10,
                                       err_msg=f"{k} at step {step}")
    tm.eval(), em.eval()
    x = _input(tm, rng)
    np.testing.assert_allclose(_np(em(ember.tensor(x))), _np(tm(torch.tensor(x))), atol=1e-10)


def test_spectral_norm_bounds_the_largest_singular_value():
    ember.manual_seed(0)
    lin = parametrizations.spectral_norm(ember.nn.Linear(20, 10))
    for _ in range(20):
        lin(ember.zeros(1, 20))
    s = np.linalg.svd(_np(lin.weight), compute_uv=False)
    assert abs(s[0] - 1.0) < 1e-4


@pytest.mark.parametrize("form", ["parametrization", "hook"])
def test_spectral_norm_under_jit_updates_buffers_like_eager(form):
    ember.manual_seed(0)
    sn = parametrizations.spectral_norm if form == "parametrization" else \
        ember.nn.utils.spectral_norm
    a = sn(ember.nn.Linear(6, 5))
    b = copy.deepcopy(a)
    f = ember.jit(lambda x: b(x))  # the module closed over: its buffers are state
    x = ember.randn(3, 6)
    for _ in range(3):
        ya, yb = a(x), f(x)
        assert np.array_equal(_np(ya), _np(yb))
    ua, ub = ((m.parametrizations.weight[0]._u if form == "parametrization" else m.weight_u)
              for m in (a, b))
    assert np.array_equal(ua.numpy(), ub.numpy())


class _Symmetric(ember.nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).mT


class _Scale(ember.nn.Module):
    def forward(self, X):
        return 2.0 * X

    def right_inverse(self, X):
        return X / 2.0


def test_register_parametrization_basics():
    lin = ember.nn.Linear(3, 3)
    w0 = lin.weight
    parametrize.register_parametrization(lin, "weight", _Scale())
    assert type(lin).__name__ == "ParametrizedLinear"
    assert parametrize.type_before_parametrizations(lin) is ember.nn.Linear
    assert parametrize.is_parametrized(lin) and parametrize.is_parametrized(lin, "weight")
    assert not parametrize.is_parametrized(lin, "bias")
    # right_inverse at registration: the parametrized value is unchanged, the same Parameter
    # object now holds the original
    assert lin.parametrizations.weight.original is w0
    np.testing.assert_allclose(_np(lin.weight), 2.0 * _np(w0))
    lin.weight = ember.ones(3, 3)  # assignment goes through right_inverse
    np.testing.assert_allclose(_np(lin.parametrizations.weight.original), 0.5)
    parametrize.register_parametrization(lin, "weight", _Symmetric())  # chained
    assert len(lin.parametrizations.weight) == 2
    y = lin(ember.ones(1, 3))
    y.sum().backward()
    assert lin.parametrizations.weight.original.grad is not None
    with parametrize.cached():
        assert lin.weight is lin.weight
    assert lin.weight is not lin.weight
    val = _np(lin.weight)
    parametrize.remove_parametrizations(lin, "weight")
    assert type(lin) is ember.nn.Linear and "weight" in lin._parameters
    np.testing.assert_allclose(_np(lin.weight), val)
    assert sorted(lin.state_dict()) == ["bias", "weight"]


def test_parametrized_module_state_dict_round_trip_and_errors():
    a = parametrizations.weight_norm(ember.nn.Linear(3, 2))
    b = parametrizations.weight_norm(ember.nn.Linear(3, 2))
    b.load_state_dict(a.state_dict())
    x = ember.randn(4, 3)
    assert np.array_equal(_np(a(x)), _np(b(x)))
    with pytest.raises(ValueError, match="has no parameter or buffer 'weights'"):
        parametrize.register_parametrization(ember.nn.Linear(2, 2), "weights", _Scale())
    with pytest.raises(ValueError, match=r"changes the tensor from \(2, 2\)"):
        parametrize.register_parametrization(ember.nn.Linear(2, 2), "weight",
                                             ember.nn.Flatten(0))
    with pytest.raises(RuntimeError, match="already has weight_norm"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            ember.nn.utils.weight_norm(ember.nn.utils.weight_norm(ember.nn.Linear(2, 2)))


def test_hook_forms_remove():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        lin = ember.nn.utils.weight_norm(ember.nn.Linear(3, 2))
    val = _np(lin.weight)
    ember.nn.utils.remove_weight_norm(lin)
    assert sorted(lin.state_dict()) == ["bias", "weight"]
    np.testing.assert_allclose(_np(lin.weight), val, atol=1e-7)
    sn = ember.nn.utils.spectral_norm(ember.nn.Linear(3, 2))
    sn(ember.zeros(1, 3))
    ember.nn.utils.remove_spectral_norm(sn)
    assert sorted(sn.state_dict()) == ["bias", "weight"] and not sn._forward_pre_hooks
