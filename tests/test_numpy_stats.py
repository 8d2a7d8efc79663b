"""ember.numpy's statistics and reductions (ember/numpy_stats.py) against jax.numpy: values,
dtypes, gradients, and jit where JAX's functions are jit-compatible."""
import numpy as np
import pytest

import ember
import ember.numpy as jnp

jax = pytest.importorskip("jax")
J = jax.numpy

rng = np.random.default_rng(13)
A = rng.standard_normal((3, 5)).astype(np.float32)
V = rng.standard_normal(8).astype(np.float32)
NANS = A.copy()
NANS[0, 1] = NANS[2, 0] = NANS[2, 3] = np.nan
ALLNAN = np.array([[1., np.nan, 3.], [np.nan, np.nan, np.nan]], np.float32)
INTS = np.array([0, 3, 1, 1, 4, 3, 3], np.int32)
W = np.abs(rng.standard_normal(5)).astype(np.float32) + 0.1
Q = np.array([0.0, 0.1, 0.5, 0.93, 1.0], np.float32)

CASES = [
    ("average", lambda m: m.average(A)),
    ("average_axis", lambda m: m.average(A, axis=0, keepdims=True)),
    ("average_w1d", lambda m: m.average(A, axis=1, weights=W)),
    ("average_wfull_returned", lambda m: m.average(A, weights=np.abs(A), returned=True)),
    ("average_returned", lambda m: m.average(A, axis=1, returned=True)),
    ("median", lambda m: m.median(A)), ("median_axis", lambda m: m.median(A, axis=1)),
    ("median_ints", lambda m: m.median(INTS)), ("median_nan", lambda m: m.median(NANS, axis=1)),
    ("median_keep", lambda m: m.median(A, axis=(0, 1), keepdims=True)),
    ("quantile_vec", lambda m: m.quantile(V, Q)),
    ("quantile_axis_keep", lambda m: m.quantile(A, Q[:3], axis=1, keepdims=True)),
    ("quantile_lower", lambda m: m.quantile(V, Q, method="lower")),
    ("quantile_higher", lambda m: m.quantile(V, Q, method="higher")),
    ("quantile_midpoint", lambda m: m.quantile(A, 0.3, axis=0, method="midpoint")),
    ("quantile_nearest", lambda m: m.quantile(V, np.array([0.5, 0.93, 0.3]), method="nearest")),
    ("quantile_nan", lambda m: m.quantile(NANS, 0.4, axis=1)),
    ("percentile", lambda m: m.percentile(A, np.array([10., 50., 75.]), axis=0)),
    ("nanquantile", lambda m: m.nanquantile(NANS, Q, axis=1)),
    ("nanquantile_allnan", lambda m: m.nanquantile(ALLNAN, 0.3, axis=1)),
    ("nanpercentile", lambda m: m.nanpercentile(NANS, 40.0)),
    ("nanmedian", lambda m: m.nanmedian(NANS, axis=0)),
    ("nanmedian_all", lambda m: m.nanmedian(ALLNAN, axis=1)),
    ("nansum", lambda m: m.nansum(NANS, axis=1)), ("nansum_all", lambda m: m.nansum(ALLNAN)),
    ("nansum_int", lambda m: m.nansum(INTS)),
    ("nanprod", lambda m: m.nanprod(NANS, axis=0)),
    ("nanmean", lambda m: m.nanmean(ALLNAN, axis=1)), ("nanmean_int", lambda m: m.nanmean(INTS)),
    ("nanmax", lambda m: m.nanmax(ALLNAN, axis=1)), ("nanmin", lambda m: m.nanmin(NANS, axis=0)),
    ("nanmax_keep", lambda m: m.nanmax(NANS, axis=1, keepdims=True)),
    ("nanmax_int", lambda m: m.nanmax(INTS)),
    ("nanargmax", lambda m: m.nanargmax(ALLNAN, axis=1)),
    ("nanargmin", lambda m: m.nanargmin(NANS, axis=1)),
    ("nanargmin_flat", lambda m: m.nanargmin(NANS)),
    ("nanvar", lambda m: m.nanvar(NANS, axis=1)), ("nanvar_ddof", lambda m: m.nanvar(NANS, ddof=1)),
    ("nanvar_allnan", lambda m: m.nanvar(ALLNAN, axis=1)),
    ("nanstd", lambda m: m.nanstd(NANS, axis=0, keepdims=True)),
    ("nancumsum", lambda m: m.nancumsum(NANS, axis=1)), ("nancumsum_flat", lambda m: m.nancumsum(NANS)),
    ("nancumprod", lambda m: m.nancumprod(NANS, axis=0)),
    ("ptp", lambda m: m.ptp(A, axis=1)), ("ptp_int", lambda m: m.ptp(INTS)),
    ("cov", lambda m: m.cov(A)), ("cov_1d", lambda m: m.cov(V)),
    ("cov_rowvar", lambda m: m.cov(A, rowvar=False)), ("cov_y", lambda m: m.cov(A[0], A[1])),
    ("cov_bias", lambda m: m.cov(A, bias=True)), ("cov_ddof", lambda m: m.cov(A, ddof=2)),
    ("cov_fweights", lambda m: m.cov(A, fweights=np.array([1, 2, 1, 3, 1]))),
    ("cov_aweights", lambda m: m.cov(A, aweights=W)),
    ("cov_both", lambda m: m.cov(A, fweights=np.array([1, 2, 1, 3, 1]), aweights=W)),
    ("corrcoef", lambda m: m.corrcoef(A)), ("corrcoef_y", lambda m: m.corrcoef(A[0], A[2])),
    ("corrcoef_1d", lambda m: m.corrcoef(V)),
    ("histogram", lambda m: m.histogram(V)), ("histogram_bins", lambda m: m.histogram(V, 4)),
    ("histogram_range", lambda m: m.histogram(V, 5, range=(-1.0, 1.0))),
    ("histogram_edges", lambda m: m.histogram(V, np.array([-2., 0., 0.5, 3.], np.float32))),
    ("histogram_weights", lambda m: m.histogram(V, 3, weights=np.abs(V))),
    ("histogram_density", lambda m: m.histogram(A, 4, density=True)),
    ("histogram_const", lambda m: m.histogram(np.ones(4, np.float32), 2)),
    ("histogram_bin_edges", lambda m: m.histogram_bin_edges(A, 6)),
    ("histogram2d", lambda m: m.histogram2d(A[0], A[1], bins=3)),
    ("histogram2d_list", lambda m: m.histogram2d(A[0], A[1], bins=[2, 3])),
    ("histogramdd", lambda m: m.histogramdd(A.T, bins=2)),
    ("histogramdd_density", lambda m: m.histogramdd(A.T[:, :2], bins=[2, 3], density=True)),
    ("bincount", lambda m: m.bincount(INTS)), ("bincount_minlength", lambda m: m.bincount(INTS, minlength=9)),
    ("bincount_length", lambda m: m.bincount(INTS, length=3)),
    ("bincount_weights", lambda m: m.bincount(INTS, weights=np.arange(7.0, dtype=np.float32))),
    ("digitize", lambda m: m.digitize(V, np.array([-1., 0., 1.], np.float32))),
    ("digitize_right", lambda m: m.digitize(np.array([0., 1., 1.5], np.float32), np.array([0., 1., 2.], np.float32), right=True)),
    ("digitize_decreasing", lambda m: m.digitize(np.array([0., 1., 1.5, 3.], np.float32), np.array([2., 1., 0.], np.float32))),
    ("digitize_decreasing_right", lambda m: m.digitize(np.array([0., 1., 1.5, 3.], np.float32), np.array([2., 1., 0.], np.float32), True)),
    ("interp", lambda m: m.interp(np.linspace(-1, 4, 11, dtype=np.float32), np.array([0., 1., 3.], np.float32), np.array([1., -1., 5.], np.float32))),
    ("interp_leftright", lambda m: m.interp(np.array([-1., 0.5, 9.], np.float32), np.array([0., 1.], np.float32), np.array([2., 4.], np.float32), left=-7.0, right=7.0)),
    ("interp_period", lambda m: m.interp(np.array([-1., 0.5, 7.5], np.float32), np.array([0., 1., 2.5], np.float32), np.array([0., 2., 1.], np.float32), period=3.0)),
    ("convolve", lambda m: m.convolve(V, V[:3])), ("convolve_same", lambda m: m.convolve(V, V[:4], "same")),
    ("convolve_valid", lambda m: m.convolve(V, V[:3], "valid")),
    ("convolve_swap", lambda m: m.convolve(V[:3], V, "same")),
    ("convolve_int", lambda m: m.convolve(INTS, INTS[:2])),
    ("correlate", lambda m: m.correlate(V, V[:3])), ("correlate_full", lambda m: m.correlate(V, V[:3], "full")),
    ("correlate_same", lambda m: m.correlate(V, V[:4], "same")),
    ("correlate_swap", lambda m: m.correlate(V[:3], V, "full")),
    ("trapezoid", lambda m: m.trapezoid(A)), ("trapezoid_dx", lambda m: m.trapezoid(A, dx=0.5, axis=0)),
    ("trapezoid_x", lambda m: m.trapezoid(A, x=np.cumsum(W))),
    ("trapezoid_int", lambda m: m.trapezoid(INTS)),
]


