"""``jax.example_libraries.stax`` on ember: neural networks as pairs of pure functions.

A layer is a pair ``(init_fun, apply_fun)``:

- ``init_fun(rng, input_shape) -> (output_shape, params)``: ``input_shape`` may hold -1 for a
  dim not known yet (the batch); ``params`` is a pytree (a tuple of arrays, ``()`` for none).
- ``apply_fun(params, inputs, **kwargs) -> outputs``; ``rng=`` is the key for random layers
  (``Dropout``), other keyword arguments are passed down to every layer.

Combinators build bigger layers from smaller: ``serial`` (one after the other), ``parallel``
(a list of inputs, one layer each), ``FanOut(n)`` (one input copied n times), ``FanInSum`` /
``FanInConcat`` (a list of inputs merged), ``shape_dependent``. Layouts are JAX's: images are
NHWC (``Conv``'s kernel HWIO), pooling windows are over the dims between the first (N) and the
last (C) unless ``spec`` names them. With the same key, layers draw the same initial weights
as JAX's stax. ``Dropout(rate)`` keeps each value with probability ``rate`` (JAX's stax
convention, unlike ``ember.nn.Dropout(p)`` which drops with probability ``p``).

Not here: ``GeneralConvTranspose``, ``ConvTranspose``, ``Conv1DTranspose``.

>>> from ember.example_libraries import stax
>>> init, apply = stax.serial(stax.Dense(16), stax.Relu, stax.Dense(3), stax.LogSoftmax)
>>> out_shape, params = init(ember.random.key(0), (-1, 8))
>>> out_shape, apply(params, ember.numpy.ones((5, 8))).shape
((-1, 3), ember.Size([5, 3]))
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from .. import lax
from .. import numpy as jnp
from .. import random
from ..scipy import special as _special
from ._initializers import glorot_normal, normal, ones, zeros

__all__ = [
    "Dense", "GeneralConv", "Conv", "GeneralConvTranspose", "ConvTranspose", "Conv1DTranspose",
    "BatchNorm", "elementwise", "Tanh", "Relu", "Exp",
    "LogSoftmax", "Softmax", "Softplus", "Sigmoid", "Elu", "LeakyRelu", "Selu", "Gelu",
    "MaxPool", "SumPool", "AvgPool", "Flatten", "Identity", "FanOut", "FanInSum",
    "FanInConcat", "Dropout", "serial", "parallel", "shape_dependent",
    "relu", "log_softmax", "logsoftmax", "softmax", "sigmoid", "elu", "leaky_relu", "selu",
    "gelu", "softplus", "standardize", "glorot", "glorot_normal", "randn", "normal", "ones",
    "zeros",
]

glorot = glorot_normal
randn = normal


# ---- the activation functions (jax.nn's) ---------------------------------------------------

def relu(x):
    """max(x, 0)."""
    return jnp.maximum(x, 0)


def log_softmax(x, axis=-1):
    """``x - logsumexp(x, axis)``."""
    return _special.log_softmax(x, axis=axis)


logsoftmax = log_softmax


def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x), axis)``."""
    return _special.softmax(x, axis=axis)


def sigmoid(x):
    """1 / (1 + exp(-x))."""
    return _special.expit(x)


def softplus(x):
    """log(1 + exp(x)), computed stably."""
    return jnp.logaddexp(x, 0)


def elu(x, alpha=1.0):
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    pos = x > 0
    return jnp.where(pos, x, alpha * jnp.expm1(jnp.where(pos, 0, x)))


def leaky_relu(x, negative_slope=1e-2):
    """x for x >= 0, negative_slope * x otherwise."""
    return jnp.where(x >= 0, x, negative_slope * x)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(x):
    """The self-normalizing ELU: scale * elu(x, alpha) with Klambauer et al.'s constants."""
    return _SELU_SCALE * elu(x, _SELU_ALPHA)


def gelu(x, approximate=True):
    """The Gaussian error linear unit; ``approximate=True`` (JAX's default) is the tanh form."""
    if approximate:
        c = math.sqrt(2 / math.pi)
        return 0.5 * x * (1 + jnp.tanh(c * (x + 0.044715 * (x * x * x))))
    return 0.5 * x * (1 + _special.erf(x / math.sqrt(2)))


