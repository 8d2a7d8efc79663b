"""``ember.nn.functional``: layers and losses as functions (PyTorch's names)."""
from __future__ import annotations

import numpy as np

from ..ops.elementwise import gelu, silu, softplus, sigmoid, tanh  # noqa: F401
from ..ops.elementwise import relu as _relu
from ..ops import nn_ops as _nn_ops
from ..ops import norm as _norm
from ..core import dtypes as _dtypes
from ..ops.nn_ops import one_hot, embedding  # noqa: F401
from ..random.generator import dropout  # noqa: F401
from ..ops.nn_ops import nll_loss_rows
from ..ops.linalg import linear_eager as _linear_eager
from ..ops.conv import (  # noqa: F401
    conv1d, conv2d, conv_transpose1d, conv_transpose2d, max_pool1d, max_pool2d, avg_pool1d,
    avg_pool2d, adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_max_pool1d,
    adaptive_max_pool2d)
from ..ops.slicing import pad  # noqa: F401
from ..ops.elementwise import where
from ..ops.indexing import gather
from ..ops._util import check_same_dtype, layer_input_fix
from ..core.primitive import Tracer
from ..core.state import autocast_threads as _ac
from ..ops import autocast_policy as _autocast
from ..core.exceptions import OpError
from ._reduction import legacy_reduction as _legacy
from ._inplace import into as _into

def relu(input, inplace=False):
    """``max(input, 0)``; ``inplace=True`` writes it into ``input`` and returns ``input``, as
    PyTorch's.

    >>> ember.nn.functional.relu(ember.tensor([-1., 2.]))
    tensor([0., 2.])
    """
    return _into(input, _relu, inplace)


# the public names (the imports above that are helpers stay out of it)
__all__ = [
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "avg_pool1d", "avg_pool2d", "batch_norm", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "conv1d", "conv2d", "conv_transpose1d",
    "conv_transpose2d", "cross_entropy", "distillation_loss", "dropout", "elu", "embedding",
    "gelu", "group_norm",
    "hardtanh", "huber_loss", "interpolate", "kl_div", "l1_loss", "layer_norm", "leaky_relu",
    "linear", "log_softmax", "logsigmoid", "max_pool1d", "max_pool2d", "mse_loss", "nll_loss",
    "normalize", "one_hot", "pad", "relu", "relu6", "scaled_dot_product_attention", "sigmoid",
    "silu", "smooth_l1_loss", "softmax", "softplus", "tanh"]


