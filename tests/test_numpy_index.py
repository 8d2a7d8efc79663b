"""ember.numpy's indexing helpers and set operations (ember/numpy_index.py) against
jax.numpy: values, dtypes, jit with size=, gradients through gathers, errors."""
import numpy as np
import pytest

import ember
import ember.numpy as jnp

jax = pytest.importorskip("jax")
J = jax.numpy

i32 = np.int32
A = np.array([5, 1, 3, 3, 7, -2], i32)
B = np.array([3, 4, 5, 9], i32)
M = np.arange(12, dtype=np.float32).reshape(3, 4)
F = np.array([0.5, -1.0, 2.0, 0.5], np.float32)

CASES = [
    ("indices", lambda m: m.indices((2, 3))), ("indices_sparse", lambda m: m.indices((2, 3), sparse=True)),
    ("indices_dtype", lambda m: m.indices((2,), dtype=m.float32)),
    ("tril_indices", lambda m: m.tril_indices(3)), ("tril_indices_km", lambda m: m.tril_indices(3, -1, 4)),
    ("triu_indices", lambda m: m.triu_indices(4, 1)), ("triu_indices_m", lambda m: m.triu_indices(3, 0, 2)),
    ("tril_indices_from", lambda m: m.tril_indices_from(M, 1)),
    ("triu_indices_from", lambda m: m.triu_indices_from(M, -1)),
    ("diag_indices", lambda m: m.diag_indices(3, 3)),
    ("diag_indices_from", lambda m: m.diag_indices_from(np.ones((2, 2, 2)))),
    ("mask_indices", lambda m: m.mask_indices(3, m.triu, 1)),
    ("mask_indices_tril", lambda m: m.mask_indices(3, m.tril)),
    ("unravel_index", lambda m: m.unravel_index(np.array([5, 7, 0], i32), (2, 4))),
    ("unravel_index_neg", lambda m: m.unravel_index(np.array([-1, 3], i32), (2, 3))),
    ("unravel_index_scalar", lambda m: m.unravel_index(5, (2, 3))),
    ("ravel_multi_index", lambda m: m.ravel_multi_index((np.array([1, 0], i32), np.array([1, 3], i32)), (2, 4))),
    ("ravel_multi_index_F", lambda m: m.ravel_multi_index((np.array([1, 0], i32), np.array([1, 3], i32)), (2, 4), order="F")),
    ("ravel_multi_index_clip", lambda m: m.ravel_multi_index((np.array([1, 0], i32), np.array([1, 9], i32)), (2, 4), mode="clip")),
    ("ravel_multi_index_wrap", lambda m: m.ravel_multi_index((np.array([1, -1], i32), np.array([5, 9], i32)), (2, 4), mode="wrap")),
    ("ix_", lambda m: m.ix_(np.array([0, 2], i32), np.array([1, 0, 3], i32))),
    ("ix_gather", lambda m: m.asarray(M)[m.ix_(np.array([0, 2], i32), np.array([3, 1], i32))]),
    ("mgrid", lambda m: m.mgrid[0:3, 1:5:2]), ("mgrid_1d", lambda m: m.mgrid[-1:2]),
    ("mgrid_float", lambda m: m.mgrid[0:1:0.25, 0:2]), ("mgrid_complex", lambda m: m.mgrid[0:1:5j]),
    ("ogrid", lambda m: m.ogrid[0:3, 0:2]), ("ogrid_complex", lambda m: m.ogrid[0:1:3j, 0:2:2j]),
    ("s_", lambda m: m.asarray(M)[m.s_[1:, ::2]]), ("index_exp", lambda m: m.asarray(M)[m.index_exp[::-1]]),
    ("lexsort", lambda m: m.lexsort((np.array([1, 0, 2, 0], i32), np.array([1, 1, 0, 1], i32)))),
    ("lexsort_2d", lambda m: m.lexsort((M % 3, M % 2), axis=0)),
    ("lexsort_2d_last", lambda m: m.lexsort((M % 3, M % 2))),
    ("isin", lambda m: m.isin(A, B)), ("isin_invert", lambda m: m.isin(M, np.array([1., 5.]), invert=True)),
    ("setdiff1d", lambda m: m.setdiff1d(A, B)),
    ("setdiff1d_size", lambda m: m.setdiff1d(A, B, size=5)),
    ("setdiff1d_fill", lambda m: m.setdiff1d(A, B, size=5, fill_value=-9)),
    ("setdiff1d_size_short", lambda m: m.setdiff1d(A, B, size=2)),
    ("union1d", lambda m: m.union1d(A, B)), ("union1d_size", lambda m: m.union1d(A, B, size=10)),
    ("intersect1d", lambda m: m.intersect1d(A, B)),
    ("intersect1d_size", lambda m: m.intersect1d(A, B, size=4)),
    ("intersect1d_empty_size", lambda m: m.intersect1d(A, np.array([100], i32), size=2)),
    ("intersect1d_indices", lambda m: m.intersect1d(A, B, return_indices=True)),
    ("intersect1d_indices_size", lambda m: m.intersect1d(A, B, return_indices=True, size=3)),
    ("setxor1d", lambda m: m.setxor1d(A, B)), ("setxor1d_size", lambda m: m.setxor1d(A, B, size=7)),
    ("setops_float", lambda m: m.union1d(F, np.array([2.0, 3.0], np.float32))),
    ("delete", lambda m: m.delete(A, np.array([0, 2]))), ("delete_int", lambda m: m.delete(M, 1, axis=1)),
    ("delete_slice", lambda m: m.delete(M, slice(0, 2), axis=0)),
    ("delete_dup", lambda m: m.delete(A, np.array([1, 1, 3]))), ("delete_flat", lambda m: m.delete(M, 5)),
    ("insert", lambda m: m.insert(A, 1, np.array([9, 8], i32))),
    ("insert_many", lambda m: m.insert(A, np.array([1, 3]), 9)),
    ("insert_axis", lambda m: m.insert(M, 1, 7.0, axis=1)),
    ("insert_axis_vals", lambda m: m.insert(M, np.array([0, 2]), np.array([[-1.], [-2.], [-3.]], np.float32), axis=1)),
    ("insert_end", lambda m: m.insert(M, 3, np.zeros(4, np.float32), axis=0)),
    ("compress", lambda m: m.compress(np.array([True, False, True]), M, axis=0)),
    ("compress_flat", lambda m: m.compress(np.array([1, 0, 1, 1]), M)),
    ("compress_size", lambda m: m.compress(np.array([True, False, False, True]), M, axis=1, size=3, fill_value=-1)),
    ("extract", lambda m: m.extract(M > 6, M)), ("extract_size", lambda m: m.extract(M > 8, M, size=5)),
    ("choose", lambda m: m.choose(np.array([0, 1, 2, 1], i32), [np.arange(4, dtype=i32), 10 + np.arange(4, dtype=i32), 20 + np.arange(4, dtype=i32)])),
    ("choose_bcast", lambda m: m.choose(np.array([[0], [1]], i32), [F, 2.0])),
    ("choose_clip", lambda m: m.choose(np.array([0, 3, -1], i32), [F[:3], F[1:]], mode="clip")),
    ("choose_wrap", lambda m: m.choose(np.array([0, 3, -1], i32), [F[:3], F[1:]], mode="wrap")),
    ("place", lambda m: m.place(M, M % 3 == 0, np.array([-1., -2.], np.float32), inplace=False)),
    ("put", lambda m: m.put(M, np.array([0, 7], i32), np.array([9., 8.], np.float32), inplace=False)),
    ("put_clip", lambda m: m.put(F, np.array([0, 7], i32), np.array([9., 8.], np.float32), mode="clip", inplace=False)),
    ("put_wrap", lambda m: m.put(F, np.array([1, 6], i32), -1.0, mode="wrap", inplace=False)),
    ("put_along_axis", lambda m: m.put_along_axis(M, np.array([[0], [2], [3]], i32), 9., axis=1, inplace=False)),
    ("put_along_axis_0", lambda m: m.put_along_axis(M, np.array([[0, 2, 1, 0]], i32), np.array([[5., 6., 7., 8.]], np.float32), axis=0, inplace=False)),
    ("put_along_axis_none", lambda m: m.put_along_axis(F, np.array([3, 0], i32), 4.0, axis=None, inplace=False)),
]


