"""``jax.numpy``'s statistics and reductions beyond the basics, re-exported by
``ember.numpy``: weighted averages, quantiles, the NaN-ignoring reductions, covariance,
histograms, bincount/digitize/interp, convolution and the trapezoidal rule.

Everything is composed from ember ops, so it is differentiable and works under ``grad``,
``vmap`` and ``jit`` where JAX's is; results whose shape depends on the data (``bincount``
without ``length=``, ``histogram`` with data-dependent edges) need concrete values, as in JAX.
"""
from __future__ import annotations

import builtins
import operator

import numpy as _np

from .core import dtypes as _dt
from .core.tensor import Tensor
from .numpy_base import arr as _a, axes as _axes, concrete as _concrete, floating as _fl, \
    is_traced as _is_traced, jax_int as _jax_int, jnp as _jnp, _e

__all__ = ["average", "median", "quantile", "percentile", "nanquantile", "nanpercentile",
           "nanmedian", "nansum", "nanmean", "nanmax", "nanmin", "nanargmax", "nanargmin",
           "nanvar", "nanstd", "nanprod", "nancumsum", "nancumprod", "ptp", "cov", "corrcoef",
           "histogram", "histogram_bin_edges", "histogram2d", "histogramdd", "bincount",
           "digitize", "interp", "convolve", "correlate", "trapezoid"]


def _no_out(op, out):
    if out is not None:
        raise NotImplementedError(f"{op}: out= is not supported (arrays are immutable, as in "
                                  f"JAX); use the returned array")


def average(a, axis=None, weights=None, returned=False, keepdims=False):
    """The weighted mean over ``axis``; 1-d ``weights`` run along a single ``axis``.
    ``returned=True`` also gives the sum of the weights (broadcast to the result's shape).

    >>> import ember.numpy as jnp
    >>> jnp.average(jnp.array([1., 2., 4.]), weights=jnp.array([1., 1., 2.]))
    tensor(2.7500)
    """
    x = _fl(a)
    jnp = _jnp()
    if weights is None:
        avg = jnp.mean(x, axis=axis, keepdims=keepdims)
        if not returned:
            return avg
        n = _np.prod([x.shape[d] for d in _axes(axis, x.ndim, "average")], dtype=_np.int64)
        return avg, jnp.full(avg.shape, float(n), dtype=avg.dtype)
    w = _a(weights)
    d = _dt.promote_types(x.dtype, w.dtype) if w.dtype.is_inexact else x.dtype
    x, w = x.to(d), w.to(d)
    if w.shape != x.shape:
        if axis is None:
            raise ValueError(f"average: weights of shape {tuple(w.shape)} differ from a's "
                             f"{tuple(x.shape)}; give axis= for 1-d weights")
        if w.ndim != 1:
            raise ValueError(f"average: 1-d weights are expected when their shape "
                             f"{tuple(w.shape)} differs from a's {tuple(x.shape)}")
        ax = _axes(axis, x.ndim, "average")
        if len(ax) != 1 or w.shape[0] != x.shape[ax[0]]:
            raise ValueError(f"average: weights of length {w.shape[0]} don't match axis "
                             f"{axis} of a {tuple(x.shape)}")
        shp = [1] * x.ndim
        shp[ax[0]] = -1
        w = w.reshape(tuple(shp))
    wb = w * jnp.ones_like(x)
    scl = jnp.sum(wb, axis=axis, keepdims=keepdims)
    avg = jnp.sum(x * w, axis=axis, keepdims=keepdims) / scl
    if returned:
        return avg, jnp.broadcast_to(scl, avg.shape)
    return avg


# ---- quantiles ----------------------------------------------------------------------------