def _implicit_softmax_dim(name, ndim, stacklevel):
    """PyTorch's choice when ``dim`` is left out (deprecated there too, with this warning)."""
    import warnings
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  f"to include dim=X as an argument.", UserWarning, stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """``ember.softmax`` with ``torch.nn.functional.softmax``'s signature: ``dim`` may be left
    out (PyTorch's deprecated implicit choice: dim 0 for 0-, 1- and 3-d inputs, else 1).

    >>> ember.nn.functional.softmax(ember.tensor([[0., 0.], [0., 1.]]), dim=1)
    tensor([[0.5000, 0.5000],
            [0.2689, 0.7311]])
    """
    if dim is None:
        dim = _implicit_softmax_dim("softmax", input.ndim, _stacklevel)
    return _nn_ops.softmax(input, dim, dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """``ember.log_softmax`` with ``torch.nn.functional.log_softmax``'s signature (``dim`` may
    be left out, as in :func:`softmax`).

    >>> ember.nn.functional.log_softmax(ember.tensor([0., 0.]), dim=0)
    tensor([-0.6931, -0.6931])
    """
    if dim is None:
        dim = _implicit_softmax_dim("log_softmax", input.ndim, _stacklevel)
    return _nn_ops.log_softmax(input, dim, dtype)


def _dtype_of(t):
    """A concrete tensor's NumPy dtype (cheap), a tracer's ember dtype: equal values mean
    equal dtypes; unequal ones are compared again by ``check_same_dtype``."""
    return t.dtype if isinstance(t, Tracer) else t._data.dtype


def linear(input, weight, bias=None):
    """``input @ weight.T + bias``: the affine map of ``nn.Linear`` with a weight of shape
    ``(out_features, in_features)``. The input must have the layer's dtype (no promotion, as
    PyTorch).

    >>> w = ember.tensor([[1., 0.], [1., 1.]])
    >>> ember.nn.functional.linear(ember.tensor([[2., 3.]]), w, ember.tensor([0., 10.]))
    tensor([[ 2., 15.]])
    """
    if _ac[0]:  # ember.autocast: on the lower-precision list
        input, weight, bias = _autocast.lower(input, weight, bias)
    if _dtype_of(input) != _dtype_of(weight):
        check_same_dtype("linear", input, weight, ("input", "weight"),
                         fix=layer_input_fix(input, weight))
    if bias is not None and _dtype_of(bias) != _dtype_of(weight):
        check_same_dtype("linear", bias, weight, ("bias", "weight"))
    out = _linear_eager(input, weight, bias)
    if out is not None:
        return out
    out = input @ weight.mT
    return out + bias if bias is not None else out


def _check_reduction(reduction, op):
    if reduction not in ("mean", "sum", "none"):
        raise OpError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(x, reduction, op):
    _check_reduction(reduction, op)
    return x.mean() if reduction == "mean" else x.sum() if reduction == "sum" else x


def _weighted_mean(loss, w, reduction, op):
    if reduction == "mean":
        return loss.sum() / w.sum()
    return _reduce(loss, reduction, op)


def _class_dim_last(x):
    """(N, C, d1, ...) -> (N * d1 * ..., C)."""
    if x.ndim <= 2:
        return x
    return x.movedim(1, -1).reshape(-1, x.shape[1])


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean", *, size_average=None,
             reduce=None):
    """Negative log-likelihood of class indices under log-probabilities: input (N, C) or
    (N, C, d1, ...), target (N,) or (N, d1, ...) (or (C,) with ()), as ``F.nll_loss``.

    >>> logp = ember.tensor([[-0.1, -2.3], [-1.2, -0.4]])
    >>> ember.nn.functional.nll_loss(logp, ember.tensor([0, 1]))
    tensor(0.2500)
    >>> ember.nn.functional.nll_loss(logp, ember.tensor([0, -100]))   # -100 is ignored
    tensor(0.1000)
    """
    reduction = _legacy(size_average, reduce, reduction, "nll_loss")
    if _ac[0]:  # ember.autocast: on the float32 list
        input, weight = _autocast.float32(input, weight)
    if input.ndim < 1 or not target.dtype.is_integer:
        raise TypeError(f"nll_loss: target must hold integer class indices, got {target.dtype}")
    out_shape = None
    if input.ndim == 1:  # one sample: (C,) with a 0-d target gives a 0-d 'none' loss
        if target.ndim:
            raise OpError(f"nll_loss: a 1-D input (C,) takes a 0-d target, got shape "
                          f"{tuple(target.shape)}")
        input, target, out_shape = input.unsqueeze(0), target.reshape(1), ()
    if input.ndim == 2 and (target.ndim != 1 or target.shape[0] != input.shape[0]) or \
            input.ndim > 2 and tuple(target.shape) != (input.shape[0],) + tuple(input.shape[2:]):
        raise OpError(f"nll_loss: input {tuple(input.shape)} and target "
                         f"{tuple(target.shape)} don't match (expected target (N,) for input "
                         f"(N, C), or (N, d1, ...) for (N, C, d1, ...))")
    _check_reduction(reduction, "nll_loss")
    if weight is not None and (weight.ndim != 1 or weight.shape[0] != input.shape[1]):
        raise OpError(f"nll_loss: weight must hold one value per class, shape "
                         f"({input.shape[1]},), got {tuple(weight.shape)}")
    if weight is not None and weight.dtype != input.dtype:
        weight = weight.to(input.dtype)
    loss = nll_loss_rows(_class_dim_last(input), target.reshape(-1), weight, ignore_index,
                         reduction)
    if reduction != "none":
        return loss
    return loss.reshape(tuple(target.shape) if out_shape is None else out_shape)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0, *, size_average=None,
                  reduce=None):
    """Cross entropy of logits (N, C[, d1, ...]) against class indices or class
    probabilities (same shape as input), with ``weight``, ``ignore_index`` and
    ``label_smoothing``, computed stably (log-softmax), as ``F.cross_entropy``.

    >>> import ember.nn.functional as F
    >>> logits = ember.tensor([[2., 0.], [0., 2.]])
    >>> F.cross_entropy(logits, ember.tensor([0, 1]))
    tensor(0.1269)
    >>> F.cross_entropy(logits, ember.tensor([[1., 0.], [0., 1.]]))  # class probabilities
    tensor(0.1269)
    """
    reduction = _legacy(size_average, reduce, reduction, "cross_entropy")
    if _ac[0]:  # ember.autocast: on the float32 list
        input, target, weight = _autocast.float32(input, target, weight)
    cdim = 1 if input.ndim > 1 else 0
    logp = log_softmax(input, cdim)
    c = input.shape[cdim]
    if target.dtype.is_floating_point:  # probabilities
        if tuple(target.shape) != tuple(input.shape):
            raise OpError(f"cross_entropy: probability targets must have the input's shape "
                             f"{tuple(input.shape)}, got {tuple(target.shape)}")
        if label_smoothing:
            target = target * (1 - label_smoothing) + label_smoothing / c
        wl = logp if weight is None else logp * weight.reshape((c,) + (1,) * (input.ndim - 2))
        loss = -(wl * target).sum(cdim)
        if reduction == "mean":
            return loss.sum() / (loss.numel() if loss.ndim else 1)
        return _reduce(loss, reduction, "cross_entropy")
    _check_reduction(reduction, "cross_entropy")
    if not label_smoothing:  # the class weights' mean of the picked -log-probabilities
        return nll_loss(logp, target, weight, ignore_index, reduction)
    nll = nll_loss(logp, target, weight, ignore_index, "none")
    # smoothing: (1 - eps) * nll + eps * mean over classes of -logp (weighted)
    lp = _class_dim_last(logp if logp.ndim > 1 else logp.unsqueeze(0))
    t = target.reshape(-1)
    valid = (t != ignore_index).to(input.dtype)
    wc = weight if weight is not None else None
    smooth = -(lp * wc).sum(1) if wc is not None else -lp.sum(1)
    smooth = smooth * valid / c
    loss = (1 - label_smoothing) * nll.reshape(-1) + label_smoothing * smooth
    if reduction == "none":
        return loss.reshape(tuple(target.shape))
    if reduction == "sum":
        return loss.sum()
    w = valid if weight is None else valid * weight[where(t != ignore_index, t, 0)]
    total = w.sum()
    # every row ignored: NaN with a zero gradient, as PyTorch (not 0/0's NaN gradient)
    empty = (total == 0).detach()
    return loss.sum() / where(empty, 1.0, total) + where(empty, float("nan"), 0.0)


