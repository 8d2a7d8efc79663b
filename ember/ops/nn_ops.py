"""Softmax-family ops used by losses: log_softmax (a primitive, numerically stable),
softmax, and one_hot."""
from __future__ import annotations

import numpy as np

from ..core import dtypes as _dt
from ..core.primitive import Aval, Primitive, bind
from ._util import canon_dim
from .elementwise import as_value, cast, moveaxis_to_front
from .registry_helpers import export, method

__all__: list[str] = []


def _log_softmax_impl(x, dim):
    m = np.max(x, axis=dim, keepdims=True) if x.size else x
    z = x - m
    return z - np.log(np.sum(np.exp(z), axis=dim, keepdims=True))


def _ls_vjp(ct, out, x, dim):
    return (ct - out.exp() * ct.sum(dim=dim, keepdim=True),)


def _ls_jvp(p, t, out, dim):
    return t[0] - (out.exp() * t[0]).sum(dim=dim, keepdim=True)


log_softmax_p = Primitive("log_softmax", _log_softmax_impl,
                          shape=lambda x, dim: Aval(x.shape, x.dtype), vjp=_ls_vjp, jvp=_ls_jvp,
                          vjp_needs_out=True)
log_softmax_p.batch = lambda args, dims, dim: (
    bind(log_softmax_p, moveaxis_to_front(args[0], dims[0]), dim=dim + 1), 0)


def log_softmax(input, dim, dtype=None):
    """log(softmax(x)) along ``dim``, computed stably (max subtracted first)."""
    x = as_value(input)
    if dtype is not None:
        x = cast(x, dtype)
    if not x.dtype.is_floating_point:
        x = cast(x, _dt.get_default_dtype())
    return bind(log_softmax_p, x, dim=canon_dim(dim, x.ndim, "log_softmax"))


def softmax(input, dim, dtype=None):
    """exp(x) / sum(exp(x)) along ``dim``, computed stably."""
    return log_softmax(input, dim, dtype).exp()


def one_hot(tensor, num_classes=-1):
    """int64 one-hot encoding with a new last dim of size ``num_classes``."""
    t = as_value(tensor)
    if t.dtype.category != 1:
        raise TypeError(f"one_hot: expects an integer tensor of class indices, got {t.dtype}")
    if num_classes < 0:
        num_classes = int(t.max().item()) + 1 if hasattr(t, "max") else int(t._data.max()) + 1
    from .creation_ops import arange
    return cast(t.unsqueeze(-1) == arange(num_classes), _dt.int64)


for _f in (log_softmax, softmax):
    export(_f, __all__)
    method(_f)
export(one_hot, __all__)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` at the integer ``input``; the row ``padding_idx`` gets no gradient."""
    from .indexing import getitem
    idx = as_value(input)
    w = as_value(weight)
    if idx.dtype.category != 1:
        raise TypeError(f"embedding: input must hold integer indices, got {idx.dtype}")
    if w.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got "
                         f"shape {tuple(w.shape)}")
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: max_norm, scale_grad_by_freq and sparse are not "
                                  "supported")
    out = getitem(w, idx)
    if padding_idx is not None:
        from .elementwise import where
        p = padding_idx % w.shape[0]
        out = where((idx == p).unsqueeze(-1), out.detach(), out)
    return out


def dropout(input, p=0.5, training=True, inplace=False, generator=None):
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (training only).
    The mask comes from the global generator (``ember.manual_seed``)."""
    x = as_value(input)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0
    from ..generator import _global_uniform
    from ..core.tensor import Tensor
    keep = _global_uniform(tuple(x.shape), 0.0, 1.0, _dt.float32, generator)
    keep = keep._data if isinstance(keep, Tensor) else keep
    mask = Tensor._wrap(((keep >= p) / (1.0 - p)).astype(x.dtype.np))
    return x.mul_(mask) if inplace else x * mask


export(embedding, __all__)
export(dropout, __all__)


# ---- the LSTM cell: one primitive per time step ----------------------------------------------

def _sig(x):
    return 0.5 * (np.tanh(0.5 * x) + 1)  # overflow-free logistic


def _lstm_cell_impl(gates, c):
    h4 = gates.shape[-1] // 4
    i = _sig(gates[..., :h4])
    f = _sig(gates[..., h4:2 * h4])
    g = np.tanh(gates[..., 2 * h4:3 * h4])
    o = _sig(gates[..., 3 * h4:])
    c2 = f * c + i * g
    return [o * np.tanh(c2), c2]


def _lstm_parts(gates):
    h4 = gates.shape[-1] // 4
    from .elementwise import sigmoid, tanh
    return (sigmoid(gates[..., :h4]), sigmoid(gates[..., h4:2 * h4]),
            tanh(gates[..., 2 * h4:3 * h4]), sigmoid(gates[..., 3 * h4:]))


def _lstm_cell_vjp(ct, out, gates, c):
    from .indexing import cat
    from .elementwise import zeros_like_v
    ct_h, ct_c = ct if isinstance(ct, (tuple, list)) else (ct, None)
    i, f, g, o = _lstm_parts(gates)
    c2 = out[1]
    tc = c2.tanh()
    ct_h = ct_h if ct_h is not None else zeros_like_v(c2)
    dc = ct_h * o * (1 - tc * tc)
    if ct_c is not None:
        dc = dc + ct_c
    dgates = cat([dc * g * i * (1 - i), dc * c * f * (1 - f), dc * i * (1 - g * g),
                  ct_h * tc * o * (1 - o)], -1)
    return dgates, dc * f


def _lstm_cell_jvp(p, t, out, **_):
    from .elementwise import zeros_like_v
    gates, c = p
    tg = t[0] if t[0] is not None else zeros_like_v(gates)
    tcp = t[1] if t[1] is not None else zeros_like_v(c)
    i, f, g, o = _lstm_parts(gates)
    h4 = gates.shape[-1] // 4
    di = i * (1 - i) * tg[..., :h4]
    df = f * (1 - f) * tg[..., h4:2 * h4]
    dg = (1 - g * g) * tg[..., 2 * h4:3 * h4]
    do = o * (1 - o) * tg[..., 3 * h4:]
    c2 = out[1]
    tc = c2.tanh()
    dc = df * c + f * tcp + di * g + i * dg
    return [do * tc + o * (1 - tc * tc) * dc, dc]


def _lstm_cell_batch(args, dims):
    from .elementwise import batch_all_front
    return bind(lstm_cell_p, *batch_all_front(args, dims)), [0, 0]


lstm_cell_p = Primitive(
    "lstm_cell", _lstm_cell_impl, multiple_results=True, vjp_needs_out=True,
    shape=lambda gates, c: [Aval(c.shape, c.dtype), Aval(c.shape, c.dtype)],
    vjp=_lstm_cell_vjp, jvp=_lstm_cell_jvp, batch=_lstm_cell_batch)


def lstm_cell(gates, c):
    """One LSTM step from pre-activation ``gates`` (..., 4H) in PyTorch's order (input,
    forget, cell, output) and the cell state ``c`` (..., H): returns (h, c_new)."""
    g, cc = as_value(gates), as_value(c)
    if g.shape[-1] != 4 * cc.shape[-1] or tuple(g.shape[:-1]) != tuple(cc.shape[:-1]):
        raise ValueError(f"lstm_cell: gates {tuple(g.shape)} must be (..., 4H) for a cell "
                         f"state (..., H) = {tuple(cc.shape)}")
    h, c2 = bind(lstm_cell_p, g, cc)
    return h, c2


export(lstm_cell, __all__)