def _leaves(r):
    if isinstance(r, (tuple, list)):
        return [x for item in r for x in _leaves(item)]
    return [r]


def _check(got, want):
    g, w = _leaves(got), _leaves(want)
    assert len(g) == len(w)
    for a, b in zip(g, w):
        a = a.numpy() if isinstance(a, ember.Tensor) else np.asarray(a)
        b = np.asarray(b)
        assert a.shape == b.shape, (a.shape, b.shape)
        assert a.dtype == b.dtype, (a.dtype, b.dtype)
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_matches_jax(case):
    _, f = case
    _check(f(jnp), f(J))


JITS = ["setdiff1d_size", "union1d_size", "intersect1d_indices_size", "setxor1d_size",
        "compress_size", "extract_size", "place", "put", "put_along_axis", "choose_clip",
        "isin", "lexsort_2d", "ravel_multi_index_wrap", "unravel_index", "insert_axis_vals",
        "delete_slice"]


@pytest.mark.parametrize("name", JITS)
def test_jit_matches_eager(name):
    f = dict(CASES)[name]
    _check(ember.jit(lambda: f(jnp))(), f(jnp))


def test_jit_with_traced_inputs_and_size():
    f = ember.jit(lambda a, b: jnp.setdiff1d(a, b, size=4, fill_value=0))
    _check(f(A, B), J.setdiff1d(A, B, size=4, fill_value=0))
    g = ember.jit(lambda c, x: jnp.compress(c, x, size=2))
    _check(g(np.array([False, True, True]), F[:3]), J.compress(np.array([False, True, True]), F[:3], size=2))


