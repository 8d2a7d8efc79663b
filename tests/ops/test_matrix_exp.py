"""matrix_exp (torch.linalg.matrix_exp / jax.scipy.linalg.expm): values, batches, gradients,
forward mode, vmap and double backward, against PyTorch where it is installed."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("scale", [0.01, 1.0, 8.0, 60.0])
def test_values_match_pytorch_float64(scale):
    a = np.random.default_rng(1).standard_normal((3, 5, 5)) * scale
    got = ember.matrix_exp(ember.tensor(a)).numpy()
    want = torch.matrix_exp(torch.tensor(a)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12 * np.abs(want).max())


def test_known_closed_forms_and_entry_points():
    t = 0.7
    rot = ember.linalg.matrix_exp(ember.tensor([[0., t], [-t, 0.]]))
    np.testing.assert_allclose(rot.numpy(), [[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]],
                               rtol=1e-6)
    nil = ember.tensor([[0., 1.], [0., 0.]]).matrix_exp()          # exp(N) = I + N
    np.testing.assert_allclose(nil.numpy(), [[1., 1.], [0., 1.]])
    assert ember.matrix_exp(ember.zeros(0, 0)).shape == (0, 0)
    assert ember.matrix_exp(ember.eye(3)).dtype == ember.float32


def test_gradient_matches_pytorch():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((2, 4, 4))
    g = rng.standard_normal((2, 4, 4))
    xe = ember.tensor(a, requires_grad=True)
    (ember.matrix_exp(xe) * ember.tensor(g)).sum().backward()
    xt = torch.tensor(a, requires_grad=True)
    (torch.matrix_exp(xt) * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-10)


def test_double_backward_matches_pytorch():
    a = np.random.default_rng(3).standard_normal((3, 3)) * 0.5
    xe = ember.tensor(a, requires_grad=True)
    (ge,) = ember.autograd.grad(ember.matrix_exp(xe).sin().sum(), [xe], create_graph=True)
    (hh_e,) = ember.autograd.grad((ge ** 2).sum(), [xe])
    xt = torch.tensor(a, requires_grad=True)
    (gt,) = torch.autograd.grad(torch.matrix_exp(xt).sin().sum(), [xt], create_graph=True)
    (hh_t,) = torch.autograd.grad((gt ** 2).sum(), [xt])
    np.testing.assert_allclose(hh_e.numpy(), hh_t.numpy(), rtol=1e-8, atol=1e-9)


def test_forward_mode_and_vmap():
    rng = np.random.default_rng(4)
    a, da = rng.standard_normal((4, 4)), rng.standard_normal((4, 4))
    _, tan = ember.func.jvp(ember.matrix_exp, (ember.tensor(a),), (ember.tensor(da),))
    _, tan_t = torch.func.jvp(torch.matrix_exp, (torch.tensor(a),), (torch.tensor(da),))
    np.testing.assert_allclose(tan.numpy(), tan_t.numpy(), rtol=1e-9, atol=1e-10)
    batch = rng.standard_normal((3, 4, 4))
    np.testing.assert_allclose(ember.vmap(ember.matrix_exp)(ember.tensor(batch)).numpy(),
                               torch.matrix_exp(torch.tensor(batch)).numpy(), rtol=1e-10)


def test_bad_input_is_named():
    with pytest.raises(Exception, match="matrix_exp.*square"):
        ember.matrix_exp(ember.ones(2, 3))
    with pytest.raises(Exception, match="matrix_exp.*floating"):
        ember.matrix_exp(ember.ones(2, 2, dtype=ember.int64))
