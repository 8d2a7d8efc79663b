"""ember.numpy's math, creation and utility functions and type names (ember/numpy_math.py,
ember/numpy_types.py) against jax.numpy: values, dtypes, gradients, jit."""
import io

import numpy as np
import pytest

import ember
import ember.numpy as jnp

jax = pytest.importorskip("jax")
J = jax.numpy

f32, i32 = np.float32, np.int32
rng = np.random.default_rng(7)
A = rng.standard_normal((3, 4)).astype(f32)
V = rng.standard_normal(6).astype(f32)
P = np.array([1.0, -2.0, 0.5, 3.0], f32)
I = np.array([12, -20, 7, 0, 9], i32)
I2 = np.array([18, 8, -21, 5, 6], i32)
X = np.array([-2.5, -1.0, 0.0, 0.3, 1.5, 2.5, 8.0, 1e-3], f32)

CASES = [
    ("around", lambda m: m.around(A * 10, 1)), ("rint", lambda m: m.rint(X)),
    ("rint_int", lambda m: m.rint(I)), ("cbrt", lambda m: m.cbrt(X)),
    ("divmod", lambda m: m.divmod(I, np.array([5, 3, -2, 4, 4], i32))),
    ("divmod_float", lambda m: m.divmod(X, f32(0.7))), ("modf", lambda m: m.modf(X)),
    ("frexp", lambda m: m.frexp(np.array([8., 0.75, -3., 0., 1e-30, 1.0, np.inf], f32))),
    ("ldexp", lambda m: m.ldexp(X, np.arange(8, dtype=i32) - 3)),
    ("gcd", lambda m: m.gcd(I, I2)), ("lcm", lambda m: m.lcm(I, I2)),
    ("heaviside", lambda m: m.heaviside(X, f32(0.5))),
    ("heaviside_arr", lambda m: m.heaviside(X, X * 2)),
    ("float_power", lambda m: m.float_power(np.abs(X), 1.5)),
    ("float_power_int", lambda m: m.float_power(I, 2)),
    ("spacing", lambda m: m.spacing(X)), ("i0", lambda m: m.i0(np.concatenate([X, [-12., 30.]]).astype(f32))),
    ("unwrap", lambda m: m.unwrap(np.cumsum(np.abs(V) * 2).astype(f32))),
    ("unwrap_period", lambda m: m.unwrap(np.array([0., 3., 6.5, 1.], f32), period=4.0)),
    ("unwrap_axis", lambda m: m.unwrap(A * 4, axis=0, discont=4.0)),
    ("cross", lambda m: m.cross(A[:, :3], A[::-1, 1:])), ("cross_2d", lambda m: m.cross(A[:, :2], A[:, 2:])),
    ("cross_23", lambda m: m.cross(A[:, :2], A[:, 1:])),
    ("cross_axis", lambda m: m.cross(A[:, :3].T, A[:, 1:].T, axis=0)),
    ("vander", lambda m: m.vander(P)), ("vander_n_inc", lambda m: m.vander(P, 3, increasing=True)),
    ("polyval", lambda m: m.polyval(P, V)), ("polyadd", lambda m: m.polyadd(P, P[:2])),
    ("polysub", lambda m: m.polysub(P[:2], P)), ("polymul", lambda m: m.polymul(P, P[:3])),
    ("polydiv", lambda m: m.polydiv(P, np.array([2.0, 1.0], f32))),
    ("polyder", lambda m: m.polyder(P)), ("polyder2", lambda m: m.polyder(P, 2)),
    ("polyint", lambda m: m.polyint(P)), ("polyint_k", lambda m: m.polyint(P, 2, k=np.array([1., 2.], f32))),
    ("poly", lambda m: m.poly(P)),
    ("polyfit", lambda m: m.polyfit(V, V ** 2 - V, 2)),
    ("polyfit_w", lambda m: m.polyfit(V, np.stack([V, V ** 3], 1), 3, w=np.abs(V) + 1)),
    ("logspace", lambda m: m.logspace(0.0, 2.0, 5)), ("logspace_base", lambda m: m.logspace(1.0, 3.0, 3, base=2.0, endpoint=False)),
    ("geomspace", lambda m: m.geomspace(1.0, 1000.0, 4)), ("geomspace_neg", lambda m: m.geomspace(-2.0, -32.0, 5)),
    ("tri", lambda m: m.tri(3, 4, 1)), ("tri_dtype", lambda m: m.tri(2, dtype=m.int32)),
    ("diagflat", lambda m: m.diagflat(A[:2, :2], -1)),
    ("block", lambda m: m.block([[A, A[:, :1]], [A[:1], A[:1, :1]]])),
    ("block_1d", lambda m: m.block([V, P])), ("block_3", lambda m: m.block([[[A]], [[A]]])),
    ("resize", lambda m: m.resize(P, (3, 3))), ("resize_shrink", lambda m: m.resize(A, 5)),
    ("rollaxis", lambda m: m.rollaxis(np.ones((2, 3, 4, 5), f32), 3, 1)),
    ("rollaxis_back", lambda m: m.rollaxis(np.ones((2, 3, 4, 5), f32), 1, 4)),
    ("apply_along_axis", lambda m: m.apply_along_axis(lambda v: (v ** 2).sum(), 1, A)),
    ("apply_along_axis_vec", lambda m: m.apply_along_axis(lambda v: v[::-1] * 2, 0, A)),
    ("apply_along_axis_outer", lambda m: m.apply_along_axis(lambda v: m.outer(v, v), 1, A)),
    ("apply_over_axes", lambda m: m.apply_over_axes(m.sum, A, [0, 1])),
    ("vectorize", lambda m: m.vectorize(lambda a, b: a * b + 1)(A, V[:4])),
    ("vectorize_sig", lambda m: m.vectorize(lambda a, b: (a * b).sum(), signature="(n),(n)->()")(A, P)),
    ("vectorize_sig_mat", lambda m: m.vectorize(lambda a: m.outer(a, a), signature="(n)->(n,n)")(A)),
    ("vectorize_excluded", lambda m: m.vectorize(lambda a, p: a * p, excluded={1})(V, 3.0)),
    ("fromfunction", lambda m: m.fromfunction(lambda i, j: i * 10 + j, (2, 3))),
    ("fromfunction_int", lambda m: m.fromfunction(lambda i, j: i - j, (3, 2), dtype=int)),
    ("frombuffer", lambda m: m.frombuffer(np.arange(4, dtype=i32).tobytes(), dtype=m.int32)),
    ("fromstring", lambda m: m.fromstring("1 2 3.5", sep=" ")),
    ("bartlett", lambda m: m.bartlett(7)), ("blackman", lambda m: m.blackman(6)),
    ("hamming", lambda m: m.hamming(5)), ("hanning", lambda m: m.hanning(8)),
    ("kaiser", lambda m: m.kaiser(7, 4.5)), ("window_1", lambda m: m.hanning(1)),
    ("matvec", lambda m: m.matvec(np.stack([A, A]), A[0])), ("vecmat", lambda m: m.vecmat(A[:, 0], A)),
    ("bitwise_not", lambda m: m.bitwise_not(I)), ("bitwise_count", lambda m: m.bitwise_count(I)),
    ("bitwise_count_u8", lambda m: m.bitwise_count(np.array([255, 3], np.uint8))),
    ("packbits", lambda m: m.packbits(np.array([1, 0, 1, 1, 0, 0, 1, 0, 1], np.uint8))),
    ("packbits_axis", lambda m: m.packbits(A > 0, axis=1, bitorder="little")),
    ("unpackbits", lambda m: m.unpackbits(np.array([176, 3], np.uint8))),
    ("unpackbits_count", lambda m: m.unpackbits(np.array([[176], [3]], np.uint8), axis=1, count=-3, bitorder="little")),
    ("trim_zeros", lambda m: m.trim_zeros(np.array([0, 0, 1, 0, 2, 0], i32))),
    ("trim_zeros_f", lambda m: m.trim_zeros(np.array([0, 0, 1, 0, 2, 0], i32), "f")),
    ("ediff1d", lambda m: m.ediff1d(A)), ("ediff1d_ends", lambda m: m.ediff1d(P, to_end=np.array([9., 8.], f32), to_begin=0.0)),
    ("copy", lambda m: m.copy(A)), ("array_equiv", lambda m: m.array_equiv(A[0], np.stack([A[0], A[0]]))),
    ("array_equiv_no", lambda m: m.array_equiv(A[0], A[:2, :3])),
    ("isreal", lambda m: m.isreal(A)), ("iscomplex", lambda m: m.iscomplex(A)),
    ("isposinf", lambda m: m.isposinf(np.array([1., np.inf, -np.inf, np.nan], f32))),
    ("isneginf", lambda m: m.isneginf(np.array([1., np.inf, -np.inf, np.nan], f32))),
    ("broadcast_shapes", lambda m: m.broadcast_shapes((2, 1), (3,), (1, 1))),
]