def test_data_dependent_sizes_need_size_under_jit():
    with pytest.raises(TypeError, match="setdiff1d: .*size="):
        ember.jit(lambda a: jnp.setdiff1d(a, B))(A)
    with pytest.raises(TypeError, match="compress: .*size="):
        ember.jit(lambda c: jnp.compress(c, F))(F > 0)


GRADS = [
    ("insert", lambda m, x: m.insert(x, 1, x[:, 0] * 2, axis=1)),
    ("delete", lambda m, x: m.delete(x, np.array([0, 2]), axis=1)),
    ("compress", lambda m, x: m.compress(np.array([True, False, True]), x, axis=0)),
    ("choose", lambda m, x: m.choose(np.array([0, 1, 1, 0], i32), [x[0], x[1] ** 2])),
    ("place", lambda m, x: m.place(x, M % 3 == 0, x[0, :2] * 3, inplace=False)),
    ("put", lambda m, x: m.put(x, np.array([0, 7], i32), x[1, :2] ** 2, inplace=False)),
    ("put_along_axis", lambda m, x: m.put_along_axis(x, np.array([[0], [2], [3]], i32), x[:, :1] * 5, axis=1, inplace=False)),
    ("union1d_size", lambda m, x: m.union1d(x[0], x[1], size=8)),
]


@pytest.mark.parametrize("case", GRADS, ids=[c[0] for c in GRADS])
def test_gradients_match_jax(case):
    _, f = case
    x = M / 7.0
    eg = ember.grad(lambda t: (f(jnp, t) ** 2).sum())(ember.tensor(x))
    jg = jax.grad(lambda t: (f(J, t) ** 2).sum())(x)
    np.testing.assert_allclose(eg.numpy(), np.asarray(jg), rtol=1e-5, atol=1e-6)


def test_ix_boolean_masks_as_numpy():  # (JAX refuses boolean arguments)
    got = jnp.ix_(np.array([True, False, True]), np.array([1, 0], i32))
    want = np.ix_(np.array([True, False, True]), np.array([1, 0]))
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.numpy(), w)


def test_errors_name_the_function_and_the_fix():
    with pytest.raises(ValueError, match="place: .*inplace=False"):
        jnp.place(M, M > 1, 0.0)
    with pytest.raises(ValueError, match="put: .*inplace=False"):
        jnp.put(M, 0, 0.0)
    with pytest.raises(ValueError, match="choose: index 3 is out of range for 2 choices"):
        jnp.choose(np.array([0, 3]), [F[:2], F[2:]])
    with pytest.raises(ValueError, match="ravel_multi_index: index 9 is out of bounds"):
        jnp.ravel_multi_index((np.array([1]), np.array([9])), (2, 4))
    with pytest.raises(ValueError, match="unravel_index: index 8 is out of bounds"):
        jnp.unravel_index(np.array([8]), (2, 4))
    with pytest.raises(ValueError, match="diag_indices_from: "):
        jnp.diag_indices_from(M)
    with pytest.raises(IndexError, match="delete: "):
        jnp.delete(F, 9)
    with pytest.raises(ValueError, match="compress: size must be in"):
        jnp.compress(np.array([True]), F, size=9)