def mse_loss(input, target, reduction="mean", *, size_average=None,
             reduce=None):
    """Mean squared error between ``input`` and ``target`` (same shape).

    >>> ember.nn.functional.mse_loss(ember.tensor([1., 2.]), ember.tensor([1., 4.]))
    tensor(2.)
    """
    reduction = _legacy(size_average, reduce, reduction, "mse_loss")
    if _ac[0]:  # ember.autocast: on the float32 list
        input, target = _autocast.float32(input, target)
    _same_shape(input, target, "mse_loss")
    d = input - target
    return _reduce(d * d, reduction, "mse_loss")


def _same_shape(input, target, op):
    if tuple(input.shape) != tuple(target.shape):
        raise OpError(f"{op}: input shape {tuple(input.shape)} and target shape "
                         f"{tuple(target.shape)} differ; they must match")


def l1_loss(input, target, reduction="mean", *, size_average=None,
            reduce=None):
    """Mean absolute error between ``input`` and ``target`` (same shape).

    >>> ember.nn.functional.l1_loss(ember.tensor([1., 2.]), ember.tensor([0., 4.]))
    tensor(1.5000)
    """
    reduction = _legacy(size_average, reduce, reduction, "l1_loss")
    if _ac[0]:  # ember.autocast: on the float32 list
        input, target = _autocast.float32(input, target)
    _same_shape(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction, "l1_loss")


def smooth_l1_loss(input, target, reduction="mean", beta=1.0, *, size_average=None,
                   reduce=None):
    """Squared error (over ``2 * beta``) below ``beta``, absolute error minus ``beta / 2``
    above it.

    >>> import ember.nn.functional as F
    >>> F.smooth_l1_loss(ember.tensor([0.5, 3.]), ember.zeros(2), reduction="none")
    tensor([0.1250, 2.5000])
    """
    reduction = _legacy(size_average, reduce, reduction, "smooth_l1_loss")
    if _ac[0]:  # ember.autocast: on the float32 list
        input, target = _autocast.float32(input, target)
    _same_shape(input, target, "smooth_l1_loss")
    d = (input - target).abs()
    if beta == 0:
        return _reduce(d, reduction, "smooth_l1_loss")
    return _reduce(where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta), reduction,
                   "smooth_l1_loss")


def huber_loss(input, target, reduction="mean", delta=1.0):
    """Half the squared error below ``delta``, ``delta * (|d| - delta / 2)`` above it.

    >>> import ember.nn.functional as F
    >>> F.huber_loss(ember.tensor([1., 4.]), ember.zeros(2), reduction="none", delta=2.0)
    tensor([0.5000, 6.0000])
    """
    if _ac[0]:  # ember.autocast: on the float32 list
        input, target = _autocast.float32(input, target)
    _same_shape(input, target, "huber_loss")
    d = (input - target).abs()
    return _reduce(where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta)), reduction,
                   "huber_loss")