def _leaves(r):
    if isinstance(r, (tuple, list)):
        return [x for item in r for x in _leaves(item)]
    return [r]


# ember.numpy's integer sums are int64 until its switch to JAX's int32 default lands: these
# cases accept either width
INT_WIDTH_OF_SUM = {"nansum_int"}


def _check(got, want, rtol=2e-5, atol=2e-5, int_width=False):
    g, w = _leaves(got), _leaves(want)
    assert len(g) == len(w)
    for a, b in zip(g, w):
        a = a.numpy() if isinstance(a, ember.Tensor) else np.asarray(a)
        b = np.asarray(b)
        assert a.shape == b.shape, (a.shape, b.shape)
        if int_width and a.dtype == np.int64 and b.dtype == np.int32:
            a = a.astype(np.int32)
        assert a.dtype == b.dtype, (a.dtype, b.dtype)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_matches_jax(case):
    name, f = case
    _check(f(jnp), f(J), int_width=name in INT_WIDTH_OF_SUM)


GRADS = [
    ("average", lambda m, x: m.average(x, axis=1, weights=W)),
    ("median", lambda m, x: m.median(x, axis=0)),
    ("quantile", lambda m, x: m.quantile(x, Q, axis=1)),
    ("nanmean", lambda m, x: m.nanmean(m.where(x > 1.0, np.nan, x), axis=1)),
    ("nanvar", lambda m, x: m.nanvar(m.where(x > 1.0, np.nan, x), axis=0)),
    ("nanmax", lambda m, x: m.nanmax(m.where(x > 1.0, np.nan, x), axis=1)),
    ("cov", lambda m, x: m.cov(x, aweights=W)), ("corrcoef", lambda m, x: m.corrcoef(x)),
    ("interp", lambda m, x: m.interp(x[0], np.array([-3., 0., 3.], np.float32), x[1, :3])),
    ("convolve", lambda m, x: m.convolve(x[0], x[1, :3])),
    ("correlate", lambda m, x: m.correlate(x[0], x[1, :2], "same")),
    ("trapezoid", lambda m, x: m.trapezoid(x, x=np.cumsum(W))),
    ("histogram_weights", lambda m, x: m.histogram(V, 3, weights=m.concatenate([x[0], x[1, :3]]) ** 2)[0]),
]