def _leaves(r):
    if isinstance(r, (tuple, list)):
        return [x for item in r for x in _leaves(item)]
    return [r]


def _check(got, want, rtol=3e-5, atol=3e-5):
    g, w = _leaves(got), _leaves(want)
    assert len(g) == len(w)
    for a, b in zip(g, w):
        if isinstance(b, (int, bool)) and not isinstance(a, ember.Tensor):
            assert a == b
            continue
        a = a.numpy() if isinstance(a, ember.Tensor) else np.asarray(a)
        b = np.asarray(b)
        assert a.shape == b.shape, (a.shape, b.shape)
        assert a.dtype == b.dtype, (a.dtype, b.dtype)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_matches_jax(case):
    _, f = case
    _check(f(jnp), f(J))


GRADS = [
    ("cbrt", lambda m, x: m.cbrt(x + 3.0)), ("modf", lambda m, x: m.modf(x * 3)[0]),
    ("ldexp", lambda m, x: m.ldexp(x, np.array([1, -2, 0, 3], i32))),
    ("float_power", lambda m, x: m.float_power(m.abs(x) + 0.5, 1.7)),
    ("i0", lambda m, x: m.i0(x * 4)), ("cross", lambda m, x: m.cross(x[:, :3], x[:, 1:])),
    ("vander", lambda m, x: m.vander(x[0])), ("polyval", lambda m, x: m.polyval(x[0], x[1])),
    ("polymul", lambda m, x: m.polymul(x[0], x[1, :2])), ("polydiv", lambda m, x: m.polydiv(x[0], x[1, :2] + 2.0)[0]),
    ("polyint", lambda m, x: m.polyint(x[0], 2)), ("polyder", lambda m, x: m.polyder(x[0])),
    ("poly", lambda m, x: m.poly(x[0])), ("unwrap", lambda m, x: m.unwrap(x * 5)),
    ("block", lambda m, x: m.block([[x, x[:, :1]], [x[:1], x[:1, :1] * 2]])),
    ("resize", lambda m, x: m.resize(x, (5, 3))),
    ("apply_along_axis", lambda m, x: m.apply_along_axis(lambda v: v * v.sum(), 1, x)),
    ("vectorize_sig", lambda m, x: m.vectorize(lambda a: m.outer(a, a).sum(0), signature="(n)->(n)")(x)),
    ("matvec", lambda m, x: m.matvec(x, x[0])), ("vecmat", lambda m, x: m.vecmat(x[:, 0], x)),
    ("geomspace", lambda m, x: m.geomspace(m.abs(x[0, 0]) + 1, m.abs(x[0, 1]) + 3, 4)),
    ("ediff1d", lambda m, x: m.ediff1d(x, to_begin=x[0, 0])),
]