_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(op, a, q, axis, method, keepdims, ignore_nan):
    jnp, e = _jnp(), _e()
    if method not in _METHODS:
        raise ValueError(f"{op}: method must be one of {list(_METHODS)}, got {method!r}")
    x = _fl(a)
    qt = _a(q).to(x.dtype)
    if qt.ndim > 1:
        raise ValueError(f"{op}: q must be a scalar or 1-d, got shape {tuple(qt.shape)}")
    if not _is_traced(qt):
        qv = qt.numpy()
        if _np.any((qv < 0) | (qv > 1)):
            raise ValueError(f"{op}: quantiles must be in [0, 1] (percentiles in [0, 100]), "
                             f"got {qv}")
    ax = _axes(axis, x.ndim, op)
    keep_shape = tuple(1 if d in ax else s for d, s in enumerate(x.shape))
    rest = [d for d in range(x.ndim) if d not in ax]
    # the reduced axes last, flattened into one
    x2 = jnp.transpose(x, rest + list(ax)).reshape(tuple(x.shape[d] for d in rest) + (-1,))
    n_static = x2.shape[-1]
    if n_static == 0:
        raise ValueError(f"{op}: the reduced axes of shape {tuple(x.shape)} hold no elements")
    srt = jnp.sort(x2, axis=-1)  # NaNs go last
    nan = e.isnan(x2)
    if ignore_nan:
        n = (~nan).to(x.dtype).sum(-1, keepdim=True)  # counted per slice
    else:
        n = jnp.full(x2.shape[:-1] + (1,), float(n_static), dtype=x.dtype)
    qb = qt.reshape(qt.shape + (1,) * x2.ndim)  # q first, then the kept dims, then 1
    pos = qb * e.clamp(n - 1, min=0)
    low = e.floor(pos)
    high = e.ceil(pos)
    hw = pos - low
    top = n_static - 1
    lo_i = e.clamp(low, 0, top).to(_dt.int64)
    hi_i = e.clamp(high, 0, top).to(_dt.int64)
    s = srt.unsqueeze(0).expand(qt.shape + srt.shape) if qt.ndim else srt
    lo_v = jnp.take_along_axis(s, lo_i.expand(s.shape[:-1] + (1,)), -1)
    hi_v = jnp.take_along_axis(s, hi_i.expand(s.shape[:-1] + (1,)), -1)
    if method == "linear":
        r = lo_v * (1 - hw) + hi_v * hw
    elif method == "lower":
        r = lo_v
    elif method == "higher":
        r = hi_v
    elif method == "midpoint":
        r = (lo_v + hi_v) * 0.5
    else:
        r = jnp.where(hw <= 0.5, lo_v, hi_v)
    r = r.squeeze(-1)  # q.shape + kept dims
    if ignore_nan:
        r = jnp.where((n == 0).squeeze(-1), _np.nan, r)
    else:
        r = jnp.where(nan.any(-1), _np.nan, r)
    if keepdims:
        r = r.reshape(qt.shape + keep_shape)
    return r


def _check_weights(op, weights, out, overwrite_input):
    _no_out(op, out)
    if weights is not None:
        raise NotImplementedError(f"{op}: weights= is not supported yet; weight by "
                                  f"repeating samples or use jnp.average for the mean")


def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
             keepdims=False, *, weights=None):
    """The ``q``-th quantiles (``q`` in [0, 1], a scalar or 1-d) over ``axis``; ``method`` one
    of 'linear', 'lower', 'higher', 'midpoint', 'nearest'. A NaN in a slice makes its result
    NaN. The result's shape is ``q.shape`` + the kept dims.

    >>> import ember.numpy as jnp
    >>> jnp.quantile(jnp.array([1., 2., 3., 4.]), jnp.array([0.25, 0.5]))
    tensor([1.7500, 2.5000])
    """
    _check_weights("quantile", weights, out, overwrite_input)
    return _quantile("quantile", a, q, axis, method, keepdims, False)


def nanquantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                keepdims=False, *, weights=None):
    """``quantile`` ignoring NaNs (an all-NaN slice gives NaN).

    >>> import ember.numpy as jnp
    >>> jnp.nanquantile(jnp.array([1., jnp.nan, 3.]), 0.5)
    tensor(2.)
    """
    _check_weights("nanquantile", weights, out, overwrite_input)
    return _quantile("nanquantile", a, q, axis, method, keepdims, True)


def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
               keepdims=False, *, weights=None):
    """``quantile`` with ``q`` in percent ([0, 100]).

    >>> import ember.numpy as jnp
    >>> jnp.percentile(jnp.array([1., 2., 3., 4.]), 50)
    tensor(2.5000)
    """
    _check_weights("percentile", weights, out, overwrite_input)
    return _quantile("percentile", a, _fl(q) / 100, axis, method, keepdims, False)


def nanpercentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                  keepdims=False, *, weights=None):
    """``percentile`` ignoring NaNs.

    >>> import ember.numpy as jnp
    >>> jnp.nanpercentile(jnp.array([1., jnp.nan, 3.]), 100)
    tensor(3.)
    """
    _check_weights("nanpercentile", weights, out, overwrite_input)
    return _quantile("nanpercentile", a, _fl(q) / 100, axis, method, keepdims, True)


def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """The median over ``axis`` (the mean of the two middle values for an even count).

    >>> import ember.numpy as jnp
    >>> jnp.median(jnp.array([4., 1., 3., 2.]))
    tensor(2.5000)
    """
    _no_out("median", out)
    return _quantile("median", a, 0.5, axis, "midpoint", keepdims, False)