def binary_cross_entropy(input, target, weight=None, reduction="mean", *, size_average=None,
                         reduce=None):
    """BCE on probabilities; logs are clamped at -100 as PyTorch does.

    >>> ember.nn.functional.binary_cross_entropy(ember.tensor([0.5, 0.9]), ember.tensor([1., 1.]))
    tensor(0.3993)
    """
    reduction = _legacy(size_average, reduce, reduction, "binary_cross_entropy")
    if _ac[0]:  # ember.autocast: on the float32 list
        input, target, weight = _autocast.float32(input, target, weight)
    _same_shape(input, target, "binary_cross_entropy")
    loss = -(target * input.log().clamp(min=-100) + (1 - target) * (1 - input).log()
             .clamp(min=-100))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None, *, size_average=None,
                                     reduce=None):
    """BCE on logits, stable for large |logits|: (1 - t) x + (1 + (pw - 1) t) softplus(-x).

    >>> import ember.nn.functional as F
    >>> F.binary_cross_entropy_with_logits(ember.tensor([0., 100.]), ember.tensor([1., 1.]))
    tensor(0.3466)
    """
    reduction = _legacy(size_average, reduce, reduction, "binary_cross_entropy_with_logits")
    if _ac[0]:  # ember.autocast: on the float32 list
        input, target, weight, pos_weight = _autocast.float32(input, target, weight, pos_weight)
    _same_shape(input, target, "binary_cross_entropy_with_logits")
    sp = softplus(-input)
    if pos_weight is not None:
        loss = (1 - target) * input + (1 + (pos_weight - 1) * target) * sp
    else:
        loss = (1 - target) * input + sp
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def kl_div(input, target, reduction="mean", log_target=False, *, size_average=None,
           reduce=None):
    """KL(target || exp(input)) pointwise; ``reduction='batchmean'`` divides by the batch.

    >>> p = ember.tensor([[0.5, 0.5]])
    >>> q = ember.tensor([[0.25, 0.75]])
    >>> ember.nn.functional.kl_div(q.log(), p, reduction="batchmean")
    tensor(0.1438)
    """
    reduction = _legacy(size_average, reduce, reduction, "kl_div")
    if _ac[0]:  # ember.autocast: on the float32 list
        input, target = _autocast.float32(input, target)
    if log_target:
        loss = target.exp() * (target - input)
    else:  # target log(target) - target input: 0 where target is 0, NaN below 0 (as torch)
        from ..torch_ops import xlogy
        loss = xlogy(target, target) - target * input
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    if reduction == "mean":
        import warnings
        warnings.warn("kl_div: reduction='mean' divides the summed loss by the number of "
                      "elements (batch size times support size), which is not the KL "
                      "divergence; reduction='batchmean' divides by the batch size only, as the "
                      "definition does (PyTorch's 'mean' is to change to that)", UserWarning,
                      stacklevel=2)
    return _reduce(loss, reduction, "kl_div")


def distillation_loss(student_logits, teacher_logits, target=None, T=4.0, alpha=0.9,
                      reduction="batchmean"):
    """Knowledge distillation (Hinton et al. 2015): ``alpha * T**2 * KL(softmax(teacher / T) ||
    softmax(student / T))`` (``batchmean``) plus ``(1 - alpha) * cross_entropy(student,
    target)``. The teacher's logits are detached; ``T**2`` keeps the soft term's gradient
    scale independent of ``T``. Without ``target``, the soft term alone (``alpha`` ignored).

    >>> s = ember.tensor([[2.0, 0.5, -1.0]])
    >>> ember.nn.functional.distillation_loss(s, s.clone(), ember.tensor([0]), T=2.0, alpha=0.5)
    tensor(0.1207)
    """
    if T <= 0:
        raise OpError(f"distillation_loss: temperature T must be > 0, got {T}")
    if not 0.0 <= alpha <= 1.0:
        raise OpError(f"distillation_loss: alpha must be in [0, 1], got {alpha}")
    if tuple(student_logits.shape) != tuple(teacher_logits.shape):
        raise OpError(f"distillation_loss: student logits {tuple(student_logits.shape)} and "
                         f"teacher logits {tuple(teacher_logits.shape)} must have one shape")
    soft = kl_div(log_softmax(student_logits / T, dim=-1),
                  log_softmax(teacher_logits.detach() / T, dim=-1), reduction=reduction,
                  log_target=True) * (T * T)
    if target is None:
        return soft
    return alpha * soft + (1.0 - alpha) * cross_entropy(student_logits, target)


# ---- activations -----------------------------------------------------------------------

