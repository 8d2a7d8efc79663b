"""jacrev / jacfwd / hessian with JAX's and torch.func's conventions (argnums tuples, pytrees
in and out, has_aux), against JAX and torch.func; and the backward pass skipping products of
operands that are constants there."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.ops import linalg

rng = np.random.default_rng(0)
W = rng.standard_normal((5, 3)).astype(np.float32)
B = rng.standard_normal(5).astype(np.float32)
X = rng.standard_normal(3).astype(np.float32)


def _predict(lib_f):
    return lambda w, b, x: lib_f.linear(x, w, b).tanh()


@pytest.mark.parametrize("jac", ["jacrev", "jacfwd"])
def test_argnums_tuple_and_pytrees_match_torch_func(jac):
    torch = pytest.importorskip("torch")
    import torch.func as tf
    import torch.nn.functional as TF
    e_args = [ember.tensor(a) for a in (W, B, X)]
    t_args = [torch.tensor(a) for a in (W, B, X)]
    for argnums in (0, 2, (0, 1), (2,)):
        e = getattr(ember.func, jac)(_predict(F), argnums=argnums)(*e_args)
        t = getattr(tf, jac)(_predict(TF), argnums=argnums)(*t_args)
        el, tl = ember.tree.tree_leaves(e), [v for v in (t if isinstance(t, tuple) else (t,))]
        assert len(el) == len(tl)
        for a, b in zip(el, tl):
            assert tuple(a.shape) == tuple(b.shape)
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["jacrev", "jacfwd", "hessian"])
def test_dict_inputs_outputs_and_has_aux_match_jax(name):
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")

    def f(lib_np):
        def fn(p, x):
            y = lib_np.tanh(p["w"] @ x + p["b"])
            return {"s": (y * y).sum(), "y": y}, {"m": y.max()}
        return fn
    p_np = {"w": W, "b": B}
    e_p = {k: ember.tensor(v) for k, v in p_np.items()}
    j_p = {k: jnp.asarray(v) for k, v in p_np.items()}
    e_fn = getattr(ember, name)(f(ember.numpy), has_aux=True)
    j_fn = getattr(jax, name)(f(jnp), has_aux=True)
    (e, e_aux), (j, j_aux) = e_fn(e_p, ember.tensor(X)), j_fn(j_p, jnp.asarray(X))
    np.testing.assert_allclose(e_aux["m"].numpy(), np.asarray(j_aux["m"]), rtol=1e-6)
    e_leaves, e_def = ember.tree.tree_flatten(e)
    j_leaves = jax.tree_util.tree_leaves(j)
    assert [tuple(a.shape) for a in e_leaves] == [tuple(b.shape) for b in j_leaves]
    for a, b in zip(e_leaves, j_leaves):
        np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=2e-5, atol=1e-6)


def test_bad_argnums_names_the_arguments():
    with pytest.raises(ValueError, match=r"jacrev: argnums 3 does not name a positional "
                                         r"argument of the 3 given"):
        ember.jacrev(_predict(F), argnums=3)(*[ember.tensor(a) for a in (W, B, X)])


def test_backward_skips_products_of_constant_operands(monkeypatch):
    shapes = []
    impl = linalg.matmul_p.impl

    def spy(x, y):
        shapes.append((tuple(x.shape), tuple(y.shape)))
        return impl(x, y)
    monkeypatch.setattr(linalg.matmul_p, "impl", spy)
    w, x = ember.randn(2048, 32), ember.randn(32)
    j = ember.jacrev(lambda v: (w @ v).tanh())(x)
    assert tuple(j.shape) == (2048, 32)
    # forward and the input cotangents only: no (2048*2048, 1) @ (1, 32) weight product
    assert len(shapes) == 2 and all(np.prod(a) <= 2048 * 2048 for a, _ in shapes)
    np.testing.assert_allclose(
        j.numpy(), (1 - np.tanh(w.numpy() @ x.numpy()) ** 2)[:, None] * w.numpy(),
        rtol=1e-5, atol=1e-6)


def test_outer_products_are_exact_multiplies():
    x, y = ember.randn(3, 4, 1), ember.randn(3, 1, 5)
    np.testing.assert_array_equal((x @ y).numpy(), np.matmul(x.numpy(), y.numpy()))


def test_jvp_aux_leaves_without_its_tangent():
    x = ember.ones(3)
    out, tan, aux = ember.jvp(lambda v: (v * 2, {"m": v.max()}), (x,), (x,), has_aux=True)
    assert type(aux["m"]) is ember.Tensor and float(aux["m"]) == 1.0
    np.testing.assert_array_equal(tan.numpy(), [2.0, 2.0, 2.0])