def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """``median`` ignoring NaNs.

    >>> import ember.numpy as jnp
    >>> jnp.nanmedian(jnp.array([4., jnp.nan, 1., 3.]))
    tensor(3.)
    """
    _no_out("nanmedian", out)
    return _quantile("nanmedian", a, 0.5, axis, "midpoint", keepdims, True)


# ---- NaN-ignoring reductions ----------------------------------------------------------------

def _nan_where(x, fill):
    x = _a(x)
    if not x.dtype.is_inexact:
        return x, None
    nan = _e().isnan(x)
    return _jnp().where(nan, fill, x), nan


def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """The sum over ``axis`` treating NaNs as zero.

    >>> import ember.numpy as jnp
    >>> jnp.nansum(jnp.array([1., jnp.nan, 3.]))
    tensor(4.)
    """
    _no_out("nansum", out)
    x, _ = _nan_where(a, 0)
    if where is not None:
        x = _jnp().where(_a(where), x, 0)
    r = _jnp().sum(x, axis=axis, dtype=dtype, keepdims=keepdims)
    return r if initial is None else r + initial


def nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """The product over ``axis`` treating NaNs as one.

    >>> import ember.numpy as jnp
    >>> jnp.nanprod(jnp.array([2., jnp.nan, 3.]))
    tensor(6.)
    """
    _no_out("nanprod", out)
    x, _ = _nan_where(a, 1)
    if where is not None:
        x = _jnp().where(_a(where), x, 1)
    r = _jnp().prod(x, axis=axis, dtype=dtype, keepdims=keepdims)
    return r if initial is None else r * initial


def _count(x, nan, axis, keepdims, where=None):
    ok = ~nan if nan is not None else _jnp().ones_like(x, dtype=_dt.bool_)
    if where is not None:
        ok = ok & _a(where)
    return _jnp().sum(ok.to(x.dtype if x.dtype.is_inexact else _dt.float32), axis=axis,
                      keepdims=keepdims), ok


def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, where=None):
    """The mean over ``axis`` of the non-NaN entries (NaN where there are none).

    >>> import ember.numpy as jnp
    >>> jnp.nanmean(jnp.array([1., jnp.nan, 3.]))
    tensor(2.)
    """
    _no_out("nanmean", out)
    x = _fl(a) if dtype is None else _a(a).to(_dt.as_dtype(dtype))
    x0, nan = _nan_where(x, 0)
    n, ok = _count(x, nan, axis, keepdims, where)
    if where is not None:
        x0 = _jnp().where(ok, x0, 0)
    return _jnp().sum(x0, axis=axis, keepdims=keepdims) / n


def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None, mean=None):
    """The variance over ``axis`` of the non-NaN entries, with ``ddof`` degrees of freedom
    removed (NaN where fewer than ``ddof`` + 1 remain... as NumPy: count - ddof <= 0 gives NaN
    or inf).

    >>> import ember.numpy as jnp
    >>> jnp.nanvar(jnp.array([1., jnp.nan, 3.]))
    tensor(1.)
    """
    _no_out("nanvar", out)
    jnp = _jnp()
    x = _fl(a) if dtype is None else _a(a).to(_dt.as_dtype(dtype))
    x0, nan = _nan_where(x, 0)
    n, ok = _count(x, nan, axis, True, where)
    if where is not None:
        x0 = jnp.where(ok, x0, 0)
    m = jnp.sum(x0, axis=axis, keepdims=True) / jnp.where(n > 0, n, 1) if mean is None \
        else _a(mean)
    dev = jnp.where(ok, x0 - m, 0)
    ss = jnp.sum(dev * dev, axis=axis, keepdims=keepdims)
    nk = n if keepdims else jnp.sum(ok.to(x.dtype), axis=axis, keepdims=False)
    dof = nk - ddof
    return jnp.where(dof > 0, ss / jnp.where(dof > 0, dof, 1), _np.nan)


def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None, mean=None):
    """The standard deviation over ``axis`` of the non-NaN entries.

    >>> import ember.numpy as jnp
    >>> jnp.nanstd(jnp.array([1., jnp.nan, 3.]))
    tensor(1.)
    """
    from .ops.reduce import root_zero_grad
    return root_zero_grad(nanvar(a, axis, dtype, out, ddof, keepdims, where, mean), 2)