def standardize(x, axis=-1, mean=None, variance=None, epsilon=1e-5):
    """``(x - mean) / sqrt(variance + epsilon)`` with the mean and variance over ``axis``
    (computed when not given)."""
    if mean is None:
        mean = jnp.mean(x, axis, keepdims=True)
    if variance is None:
        variance = jnp.mean(jnp.square(x - mean), axis, keepdims=True)
    return (x - mean) / jnp.sqrt(variance + epsilon)


# ---- layers --------------------------------------------------------------------------------

def Dense(out_dim, W_init=glorot_normal(), b_init=normal()):
    """A fully connected layer: ``inputs @ W + b`` with ``W`` of shape (in, out_dim).

    >>> from ember.example_libraries import stax
    >>> init, apply = stax.Dense(4)
    >>> shape, (W, b) = init(ember.random.key(0), (-1, 3))
    >>> shape, W.shape, b.shape
    ((-1, 4), ember.Size([3, 4]), ember.Size([4]))
    """
    def init_fun(rng, input_shape):
        out_shape = tuple(input_shape[:-1]) + (out_dim,)
        k1, k2 = random.split(rng)
        return out_shape, (W_init(k1, (input_shape[-1], out_dim)), b_init(k2, (out_dim,)))

    def apply_fun(params, inputs, **kwargs):
        W, b = params
        return jnp.dot(inputs, W) + b
    return init_fun, apply_fun


def _conv_out_dim(n, k, s, lo, hi):
    if n is None or n < 0:
        return -1
    return (n + lo + hi - k) // s + 1


def _conv_layer(name, dimension_numbers, out_chan, filter_shape, strides, W_init, b_init,
                out_dims, conv):
    """The (init_fun, apply_fun) pair of a convolution layer: ``out_dims(in_sizes,
    kernel_sizes, strides)`` gives the output's spatial sizes, ``conv(x, W, strides)`` the
    convolution (the bias is added to it)."""
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    strides = tuple(strides) if strides else (1,) * len(filter_shape)
    W_init = W_init or glorot_normal(rhs_spec.index("I"), rhs_spec.index("O"))
    spatial = [c for c in lhs_spec if c not in "NC"]

    def init_fun(rng, input_shape):
        if len(input_shape) != len(lhs_spec):
            raise ValueError(f"{name}: input shape {tuple(input_shape)} does not match "
                             f"the layout {lhs_spec!r}")
        it = iter(filter_shape)
        kernel_shape = tuple(out_chan if c == "O" else input_shape[lhs_spec.index("C")]
                             if c == "I" else next(it) for c in rhs_spec)
        ksp = [kernel_shape[rhs_spec.index(c)] for c in spatial]
        insp = [input_shape[lhs_spec.index(c)] for c in spatial]
        dims = {"N": input_shape[lhs_spec.index("N")], "C": out_chan}
        dims.update(zip(spatial, out_dims(insp, ksp, strides)))
        out_shape = tuple(dims[c] for c in out_spec)
        bias_shape = tuple(out_chan if c == "C" else 1 for c in out_spec)
        k1, k2 = random.split(rng)
        return out_shape, (W_init(k1, kernel_shape), b_init(k2, bias_shape))

    def apply_fun(params, inputs, **kwargs):
        W, b = params
        return conv(inputs, W, strides) + b
    return init_fun, apply_fun


def GeneralConv(dimension_numbers, out_chan, filter_shape, strides=None, padding="VALID",
                W_init=None, b_init=normal(1e-6)):
    """A convolution with layouts ``dimension_numbers = (lhs, rhs, out)`` (e.g.
    ``('NHWC', 'HWIO', 'NHWC')``), ``out_chan`` output channels, a ``filter_shape`` window,
    ``strides`` and ``padding`` ('VALID', 'SAME' or ``(low, high)`` pairs).

    >>> from ember.example_libraries import stax
    >>> init, apply = stax.GeneralConv(("NCHW", "OIHW", "NCHW"), 8, (3, 3), padding="SAME")
    >>> shape, (W, b) = init(ember.random.key(0), (2, 3, 10, 10))
    >>> shape, W.shape, b.shape
    ((2, 8, 10, 10), ember.Size([8, 3, 3, 3]), ember.Size([1, 8, 1, 1]))
    """
    one = (1,) * len(filter_shape)

    def out_dims(insp, ksp, strides):
        pads = lax.padtype_to_pads(insp, ksp, strides, padding)
        return [_conv_out_dim(n, k, s, lo, hi) for n, k, s, (lo, hi) in
                zip(insp, ksp, strides, pads)]

    return _conv_layer("GeneralConv", dimension_numbers, out_chan, filter_shape, strides,
                       W_init, b_init, out_dims,
                       lambda x, W, st: lax.conv_general_dilated(
                           x, W, st, padding, one, one, dimension_numbers=dimension_numbers))


