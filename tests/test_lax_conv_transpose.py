"""lax.conv_general_dilated with lhs_dilation (and negative padding), lax.conv_transpose,
stax's transposed convolutions and lax.dynamic_update_slice: values and gradients against
jax (float32 data, tolerances for float32 sums)."""
import numpy as np
import pytest

import ember
from ember.example_libraries import stax

jax = pytest.importorskip("jax")
from jax.example_libraries import stax as jstax  # noqa: E402


def _both(fe, fj, *arrays, rtol=1e-4, atol=1e-4):
    """Values and the gradient of sum(f ** 2) w.r.t. every array, ember vs jax."""
    np.testing.assert_allclose(fe(*arrays).numpy(), np.asarray(fj(*arrays)), rtol=rtol,
                               atol=atol)
    n = tuple(range(len(arrays)))
    ge = ember.grad(lambda *a: (fe(*a) ** 2).sum(), n)(*arrays)
    gj = jax.grad(lambda *a: (fj(*a) ** 2).sum(), n)(*arrays)
    for a, b in zip(ge, gj):
        np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("dn,xs,ws", [
    (("NHWC", "HWIO", "NHWC"), (2, 5, 4, 3), (3, 2, 3, 4)),
    (None, (1, 2, 5, 6), (3, 2, 3, 2)),
    (("NHC", "HIO", "NHC"), (2, 6, 2), (4, 2, 3)),
    (("NCDHW", "OIDHW", "NCDHW"), (1, 2, 3, 4, 3), (2, 2, 2, 2, 2)),
])
@pytest.mark.parametrize("padding", ["SAME", "VALID", "pairs", "negative"])
@pytest.mark.parametrize("ldil,stride", [(2, 1), (3, 2), (1, 1)])
def test_lhs_dilation_matches_jax(dn, xs, ws, padding, ldil, stride):
    rs = np.random.RandomState(0)
    x, w = rs.randn(*xs).astype(np.float32), rs.randn(*ws).astype(np.float32)
    nsp = len(xs) - 2
    pad = {"pairs": [(2, 1)] * nsp, "negative": [(-1, 2)] * nsp}.get(padding, padding)
    kw = dict(lhs_dilation=(ldil,) * nsp, dimension_numbers=dn)
    if isinstance(pad, str) and ldil > 1:  # ambiguous: both refuse it
        with pytest.raises(ValueError):
            jax.lax.conv_general_dilated(x, w, (stride,) * nsp, pad, **kw)
        with pytest.raises(ValueError, match="conv_transpose"):
            ember.lax.conv_general_dilated(x, w, (stride,) * nsp, pad, **kw)
        return
    _both(lambda a, b: ember.lax.conv_general_dilated(a, b, (stride,) * nsp, pad, **kw),
          lambda a, b: jax.lax.conv_general_dilated(a, b, (stride,) * nsp, pad, **kw), x, w)


@pytest.mark.parametrize("xs,ws,dn", [
    ((2, 5, 4, 3), (3, 3, 3, 4), None),  # NHWC / HWIO by default
    ((2, 7, 3), (4, 3, 2), None),
    ((1, 3, 5, 4), (2, 3, 3, 2), ("NCHW", "OIHW", "NCHW")),
    ((1, 3, 4, 3, 2), (2, 2, 3, 2, 3), None),
])
@pytest.mark.parametrize("padding", ["SAME", "VALID", "pairs"])
@pytest.mark.parametrize("strides", [1, 2, 3])
@pytest.mark.parametrize("transpose_kernel", [False, True])
def test_conv_transpose_matches_jax(xs, ws, dn, padding, strides, transpose_kernel):
    rs = np.random.RandomState(1)
    x, w = rs.randn(*xs).astype(np.float32), rs.randn(*ws).astype(np.float32)
    if transpose_kernel:  # the kernel's I is then the output's channels: make them agree
        spec = dn[1] if dn else {4: "HWIO", 3: "HIO", 5: "HWDIO"}[len(ws)]
        lspec = dn[0] if dn else {4: "NHWC", 3: "NHC", 5: "NHWDC"}[len(xs)]
        shape = list(ws)
        shape[spec.index("O")] = xs[lspec.index("C")]
        w = rs.randn(*shape).astype(np.float32)
    nsp = len(xs) - 2
    pad = [(1, 2)] * nsp if padding == "pairs" else padding
    kw = dict(dimension_numbers=dn, transpose_kernel=transpose_kernel)
    _both(lambda a, b: ember.lax.conv_transpose(a, b, (strides,) * nsp, pad, **kw),
          lambda a, b: jax.lax.conv_transpose(a, b, (strides,) * nsp, pad, **kw), x, w)