def _nan_extreme(name, largest):
    def f(a, axis=None, out=None, keepdims=False, initial=None, where=None):
        _no_out(name, out)
        jnp = _jnp()
        x = _a(a)
        if not x.dtype.is_inexact:
            red = jnp.max if largest else jnp.min
            r = red(x, axis=axis, keepdims=keepdims)
            return r if initial is None else (jnp.maximum if largest else jnp.minimum)(r, initial)
        nan = _e().isnan(x)
        if where is not None:
            nan = nan | ~_a(where)
        fill = -_np.inf if largest else _np.inf
        r = (jnp.max if largest else jnp.min)(jnp.where(nan, fill, x), axis=axis,
                                               keepdims=keepdims)
        if initial is not None:
            r = (jnp.maximum if largest else jnp.minimum)(r, initial)
            return r
        return jnp.where(jnp.all(nan, axis=axis, keepdims=keepdims), _np.nan, r)
    f.__name__ = f.__qualname__ = name
    word = "maximum" if largest else "minimum"
    f.__doc__ = (f"The {word} over ``axis`` ignoring NaNs (NaN for an all-NaN slice).\n\n"
                 f">>> import ember.numpy as jnp\n"
                 f">>> jnp.{name}(jnp.array([1., jnp.nan, 3.]))\n"
                 f"tensor({'3.' if largest else '1.'})\n")
    return f


nanmax = _nan_extreme("nanmax", True)
nanmin = _nan_extreme("nanmin", False)


def _nan_arg(name, largest):
    def f(a, axis=None, out=None, keepdims=None):
        _no_out(name, out)
        jnp = _jnp()
        x = _a(a)
        arg = jnp.argmax if largest else jnp.argmin
        kd = builtins.bool(keepdims)
        if not x.dtype.is_inexact:
            return arg(x, axis=axis, keepdims=kd).to(_jax_int())
        nan = _e().isnan(x)
        fill = -_np.inf if largest else _np.inf
        r = arg(jnp.where(nan, fill, x), axis=axis, keepdims=kd).to(_jax_int())
        return jnp.where(jnp.all(nan, axis=axis, keepdims=kd), -1, r)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = (f"The index of the {'maximum' if largest else 'minimum'} along ``axis`` "
                 f"ignoring NaNs (-1 for an all-NaN slice, as JAX).\n\n"
                 f">>> import ember.numpy as jnp\n"
                 f">>> jnp.{name}(jnp.array([1., jnp.nan, 3.]))\n"
                 f"tensor({2 if largest else 0}, dtype=ember.int32)\n")
    return f


nanargmax = _nan_arg("nanargmax", True)
nanargmin = _nan_arg("nanargmin", False)


def nancumsum(a, axis=None, dtype=None, out=None):
    """The cumulative sum along ``axis`` (of the flattened array if None), NaNs as zero.

    >>> import ember.numpy as jnp
    >>> jnp.nancumsum(jnp.array([1., jnp.nan, 3.]))
    tensor([1., 1., 4.])
    """
    _no_out("nancumsum", out)
    x, _ = _nan_where(a, 0)
    return _jnp().cumsum(x, axis=axis, dtype=dtype)


def nancumprod(a, axis=None, dtype=None, out=None):
    """The cumulative product along ``axis`` (of the flattened array if None), NaNs as one.

    >>> import ember.numpy as jnp
    >>> jnp.nancumprod(jnp.array([2., jnp.nan, 3.]))
    tensor([2., 2., 6.])
    """
    _no_out("nancumprod", out)
    x, _ = _nan_where(a, 1)
    return _jnp().cumprod(x, axis=axis, dtype=dtype)


def ptp(a, axis=None, out=None, keepdims=False):
    """The range (maximum - minimum) over ``axis``.

    >>> import ember.numpy as jnp
    >>> jnp.ptp(jnp.array([[1., 5.], [2., 3.]]), axis=1)
    tensor([4., 1.])
    """
    _no_out("ptp", out)
    jnp = _jnp()
    x = _a(a)
    return jnp.max(x, axis=axis, keepdims=keepdims) - jnp.min(x, axis=axis, keepdims=keepdims)


# ---- covariance ---------------------------------------------------------------------------