def Conv(out_chan, filter_shape, strides=None, padding="VALID", W_init=None,
         b_init=normal(1e-6)):
    """A 2-D convolution over NHWC images with an HWIO kernel (``GeneralConv`` with
    ``('NHWC', 'HWIO', 'NHWC')``).

    >>> from ember.example_libraries import stax
    >>> init, apply = stax.Conv(16, (8, 8), strides=(2, 2), padding="SAME")
    >>> init(ember.random.key(0), (-1, 28, 28, 1))[0]
    (-1, 14, 14, 16)
    """
    return GeneralConv(("NHWC", "HWIO", "NHWC"), out_chan, filter_shape, strides, padding,
                       W_init, b_init)


def GeneralConvTranspose(dimension_numbers, out_chan, filter_shape, strides=None,
                         padding="VALID", W_init=None, b_init=normal(1e-6)):
    """A transposed convolution (``lax.conv_transpose``) with layouts ``dimension_numbers``:
    each spatial dim of size ``n`` becomes ``n * stride`` ('SAME') or ``n * stride +
    max(k - stride, 0)`` ('VALID').

    >>> from ember.example_libraries import stax
    >>> init, apply = stax.ConvTranspose(4, (3, 3), strides=(2, 2), padding="SAME")
    >>> shape, (W, b) = init(ember.random.key(0), (1, 7, 7, 8))
    >>> shape, W.shape, apply((W, b), ember.ones(1, 7, 7, 8)).shape
    ((1, 14, 14, 4), ember.Size([3, 3, 8, 4]), ember.Size([1, 14, 14, 4]))
    """
    def out_dims(insp, ksp, strides):
        out = []
        for i, (n, k, st) in enumerate(zip(insp, ksp, strides)):
            lo, hi = lax._transpose_pads(k, st, padding.upper()) \
                if isinstance(padding, str) else padding[i]
            out.append(-1 if n is None or n < 0 else (n - 1) * st + 1 + lo + hi - k + 1)
        return out

    return _conv_layer("GeneralConvTranspose", dimension_numbers, out_chan, filter_shape,
                       strides, W_init, b_init, out_dims,
                       lambda x, W, st: lax.conv_transpose(
                           x, W, st, padding, dimension_numbers=dimension_numbers))


def ConvTranspose(out_chan, filter_shape, strides=None, padding="VALID", W_init=None,
                  b_init=normal(1e-6)):
    """A 2-D transposed convolution over NHWC images with an HWIO kernel
    (``GeneralConvTranspose`` with ``('NHWC', 'HWIO', 'NHWC')``).

    >>> from ember.example_libraries import stax
    >>> stax.ConvTranspose(3, (2, 2), strides=(2, 2))[0](ember.random.key(0), (-1, 5, 5, 8))[0]
    (-1, 10, 10, 3)
    """
    return GeneralConvTranspose(("NHWC", "HWIO", "NHWC"), out_chan, filter_shape, strides,
                                padding, W_init, b_init)


def Conv1DTranspose(out_chan, filter_shape, strides=None, padding="VALID", W_init=None,
                    b_init=normal(1e-6)):
    """A 1-D transposed convolution over NHC sequences with an HIO kernel.

    >>> from ember.example_libraries import stax
    >>> stax.Conv1DTranspose(3, (4,), strides=(2,))[0](ember.random.key(0), (2, 5, 8))[0]
    (2, 12, 3)
    """
    return GeneralConvTranspose(("NHC", "HIO", "NHC"), out_chan, filter_shape, strides,
                                padding, W_init, b_init)