@pytest.mark.parametrize("case", GRADS, ids=[c[0] for c in GRADS])
def test_gradients_match_jax(case):
    _, f = case
    eg = ember.grad(lambda t: (f(jnp, t) ** 2).sum())(ember.tensor(A))
    jg = jax.grad(lambda t: (f(J, t) ** 2).sum())(A)
    np.testing.assert_allclose(eg.numpy(), np.asarray(jg), rtol=2e-4, atol=1e-5)


JITS = ["frexp", "i0", "unwrap", "cross", "polyval", "polydiv", "poly", "block", "resize",
        "apply_along_axis_outer", "vectorize_sig_mat", "kaiser", "packbits_axis",
        "unpackbits_count", "bitwise_count", "spacing", "geomspace_neg"]


@pytest.mark.parametrize("name", JITS)
def test_jit_matches_eager(name):
    f = dict(CASES)[name]
    _check(ember.jit(lambda: f(jnp))(), f(jnp))


def test_vectorize_under_jit_with_traced_args():
    f = ember.jit(jnp.vectorize(lambda a, b: (a * b).sum(), signature="(n),(n)->()"))
    _check(f(A, P), J.vectorize(lambda a, b: (a * b).sum(), signature="(n),(n)->()")(A, P))


def test_type_names_and_helpers():
    assert jnp.float_ == np.float64 and jnp.double == np.float64 and jnp.single == np.float32
    assert jnp.int_ == np.int64 and jnp.uint == np.uint64
    assert jnp.cdouble == np.complex128 and jnp.csingle == np.complex64
    assert jnp.complex_ == np.complex128
    assert jnp.double(3).dtype == jnp.float64
    for a, b in [(jnp.float32, jnp.floating), (jnp.int32, jnp.inexact), (jnp.uint8, jnp.signedinteger),
                 (jnp.uint8, jnp.unsignedinteger), (jnp.complex64, jnp.complexfloating),
                 (jnp.bfloat16, jnp.floating), (jnp.bfloat16, jnp.integer), (jnp.int8, jnp.number),
                 ("float32", jnp.generic), (jnp.float32, jnp.float32), (jnp.float32, jnp.float64)]:
        ja = a if isinstance(a, str) else (J.bfloat16 if a is jnp.bfloat16 else a.np)
        jb = b if isinstance(b, type) else b.np
        assert jnp.issubdtype(a, b) == J.issubdtype(ja, jb), (a, b)
    for a, b in [("int32", "float32"), (jnp.int8, jnp.uint8), (jnp.float16, jnp.float32)]:
        assert jnp.promote_types(a, b) == J.promote_types(getattr(a, "np", a), getattr(b, "np", b))
    assert jnp.dtype("float32") == np.float32 and jnp.dtype(jnp.ones(2)) == jnp.float32
    assert jnp.isscalar(2.0) and jnp.isscalar(jnp.array(2.0)) and not jnp.isscalar([1])
    assert jnp.iterable([1]) and not jnp.iterable(1)
    assert jnp.euler_gamma == J.euler_gamma
    assert issubclass(jnp.ComplexWarning, Warning)
    assert jnp.array_str(jnp.array([1, 2])) == "[1 2]"
    with jnp.printoptions(precision=2):
        assert jnp.get_printoptions()["precision"] == 2


