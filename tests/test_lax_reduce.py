"""ember.lax's reductions, scans, sorting and contractions against jax.lax: values, gradients
(jax.vjp with the same cotangent), vmap and jit."""
import operator

import numpy as np
import pytest

import ember
from ember import lax

jax = pytest.importorskip("jax")
jlax = jax.lax
jnp = jax.numpy

rng = np.random.default_rng(2)
X = rng.standard_normal((3, 4, 5)).astype(np.float32)
POS = rng.uniform(0.5, 1.5, (3, 4, 5)).astype(np.float32)


def _first(r):
    return r[0] if isinstance(r, tuple) else r


# name, function of (lax module, x), input, jax differentiates it
CASES = [
    ("reduce_sum", lambda L, x: L.reduce_sum(x, (0, 2)), X, True),
    ("reduce_prod", lambda L, x: L.reduce_prod(x, (1,)), POS, True),
    ("reduce_max", lambda L, x: L.reduce_max(x, (2,)), X, True),
    ("reduce_min", lambda L, x: L.reduce_min(x, (0, 1)), X, True),
    ("reduce_add", lambda L, x: L.reduce(x, np.float32(0), L.add, (1,)), X, True),
    ("reduce_max_fn", lambda L, x: L.reduce(x, np.float32(-np.inf), L.max, (0, 2)), X, True),
    ("reduce_general", lambda L, x: L.reduce(x, np.float32(1),
                                             lambda a, b: a * b, (2,)), POS, True),
    ("cumsum", lambda L, x: L.cumsum(x, 1), X, True),
    ("cumsum_rev", lambda L, x: L.cumsum(x, 2, reverse=True), X, True),
    ("cumprod", lambda L, x: L.cumprod(x, 2), POS, True),
    ("cummax", lambda L, x: L.cummax(x, 1), X, True),
    ("cummin_rev", lambda L, x: L.cummin(x, 2, reverse=True), X, True),
    ("cumlogsumexp", lambda L, x: L.cumlogsumexp(x, 0, reverse=True), X, True),
    ("sort", lambda L, x: L.sort(x, dimension=1), X, True),
    ("sort_key_val", lambda L, x: L.sort_key_val(x, x * 2, dimension=2)[1], X, True),
    ("top_k", lambda L, x: L.top_k(x, 3)[0], X, True),
    ("dot_general", lambda L, x: L.dot_general(x, x, (((2,), (2,)), ((0,), (0,)))), X, True),
    ("dot_general_nobatch", lambda L, x: L.dot_general(x, x[0], (((1, 2), (0, 1)), ((), ()))),
     X, True),
    ("batch_matmul", lambda L, x: L.batch_matmul(x, L.transpose(x, (0, 2, 1))), X, True),
    ("associative_scan", lambda L, x: L.associative_scan(L.add, x, axis=1), X, True),
    ("associative_scan_rev", lambda L, x: L.associative_scan(L.mul, x, reverse=True, axis=2),
     POS, True),
    ("reduce_window_max", lambda L, x: L.reduce_window(x, -np.inf, L.max, (1, 2, 3),
                                                       (1, 1, 2), "SAME"), X, True),
    ("reduce_window_sum", lambda L, x: L.reduce_window(x, np.float32(0), L.add, (2, 2, 2),
                                                       (1, 2, 1), ((0, 1), (1, 0), (1, 1))),
     X, True),
    ("reduce_window_dilated", lambda L, x: L.reduce_window(x, np.float32(np.inf), L.min,
                                                           (1, 2, 2), (1, 1, 1), "VALID",
                                                           window_dilation=(1, 2, 2)), X, False),
    ("reduce_window_base_dil", lambda L, x: L.reduce_window(x, np.float32(0), L.add, (1, 2, 3),
                                                            (1, 1, 2), "VALID",
                                                            base_dilation=(1, 2, 1)), X, True),
]