def BatchNorm(axis=(0, 1, 2), epsilon=1e-5, center=True, scale=True, beta_init=zeros,
              gamma_init=ones):
    """Normalization over ``axis`` with the statistics of the batch itself (stax keeps no
    running averages), then ``gamma * z + beta`` over the other dims.

    >>> from ember.example_libraries import stax
    >>> init, apply = stax.BatchNorm()
    >>> shape, (beta, gamma) = init(ember.random.key(0), (4, 5, 5, 3))
    >>> beta.shape, float(apply((beta, gamma), ember.numpy.ones((4, 5, 5, 3))).sum())
    (ember.Size([3]), 0.0)
    """
    axes = (axis,) if isinstance(axis, int) else tuple(axis)

    def init_fun(rng, input_shape):
        nd = len(input_shape)
        ax = {a % nd for a in axes}
        shape = tuple(d for i, d in enumerate(input_shape) if i not in ax)
        k1, k2 = random.split(rng)
        beta = beta_init(k1, shape) if center else ()
        gamma = gamma_init(k2, shape) if scale else ()
        return input_shape, (beta, gamma)

    def apply_fun(params, x, **kwargs):
        beta, gamma = params
        ax = tuple(sorted({a % x.ndim for a in axes}))
        keep = tuple(None if i in ax else slice(None) for i in range(x.ndim))
        z = standardize(x, ax, epsilon=epsilon)
        if scale:
            z = z * gamma[keep]
        if center:
            z = z + beta[keep]
        return z
    return init_fun, apply_fun


def elementwise(fun, **fun_kwargs):
    """A parameterless layer applying ``fun(inputs, **fun_kwargs)``.

    >>> from ember.example_libraries import stax
    >>> init, apply = stax.elementwise(ember.numpy.tanh)
    >>> init(ember.random.key(0), (3,))
    ((3,), ())
    """
    def init_fun(rng, input_shape):
        return input_shape, ()

    def apply_fun(params, inputs, **kwargs):
        return fun(inputs, **fun_kwargs)
    return init_fun, apply_fun


Tanh = elementwise(jnp.tanh)
Relu = elementwise(relu)
Exp = elementwise(jnp.exp)
LogSoftmax = elementwise(log_softmax, axis=-1)
Softmax = elementwise(softmax, axis=-1)
Softplus = elementwise(softplus)
Sigmoid = elementwise(sigmoid)
Elu = elementwise(elu)
LeakyRelu = elementwise(leaky_relu)
Selu = elementwise(selu)
Gelu = elementwise(gelu)


# ---- pooling -------------------------------------------------------------------------------

def _full_window(window_shape, strides, spec, ndim, op):
    """Per dim of an ``ndim``-dim input: the window and stride (1 on the N and C dims)."""
    if spec is None:
        non_spatial = (0, ndim - 1)
    else:
        if len(spec) != ndim:
            raise ValueError(f"{op}: spec {spec!r} does not match an input of {ndim} dims")
        non_spatial = (spec.index("N"), spec.index("C"))
    if len(window_shape) != ndim - 2:
        raise ValueError(f"{op}: window {tuple(window_shape)} needs one entry per spatial dim "
                         f"of an input of {ndim} dims ({ndim - 2})")
    win, st = list(window_shape), list(strides)
    for i in sorted(non_spatial):
        win.insert(i, 1)
        st.insert(i, 1)
    return tuple(win), tuple(st)