def leaky_relu(input, negative_slope=0.01, inplace=False):
    """``input`` where positive, ``negative_slope * input`` elsewhere.

    >>> ember.nn.functional.leaky_relu(ember.tensor([-2., 3.]), 0.1)
    tensor([-0.2000, 3.0000])
    """
    return _into(input, lambda input: where(input > 0, input, input * negative_slope),
                 inplace)


def elu(input, alpha=1.0, inplace=False):
    """``input`` where positive, ``alpha * (exp(input) - 1)`` elsewhere.

    >>> ember.nn.functional.elu(ember.tensor([-1., 2.]))
    tensor([-0.6321, 2.0000])
    """
    return _into(input, lambda input: where(input > 0, input, alpha * input.expm1()), inplace)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """``input`` clamped to ``[min_val, max_val]``.

    >>> ember.nn.functional.hardtanh(ember.tensor([-3., 0.5, 2.]))
    tensor([-1.0000, 0.5000, 1.0000])
    """
    return _into(input, lambda input: input.clamp(min_val, max_val), inplace)


def relu6(input, inplace=False):
    """``input`` clamped to ``[0, 6]``.

    >>> ember.nn.functional.relu6(ember.tensor([-1., 3., 8.]))
    tensor([0., 3., 6.])
    """
    return _into(input, lambda input: input.clamp(0.0, 6.0), inplace)


def logsigmoid(input):
    """``log(sigmoid(input))``, computed without overflow for large negative inputs.

    >>> ember.nn.functional.logsigmoid(ember.tensor([0., -200.]))
    tensor([  -0.6931, -200.0000])
    """
    return -softplus(-input)


# ---- normalisation -------------------------------------------------------------------------