def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None,
        dtype=None):
    """The covariance matrix of the variables in ``m``'s rows (columns with
    ``rowvar=False``), observations weighted by integer ``fweights`` and ``aweights``.

    >>> import ember.numpy as jnp
    >>> jnp.cov(jnp.array([[0., 1., 2.], [2., 1., 0.]]))
    tensor([[ 1., -1.],
            [-1.,  1.]])
    """
    jnp = _jnp()
    x = _fl(m) if dtype is None else _a(m).to(_dt.as_dtype(dtype))
    if x.ndim > 2:
        raise ValueError(f"cov: m must have at most 2 dims, got shape {tuple(x.shape)}")
    x = jnp.atleast_2d(x)
    if not rowvar and x.shape[0] != 1:
        x = x.T
    if y is not None:
        yy = jnp.atleast_2d(_fl(y).to(x.dtype))
        if not rowvar and yy.shape[0] != 1:
            yy = yy.T
        x = jnp.concatenate([x, yy], axis=0)
    if ddof is None:
        ddof = 0 if bias else 1
    n = x.shape[1]
    w = None
    if fweights is not None:
        f = _a(fweights)
        if f.ndim != 1 or f.shape[0] != n:
            raise ValueError(f"cov: fweights must be 1-d of length {n}, got shape "
                             f"{tuple(f.shape)}")
        w = f.to(x.dtype)
    if aweights is not None:
        aw = _a(aweights)
        if aw.ndim != 1 or aw.shape[0] != n:
            raise ValueError(f"cov: aweights must be 1-d of length {n}, got shape "
                             f"{tuple(aw.shape)}")
        w = aw.to(x.dtype) if w is None else w * aw.to(x.dtype)
    if w is None:
        avg = jnp.mean(x, axis=1)
        w_sum = float(n)
        fact = float(n - ddof)
    else:
        avg, w_sum = average(x, axis=1, weights=w, returned=True)
        w_sum = w_sum[0]
        if aweights is None:
            fact = w_sum - ddof
        else:
            fact = w_sum - ddof * jnp.sum(w * aw.to(x.dtype)) / w_sum
    xc = x - avg[:, None]
    xw = xc if w is None else xc * w
    c = jnp.matmul(xw, xc.T) / fact
    return jnp.squeeze(c)


def corrcoef(x, y=None, rowvar=True, dtype=None):
    """The correlation coefficients of the variables in ``x``'s rows (clipped to [-1, 1]).

    >>> import ember.numpy as jnp
    >>> jnp.corrcoef(jnp.array([[0., 1., 2.], [0., 2., 4.]]))
    tensor([[1., 1.],
            [1., 1.]])
    """
    jnp = _jnp()
    c = cov(x, y, rowvar, dtype=dtype)
    if c.ndim == 0:
        return c / c
    d = jnp.diagonal(c)
    sd = jnp.sqrt(d)
    c = c / sd[:, None] / sd[None, :]
    return jnp.clip(c, -1, 1)


# ---- histograms and counting --------------------------------------------------------------

def bincount(x, weights=None, minlength=0, *, length=None):
    """How often each non-negative integer occurs in the 1-d ``x`` (summing ``weights``
    instead of ones when given). The result has ``length`` entries when given (counts beyond
    it are dropped: jit-compatible), else ``max(x) + 1`` (at least ``minlength``: needs a
    concrete ``x``).

    >>> import ember.numpy as jnp
    >>> jnp.bincount(jnp.array([0, 1, 1, 3]))
    tensor([1, 2, 0, 1], dtype=ember.int32)
    """
    jnp = _jnp()
    t = _a(x)
    if t.dtype.is_inexact:
        raise TypeError(f"bincount: x must be integers, got {t.dtype.name}")
    if t.ndim != 1:
        raise ValueError(f"bincount: x must be 1-d, got shape {tuple(t.shape)}")
    if length is None:
        v = _concrete("bincount", t, "the result's length (max(x) + 1)",
                      "Pass length= for a fixed-size result.")
        if v.size and v.min() < 0:
            raise ValueError(f"bincount: x must be non-negative, got min {v.min()}")
        length = builtins.max(int(minlength), int(v.max()) + 1 if v.size else 0)
    length = operator.index(length)
    if weights is None:
        w = jnp.ones(t.shape, dtype=_jax_int())
    else:
        w = _a(weights)
        if w.shape != t.shape:
            raise ValueError(f"bincount: weights of shape {tuple(w.shape)} don't match x's "
                             f"{tuple(t.shape)}")
    idx = t.to(_dt.int64)
    keep = (idx >= 0) & (idx < length)
    w = jnp.where(keep, w, 0)
    idx = jnp.where(keep, idx, 0)
    out = jnp.zeros((length,), dtype=w.dtype)
    return out.at[idx].add(w)