@pytest.mark.parametrize("case", GRADS, ids=[c[0] for c in GRADS])
def test_gradients_match_jax(case):
    _, f = case
    eg = ember.grad(lambda x: (f(jnp, x) ** 2).sum())(ember.tensor(A))
    jg = jax.grad(lambda x: (f(J, x) ** 2).sum())(A)
    np.testing.assert_allclose(eg.numpy(), np.asarray(jg), rtol=1e-4, atol=1e-5)


JITS = ["average_w1d", "median_axis", "quantile_axis_keep", "nanquantile", "nanmedian",
        "nanargmax", "nanvar", "cov_aweights", "corrcoef", "histogram_range",
        "histogram_edges", "bincount_length", "digitize_decreasing", "interp_period",
        "convolve_same", "correlate_full", "trapezoid_x"]


@pytest.mark.parametrize("name", JITS)
def test_jit_matches_eager(name):
    f = dict(CASES)[name]
    _check(ember.jit(lambda: f(jnp))(), f(jnp))


def test_data_dependent_shapes_need_concrete_values():
    x = ember.tensor(INTS)
    with pytest.raises(TypeError, match="bincount: .*length="):
        ember.jit(lambda t: jnp.bincount(t))(x)
    assert jnp.bincount(INTS, length=2).tolist() == [1, 2]


def test_bad_arguments_name_the_function():
    with pytest.raises(ValueError, match="quantile: method"):
        jnp.quantile(V, 0.5, method="weird")
    with pytest.raises(ValueError, match=r"quantile: quantiles must be in \[0, 1\]"):
        jnp.quantile(V, 1.5)
    with pytest.raises(ValueError, match="average: weights of length 4"):
        jnp.average(A, axis=1, weights=np.ones(4))
    with pytest.raises(ValueError, match="convolve: mode"):
        jnp.convolve(V, V, "wide")
    with pytest.raises(ValueError, match="bincount: x must be non-negative"):
        jnp.bincount(np.array([-1, 2]))