def test_conv_transpose_rhs_dilation_and_jit():
    rs = np.random.RandomState(2)
    x, w = rs.randn(1, 6, 5, 2).astype(np.float32), rs.randn(3, 2, 2, 3).astype(np.float32)
    kw = dict(rhs_dilation=(2, 1))
    f = ember.jit(lambda a, b: ember.lax.conv_transpose(a, b, (2, 2), "SAME", **kw))
    _both(f, lambda a, b: jax.lax.conv_transpose(a, b, (2, 2), "SAME", **kw), x, w)


@pytest.mark.parametrize("layer,shape", [
    (lambda m: m.ConvTranspose(4, (3, 3), strides=(2, 2), padding="SAME"), (2, 5, 6, 3)),
    (lambda m: m.ConvTranspose(2, (4, 3), strides=(2, 1)), (1, 4, 5, 2)),
    (lambda m: m.Conv1DTranspose(3, (4,), strides=(3,), padding="SAME"), (2, 7, 2)),
    (lambda m: m.GeneralConvTranspose(("NCHW", "OIHW", "NCHW"), 3, (2, 3), (2, 2), "VALID"),
     (2, 2, 4, 5)),
])
def test_stax_transposed_convolutions_match_jax(layer, shape):
    init_e, apply_e = layer(stax)
    init_j, apply_j = layer(jstax)
    out_e, params_e = init_e(ember.random.key(0), shape)
    out_j, params_j = init_j(jax.random.PRNGKey(0), shape)
    assert tuple(out_e) == tuple(out_j)
    for a, b in zip(params_e, params_j):  # the same draws from the same key
        np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=1e-5, atol=1e-6)
    x = np.random.RandomState(3).randn(*shape).astype(np.float32)
    params = [np.asarray(p) for p in params_j]
    ye, yj = apply_e(params, x), apply_j(params, x)
    assert tuple(ye.shape) == tuple(out_j) == yj.shape
    np.testing.assert_allclose(ye.numpy(), np.asarray(yj), rtol=1e-4, atol=1e-4)
    ge = ember.grad(lambda p: (apply_e(p, x) ** 2).sum())(params)
    gj = jax.grad(lambda p: (apply_j(p, x) ** 2).sum())(params)
    for a, b in zip(ge, gj):
        np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=1e-3, atol=1e-3)


def test_stax_conv_with_float64_data_runs_in_float32():
    init, apply = stax.serial(stax.Conv(4, (3, 3), padding="SAME"), stax.Relu,
                              stax.ConvTranspose(2, (2, 2), strides=(2, 2)))
    _, params = init(ember.random.key(0), (2, 6, 6, 1))
    x = np.random.RandomState(0).randn(2, 6, 6, 1)  # float64, as NumPy makes it
    y = ember.jit(apply)(params, x)
    assert y.dtype == ember.float32 and tuple(y.shape) == (2, 12, 12, 2)
    g = ember.grad(lambda p: (apply(p, x) ** 2).sum())(params)
    assert all(t.dtype == ember.float32 for t in ember.tree_util.tree_leaves(g))