def _edges(op, a, bins, rng, weights=None):
    """Bin edges (a tensor) for ``a`` (flattened): a number of equal bins over ``rng`` or
    the data's range, or the given edges."""
    jnp = _jnp()
    x = _fl(a).reshape(-1)
    if isinstance(bins, str):
        v = _concrete(op, x, f"bins={bins!r}", "Give the number of bins or the edges.")
        w = None if weights is None else _concrete(op, _a(weights), "weights", "")
        e = _np.histogram_bin_edges(v, bins, rng, w)
        return jnp.asarray(e.astype(x.dtype.np))
    if _np.ndim(bins) == 0 and not (isinstance(bins, Tensor) and bins.ndim > 0):
        nb = operator.index(int(bins) if not isinstance(bins, Tensor) else int(bins.item()))
        if nb < 1:
            raise ValueError(f"{op}: bins must be positive, got {nb}")
        if rng is None:
            lo, hi = jnp.min(x), jnp.max(x)
        else:
            if len(rng) != 2:
                raise ValueError(f"{op}: range must be (min, max), got {rng!r}")
            lo, hi = _a(rng[0]).to(x.dtype), _a(rng[1]).to(x.dtype)
        same = lo == hi
        lo = jnp.where(same, lo - 0.5, lo)
        hi = jnp.where(same, hi + 0.5, hi)
        return jnp.linspace(lo, hi, nb + 1)
    e = _fl(bins).to(x.dtype)
    if e.ndim != 1:
        raise ValueError(f"{op}: bins must be an int or 1-d edges, got shape {tuple(e.shape)}")
    return e


def histogram_bin_edges(a, bins=10, range=None, weights=None):  # noqa: A002
    """The bin edges ``histogram`` would use.

    >>> import ember.numpy as jnp
    >>> jnp.histogram_bin_edges(jnp.array([0., 1., 4.]), bins=4)
    tensor([0., 1., 2., 3., 4.])
    """
    return _edges("histogram_bin_edges", a, bins, range, weights)


def _bin_index(x, edges):
    """The bin of each value: ``searchsorted(edges, x, 'right') - 1``, the last edge closed."""
    jnp = _jnp()
    nb = edges.shape[0] - 1
    i = jnp.searchsorted(edges, x, side="right") - 1
    i = jnp.where(x == edges[-1], nb - 1, i)
    inside = (x >= edges[0]) & (x <= edges[-1])
    return i, inside


def histogram(a, bins=10, range=None, weights=None, density=None):  # noqa: A002
    """The counts of ``a``'s values in ``bins`` (a number of equal bins over ``range`` or the
    data's range, or the edges) and the edges; ``density=True`` normalises to unit area.
    The counts are floats (the sum of unit weights), as JAX's.

    >>> import ember.numpy as jnp
    >>> jnp.histogram(jnp.array([0., 1., 1., 3.]), bins=3)
    (tensor([1., 2., 1.]), tensor([0., 1., 2., 3.]))
    """
    jnp = _jnp()
    x = _fl(a).reshape(-1)
    edges = _edges("histogram", x, bins, range, weights)
    x = x.to(edges.dtype)
    nb = edges.shape[0] - 1
    w = jnp.ones_like(x) if weights is None else _a(weights).reshape(-1).to(x.dtype)
    if w.shape != x.shape:
        raise ValueError(f"histogram: weights of shape {tuple(_a(weights).shape)} don't match "
                         f"a's {tuple(_a(a).shape)}")
    i, inside = _bin_index(x, edges)
    w = jnp.where(inside, w, 0)
    i = jnp.where(inside, i, 0)
    counts = jnp.zeros((nb,), dtype=w.dtype).at[i].add(w)
    if density:
        widths = jnp.diff(edges)
        counts = counts / widths / jnp.sum(counts)
    return counts, edges


def histogramdd(sample, bins=10, range=None, weights=None, density=None):  # noqa: A002
    """The multidimensional histogram of ``sample`` (N points x D coordinates): ``bins`` an
    int, a list of ints or of edges per dimension; returns the counts and the list of edges.

    >>> import ember.numpy as jnp
    >>> h, edges = jnp.histogramdd(jnp.array([[0., 0.], [1., 1.], [1., 0.]]), bins=2)
    >>> h
    tensor([[1, 0],
            [1, 1]], dtype=ember.int32)
    """
    jnp = _jnp()
    s = _fl(sample)
    if s.ndim == 1:
        s = s[:, None]
    if s.ndim != 2:
        raise ValueError(f"histogramdd: sample must be (N, D), got shape {tuple(s.shape)}")
    n, d = s.shape
    if isinstance(bins, (list, tuple)):
        if len(bins) != d:
            raise ValueError(f"histogramdd: {len(bins)} bins specs for {d} dimensions")
        specs = list(bins)
    else:
        specs = [bins] * d
    rngs = list(range) if range is not None else [None] * d
    if len(rngs) != d:
        raise ValueError(f"histogramdd: {len(rngs)} ranges for {d} dimensions")
    edges, flat, inside = [], None, None
    sizes = []
    for k in builtins.range(d):
        e = _edges("histogramdd", s[:, k], specs[k], rngs[k])
        i, ok = _bin_index(s[:, k].to(e.dtype), e)
        nb = e.shape[0] - 1
        sizes.append(nb)
        edges.append(e)
        flat = i if flat is None else flat * nb + i
        inside = ok if inside is None else inside & ok
    # counts without weights are integers (JAX's default integer), as JAX's histogramdd
    w = jnp.ones((n,), dtype=_jax_int()) if weights is None else _a(weights).to(s.dtype)
    w = jnp.where(inside, w, 0)
    flat = jnp.where(inside, flat, 0)
    total = int(_np.prod(sizes))
    counts = jnp.zeros((total,), dtype=w.dtype).at[flat].add(w).reshape(tuple(sizes))
    if density:
        counts = counts.to(s.dtype)
        vol = None
        for k, e in enumerate(edges):
            shp = [1] * d
            shp[k] = -1
            wk = jnp.diff(e).reshape(tuple(shp))
            vol = wk if vol is None else vol * wk
        counts = counts / vol / jnp.sum(counts)
    return counts, edges


