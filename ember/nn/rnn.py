"""Recurrent layers: RNN, LSTM, GRU (num_layers, bidirectional, batch_first, dropout between
layers, initial states), with PyTorch's parameter names, shapes and initialisation.

The input projection of every time step is one matrix product over the whole sequence;
the recurrence then runs step by step; an LSTM layer's whole recurrence is one
``lstm_sequence`` primitive and a GRU layer's one ``gru_sequence`` (forward and backward each
one NumPy loop).
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from . import functional as F
from . import init
from .module import Module, Parameter
from ..ops.creation_ops import empty, zeros
from ..ops.indexing import stack, cat
from ..ops._util import check_same_dtype, layer_input_fix
from ..ops import autocast_policy as _autocast
from ..core.state import autocast_threads as _ac, autocast_dtype as _autocast_dtype
from ..core.exceptions import OpError
from ..core.creation import tensor as _tensor
from ..ops import indexing as _ix, shape as _sh
from .utils.rnn import PackedSequence


def _caller_level(obj):
    """The ``warnings.warn`` stacklevel of the code that constructed ``obj``, seen from the
    ``__init__`` that warns: past every ``__init__`` frame of ``obj`` (subclass chains)."""
    import sys
    f, level = sys._getframe(2), 2
    while f is not None and f.f_code.co_name == "__init__" and f.f_locals.get("self") is obj:
        f, level = f.f_back, level + 1
    return level


class _RNNBase(Module):
    _gates = 1

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, nonlinearity="tanh", dtype=None, device=None,
                 proj_size=0):
        super().__init__()
        name = type(self).__name__
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) \
                or not 0 <= dropout <= 1:
            raise OpError(f"{name}: dropout must be a number in [0, 1] (the probability of "
                          f"zeroing an element), got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{name}: dropout={dropout} acts between stacked layers only, so with "
                          f"num_layers=1 it does nothing; pass num_layers > 1 or dropout=0 "
                          f"(PyTorch warns the same)", UserWarning,
                          stacklevel=_caller_level(self))
        for what, v in (("bias", bias), ("batch_first", batch_first)):
            if not isinstance(v, (bool, np.bool_)):
                raise TypeError(f"{name}: {what} must be a bool, got {type(v).__name__} {v!r}")
        for what, v in (("input_size", input_size), ("hidden_size", hidden_size),
                        ("num_layers", num_layers)):
            if not isinstance(v, numbers.Integral):
                raise TypeError(f"{name}: {what} must be an int, got {type(v).__name__} {v!r}")
            if v <= 0:
                raise OpError(f"{name}: {what} must be greater than zero, got {v}")
        dropout = float(dropout)
        if nonlinearity not in ("tanh", "relu"):
            raise OpError(f"{name}: nonlinearity must be 'tanh' or 'relu', got "
                             f"{nonlinearity!r}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, dropout
        self.bidirectional, self.nonlinearity = bidirectional, nonlinearity
        if proj_size < 0 or (proj_size and proj_size >= hidden_size):
            raise OpError(f"{name}: proj_size must be 0 or in [1, hidden_size = {hidden_size}), "
                          f"got {proj_size}")
        self.proj_size = proj_size
        out = proj_size or hidden_size  # the size of h (the projected hidden state)
        g = self._gates * hidden_size
        dirs = 2 if bidirectional else 1
        kw = {"dtype": dtype, "device": device}
        for layer in range(num_layers):
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                isz = input_size if layer == 0 else out * dirs
                setattr(self, "weight_ih" + sfx, Parameter(empty(g, isz, **kw)))
                setattr(self, "weight_hh" + sfx, Parameter(empty(g, out, **kw)))
                if bias:
                    setattr(self, "bias_ih" + sfx, Parameter(empty(g, **kw)))
                    setattr(self, "bias_hh" + sfx, Parameter(empty(g, **kw)))
                if proj_size:
                    setattr(self, "weight_hr" + sfx, Parameter(empty(proj_size, hidden_size, **kw)))
        self.reset_parameters()

    def reset_parameters(self):
        k = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for p in self.parameters():
            init.uniform_(p, -k, k)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        if getattr(self, "proj_size", 0):
            s += f", proj_size={self.proj_size}"
        return s

    def flatten_parameters(self):
        """PyTorch compacts cuDNN's weight buffer here; ember's weights need nothing: a no-op
        kept so scripts that call it run."""

    def _weights(self, layer, d, low=False):
        sfx = f"_l{layer}" + ("_reverse" if d else "")
        get = self._parameters.get
        ws = (get("weight_ih" + sfx), get("weight_hh" + sfx), get("bias_ih" + sfx),
              get("bias_hh" + sfx))
        if getattr(self, "proj_size", 0):
            ws += (get("weight_hr" + sfx),)
        return _autocast.lower(*ws) if low else ws

    def forward(self, input, hx=None):
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        name = type(self).__name__
        x = input
        if x.ndim not in (2, 3):
            raise OpError(f"{name}: expected a 2-D (unbatched) or 3-D input, got shape "
                             f"{tuple(x.shape)}")
        low = False
        if _ac[0] and self._gates == 4 and x.dtype.itemsize <= 4 and _autocast_dtype():
            # ember.autocast: PyTorch's CPU autocast runs the LSTM layer (mkldnn_rnn_layer)
            # with input, states and weights in the lower precision (outputs in it too)
            low = True
            x, = _autocast.lower(x)
            if hx is not None:
                hx = _autocast.lower(*hx) if isinstance(hx, (tuple, list)) else hx
        w = self.weight_ih_l0
        if x.dtype != w.dtype and not low:
            check_same_dtype(name, x, w, ("input", "weight"), fix=layer_input_fix(x, w))
        unbatched = x.ndim == 2
        if unbatched:
            x = x.unsqueeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)
        if x.shape[-1] != self.input_size:
            raise OpError(f"{name}(input_size={self.input_size}): input has {x.shape[-1]} "
                             f"features (shape {tuple(input.shape)})")
        n = x.shape[1]
        dirs = 2 if self.bidirectional else 1
        h0, c0 = self._initial(hx, self._state_shapes(dirs, n), unbatched, x)
        hs, cs = [], []
        wave = self._wave_pairs(dirs, low, x, h0, c0)
        for layer in range(self.num_layers):
            if layer in wave:  # this layer and the next as one primitive
                o, oc = self._run_pair(x, layer, h0, c0)
                hs += [o[0][-1], o[1][-1]]
                cs += [oc[0][-1], oc[1][-1]]
                x = o[1]
                continue
            if layer - 1 in wave:
                continue
            outs = []
            for d in range(dirs):
                k = layer * dirs + d
                o, oc = self._run(x, self._weights(layer, d, low), h0[k],
                                  None if c0 is None else c0[k], reverse=bool(d))
                last = 0 if d else -1
                outs.append(o)
                hs.append(o[last])
                cs.append(None if oc is None else oc[last])
            x = outs[0] if dirs == 1 else cat(outs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout)
        out = x
        h_n = stack(hs)
        if unbatched:
            out, h_n = out.squeeze(1), h_n.squeeze(1)
        elif self.batch_first:
            out = out.transpose(0, 1)
        if self._gates == 4:
            c_n = stack(cs)
            return out, (h_n, c_n.squeeze(1) if unbatched else c_n)
        return out, h_n

    def _forward_packed(self, packed, hx):
        # A PackedSequence runs as its padded (time, batch) form in sorted order: padding
        # after a sequence's end cannot reach its valid steps in the forward direction; the
        # reverse direction runs forward over each sequence flipped within its own length.
        # The last valid step of each sequence gives h_n (and c_n).
        name = type(self).__name__
        data = packed.data
        if data.ndim != 2:
            raise OpError(f"{name}: a PackedSequence's data must be 2-D (steps, features), "
                          f"got shape {tuple(data.shape)}")
        if data.shape[-1] != self.input_size:
            raise OpError(f"{name}(input_size={self.input_size}): the PackedSequence has "
                          f"{data.shape[-1]} features")
        low = bool(_ac[0] and self._gates == 4 and data.dtype.itemsize <= 4 and _autocast_dtype())
        if low:
            data, = _autocast.lower(data)
            if hx is not None:
                hx = _autocast.lower(*hx) if isinstance(hx, (tuple, list)) else hx
        elif data.dtype != self.weight_ih_l0.dtype:
            check_same_dtype(name, data, self.weight_ih_l0, ("input", "weight"),
                             fix=layer_input_fix(data, self.weight_ih_l0))
        bs = np.asarray(packed.batch_sizes.numpy()).astype(np.int64)
        T, B, n = len(bs), int(bs[0]), data.shape[0]
        lens = (bs[None, :] > np.arange(B)[:, None]).sum(1)
        row = np.full((T, B), n, np.int64)  # the data row of step t of sorted sequence b
        row[np.arange(T)[:, None] < lens[None, :]] = np.arange(n)  # rows are t-major
        t_idx, b_idx = np.arange(T)[:, None], np.arange(B)[None, :]
        flip = np.where(t_idx < lens, lens - 1 - t_idx, t_idx) * B + b_idx
        flip, last = _tensor(flip.reshape(-1)), _tensor((lens - 1) * B + np.arange(B))
        packed_rows = _tensor((t_idx * B + b_idx)[row < n])
        src = _ix.cat([data, zeros(1, data.shape[1], dtype=data.dtype)], 0)
        x = _sh.reshape(_ix.index_select(src, 0, _tensor(row.reshape(-1))), (T, B, -1))

        def by_step(v, index):
            flat = _ix.index_select(_sh.reshape(v, (T * B, v.shape[-1])), 0, index)
            return flat if index is last else _sh.reshape(flat, (T, B, v.shape[-1]))

        dirs = 2 if self.bidirectional else 1
        order = packed.sorted_indices
        if hx is not None and order is not None:
            hx = tuple(_ix.index_select(t, 1, order) for t in hx) if isinstance(hx, tuple) \
                else _ix.index_select(hx, 1, order)
        h0, c0 = self._initial(hx, self._state_shapes(dirs, B), False, x)
        hs, cs = [], []
        wave = self._wave_pairs(dirs, low, x, h0, c0)
        for layer in range(self.num_layers):
            if layer in wave:  # this layer and the next as one primitive
                o, oc = self._run_pair(x, layer, h0, c0)
                hs += [by_step(o[0], last), by_step(o[1], last)]
                cs += [by_step(oc[0], last), by_step(oc[1], last)]
                x = o[1]
                continue
            if layer - 1 in wave:
                continue
            outs = []
            for d in range(dirs):
                k = layer * dirs + d
                o, oc = self._run(by_step(x, flip) if d else x, self._weights(layer, d, low),
                                  h0[k], None if c0 is None else c0[k], reverse=False)
                hs.append(by_step(o, last))
                if oc is not None:
                    cs.append(by_step(oc, last))
                outs.append(by_step(o, flip) if d else o)
            x = outs[0] if dirs == 1 else cat(outs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout)
        out = PackedSequence(_ix.index_select(_sh.reshape(x, (T * B, x.shape[-1])), 0,
                                              packed_rows),
                             packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)
        unsort = packed.unsorted_indices
        states = [stack(v) for v in (hs, cs) if v]
        if unsort is not None:
            states = [_ix.index_select(v, 1, unsort) for v in states]
        return out, (tuple(states) if self._gates == 4 else states[0])

    def _wave_pairs(self, dirs, low, x, h0, c0):
        """The first layers of the pairs of layers that run as one fused two-layer primitive
        (LSTM only, see LSTM._run_pair); none for the others."""
        return ()

    def _state_shapes(self, dirs, n):
        """The shapes of h_0 and c_0 (h is proj_size wide when the LSTM projects)."""
        c = (self.num_layers * dirs, n, self.hidden_size)
        return ((c[0], n, self.proj_size) if getattr(self, "proj_size", 0) else c), c

    def _initial(self, hx, shapes, unbatched, x):
        name = type(self).__name__
        if hx is None:
            z = zeros(*shapes[0], dtype=x.dtype)
            zc = z if shapes[1] == shapes[0] else zeros(*shapes[1], dtype=x.dtype)
            return z, (zc if self._gates == 4 else None)
        # a list [h_0, c_0] works too, as in PyTorch (yunjey's language model detaches the
        # states into a list)
        hs = tuple(hx) if isinstance(hx, (tuple, list)) else (hx,)
        if (self._gates == 4) != (len(hs) == 2):
            raise OpError(f"{name}: hx must be {'(h_0, c_0)' if self._gates == 4 else 'h_0'}, "
                          f"got {type(hx).__name__} of {len(hs)} tensor(s)")
        fixed = []
        for t, shape in zip(hs, shapes):
            t = t.unsqueeze(1) if unbatched else t
            if tuple(t.shape) != shape:
                raise OpError(f"{name}: initial state has shape {tuple(t.shape)}, expected "
                                 f"{shape if not unbatched else (shape[0], shape[2])}")
            fixed.append(t)
        return fixed[0], (fixed[1] if len(fixed) == 2 else None)

    def _project(self, x, w_ih, b_ih, b_hh):
        xw = x @ w_ih.mT
        if b_ih is not None:
            b = b_ih + b_hh if self._gates != 3 else b_ih
            if _ac[0] and xw.dtype.itemsize < b.dtype.itemsize and _autocast_dtype():
                # under autocast PyTorch's cells add each bias inside a lowered linear:
                # the projection stays in the lower precision (RNN's output is in it)
                b = b.to(xw.dtype)
            xw = xw + b
        return xw


class RNN(_RNNBase):
    """Elman RNN: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu).

    >>> rnn = ember.nn.RNN(input_size=3, hidden_size=5, num_layers=2, batch_first=True)
    >>> out, h_n = rnn(ember.zeros(4, 7, 3))                  # (batch, time, features)
    >>> out.shape, h_n.shape
    (ember.Size([4, 7, 5]), ember.Size([2, 4, 5]))
    """

    def _run(self, x, w, h, c, reverse):
        w_ih, w_hh, b_ih, b_hh = w
        xw = self._project(x, w_ih, b_ih, b_hh).unbind(0)
        act = F.relu if self.nonlinearity == "relu" else (lambda v: v.tanh())
        whh = w_hh.mT.clone()  # contiguous: per-step gradients accumulate without strides
        steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
        outs = [None] * x.shape[0]
        for t in steps:
            h = act(xw[t] + h @ whh)
            outs[t] = h
        return stack(outs), None


class LSTM(_RNNBase):
    """LSTM with gates (input, forget, cell, output) in PyTorch's order and layout.

    >>> lstm = ember.nn.LSTM(input_size=3, hidden_size=5)
    >>> out, (h_n, c_n) = lstm(ember.zeros(7, 4, 3))          # (time, batch, features)
    >>> out.shape, h_n.shape, c_n.shape
    (ember.Size([7, 4, 5]), ember.Size([1, 4, 5]), ember.Size([1, 4, 5]))
    >>> lstm.weight_ih_l0.shape                               # 4 gates stacked
    ember.Size([20, 3])
    """

    _gates = 4

    def __init__(self, *args, proj_size=0, **kwargs):
        super().__init__(*args, proj_size=proj_size, **kwargs)

    def _run(self, x, w, h, c, reverse):
        from ..ops.nn_ops import lstm_sequence
        w_ih, w_hh, b_ih, b_hh = w[:4]
        xw = self._project(x, w_ih, b_ih, b_hh)
        if not self.proj_size:
            return lstm_sequence(xw, w_hh.mT, h, c, reverse)
        # with a projection h = (o tanh(c)) W_hr^T: step by step, composed of ops
        w_hr = w[4]
        whh, whr = w_hh.mT, w_hr.mT
        H = self.hidden_size
        xs = xw.unbind(0)
        steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
        hs, cs = [None] * x.shape[0], [None] * x.shape[0]
        for t in steps:
            gates = xs[t] + h @ whh
            i, f = gates[:, :H].sigmoid(), gates[:, H:2 * H].sigmoid()
            g, o = gates[:, 2 * H:3 * H].tanh(), gates[:, 3 * H:].sigmoid()
            c = f * c + i * g
            h = (o * c.tanh()) @ whr
            hs[t], cs[t] = h, c
        return stack(hs), stack(cs)

    def _wave_pairs(self, dirs, low, x, h0, c0):
        # layers (0, 1), (2, 3), ... run as one lstm2_sequence (a wavefront on two threads
        # above a size) when unidirectional, without dropout between them while training and
        # in one float32/float64 dtype; the other cases (and a last odd layer) per layer
        if dirs != 1 or self.num_layers < 2 or low or (self.dropout and self.training) \
                or c0 is None or self.proj_size:
            return ()
        dt = self.weight_ih_l0.dtype
        if dt.name not in ("float32", "float64") or x.dtype != dt or h0.dtype != dt \
                or c0.dtype != dt:
            return ()
        for p in self._parameters.values():
            if p is not None and p.dtype != dt:
                return ()
        return range(0, self.num_layers - 1, 2)

    def _run_pair(self, x, layer, h0, c0):
        """Layers ``layer`` and ``layer + 1`` as one lstm2_sequence: ((hs1, hs2), (cs1, cs2))."""
        from ..ops.nn_ops import lstm2_sequence
        w_ih1, w_hh1, b_ih1, b_hh1 = self._weights(layer, 0)
        w_ih2, w_hh2, b_ih2, b_hh2 = self._weights(layer + 1, 0)
        b1, b2 = (b_ih + b_hh if b_ih is not None else zeros(w_hh.shape[0], dtype=w_hh.dtype)
                  for b_ih, b_hh, w_hh in ((b_ih1, b_hh1, w_hh1), (b_ih2, b_hh2, w_hh2)))
        (hs1, cs1), (hs2, cs2) = lstm2_sequence(
            x, w_ih1.mT, b1, w_hh1.mT, w_ih2.mT, b2, w_hh2.mT, h0[layer:layer + 2],
            c0[layer:layer + 2])
        return (hs1, hs2), (cs1, cs2)


class GRU(_RNNBase):
    """GRU with gates (reset, update, new) in PyTorch's order:
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)); h' = (1 - z) n + z h.

    >>> gru = ember.nn.GRU(3, 5, bidirectional=True)
    >>> out, h_n = gru(ember.zeros(7, 4, 3))
    >>> out.shape, h_n.shape
    (ember.Size([7, 4, 10]), ember.Size([2, 4, 5]))
    """

    _gates = 3

    def _run(self, x, w, h, c, reverse):
        w_ih, w_hh, b_ih, b_hh = w
        xw = self._project(x, w_ih, b_ih, b_hh)
        if _fused_gru(xw, w_hh, b_hh, h):
            from ..ops.nn_ops import gru_sequence
            bhh = b_hh if b_hh is not None else zeros(w_hh.shape[0], dtype=w_hh.dtype)
            return gru_sequence(xw, w_hh.mT, bhh, h, reverse), None
        # mixed precisions (autocast lowers the projection only): the recurrence in ember ops
        xw = xw.unbind(0)
        whh = w_hh.mT.clone()  # contiguous: per-step gradients accumulate without strides
        hs = self.hidden_size
        steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
        outs = [None] * x.shape[0]
        for t in steps:
            gh = h @ whh
            if b_hh is not None:
                gh = gh + b_hh
            gx = xw[t]
            rz = (gx[..., :2 * hs] + gh[..., :2 * hs]).sigmoid()
            r, z = rz[..., :hs], rz[..., hs:]
            n = (gx[..., 2 * hs:] + r * gh[..., 2 * hs:]).tanh()
            h = n + z * (h - n)
            outs[t] = h
        return stack(outs), None


def _fused_gru(xw, w_hh, b_hh, h):
    """Whether the fused gru_sequence kernel runs the recurrence: one float32/float64 dtype
    for the projections, weight, bias and state (else the per-step ember-ops loop)."""
    dt = w_hh.dtype
    return dt.name in ("float32", "float64") and xw.dtype == dt and h.dtype == dt and \
        (b_hh is None or b_hh.dtype == dt)


_autocast.register("mkldnn_rnn_layer", LSTM)
