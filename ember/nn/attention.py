"""Multi-head attention and the Transformer encoder layer (PyTorch's parameter layout);
``sdpa_kernel``/``SDPBackend`` (``torch.nn.attention``'s kernel choice for
``scaled_dot_product_attention``)."""
from __future__ import annotations

import contextlib
import enum

from . import functional as F
from . import init
from .layers import Linear, Dropout
from .module import Module, Parameter
from .norm import LayerNorm
from ..ops.creation_ops import empty
from ..core.exceptions import OpError


class SDPBackend(enum.IntEnum):
    """The kernels of ``scaled_dot_product_attention`` (PyTorch's names and values)."""
    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4


_FLAG = {SDPBackend.MATH: "math", SDPBackend.FLASH_ATTENTION: "flash",
         SDPBackend.EFFICIENT_ATTENTION: "mem_efficient", SDPBackend.CUDNN_ATTENTION: "cudnn"}


@contextlib.contextmanager
def sdpa_kernel(backends, set_priority=False):
    """Within the block, ``scaled_dot_product_attention`` may use only ``backends`` (one
    ``SDPBackend`` or a list). ember's one kernel serves MATH and FLASH_ATTENTION (PyTorch's
    CPU kernels); a block that enables neither makes the call fail, as on PyTorch's CPU.

    >>> from ember.nn.attention import sdpa_kernel, SDPBackend
    >>> with sdpa_kernel(SDPBackend.MATH):
    ...     ember.backends.cuda.flash_sdp_enabled()
    False
    """
    from ..backends.cuda import _sdp
    chosen = [backends] if isinstance(backends, SDPBackend) else list(backends)
    bad = [b for b in chosen if not isinstance(b, SDPBackend) or b not in _FLAG]
    if bad:
        raise TypeError(f"sdpa_kernel: expected SDPBackend members among "
                        f"{[b.name for b in _FLAG]}, got {bad!r}")
    saved = dict(_sdp)
    for b, flag in _FLAG.items():
        _sdp[flag] = b in chosen
    try:
        yield
    finally:
        _sdp.update(saved)


class NonDynamicallyQuantizableLinear(Linear):
    pass