def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalise over (N, spatial...) per channel (dim 1). In training the batch statistics
    are used and the running ones updated in place (unbiased variance), as PyTorch.

    >>> x = ember.tensor([[1.], [3.]])
    >>> mean, var = ember.zeros(1), ember.ones(1)
    >>> ember.nn.functional.batch_norm(x, mean, var, training=True, eps=0.0)
    tensor([[-1.],
            [ 1.]])
    >>> mean, var          # running statistics moved by momentum 0.1 (unbiased variance)
    (tensor([0.2000]), tensor([1.1000]))
    """
    if input.ndim < 2 and input.numel() == 0:  # nothing to normalise (as PyTorch)
        return input + 0
    if input.ndim < 2:
        raise OpError(f"batch_norm: expected input with >= 2 dims (N, C, ...), got shape "
                         f"{tuple(input.shape)}")
    wide = _wider_params(input, running_mean, weight, bias)
    if wide is not None:  # a float16/bfloat16 input with float32 statistics (autocast):
        # normalise in float32 and return the input's dtype, as PyTorch
        return batch_norm(input.to(wide), running_mean, running_var, weight, bias, training,
                          momentum, eps).to(input.dtype)
    c = input.shape[1]
    dims = (0,) + tuple(range(2, input.ndim))
    shape = (1, c) + (1,) * (input.ndim - 2)
    if training and input.numel() == 0:  # an empty batch: nothing to normalise, and the
        mean = input.sum(dims)             # running statistics stay (as PyTorch)
        var = mean + 1
    elif training:
        n = input.numel() // c
        if n <= 1:
            raise OpError(f"batch_norm: expected more than 1 value per channel when "
                             f"training, got input of shape {tuple(input.shape)}")
        fused = _fused_norm_args(input, (c,), weight, bias)
        if fused is not None:  # one primitive: 5 passes forward, 7 backward (ops/norm.py)
            out, mean, var = _norm.batch_norm_train(input, *fused, eps)
        else:
            mean = input.mean(dims)
            var = input.var(dims, unbiased=False)
        if running_mean is not None:
            from ..core.autograd import no_grad
            with no_grad():
                m, v = mean.detach(), var.detach() * (n / (n - 1))
                _update_stat(running_mean, (1 - momentum) * running_mean + momentum * m)
                _update_stat(running_var, (1 - momentum) * running_var + momentum * v)
        if fused is not None:
            return out
    else:
        if running_mean is None:
            raise OpError("batch_norm: eval mode needs running_mean and running_var")
        mean, var = running_mean, running_var
    out = (input - mean.reshape(shape)) * (var.reshape(shape) + eps).rsqrt()
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def _fused_norm_args(input, pshape, weight, bias):
    """(weight, bias) of shape ``pshape`` for the fused normalisation kernels (ones/zeros
    where one of them is None; both None: no affine map), or None where the kernels don't
    apply (a dtype other than float32/float64, nothing to normalise, parameters of another
    dtype or shape)."""
    dt = input.dtype
    if dt not in (_dtypes.float32, _dtypes.float64) or input.numel() == 0 or not pshape:
        return None
    if weight is None and bias is None:
        return None, None
    for p in (weight, bias):
        if p is not None and (p.dtype != dt or tuple(p.shape) != pshape):
            return None
    from ..ops.creation_ops import ones, zeros
    return (weight if weight is not None else ones(pshape, dtype=dt),
            bias if bias is not None else zeros(pshape, dtype=dt))


def _wider_params(input, *params):
    """The dtype to normalise a float16/bfloat16 ``input`` in when its parameters or running
    statistics are wider (float32 under autocast), else None."""
    d = input.dtype
    if not (d.is_floating_point and d.itemsize == 2):
        return None
    for p in params:
        if p is not None and p.dtype is not d and p.dtype.is_floating_point:
            return p.dtype
    return None


def _update_stat(buf, new):
    from ..transforms.effects import update_buffer
    update_buffer(buf, new)  # inside jit: written after each call; under vmap/grad: skipped


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalises over the trailing ``normalized_shape`` dims to zero mean and unit variance,
    then scales by ``weight`` and shifts by ``bias``.

    >>> ember.nn.functional.layer_norm(ember.tensor([[1., 3.]]), (2,), eps=0.0)
    tensor([[-1., 1.]])
    """
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(input.shape[input.ndim - len(ns):]) != ns:
        raise OpError(f"layer_norm: normalized_shape {ns} doesn't match the trailing dims "
                         f"of the input {tuple(input.shape)}")
    wide = _wider_params(input, weight, bias)
    if wide is not None:  # float16/bfloat16 input, float32 affine (autocast): as PyTorch,
        # normalise in float32 and return the input's dtype
        return layer_norm(input.to(wide), ns, weight, bias, eps).to(input.dtype)
    fused = _fused_norm_args(input, ns, weight, bias)
    if fused is not None:  # one primitive: 6 passes forward, 11 backward (ops/norm.py)
        return _norm.layer_norm(input, *fused, len(ns), eps)[0]
    dims = tuple(range(input.ndim - len(ns), input.ndim))
    mean = input.mean(dims, keepdim=True)
    var = input.var(dims, unbiased=False, keepdim=True)
    out = (input - mean) * (var + eps).rsqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalises each group of ``C / num_groups`` channels (with the spatial dims) per
    example, then applies the per-channel ``weight`` and ``bias``.

    >>> x = ember.tensor([[[1.], [3.], [5.], [9.]]])             # (N=1, C=4, L=1)
    >>> ember.nn.functional.group_norm(x, 2, eps=0.0).flatten()
    tensor([-1., 1., -1., 1.])
    """
    wide = _wider_params(input, weight, bias)
    if wide is not None:  # float16/bfloat16 input, float32 affine: in float32, as PyTorch
        return group_norm(input.to(wide), num_groups, weight, bias, eps).to(input.dtype)
    n, c = input.shape[0], input.shape[1]
    if c % num_groups:
        raise OpError(f"group_norm: num_groups={num_groups} must divide the {c} channels")
    per = 1
    for k in input.shape[1:]:
        per *= k
    x = input.reshape(n, num_groups, per // num_groups)  # explicit: N may be 0
    fused = _fused_norm_args(x, (x.shape[2],), None, None)
    if fused is not None:  # the rows normalised by layer norm's fused kernel (ops/norm.py)
        out = _norm.layer_norm(x, *fused, 1, eps)[0].reshape(tuple(input.shape))
    else:
        mean = x.mean(2, keepdim=True)
        var = x.var(2, unbiased=False, keepdim=True)
        out = ((x - mean) * (var + eps).rsqrt()).reshape(tuple(input.shape))
    shape = (1, c) + (1,) * (input.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """``input`` divided by its ``p``-norm along ``dim`` (at least ``eps``).

    >>> ember.nn.functional.normalize(ember.tensor([[3., 4.]]))
    tensor([[0.6000, 0.8000]])
    """
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)


# ---- resampling and attention -----------------------------------------------------------------

_INTERP_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of (N, C, *spatial) (1 to 3 of them): ``nearest``,
    ``nearest-exact``, ``area`` (adaptive average pooling), ``linear`` (1-D), ``bilinear``
    and ``bicubic`` (2-D), ``trilinear`` (3-D), PyTorch's coordinate conventions
    (align_corners False by default; bicubic's cubic convolution with A = -0.75).

    >>> x = ember.tensor([[[1., 2.]]])
    >>> ember.nn.functional.interpolate(x, scale_factor=2)
    tensor([[[1., 1., 2., 2.]]])
    >>> ember.nn.functional.interpolate(x, size=3, mode="linear", align_corners=True)
    tensor([[[1.0000, 1.5000, 2.0000]]])
    """
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported; pass "
                                  "antialias=False")
    nsp = input.ndim - 2
    if nsp not in (1, 2, 3):
        raise OpError(f"interpolate: expected a 3-D, 4-D or 5-D input (N, C, *spatial), got "
                      f"{tuple(input.shape)}")
    modes = ("nearest", "nearest-exact", "area") + tuple(_INTERP_DIMS)
    if mode not in modes:
        raise OpError(f"interpolate: mode {mode!r} is not supported; use one of {modes}")
    if mode in _INTERP_DIMS and _INTERP_DIMS[mode] != nsp:
        raise OpError(f"interpolate: mode {mode!r} needs a {_INTERP_DIMS[mode] + 2}-D input, "
                      f"got shape {tuple(input.shape)}")
    if align_corners is not None and mode not in _INTERP_DIMS:
        raise OpError(f"interpolate: align_corners only applies to the linear modes and "
                      f"bicubic, not {mode!r}; leave it None")
    in_sz = tuple(input.shape[2:])
    if size is not None:
        out_sz = (size,) * nsp if isinstance(size, int) else tuple(size)
        scales = [None] * nsp
    elif scale_factor is not None:
        sf = (scale_factor,) * nsp if isinstance(scale_factor, (int, float)) else \
            tuple(scale_factor)
        out_sz = tuple(int(n * f) for n, f in zip(in_sz, sf))
        scales = [None] * nsp if recompute_scale_factor else list(sf)
    else:
        raise OpError("interpolate: give size or scale_factor")
    if len(out_sz) != nsp:
        raise OpError(f"interpolate: size {size} must give {nsp} spatial sizes for input "
                      f"{tuple(input.shape)}")
    import numpy as np
    x = input
    for k in range(nsp):
        n, m = in_sz[k], out_sz[k]
        ax = 2 + k
        scale = (1.0 / scales[k]) if scales[k] else n / m
        if mode in ("nearest", "nearest-exact"):
            off = 0.5 if mode == "nearest-exact" else 0.0
            idx = np.minimum(np.floor((np.arange(m) + off) * scale).astype(np.int64), n - 1)
            x = x.index_select(ax, _t(idx))
        elif mode in ("bilinear", "linear", "trilinear"):
            if align_corners:
                src = np.arange(m) * ((n - 1) / (m - 1) if m > 1 else 0.0)
            else:
                src = np.maximum((np.arange(m) + 0.5) * scale - 0.5, 0.0)
            lo = np.minimum(np.floor(src).astype(np.int64), n - 1)
            hi = np.minimum(lo + 1, n - 1)
            frac = (src - lo).astype(x.dtype.np)
            shape = [1] * x.ndim
            shape[ax] = m
            f = _t(frac.reshape(shape))
            x = x.index_select(ax, _t(lo)) * (1 - f) + x.index_select(ax, _t(hi)) * f
        else:  # area, bicubic: a (m, n) weight matrix along the axis
            w = _area_weights(n, m) if mode == "area" else \
                _cubic_weights(n, m, scale, align_corners)
            x = (x.movedim(ax, -1) @ _t(w.T.astype(x.dtype.np))).movedim(-1, ax)
    return x