@pytest.mark.parametrize("starts", [(1, 2), (4, 0), (-3, 9), (0, 1)])
@pytest.mark.parametrize("traced", [False, True])
def test_dynamic_update_slice_matches_jax(starts, traced):
    rs = np.random.RandomState(4)
    x, u = rs.randn(5, 6).astype(np.float32), rs.randn(2, 3).astype(np.float32)

    def fe(a, b):
        st = tuple(ember.tensor(s) for s in starts) if traced else starts
        return ember.lax.dynamic_update_slice(a, b, st) * ember.arange(1., 31.).reshape(5, 6)

    def fj(a, b):
        return jax.lax.dynamic_update_slice(a, b, starts) * np.arange(1., 31.).reshape(5, 6)
    _both(fe, fj, x, u)


def test_dynamic_update_slice_under_jit_and_fori_loop():
    def body(i, acc):
        return ember.lax.dynamic_update_slice(acc, ember.ones(1, 3) * i, (i, 0))

    def jbody(i, acc):
        return jax.lax.dynamic_update_slice(acc, jax.numpy.ones((1, 3)) * i, (i, 0))
    e = ember.jit(lambda z: ember.lax.fori_loop(0, 4, body, z))(ember.zeros(4, 3))
    j = jax.jit(lambda z: jax.lax.fori_loop(0, 4, jbody, z))(np.zeros((4, 3), np.float32))
    np.testing.assert_array_equal(e.numpy(), np.asarray(j))
    x = np.arange(12.).reshape(3, 4).astype(np.float32)
    for fe_, fj_ in [
        (lambda a: ember.lax.dynamic_update_slice_in_dim(a, ember.ones(3, 2), 1, axis=1),
         lambda a: jax.lax.dynamic_update_slice_in_dim(a, jax.numpy.ones((3, 2)), 1, axis=1)),
        (lambda a: ember.lax.dynamic_update_index_in_dim(a, ember.ones(4), 2, 0),
         lambda a: jax.lax.dynamic_update_index_in_dim(a, jax.numpy.ones(4), 2, 0)),
    ]:
        np.testing.assert_array_equal(fe_(x).numpy(), np.asarray(fj_(x)))


def test_dynamic_update_slice_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"update \(6,\) is larger than the operand \(5,\)"):
        ember.lax.dynamic_update_slice(ember.zeros(5), ember.ones(6), (0,))
    with pytest.raises(ValueError, match="one start index per dim"):
        ember.lax.dynamic_update_slice(ember.zeros(5, 2), ember.ones(1, 2), (0,))


@pytest.mark.parametrize("allow", [True, False])
@pytest.mark.parametrize("traced", [False, True])
def test_negative_starts_count_from_the_end_as_jax(allow, traced):
    x = np.arange(10.).astype(np.float32)
    for start in (-3, -13, 12, 4):
        st = (ember.tensor(start),) if traced else (start,)
        if start < 0 and not allow and not traced:  # a known negative start: both refuse
            with pytest.raises(ValueError):
                jax.lax.dynamic_slice(x, (start,), (2,), allow_negative_indices=allow)
            with pytest.raises(ValueError, match="allow_negative_indices=False"):
                ember.lax.dynamic_slice(x, st, (2,), allow_negative_indices=allow)
            continue
        e = ember.lax.dynamic_slice(x, st, (2,), allow_negative_indices=allow)
        j = jax.jit(lambda s: jax.lax.dynamic_slice(x, (s,), (2,), allow_negative_indices=allow),
                    static_argnums=() if traced else 0)(start)
        np.testing.assert_array_equal(e.numpy(), np.asarray(j))
        e = ember.lax.dynamic_update_slice(x, np.ones(3, np.float32), st,
                                           allow_negative_indices=allow)
        j = jax.jit(lambda s: jax.lax.dynamic_update_slice(
            x, np.ones(3, np.float32), (s,), allow_negative_indices=allow),
            static_argnums=() if traced else 0)(start)
        np.testing.assert_array_equal(e.numpy(), np.asarray(j))