def histogram2d(x, y, bins=10, range=None, weights=None, density=None):  # noqa: A002
    """The 2-d histogram of the points (``x``, ``y``): counts, x edges, y edges.

    >>> import ember.numpy as jnp
    >>> h, xe, ye = jnp.histogram2d(jnp.array([0., 1.]), jnp.array([1., 1.]), bins=2)
    >>> h
    tensor([[0, 1],
            [0, 1]], dtype=ember.int32)
    """
    jnp = _jnp()
    xs, ys = _fl(x), _fl(y)
    if isinstance(bins, (list, tuple)) and len(bins) != 2:
        bins = [bins, bins]  # one list of edges for both
    h, e = histogramdd(jnp.stack([xs, ys.to(xs.dtype)], axis=1), bins, range, weights, density)
    return h, e[0], e[1]


def digitize(x, bins, right=False, *, method=None):
    """The index of the bin each value of ``x`` falls in, for increasing or decreasing
    ``bins`` (NumPy's convention: ``bins[i-1] <= x < bins[i]``; ``right=True`` closes the
    other side).

    >>> import ember.numpy as jnp
    >>> jnp.digitize(jnp.array([0.5, 1.0, 2.5]), jnp.array([1., 2., 3.]))
    tensor([0, 1, 2], dtype=ember.int32)
    """
    jnp = _jnp()
    xs, b = _a(x), _a(bins)
    if b.ndim != 1:
        raise ValueError(f"digitize: bins must be 1-d, got shape {tuple(b.shape)}")
    if b.shape[0] == 0:
        return jnp.zeros(xs.shape, dtype=_jax_int())
    side = "left" if right else "right"
    inc = jnp.searchsorted(b, xs, side=side).to(_jax_int())
    if b.shape[0] == 1:
        return inc
    dec = (b.shape[0] - jnp.searchsorted(jnp.flip(b), xs,
                                         side="left" if right else "right")).to(_jax_int())
    return jnp.where(b[-1] >= b[0], inc, dec)


def interp(x, xp, fp, left=None, right=None, period=None):
    """The piecewise-linear interpolant through (``xp``, ``fp``) at ``x`` (``xp``
    increasing); ``left``/``right`` below/above the range (default ``fp[0]``/``fp[-1]``),
    ``period`` for periodic ``xp``.

    >>> import ember.numpy as jnp
    >>> jnp.interp(jnp.array([0.5, 1.5, 9.]), jnp.array([0., 1., 2.]), jnp.array([0., 10., 20.]))
    tensor([ 5., 15., 20.])
    """
    jnp = _jnp()
    xs, xps, fps = _fl(x), _fl(xp), _fl(fp)
    d = _dt.promote_types(_dt.promote_types(xs.dtype, xps.dtype), fps.dtype)
    xs, xps, fps = xs.to(d), xps.to(d), fps.to(d)
    if xps.ndim != 1 or fps.ndim != 1 or xps.shape[0] != fps.shape[0]:
        raise ValueError(f"interp: xp and fp must be 1-d of one length, got shapes "
                         f"{tuple(xps.shape)} and {tuple(fps.shape)}")
    if xps.shape[0] == 0:
        raise ValueError("interp: xp and fp are empty")
    if period is not None:
        if left is not None or right is not None:
            raise ValueError("interp: left/right have no meaning with period=")
        p = builtins.abs(float(period)) if not isinstance(period, Tensor) else jnp.abs(period)
        xs = xs % p
        xps = xps % p
        order = jnp.argsort(xps)
        xps, fps = xps[order], fps[order]
        xps = jnp.concatenate([xps[-1:] - p, xps, xps[:1] + p])
        fps = jnp.concatenate([fps[-1:], fps, fps[:1]])
    n = xps.shape[0]
    i = jnp.clip(jnp.searchsorted(xps, xs, side="right"), 1, builtins.max(n - 1, 1))
    x0, x1 = xps[i - 1], xps[i] if n > 1 else xps[i - 1]
    f0, f1 = fps[i - 1], fps[i] if n > 1 else fps[i - 1]
    dx = x1 - x0
    t = jnp.where(dx == 0, 0.0, (xs - x0) / jnp.where(dx == 0, 1.0, dx))
    r = f0 + t * (f1 - f0)
    r = jnp.where(dx == 0, f1, r) if n > 1 else jnp.broadcast_to(fps[0], xs.shape)
    if period is None:
        lo = fps[0] if left is None else left
        hi = fps[-1] if right is None else right
        r = jnp.where(xs < xps[0], lo, r)
        r = jnp.where(xs > xps[-1], hi, r)
    return r