def _area_weights(n, m):
    """Adaptive average pooling from n to m: output i averages [floor(i n/m), ceil((i+1) n/m))."""
    import numpy as np
    w = np.zeros((m, n))
    for i in range(m):
        a, b = (i * n) // m, -((-(i + 1) * n) // m)
        w[i, a:b] = 1.0 / (b - a)
    return w


def _cubic_weights(n, m, scale, align_corners, A=-0.75):
    """Bicubic (Keys' cubic convolution) from n to m along one axis, the 4 taps clamped to
    the border (PyTorch's upsample_bicubic2d)."""
    import numpy as np
    if align_corners:
        src = np.arange(m) * ((n - 1) / (m - 1) if m > 1 else 0.0)
    else:
        src = (np.arange(m) + 0.5) * scale - 0.5
    base = np.floor(src)
    t = src - base

    def near(d):  # |d| <= 1
        return ((A + 2) * d - (A + 3)) * d * d + 1

    def far(d):  # 1 < |d| < 2
        return ((A * d - 5 * A) * d + 8 * A) * d - 4 * A

    taps = (far(t + 1), near(t), near(1 - t), far(2 - t))
    w = np.zeros((m, n))
    rows = np.arange(m)
    for j, c in enumerate(taps):
        np.add.at(w, (rows, np.clip(base.astype(np.int64) - 1 + j, 0, n - 1)), c)
    return w