@pytest.mark.parametrize("name,f,x,diff", CASES, ids=[c[0] for c in CASES])
def test_values_grads_vmap_jit_match_jax(name, f, x, diff):
    ours = f(lax, ember.tensor(x))
    theirs = np.asarray(f(jlax, jnp.asarray(x)))
    assert tuple(ours.shape) == theirs.shape and ours.dtype.name == str(theirs.dtype)
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=2e-5, atol=2e-6)
    ct = rng.standard_normal(theirs.shape).astype(np.float32)
    if not diff:  # (jax has no VJP for a dilated max window): a finite difference
        g = ember.vjp(lambda v: f(lax, v), ember.tensor(x, dtype=ember.float64))[1](
            ember.tensor(ct, dtype=ember.float64))[0]
        e = np.zeros_like(x, dtype=np.float64)
        e[0, 1, 2] = 1e-6
        fd = ((f(lax, ember.tensor(x + e)) - f(lax, ember.tensor(x - e))).numpy()
              .astype(np.float64) * ct).sum() / 2e-6
        np.testing.assert_allclose(g.numpy()[0, 1, 2], fd, rtol=1e-3, atol=1e-3)
    g = ember.vjp(lambda v: f(lax, v), ember.tensor(x))[1](ember.tensor(ct))[0]
    if diff:
        jg = jax.vjp(lambda v: f(jlax, v), jnp.asarray(x))[1](jnp.asarray(ct))[0]
        np.testing.assert_allclose(g.numpy(), np.asarray(jg), rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(ember.jit(lambda v: f(lax, v))(ember.tensor(x)).numpy(),
                               ours.numpy(), rtol=1e-6, atol=1e-7)
    xs = np.stack([x, x[::-1].copy()])
    vm = ember.vmap(lambda v: f(lax, v))(ember.tensor(xs))
    np.testing.assert_allclose(vm.numpy(), np.stack([ours.numpy(), f(lax, ember.tensor(
        xs[1])).numpy()]), rtol=1e-5, atol=1e-6)


def test_argmax_argmin_and_bool_int_reductions():
    x = np.array([[1., 5., 5., np.nan], [7., 0., 2., -1.]], np.float32)
    for name in ("argmax", "argmin"):
        for ax in (0, 1):
            got = getattr(lax, name)(ember.tensor(x), ax, np.int32)
            want = getattr(jlax, name)(x, ax, jnp.int32)
            assert got.dtype == ember.int32
            np.testing.assert_array_equal(got.numpy(), np.asarray(want))
    b = rng.random((3, 4)) > 0.5
    i = rng.integers(0, 64, (3, 4)).astype(np.int32)
    for name in ("reduce_and", "reduce_or", "reduce_xor"):
        for v in (b, i):
            np.testing.assert_array_equal(getattr(lax, name)(ember.tensor(v), (1,)).numpy(),
                                          np.asarray(getattr(jlax, name)(v, (1,))))
    np.testing.assert_array_equal(lax.reduce_max(ember.tensor(b), (0,)).numpy(), b.any(0))
    np.testing.assert_array_equal(lax.reduce_sum(ember.tensor(i), (0, 1)).numpy(),
                                  np.asarray(jlax.reduce_sum(i, (0, 1))))
    assert lax.reduce_sum(ember.tensor(i), (0,)).dtype == ember.int32
    assert lax.reduce(ember.tensor(i), 0, operator.add, (1,)).dtype == ember.int32


def test_variadic_reduce_is_an_argmax():
    x = rng.standard_normal((4, 6)).astype(np.float32)
    idx = np.broadcast_to(np.arange(6, dtype=np.int32), x.shape)

    def pick(L):
        def comp(a, b):
            (av, ai), (bv, bi) = a, b
            take_a = L.ge(av, bv)
            return L.select(take_a, av, bv), L.select(take_a, ai, bi)
        return comp
    got = lax.reduce((ember.tensor(x), ember.tensor(idx.copy())),
                     (np.float32(-np.inf), np.int32(0)), pick(lax), (1,))
    want = jlax.reduce((x, idx), (np.float32(-np.inf), np.int32(0)), pick(jlax), (1,))
    np.testing.assert_array_equal(got[1].numpy(), np.asarray(want[1]))
    np.testing.assert_allclose(got[0].numpy(), np.asarray(want[0]))


def test_multi_operand_sort_with_num_keys():
    k1 = np.array([2, 1, 2, 1, 0], np.int32)
    k2 = np.array([5., 3., 1., 3., 9.], np.float32)
    v = np.arange(5, dtype=np.float32)
    for nk in (1, 2):
        got = lax.sort((ember.tensor(k1), ember.tensor(k2), ember.tensor(v)), num_keys=nk)
        want = jlax.sort((k1, k2, v), num_keys=nk)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a.numpy(), np.asarray(b))
    x = np.array([3., np.nan, -1., 2.], np.float32)
    np.testing.assert_array_equal(lax.sort(ember.tensor(x)).numpy(), np.asarray(jlax.sort(x)))