# ---- convolution --------------------------------------------------------------------------

def _conv1d(op, a, v, mode, flip):
    jnp = _jnp()
    x, k = _a(a), _a(v)
    if x.ndim != 1 or k.ndim != 1:
        raise ValueError(f"{op}: a and v must be 1-d, got shapes {tuple(x.shape)} and "
                         f"{tuple(k.shape)}")
    if x.shape[0] == 0 or k.shape[0] == 0:
        raise ValueError(f"{op}: a and v must not be empty, got shapes {tuple(x.shape)} and "
                         f"{tuple(k.shape)}")
    if mode not in ("full", "same", "valid"):
        raise ValueError(f"{op}: mode must be 'full', 'same' or 'valid', got {mode!r}")
    d = _dt.promote_types(x.dtype, k.dtype)
    if not d.is_inexact:  # JAX convolves integers as floats
        d = _dt.float64 if _dt._x64[0] else _dt.get_default_dtype()
    x, k = x.to(d), k.to(d)
    swapped = False
    if x.shape[0] < k.shape[0]:
        x, k, swapped = k, x, True
    if flip:
        k = jnp.flip(k)
    n, m = x.shape[0], k.shape[0]
    if mode == "valid":
        lo, hi = 0, 0
    elif mode == "same":
        lo = m // 2
        hi = m - 1 - lo
    else:
        lo = hi = m - 1
    xp = jnp.pad(x, (lo, hi)) if lo or hi else x
    n_out = xp.shape[0] - m + 1
    idx = _np.arange(n_out)[:, None] + _np.arange(m)[None, :]
    win = xp[jnp.asarray(idx.astype(_np.int64))]
    r = jnp.matmul(win, k)
    if swapped and not flip:  # correlate(a, v) with len(a) < len(v): NumPy's reversal
        r = jnp.flip(r)
    return r


def convolve(a, v, mode="full", *, precision=None, preferred_element_type=None):
    """The discrete linear convolution of two 1-d arrays; ``mode`` 'full', 'same' or 'valid'.

    >>> import ember.numpy as jnp
    >>> jnp.convolve(jnp.array([1., 2., 3.]), jnp.array([0., 1., 0.5]))
    tensor([0.0000, 1.0000, 2.5000, 4.0000, 1.5000])
    """
    r = _conv1d("convolve", a, v, mode, True)
    return r if preferred_element_type is None else r.to(_dt.as_dtype(preferred_element_type))


def correlate(a, v, mode="valid", *, precision=None, preferred_element_type=None):
    """The cross-correlation of two 1-d arrays (``c[k] = sum_n a[n + k] * v[n]``); ``mode``
    'valid' (default), 'same' or 'full'.

    >>> import ember.numpy as jnp
    >>> jnp.correlate(jnp.array([1., 2., 3.]), jnp.array([0., 1., 0.5]))
    tensor([3.5000])
    """
    r = _conv1d("correlate", a, v, mode, False)
    return r if preferred_element_type is None else r.to(_dt.as_dtype(preferred_element_type))


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """The integral of ``y`` along ``axis`` by the trapezoidal rule, at the sample points
    ``x`` (or spaced ``dx`` apart).

    >>> import ember.numpy as jnp
    >>> jnp.trapezoid(jnp.array([1., 2., 3.]))
    tensor(4.)
    """
    jnp = _jnp()
    ys = _fl(y)
    ys = jnp.moveaxis(ys, axis, -1)
    if x is None:
        d = dx
    else:
        xs = _fl(x).to(ys.dtype)
        if xs.ndim == 1:
            d = jnp.diff(xs)
        else:
            d = jnp.diff(jnp.moveaxis(xs, axis, -1), axis=-1)
    return jnp.sum(d * (ys[..., 1:] + ys[..., :-1]) * 0.5, axis=-1)