def _window_reduce(x, win, st, pads, take_max):
    """Max or sum of ``x`` over windows ``win`` moved by ``st`` after padding by ``pads``
    (-inf for max, 0 for sum): one strided slice per offset inside the window, combined."""
    if any(lo or hi for lo, hi in pads):
        fill = -np.inf if take_max else 0.0
        x = jnp.pad(x, pads, constant_values=fill)
    outs = [(n - k) // s + 1 for n, k, s in zip(x.shape, win, st)]
    acc = None
    for off in itertools.product(*[range(k) for k in win]):
        piece = x[tuple(slice(o, o + (m - 1) * s + 1, s) for o, m, s in zip(off, outs, st))]
        acc = piece if acc is None else (jnp.maximum(acc, piece) if take_max else acc + piece)
    return acc


def _pooling_layer(name, take_max, average):
    def layer(window_shape, strides=None, padding="VALID", spec=None):
        window_shape = tuple(window_shape)
        strides = tuple(strides) if strides else (1,) * len(window_shape)

        def init_fun(rng, input_shape):
            win, st = _full_window(window_shape, strides, spec, len(input_shape), name)
            pads = lax.padtype_to_pads(input_shape, win, st, padding)
            out = tuple(_conv_out_dim(n, k, s, lo, hi)
                        for n, k, s, (lo, hi) in zip(input_shape, win, st, pads))
            return out, ()

        def apply_fun(params, inputs, **kwargs):
            win, st = _full_window(window_shape, strides, spec, inputs.ndim, name)
            pads = lax.padtype_to_pads(tuple(inputs.shape), win, st, padding)
            out = _window_reduce(inputs, win, st, pads, take_max)
            if average:  # divide by the number of real (not padding) values in each window
                ones_ = np.ones(tuple(inputs.shape[i] if w > 1 or s > 1 else 1
                                      for i, (w, s) in enumerate(zip(win, st))))
                ones_ = np.pad(ones_, [p if w > 1 or s > 1 else (0, 0)
                                       for p, w, s in zip(pads, win, st)])
                outs = [(n - k) // s + 1 for n, k, s in zip(ones_.shape, win, st)]
                count = sum(ones_[tuple(slice(o, o + (m - 1) * s + 1, s)
                                        for o, m, s in zip(off, outs, st))]
                            for off in itertools.product(*[range(k) for k in win]))
                out = out / jnp.asarray(count, out.dtype)
            return out
        return init_fun, apply_fun
    layer.__name__ = layer.__qualname__ = name
    return layer


MaxPool = _pooling_layer("MaxPool", True, False)
MaxPool.__doc__ = """The maximum over each window (``window_shape`` over the spatial dims,
``strides``, ``padding``; ``spec`` such as 'NCHW' names the dims, default N first, C last).

>>> from ember.example_libraries import stax
>>> init, apply = stax.MaxPool((2, 2), (2, 2))
>>> apply((), ember.numpy.arange(16.).reshape(1, 4, 4, 1))[0, :, :, 0]
tensor([[ 5.,  7.],
        [13., 15.]])
"""
SumPool = _pooling_layer("SumPool", False, False)
SumPool.__doc__ = """The sum over each window (arguments as ``MaxPool``).

>>> from ember.example_libraries import stax
>>> init, apply = stax.SumPool((2, 2), (2, 2))
>>> init(ember.random.key(0), (-1, 4, 4, 3))[0]
(-1, 2, 2, 3)
"""
AvgPool = _pooling_layer("AvgPool", False, True)
AvgPool.__doc__ = """The mean over each window (arguments as ``MaxPool``; with 'SAME'
padding a window at the border is divided by its count of real values).

>>> from ember.example_libraries import stax
>>> init, apply = stax.AvgPool((2, 2), padding="SAME")
>>> apply((), ember.numpy.ones((1, 3, 3, 1)))[0, :, :, 0]
tensor([[1., 1., 1.],
        [1., 1., 1.],
        [1., 1., 1.]])
"""


# ---- shape layers and combinators ----------------------------------------------------------

def _flatten_init(rng, input_shape):
    return (input_shape[0], math.prod(input_shape[1:])), ()


def _flatten_apply(params, inputs, **kwargs):
    return jnp.reshape(inputs, (inputs.shape[0], -1))


Flatten = (_flatten_init, _flatten_apply)
"""Every dim but the first flattened into one."""

Identity = (lambda rng, input_shape: (input_shape, ()),
            lambda params, inputs, **kwargs: inputs)
"""The input unchanged."""


def FanOut(num):
    """``num`` copies of the input, as a list (for ``parallel``).

    >>> from ember.example_libraries import stax
    >>> stax.FanOut(2)[0](ember.random.key(0), (3,))
    ([(3,), (3,)], ())
    """
    def init_fun(rng, input_shape):
        return [input_shape] * num, ()

    def apply_fun(params, inputs, **kwargs):
        return [inputs] * num
    return init_fun, apply_fun


def _fan_in_sum_init(rng, input_shape):
    return input_shape[0], ()


def _fan_in_sum_apply(params, inputs, **kwargs):
    out = inputs[0]
    for x in inputs[1:]:
        out = out + x
    return out


FanInSum = (_fan_in_sum_init, _fan_in_sum_apply)
"""The sum of a list of inputs of one shape."""


def FanInConcat(axis=-1):
    """A list of inputs concatenated along ``axis``.

    >>> from ember.example_libraries import stax
    >>> stax.FanInConcat()[0](ember.random.key(0), [(2, 3), (2, 5)])
    ((2, 8), ())
    """
    def init_fun(rng, input_shape):
        ax = axis % len(input_shape[0])
        size = sum(s[ax] for s in input_shape)
        first = tuple(input_shape[0])
        return first[:ax] + (size,) + first[ax + 1:], ()

    def apply_fun(params, inputs, **kwargs):
        return jnp.concatenate(inputs, axis)
    return init_fun, apply_fun


def Dropout(rate, mode="train"):
    """Random dropout in ``mode='train'`` (the identity otherwise): each value is KEPT with
    probability ``rate`` and scaled by ``1 / rate`` (stax's convention). ``apply_fun`` needs
    ``rng=``.

    >>> from ember.example_libraries import stax
    >>> init, apply = stax.Dropout(0.5)
    >>> y = apply((), ember.numpy.ones(1000), rng=ember.random.key(0))
    >>> sorted(set(y.tolist()))
    [0.0, 2.0]
    """
    def init_fun(rng, input_shape):
        return input_shape, ()

    def apply_fun(params, inputs, **kwargs):
        if mode != "train":
            return inputs
        rng = kwargs.get("rng")
        if rng is None:
            raise ValueError("Dropout: apply_fun needs a PRNG key in mode='train': call "
                             "apply_fun(params, inputs, rng=key), or build the layer with "
                             "Dropout(rate, mode='test') for evaluation")
        keep = random.bernoulli(rng, rate, tuple(inputs.shape))
        return jnp.where(keep, inputs / rate, 0)
    return init_fun, apply_fun


def serial(*layers):
    """The layers applied one after the other; ``params`` is the list of theirs. An ``rng``
    given to ``apply_fun`` is split into one key per layer.

    >>> from ember.example_libraries import stax
    >>> init, apply = stax.serial(stax.Dense(4), stax.Tanh, stax.Dense(2))
    >>> shape, params = init(ember.random.key(1), (-1, 3))
    >>> shape, len(params), params[1]
    ((-1, 2), 3, ())
    """
    n = len(layers)
    init_funs, apply_funs = zip(*layers) if layers else ((), ())

    def init_fun(rng, input_shape):
        params = []
        for init in init_funs:
            rng, layer_rng = random.split(rng)
            input_shape, p = init(layer_rng, input_shape)
            params.append(p)
        return input_shape, params

    def apply_fun(params, inputs, **kwargs):
        rng = kwargs.pop("rng", None)
        rngs = random.split(rng, n) if rng is not None else (None,) * n
        for fun, p, r in zip(apply_funs, params, rngs):
            inputs = fun(p, inputs, rng=r, **kwargs)
        return inputs
    return init_fun, apply_fun


def parallel(*layers):
    """One layer per member of a list of inputs (e.g. after ``FanOut``); returns the list of
    outputs. ``params`` is the tuple of the layers' params.

    >>> from ember.example_libraries import stax
    >>> init, apply = stax.parallel(stax.Dense(2), stax.Dense(3))
    >>> init(ember.random.key(0), [(-1, 4), (-1, 4)])[0]
    ((-1, 2), (-1, 3))
    """
    n = len(layers)
    init_funs, apply_funs = zip(*layers) if layers else ((), ())

    def init_fun(rng, input_shape):
        rngs = random.split(rng, n)
        pairs = [init(r, s) for init, r, s in zip(init_funs, rngs, input_shape)]
        return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)

    def apply_fun(params, inputs, **kwargs):
        rng = kwargs.pop("rng", None)
        rngs = random.split(rng, n) if rng is not None else (None,) * n
        return [f(p, x, rng=r, **kwargs) for f, p, x, r in zip(apply_funs, params, inputs, rngs)]
    return init_fun, apply_fun


def shape_dependent(make_layer):
    """A layer chosen by the input's shape: ``make_layer(shape)`` returns ``(init, apply)``,
    called again at apply time with the actual shape.

    >>> from ember.example_libraries import stax
    >>> init, apply = stax.shape_dependent(lambda shape: stax.Dense(shape[-1]))
    >>> init(ember.random.key(0), (-1, 5))[0]
    (-1, 5)
    """
    def init_fun(rng, input_shape):
        return make_layer(input_shape)[0](rng, input_shape)

    def apply_fun(params, inputs, **kwargs):
        return make_layer(tuple(inputs.shape))[1](params, inputs, **kwargs)
    return init_fun, apply_fun