def test_top_k_ties_and_indices():
    x = np.array([[1., 9., 4., 9., 4.], [0., 0., 0., 1., 0.]], np.float32)
    v, i = lax.top_k(ember.tensor(x), 3)
    jv, ji = jlax.top_k(x, 3)
    np.testing.assert_array_equal(v.numpy(), np.asarray(jv))
    np.testing.assert_array_equal(i.numpy(), np.asarray(ji))
    assert i.dtype == ember.int32
    xi = np.array([3, 7, 7, 1], np.int32)
    np.testing.assert_array_equal(lax.top_k(ember.tensor(xi), 2)[1].numpy(),
                                  np.asarray(jlax.top_k(xi, 2)[1]))


def test_associative_scan_pytree_and_odd_lengths():
    for n in (1, 2, 5, 7, 8):
        a = rng.uniform(0.5, 1.5, (n, 3)).astype(np.float32)
        b = rng.standard_normal((n, 3)).astype(np.float32)

        def affine(L):  # composition of x -> a x + b maps: a linear recurrence
            return lambda p, q: (q[0] * p[0], q[0] * p[1] + q[1])
        got = lax.associative_scan(affine(lax), (ember.tensor(a), ember.tensor(b)))
        want = jlax.associative_scan(affine(jlax), (a, b))
        for g, w in zip(got, want):
            np.testing.assert_allclose(g.numpy(), np.asarray(w), rtol=1e-5, atol=1e-6)


def test_dot_general_preferred_type_and_errors():
    a = rng.integers(-3, 3, (2, 3)).astype(np.int8)
    got = lax.dot_general(ember.tensor(a), ember.tensor(a), (((1,), (1,)), ((), ())),
                          preferred_element_type=np.int32)
    want = jlax.dot_general(a, a, (((1,), (1,)), ((), ())), preferred_element_type=jnp.int32)
    assert got.dtype == ember.int32
    np.testing.assert_array_equal(got.numpy(), np.asarray(want))
    with pytest.raises(TypeError, match=r"lax.dot_general: lhs \(2, 3\) dim 1 \(3\) and rhs "
                                        r"\(2, 3\) dim 0 \(2\) must match"):
        lax.dot_general(ember.ones(2, 3), ember.ones(2, 3), (((1,), (0,)), ((), ())))
    with pytest.raises(TypeError, match="lax.dot_general: operands must have the same dtype"):
        lax.dot_general(ember.ones(2, 3), ember.ones(3, dtype=ember.float64),
                        (((1,), (0,)), ((), ())))
    assert lax.Precision.HIGHEST.name == "HIGHEST"
    lax.dot_general(ember.ones(2, 3), ember.ones(3), (((1,), (0,)), ((), ())),
                    precision=lax.Precision.HIGHEST)


def test_reduce_window_max_gradient_goes_to_the_maximum():
    x = rng.standard_normal((1, 6, 6)).astype(np.float32)
    f = lambda L: lambda v: L.reduce_window(v, -np.inf, L.max, (1, 3, 3), (1, 2, 2),  # noqa
                                            "SAME").sum()
    g = ember.grad(f(lax))(ember.tensor(x))
    jg = jax.grad(f(jlax))(x)
    np.testing.assert_allclose(g.numpy(), np.asarray(jg), rtol=1e-6)
    # the same as max pooling
    mp = ember.nn.functional.max_pool2d(ember.tensor(x)[None], 2, 2)
    np.testing.assert_array_equal(
        lax.reduce_window(ember.tensor(x), -np.inf, lax.max, (1, 2, 2), (1, 2, 2)).numpy(),
        mp[0].numpy())


def test_optimization_barrier_and_dtype():
    t = (ember.ones(2), {"a": ember.zeros(1)})
    assert lax.optimization_barrier(t) is t
    assert lax.dtype(1.5) == ember.float32 and lax.dtype(np.ones(2)) == ember.float32
    assert lax.dtype(ember.ones(2, dtype=ember.float64)) == ember.float64