def test_save_and_load_use_numpy_formats(tmp_path):
    p = tmp_path / "x.npy"
    jnp.save(p, jnp.asarray(A))
    np.testing.assert_array_equal(np.load(p), A)
    back = jnp.load(p)
    assert isinstance(back, ember.Tensor) and back.dtype == jnp.float32
    buf = io.BytesIO()
    jnp.savez(buf, A, v=jnp.asarray(V))
    buf.seek(0)
    z = jnp.load(buf)
    np.testing.assert_array_equal(z["v"], V)
    np.testing.assert_array_equal(z["arr_0"], A)


def test_errors_name_the_function():
    with pytest.raises(TypeError, match="gcd: arguments must be integers"):
        jnp.gcd(A, A)
    with pytest.raises(ValueError, match="vectorize: not a valid gufunc signature"):
        jnp.vectorize(lambda a: a, signature="n->n")(A)
    with pytest.raises(ValueError, match="vectorize: core dim 'n' is 4 in one input and 6"):
        jnp.vectorize(lambda a, b: a, signature="(n),(n)->()")(A, V)
    with pytest.raises(ValueError, match="cross: the vectors must have 2 or 3 components"):
        jnp.cross(A, A)
    with pytest.raises(TypeError, match="trim_zeros: .*traced"):
        ember.jit(lambda x: jnp.trim_zeros(x))(V)
    with pytest.raises(NotImplementedError, match="fromfile"):
        jnp.fromfile("x")
    with pytest.raises(ValueError, match="block: nested lists must all have the same depth"):
        jnp.block([A, [A]])