class MultiheadAttention(Module):
    """``MultiheadAttention(embed_dim, num_heads, dropout=0., bias=True, add_bias_kv=False,
    add_zero_attn=False, kdim=None, vdim=None, batch_first=False)`` with packed
    ``in_proj_weight`` (3E, E) (or ``q/k/v_proj_weight`` when keys or values have other
    sizes), ``out_proj``, and with ``add_bias_kv`` learned ``bias_k``/``bias_v`` appended to
    the keys and values (``add_zero_attn``: a zero key and value appended too); returns
    (output, averaged attention weights or None), as PyTorch.

    >>> attn = ember.nn.MultiheadAttention(embed_dim=8, num_heads=2, batch_first=True)
    >>> x = ember.randn(3, 5, 8)                       # (batch, sequence, embed_dim)
    >>> out, weights = attn(x, x, x)
    >>> out.shape, weights.shape
    (ember.Size([3, 5, 8]), ember.Size([3, 5, 5]))
    >>> bool(((weights.sum(-1) - 1).abs() < 1e-6).all())     # each row is a distribution
    True
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0 or embed_dim % num_heads:
            raise OpError(f"MultiheadAttention: embed_dim {embed_dim} must be divisible by "
                             f"num_heads {num_heads} (both positive)")
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.batch_first, self.head_dim = batch_first, embed_dim // num_heads
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        kw = {"dtype": dtype, "device": device}
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(empty(3 * embed_dim, embed_dim, **kw))
            for n in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(n, None)
        else:
            self.q_proj_weight = Parameter(empty(embed_dim, embed_dim, **kw))
            self.k_proj_weight = Parameter(empty(embed_dim, self.kdim, **kw))
            self.v_proj_weight = Parameter(empty(embed_dim, self.vdim, **kw))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty(3 * embed_dim, **kw))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, **kw)
        if add_bias_kv:
            self.bias_k = Parameter(empty(1, 1, embed_dim, **kw))
            self.bias_v = Parameter(empty(1, 1, embed_dim, **kw))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if bias:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if add_bias_kv:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        import math
        unbatched = query.ndim == 2
        if unbatched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        elif self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        lq, n, e = query.shape
        lk = key.shape[0]
        if e != self.embed_dim:
            raise OpError(f"MultiheadAttention(embed_dim={self.embed_dim}): query has "
                             f"{e} features")
        b = self.in_proj_bias
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            wq, wk, wv = w[:e], w[e:2 * e], w[2 * e:]
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        q = F.linear(query, wq, None if b is None else b[:e])
        k = F.linear(key, wk, None if b is None else b[e:2 * e])
        v = F.linear(value, wv, None if b is None else b[2 * e:])
        h, d = self.num_heads, self.head_dim
        from ..ops.indexing import cat
        from ..ops.slicing import pad

        def padded(mask):  # one more key position: not masked
            return None if mask is None else pad(mask, (0, 1))
        if self.bias_k is not None:  # learned key/value appended to the sequence
            k = cat([k, self.bias_k.expand((1, n, e))], 0)
            v = cat([v, self.bias_v.expand((1, n, e))], 0)
            attn_mask, key_padding_mask = padded(attn_mask), padded(key_padding_mask)
            lk += 1
        if self.add_zero_attn:  # a zero key and value appended
            k = pad(k, (0, 0, 0, 0, 0, 1))
            v = pad(v, (0, 0, 0, 0, 0, 1))
            attn_mask, key_padding_mask = padded(attn_mask), padded(key_padding_mask)
            lk += 1

        def heads(t, ln):  # (L, N, E) -> (N, H, L, D)
            return t.reshape(ln, n, h, d).permute(1, 2, 0, 3)
        q, k, v = heads(q, lq), heads(k, lk), heads(v, lk)
        s = (q @ k.mT) * (1.0 / math.sqrt(d))
        if attn_mask is not None:
            m = attn_mask if attn_mask.ndim == 2 else attn_mask.reshape(n, h, lq, lk)
            s = s.masked_fill(m, float("-inf")) if m.dtype.is_bool else s + m
        if is_causal and attn_mask is None:
            import numpy as np
            from ..core.tensor import Tensor
            s = s.masked_fill(Tensor._wrap(~np.tril(np.ones((lq, lk), bool))), float("-inf"))
        if key_padding_mask is not None:
            kpm = key_padding_mask.reshape(n, 1, 1, lk)
            s = s.masked_fill(kpm, float("-inf")) if kpm.dtype.is_bool else s + kpm
        p = F.softmax(s, -1)
        if self.dropout and self.training:
            p = F.dropout(p, self.dropout)
        o = (p @ v).permute(2, 0, 1, 3).reshape(lq, n, e)
        o = self.out_proj(o)
        if unbatched:
            o = o.squeeze(1)
        elif self.batch_first:
            o = o.transpose(0, 1)
        if not need_weights:
            return o, None
        pw = p.mean(1) if average_attn_weights else p
        return o, (pw.squeeze(0) if unbatched else pw)


class TransformerEncoderLayer(Module):
    """Self-attention + feed-forward block (post-norm by default, ``norm_first`` for pre-norm).

    >>> layer = ember.nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16,
    ...                                         batch_first=True)
    >>> layer(ember.randn(3, 5, 8)).shape
    ember.Size([3, 5, 8])
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 dtype=None, device=None):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout, bias,
                                            batch_first=batch_first,
                                            dtype=dtype, device=device)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype, device=device)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype, device=device)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype,
                               device=device)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype,
                               device=device)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        if activation in ("relu", F.relu):
            self.activation = F.relu
        elif activation in ("gelu", F.gelu):
            self.activation = F.gelu
        elif callable(activation):
            self.activation = activation
        else:
            raise OpError(f"TransformerEncoderLayer: activation must be 'relu', 'gelu' or a "
                             f"callable, got {activation!r}")

    def _sa(self, x, mask, kpm, is_causal):
        return self.dropout1(self.self_attn(x, x, x, key_padding_mask=kpm, attn_mask=mask,
                                            need_weights=False, is_causal=is_causal)[0])

    def _ff(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = src
        if self.norm_first:
            x = x + self._sa(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff(self.norm2(x))
        x = self.norm1(x + self._sa(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff(x))