def _t(a):
    from ..core.tensor import Tensor
    return Tensor._wrap(a)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(q k^T / sqrt(d) + mask) v over the last two dims. ``enable_gqa``: grouped-query
    attention, fewer key/value heads (dim -3) than query heads, each shared by a group.

    >>> q = k = ember.tensor([[[1., 0.], [0., 1.]]])
    >>> v = ember.tensor([[[1., 2.], [3., 4.]]])
    >>> ember.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    tensor([[[1.0000, 2.0000],
             [2.3395, 3.3395]]])
    """
    from ..backends.cuda import _sdp
    if not (_sdp["math"] or _sdp["flash"]):
        raise RuntimeError("scaled_dot_product_attention: no available kernel: the enabled "
                           "backends (nn.attention.sdpa_kernel / torch.backends.cuda.enable_*_"
                           "sdp) have none that runs here; enable SDPBackend.MATH or "
                           "FLASH_ATTENTION")
    if _ac[0]:  # ember.autocast: on the lower-precision list
        query, key, value = _autocast.lower(query, key, value)
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        hq, hk = query.shape[-3], key.shape[-3]
        if hk == 0 or hq % hk or value.shape[-3] != hk:
            raise OpError(f"scaled_dot_product_attention: enable_gqa needs the query heads "
                          f"({hq}, dim -3 of {tuple(query.shape)}) to be a multiple of the "
                          f"key/value heads (key {tuple(key.shape)}, value "
                          f"{tuple(value.shape)})")
        key = key.repeat_interleave(hq // hk, dim=-3)
        value = value.repeat_interleave(hq // hk, dim=-3)
    import math
    d = query.shape[-1]
    s = (query @ key.mT) * (scale if scale is not None else 1.0 / math.sqrt(d))
    if is_causal:
        import numpy as np
        lq, lk = query.shape[-2], key.shape[-2]
        s = s.masked_fill(_t(~np.tril(np.ones((lq, lk), bool))), float("-inf"))
    if attn_mask is not None:
        s = s.masked_fill(~attn_mask, float("-inf")) if attn_mask.dtype.is_bool \
            else s + attn_mask
    p = softmax(s, -1)
    if dropout_p:
        p = dropout(p, dropout_p)
    return p @ value


for _n, _f in (("linear", linear), ("nll_loss", nll_loss), ("cross_entropy_loss", cross_entropy),
               ("mse_loss", mse_loss), ("l1_loss", l1_loss), ("smooth_l1_loss", smooth_l1_loss),
               ("huber_loss", huber_loss), ("binary_cross_entropy", binary_cross_entropy),
               ("binary_cross_entropy_with_logits", binary_cross_entropy_with_logits),
               ("kl_div", kl_div), ("scaled_dot_product_attention", scaled_dot_product_attention)):
    _autocast.register(_n, _f)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """``interpolate`` under its older name (PyTorch's ``F.upsample``).

    >>> ember.nn.functional.upsample(ember.tensor([[[1., 2.]]]), scale_factor=2)
    tensor([[[1., 1., 2., 2.]]])
    """
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """``interpolate(input, size, scale_factor, mode='nearest')``.

    >>> ember.nn.functional.upsample_nearest(ember.tensor([[[[1., 2.]]]]), size=(1, 4))
    tensor([[[[1., 1., 2., 2.]]]])
    """
    return interpolate(input, size, scale_factor, "nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """``interpolate(input, size, scale_factor, mode='bilinear', align_corners=True)``.

    >>> ember.nn.functional.upsample_bilinear(ember.tensor([[[[1., 2.]]]]), size=(1, 3))
    tensor([[[[1.0000, 1.5000, 2.0000]]]])
    """
    return interpolate(input, size, scale_factor, "bilinear", align_corners=True)


# more of torch.nn.functional (activations, channel dropouts, shuffles, distances, losses)
from .functional_more import *  # noqa: E402,F401,F403
from . import functional_more as _more  # noqa: E402
__all__ += _more.__all__ + ["upsample", "upsample_nearest", "upsample_bilinear"]


from .functional_torch import *  # noqa: E402,F401,F403  (grid_sample, max_unpool2d, ...)
from . import functional_torch as _ftorch  # noqa: E402
from ..ops.conv3d import *  # noqa: E402,F401,F403  (conv3d, max_pool3d, ...)
from ..ops import conv3d as _conv3d  # noqa: E402
__all__ += _ftorch.__all__ + _conv3d.__all__ + _ftorch._install_inplace_activations()
