"""``jax.nn``'s functions, as lowercase names of ``ember.nn`` (``from jax import nn`` becomes
``from ember import nn``; PyTorch's ``torch.nn`` has classes, not these functions, so the two
sets of names don't meet). They follow JAX: ``softmax``/``log_softmax`` over ``axis=-1`` with
``where=``, ``gelu`` approximate (tanh) by default, ``one_hot`` giving float32 with out-of-range
classes all zero, ``relu``'s derivative 0 at 0. ``ember.nn.functional`` keeps PyTorch's.

>>> from ember import nn
>>> nn.softmax(ember.numpy.array([0., 1.]))
tensor([0.2689, 0.7311])
>>> nn.one_hot(ember.numpy.array([0, 2, 5]), 3)
tensor([[1., 0., 0.],
        [0., 0., 1.],
        [0., 0., 0.]])
"""
from __future__ import annotations

import math

from .. import numpy as jnp
from ..scipy import special as _special

__all__ = ["relu", "relu6", "sigmoid", "log_sigmoid", "softplus", "sparse_plus",
           "sparse_sigmoid", "soft_sign", "silu", "swish", "hard_sigmoid", "hard_silu",
           "hard_swish", "hard_tanh", "elu", "celu", "selu", "gelu", "glu", "squareplus",
           "mish", "leaky_relu", "identity", "tanh", "softmax", "log_softmax", "logsumexp",
           "logmeanexp", "log1mexp", "standardize", "one_hot", "dot_product_attention"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _x(x):
    return jnp.asarray(x)


def relu(x):
    """max(x, 0), with derivative 0 at 0 (JAX's choice).

    >>> ember.nn.relu(ember.numpy.array([-1., 0., 2.]))
    tensor([0., 0., 2.])
    """
    x = _x(x)
    return jnp.where(x > 0, x, jnp.zeros_like(x))


def relu6(x):
    """min(max(x, 0), 6), with derivative 0 at 0 and at 6.

    >>> ember.nn.relu6(ember.numpy.array([-1., 3., 8.]))
    tensor([0., 3., 6.])
    """
    x = _x(x)
    return jnp.where(x >= 6, jnp.full_like(x, 6), relu(x))


def sigmoid(x):
    """1 / (1 + exp(-x)).

    >>> ember.nn.sigmoid(ember.numpy.array(0.))
    tensor(0.5000)
    """
    return _special.expit(_x(x))


def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x), computed stably.

    >>> ember.nn.log_sigmoid(ember.numpy.array(0.))
    tensor(-0.6931)
    """
    return -softplus(-_x(x))


def softplus(x):
    """log(1 + exp(x)), computed stably.

    >>> ember.nn.softplus(ember.numpy.array(0.))
    tensor(0.6931)
    """
    return jnp.logaddexp(_x(x), 0.0)


def sparse_plus(x):
    """0 for x <= -1, (x + 1)^2 / 4 for -1 < x < 1, x for x >= 1.

    >>> ember.nn.sparse_plus(ember.numpy.array([-2., 0.5, 2.]))
    tensor([0.0000, 0.5625, 2.0000])
    """
    x = _x(x)
    return jnp.where(x <= -1, jnp.zeros_like(x), jnp.where(x >= 1, x, (x + 1) ** 2 / 4))


def sparse_sigmoid(x):
    """The derivative of sparse_plus: 0, (x + 1) / 2, 1.

    >>> ember.nn.sparse_sigmoid(ember.numpy.array([-2., 0.5, 2.]))
    tensor([0.0000, 0.7500, 1.0000])
    """
    x = _x(x)
    return 0.5 * jnp.minimum(jnp.maximum(x + 1.0, 0.0), 2.0)  # (ties at the kinks share)


def soft_sign(x):
    """x / (|x| + 1).

    >>> ember.nn.soft_sign(ember.numpy.array(1.))
    tensor(0.5000)
    """
    x = _x(x)
    return x / (jnp.abs(x) + 1)


def silu(x):
    """x * sigmoid(x) (also ``swish``).

    >>> ember.nn.silu(ember.numpy.array(0.))
    tensor(0.)
    """
    x = _x(x)
    return x * sigmoid(x)


swish = silu


def hard_sigmoid(x):
    """relu6(x + 3) / 6.

    >>> ember.nn.hard_sigmoid(ember.numpy.array(0.))
    tensor(0.5000)
    """
    return relu6(_x(x) + 3.0) / 6.0


def hard_silu(x):
    """x * hard_sigmoid(x) (also ``hard_swish``).

    >>> ember.nn.hard_silu(ember.numpy.array(3.))
    tensor(3.)
    """
    x = _x(x)
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def hard_tanh(x):
    """-1 below -1, 1 above 1, x between.

    >>> ember.nn.hard_tanh(ember.numpy.array([-3., 0.5, 3.]))
    tensor([-1.0000, 0.5000, 1.0000])
    """
    x = _x(x)
    return jnp.where(x > 1, jnp.ones_like(x), jnp.where(x < -1, -jnp.ones_like(x), x))


def elu(x, alpha=1.0):
    """x for x > 0, alpha * (exp(x) - 1) otherwise.

    >>> ember.nn.elu(ember.numpy.array([-1., 2.]))
    tensor([-0.6321, 2.0000])
    """
    x = _x(x)
    pos = x > 0
    return jnp.where(pos, x, alpha * jnp.expm1(jnp.where(pos, jnp.zeros_like(x), x)))


def celu(x, alpha=1.0):
    """max(x, 0) + alpha * min(exp(x / alpha) - 1, 0).

    >>> ember.nn.celu(ember.numpy.array([-1., 2.]), alpha=2.)
    tensor([-0.7869, 2.0000])
    """
    x = _x(x)
    return jnp.maximum(x, 0.0) + alpha * jnp.expm1(jnp.minimum(x, 0.0) / alpha)


def selu(x):
    """scale * elu(x, alpha) with Klambauer et al.'s constants.

    >>> ember.nn.selu(ember.numpy.array(1.))
    tensor(1.0507)
    """
    return _SELU_SCALE * elu(x, _SELU_ALPHA)


def gelu(x, approximate=True):
    """The Gaussian error linear unit; ``approximate=True`` (JAX's default, where PyTorch's is
    exact) is the tanh form.

    >>> ember.nn.gelu(ember.numpy.array(1.)), ember.nn.gelu(ember.numpy.array(1.), False)
    (tensor(0.8412), tensor(0.8413))
    """
    x = _x(x)
    if approximate:
        c = math.sqrt(2 / math.pi)
        return 0.5 * x * (1 + jnp.tanh(c * (x + 0.044715 * (x * x * x))))
    return 0.5 * x * (1 + _special.erf(x / math.sqrt(2)))


def glu(x, axis=-1):
    """The gated linear unit: the first half of ``axis`` times the sigmoid of the second.

    >>> ember.nn.glu(ember.numpy.array([2., 0.]))
    tensor([1.])
    """
    x = _x(x)
    n = x.shape[axis]
    if n % 2:
        raise ValueError(f"glu: axis {axis} of shape {tuple(x.shape)} has odd size {n}; it "
                         f"must split in two halves")
    a, b = jnp.split(x, 2, axis=axis)
    return a * sigmoid(b)


def squareplus(x, b=4):
    """(x + sqrt(x^2 + b)) / 2, a smooth relu.

    >>> ember.nn.squareplus(ember.numpy.array(0.))
    tensor(1.)
    """
    x = _x(x)
    return (x + jnp.sqrt(x * x + b)) / 2


def mish(x):
    """x * tanh(softplus(x)).

    >>> ember.nn.mish(ember.numpy.array(1.))
    tensor(0.8651)
    """
    x = _x(x)
    return x * jnp.tanh(softplus(x))


def leaky_relu(x, negative_slope=0.01):
    """x for x >= 0, negative_slope * x otherwise.

    >>> ember.nn.leaky_relu(ember.numpy.array([-2., 2.]))
    tensor([-0.0200, 2.0000])
    """
    x = _x(x)
    return jnp.where(x >= 0, x, negative_slope * x)


def identity(x):
    """x itself (as an array).

    >>> ember.nn.identity(ember.numpy.array(2.))
    tensor(2.)
    """
    return _x(x)


def tanh(x):
    """The hyperbolic tangent.

    >>> ember.nn.tanh(ember.numpy.array(0.))
    tensor(0.)
    """
    return jnp.tanh(_x(x))


def _masked(x, where, fill):
    return x if where is None else jnp.where(where, x, fill)


def softmax(x, axis=-1, where=None):
    """exp(x) / sum(exp(x)) over ``axis``; with ``where``, only the entries it marks take
    part, the others are 0.

    >>> ember.nn.softmax(ember.numpy.array([1., 2., 3.]), where=ember.numpy.array([True, False, True]))
    tensor([0.1192, 0.0000, 0.8808])
    """
    x = _x(x)
    x = _masked(x, where, -jnp.inf)
    m = jnp.max(x, axis=axis, keepdims=True)
    e = jnp.exp(x - jax_stop(m))
    e = _masked(e, where, 0.0)
    return e / jnp.sum(e, axis=axis, keepdims=True)


def log_softmax(x, axis=-1, where=None):
    """x - logsumexp(x) over ``axis``; with ``where``, the others are -inf.

    >>> ember.nn.log_softmax(ember.numpy.array([0., 0.]))
    tensor([-0.6931, -0.6931])
    """
    x = _x(x)
    x = _masked(x, where, -jnp.inf)
    m = jax_stop(jnp.max(x, axis=axis, keepdims=True))
    s = x - m
    e = _masked(jnp.exp(s), where, 0.0)
    out = s - jnp.log(jnp.sum(e, axis=axis, keepdims=True))
    return _masked(out, where, -jnp.inf)


def jax_stop(x):
    from ..transforms import stop_gradient
    return stop_gradient(x)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False, where=None):
    """``jax.nn.logsumexp`` (= ``jax.scipy.special.logsumexp``).

    >>> ember.nn.logsumexp(ember.numpy.array([0., 0.]))
    tensor(0.6931)
    """
    if where is not None:
        a = jnp.where(where, _x(a), -jnp.inf)
        if b is not None:
            b = jnp.where(where, _x(b), 0.0)
    return _special.logsumexp(a, axis=axis, b=b, keepdims=keepdims, return_sign=return_sign)


def logmeanexp(a, axis=None, b=None, keepdims=False, return_sign=False, where=None):
    """log(mean(b * exp(a))) over ``axis``: logsumexp less the log of the count.

    >>> ember.nn.logmeanexp(ember.numpy.array([0., 0.]))
    tensor(0.)
    """
    a = _x(a)
    r = logsumexp(a, axis=axis, b=b, keepdims=keepdims, return_sign=return_sign, where=where)
    if where is not None:
        n = jnp.sum(jnp.broadcast_to(_x(where), a.shape), axis=axis, keepdims=keepdims)
        logn = jnp.log(n.astype(a.dtype))
    else:
        axes = range(a.ndim) if axis is None else ((axis,) if isinstance(axis, int) else axis)
        logn = math.log(math.prod(a.shape[d] for d in axes))
    if return_sign:
        return r[0] - logn, r[1]
    return r - logn


def log1mexp(x):
    """log(1 - exp(-x)) for x > 0, accurate for small and large x (Mächler's split at log 2).

    >>> ember.nn.log1mexp(ember.numpy.array([0.1, 10.]))
    tensor([-2.3522e+00, -4.5401e-05])
    """
    x = _x(x)
    c = math.log(2.0)
    return jnp.where(x < c, jnp.log(-jnp.expm1(-x)), jnp.log1p(-jnp.exp(-x)))


def standardize(x, axis=-1, mean=None, variance=None, epsilon=1e-5, where=None):
    """(x - mean) / sqrt(variance + epsilon) with the mean and variance over ``axis`` (of
    the entries ``where`` marks) unless given.

    >>> ember.nn.standardize(ember.numpy.array([1., 3.]))
    tensor([-1.0000, 1.0000])
    """
    x = _x(x)
    if where is None:
        def avg(v):
            return jnp.mean(v, axis=axis, keepdims=True)
    else:
        w = jnp.broadcast_to(_x(where), x.shape)
        n = jnp.sum(w, axis=axis, keepdims=True).astype(x.dtype)

        def avg(v):
            return jnp.sum(jnp.where(w, v, jnp.zeros_like(v)), axis=axis, keepdims=True) / n
    if mean is None:
        mean = avg(x)
    if variance is None:
        variance = avg(jnp.square(x)) - jnp.square(mean)
    return (x - mean) * jnp.reciprocal(jnp.sqrt(variance + epsilon))


def one_hot(x, num_classes, *, dtype=None, axis=-1):
    """``x``'s integers as one-hot vectors of ``num_classes`` entries along a new axis
    ``axis`` (float32 unless ``dtype``); a class out of range gives all zeros.

    >>> ember.nn.one_hot(ember.numpy.array([1, 0]), 2, axis=0)
    tensor([[0., 1.],
            [1., 0.]])
    """
    x = _x(x)
    try:
        num_classes = int(num_classes)
    except (TypeError, ValueError):
        raise TypeError(f"one_hot: num_classes must be a concrete int (a static value under "
                        f"jit), got {num_classes!r}") from None
    out_ndim = x.ndim + 1
    ax = axis + out_ndim if axis < 0 else axis
    if not 0 <= ax < out_ndim:
        raise ValueError(f"one_hot: axis {axis} is out of range for a result of {out_ndim} "
                         f"dims")
    classes = jnp.arange(num_classes).reshape((num_classes,) + (1,) * (out_ndim - 1 - ax))
    hot = jnp.expand_dims(x, ax) == classes
    return hot.astype(dtype if dtype is not None else jnp.float32)


def dot_product_attention(query, key, value, bias=None, mask=None, *, scale=None,
                          is_causal=False, query_seq_lengths=None, key_value_seq_lengths=None,
                          local_window_size=None, implementation=None, return_residual=False):
    """Scaled dot-product attention in JAX's layout: ``query`` (B, T, N, H), ``key`` and
    ``value`` (B, S, K, H) with N a multiple of K (grouped heads), or the same without B.
    ``bias`` is added to the logits (B, N, T, S), ``mask`` (bool, True = attend) and
    ``is_causal`` mask them, ``query_seq_lengths`` / ``key_value_seq_lengths`` (B,) limit the
    valid positions, ``local_window_size`` (left, right) keeps keys within that many
    positions of the query; the softmax runs in float32.

    >>> q = ember.numpy.ones((1, 2, 1, 4)); v = ember.numpy.arange(8.).reshape(1, 2, 1, 4)
    >>> ember.nn.dot_product_attention(q, q, v, is_causal=True)[0, :, 0]
    tensor([[0., 1., 2., 3.],
            [2., 3., 4., 5.]])
    """
    if implementation not in (None, "xla"):
        raise ValueError(f"dot_product_attention: implementation {implementation!r} is not "
                         f"available on the CPU; use None or 'xla'")
    q, k, v = _x(query), _x(key), _x(value)
    unbatched = q.ndim == 3
    if unbatched:
        q, k, v = q[None], k[None], v[None]
    if q.ndim != 4 or k.ndim != 4 or v.ndim != 4:
        raise ValueError(f"dot_product_attention: query, key and value must be (B, T, N, H) "
                         f"or (T, N, H), got {tuple(query.shape)}, {tuple(key.shape)}, "
                         f"{tuple(value.shape)}")
    B, T, N, H = q.shape
    S, K = k.shape[1], k.shape[2]
    if N % K:
        raise ValueError(f"dot_product_attention: {N} query heads do not group over {K} "
                         f"key/value heads")
    if N != K:
        k = jnp.repeat(k, N // K, axis=2)
        v = jnp.repeat(v, N // K, axis=2)
    scale = 1.0 / math.sqrt(H) if scale is None else scale
    logits = jnp.einsum("btnh,bsnh->bnts", q, k).astype(jnp.float32) * scale
    if bias is not None:
        b = _x(bias)
        logits = logits + (b[None] if unbatched and b.ndim == 3 else b).astype(jnp.float32)
    keep = None

    def both(m):
        return m if keep is None else jnp.logical_and(keep, m)
    if mask is not None:
        m = _x(mask).astype(jnp.bool_)
        keep = both(m[None] if unbatched and m.ndim == 3 else m)
    tq = jnp.arange(T).reshape(T, 1)
    sk = jnp.arange(S).reshape(1, S)
    if is_causal:
        keep = both(sk <= tq)
    if local_window_size is not None:
        left, right = ((local_window_size, local_window_size)
                       if isinstance(local_window_size, int) else local_window_size)
        keep = both(jnp.logical_and(sk >= tq - left, sk <= tq + right))
    if query_seq_lengths is not None:
        qlen = _x(query_seq_lengths).reshape(B, 1, 1, 1)
        keep = both(tq.reshape(1, 1, T, 1) < qlen)
    if key_value_seq_lengths is not None:
        kvlen = _x(key_value_seq_lengths).reshape(B, 1, 1, 1)
        keep = both(sk.reshape(1, 1, 1, S) < kvlen)
    if keep is not None:
        logits = jnp.where(keep, logits, jnp.finfo(jnp.float32).min)
    probs = softmax(logits, axis=-1).astype(v.dtype)
    out = jnp.einsum("bnts,bsnh->btnh", probs, v)
    if unbatched:
        out = out[0]
    if return_residual:
        return out, logsumexp(logits, axis=-1)
    return out
