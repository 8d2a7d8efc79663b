"""Observers: modules that watch the values passing through them during calibration and
compute a quantization scale and zero point from them (``calculate_qparams``), with
PyTorch's names, defaults and formulas (``torch.ao.quantization.observer``).

An observer's ``forward(x)`` records statistics of ``x`` and returns ``x`` unchanged; its
state is buffers (``min_val``/``max_val``, the histogram), so a prepared model's
``state_dict`` carries the calibration. ``Observer.with_args(**kw)`` makes a factory, as in
PyTorch, for use in a :class:`~ember.ao.quantization.QConfig`.
"""
from __future__ import annotations

import numpy as np

from ...core.tensor import Tensor
from ...nn.module import Module

__all__ = ["ObserverBase", "MinMaxObserver", "MovingAverageMinMaxObserver",
           "PerChannelMinMaxObserver", "MovingAveragePerChannelMinMaxObserver",
           "HistogramObserver", "PlaceholderObserver", "per_tensor_affine",
           "per_tensor_symmetric", "per_channel_affine", "per_channel_symmetric",
           "default_observer", "default_weight_observer", "default_per_channel_weight_observer",
           "default_histogram_observer"]

per_tensor_affine = "per_tensor_affine"
per_tensor_symmetric = "per_tensor_symmetric"
per_channel_affine = "per_channel_affine"
per_channel_symmetric = "per_channel_symmetric"
_SCHEMES = (per_tensor_affine, per_tensor_symmetric, per_channel_affine, per_channel_symmetric)
_EPS = float(np.finfo(np.float32).eps)
_F32 = np.float32


def qdtype_name(dtype) -> str:
    """'quint8' or 'qint8' for the ways a quantized dtype is spelled (a string, ember.uint8 /
    ember.int8, an object named qint8/quint8 such as ``torch.qint8``)."""
    name = dtype if isinstance(dtype, str) else getattr(dtype, "name", None) or str(dtype)
    name = name.replace("torch.", "").replace("ember.", "")
    out = {"quint8": "quint8", "uint8": "quint8", "qint8": "qint8", "int8": "qint8"}.get(name)
    if out is None:
        raise ValueError(f"quantization dtype must be quint8 (uint8) or qint8 (int8), got "
                         f"{dtype!r}")
    return out


def _scheme_name(qscheme):
    name = qscheme if isinstance(qscheme, str) else str(qscheme)
    name = name.replace("torch.", "")
    if name not in _SCHEMES:
        raise ValueError(f"qscheme must be one of {list(_SCHEMES)}, got {qscheme!r}")
    return name


class _Factory:
    """``Observer.with_args(**kw)``: calling it builds the observer with those arguments."""

    def __init__(self, cls, kwargs):
        self.cls, self.kwargs = cls, dict(kwargs)

    def __call__(self, **more):
        return self.cls(**{**self.kwargs, **more})

    def with_args(self, **kw):
        return _Factory(self.cls, {**self.kwargs, **kw})

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        return f"{self.cls.__name__}.with_args({args})"


def _numpy(x):
    return x.detach().numpy() if isinstance(x, Tensor) else np.asarray(x)


class ObserverBase(Module):
    """Common state and the scale/zero-point formulas of PyTorch's uniform observers.

    ``dtype`` quint8 (range [0, 255]) or qint8 ([-128, 127]); ``reduce_range`` drops one bit
    (x86's int16 pair sums stay exact); ``quant_min``/``quant_max`` a custom range (e.g. 4
    bits: -8, 7), which must contain 0.
    """

    def __init__(self, dtype="quint8", qscheme=per_tensor_affine, reduce_range=False,
                 quant_min=None, quant_max=None, eps=_EPS, is_dynamic=False):
        super().__init__()
        self.dtype = qdtype_name(dtype)
        self.qscheme = _scheme_name(qscheme)
        self.reduce_range = bool(reduce_range)
        self.eps = float(eps)
        self.is_dynamic = bool(is_dynamic)
        self.has_customized_qrange = quant_min is not None or quant_max is not None
        if self.has_customized_qrange:
            if quant_min is None or quant_max is None:
                raise ValueError(f"{type(self).__name__}: give both quant_min and quant_max, "
                                 f"got {quant_min} and {quant_max}")
            lo, hi = (0, 255) if self.dtype == "quint8" else (-128, 127)
            if not quant_min <= 0 <= quant_max or quant_min < lo or quant_max > hi:
                raise ValueError(f"{type(self).__name__}: the range [{quant_min}, {quant_max}]"
                                 f" must contain 0 and fit {self.dtype} [{lo}, {hi}]")
            if reduce_range:
                quant_min, quant_max = quant_min // 2, quant_max // 2
            self.quant_min, self.quant_max = int(quant_min), int(quant_max)
        elif self.dtype == "quint8":
            self.quant_min, self.quant_max = (0, 127) if reduce_range else (0, 255)
        else:
            self.quant_min, self.quant_max = (-64, 63) if reduce_range else (-128, 127)

    with_args = classmethod(lambda cls, **kw: _Factory(cls, kw))

    @property
    def symmetric(self):
        return self.qscheme in (per_tensor_symmetric, per_channel_symmetric)

    def observed(self) -> bool:
        """Whether any data has been recorded (convert refuses an observer that saw none)."""
        mn = self._buffers.get("min_val")
        return mn is not None and bool(np.all(np.isfinite(mn.numpy())))

    def _calculate_qparams(self, min_val, max_val):
        """PyTorch's formulas, in float32: affine ``scale = (max - min) / (qmax - qmin)``,
        ``zero_point = qmin - round(min / scale)``; symmetric ``scale = max|.| / ((qmax -
        qmin) / 2)``, zero point 0 (128 for quint8); the range always contains 0; scale at
        least ``eps``."""
        mn = np.minimum(np.asarray(min_val, _F32), _F32(0))
        mx = np.maximum(np.asarray(max_val, _F32), _F32(0))
        qmin, qmax = self.quant_min, self.quant_max
        if self.symmetric:
            m = np.maximum(-mn, mx)
            scale = (m / _F32((qmax - qmin) / 2)).astype(_F32)
            scale = np.maximum(scale, _F32(self.eps))
            if self.dtype == "quint8":
                zp = np.full(scale.shape, (qmin + qmax) // 2 if self.has_customized_qrange
                             else 128, np.int64)
            else:
                zp = np.zeros(scale.shape, np.int64)
        else:
            scale = ((mx - mn) / _F32(qmax - qmin)).astype(_F32)
            scale = np.maximum(scale, _F32(self.eps))
            zp = (qmin - np.rint(mn / scale)).astype(np.int64)
            zp = np.clip(zp, qmin, qmax)
        return Tensor._wrap(np.atleast_1d(scale).astype(_F32)), \
            Tensor._wrap(np.atleast_1d(zp).astype(np.int64))

    def calculate_qparams(self):
        if not self.observed():
            raise RuntimeError(f"{type(self).__name__}.calculate_qparams: no data observed "
                               f"yet; run calibration batches through the model first")
        return self._calculate_qparams(self.min_val.numpy(), self.max_val.numpy())

    def extra_repr(self):
        return f"min_val={self.min_val.numpy()}, max_val={self.max_val.numpy()}"


class MinMaxObserver(ObserverBase):
    """The running minimum and maximum of everything seen.

    >>> obs = ember.ao.quantization.MinMaxObserver()
    >>> _ = obs(ember.tensor([-1.0, 0.5])); _ = obs(ember.tensor([3.0]))
    >>> obs.calculate_qparams()
    (tensor([0.0157]), tensor([64]))
    """

    def __init__(self, dtype="quint8", qscheme=per_tensor_affine, reduce_range=False,
                 quant_min=None, quant_max=None, eps=_EPS, is_dynamic=False, **kwargs):
        super().__init__(dtype, qscheme, reduce_range, quant_min, quant_max, eps, is_dynamic)
        if self.qscheme not in (per_tensor_affine, per_tensor_symmetric):
            raise ValueError(f"{type(self).__name__}: qscheme {self.qscheme!r} is per "
                             f"channel; use PerChannelMinMaxObserver")
        self.register_buffer("min_val", Tensor._wrap(np.asarray(np.inf, _F32)))
        self.register_buffer("max_val", Tensor._wrap(np.asarray(-np.inf, _F32)))

    def _update(self, lo, hi):
        self.min_val = Tensor._wrap(np.minimum(self.min_val.numpy(), lo).astype(_F32))
        self.max_val = Tensor._wrap(np.maximum(self.max_val.numpy(), hi).astype(_F32))

    def forward(self, x):
        a = _numpy(x)
        if a.size:
            a = a.astype(_F32, copy=False)
            self._update(a.min(), a.max())
        return x

    def reset_min_max_vals(self):
        self.min_val = Tensor._wrap(np.asarray(np.inf, _F32))
        self.max_val = Tensor._wrap(np.asarray(-np.inf, _F32))


class MovingAverageMinMaxObserver(MinMaxObserver):
    """min/max as exponential moving averages: ``min += c * (batch_min - min)`` after the
    first batch (``averaging_constant`` c = 0.01), as PyTorch.

    >>> obs = ember.ao.quantization.MovingAverageMinMaxObserver(averaging_constant=0.5)
    >>> _ = obs(ember.tensor([0.0, 2.0])); _ = obs(ember.tensor([0.0, 4.0]))
    >>> obs.max_val
    tensor(3.)
    """

    def __init__(self, averaging_constant=0.01, dtype="quint8", qscheme=per_tensor_affine,
                 reduce_range=False, quant_min=None, quant_max=None, eps=_EPS,
                 is_dynamic=False, **kwargs):
        super().__init__(dtype, qscheme, reduce_range, quant_min, quant_max, eps, is_dynamic)
        self.averaging_constant = float(averaging_constant)

    def _update(self, lo, hi):
        mn, mx = self.min_val.numpy(), self.max_val.numpy()
        if not np.isfinite(mn) or not np.isfinite(mx):
            mn, mx = _F32(lo), _F32(hi)
        else:
            c = _F32(self.averaging_constant)
            mn = mn + c * (_F32(lo) - mn)
            mx = mx + c * (_F32(hi) - mx)
        self.min_val = Tensor._wrap(np.asarray(mn, _F32))
        self.max_val = Tensor._wrap(np.asarray(mx, _F32))


class PerChannelMinMaxObserver(ObserverBase):
    """min/max per slice along ``ch_axis`` (weights: one scale per output channel).

    >>> obs = ember.ao.quantization.PerChannelMinMaxObserver(
    ...     dtype="qint8", qscheme=ember.ao.quantization.per_channel_symmetric)
    >>> _ = obs(ember.tensor([[1.275, -0.5], [0.1, -2.55]]))      # max |.| / 127.5
    >>> obs.calculate_qparams()
    (tensor([0.0100, 0.0200]), tensor([0, 0]))
    """

    def __init__(self, ch_axis=0, dtype="quint8", qscheme=per_channel_affine,
                 reduce_range=False, quant_min=None, quant_max=None, eps=_EPS,
                 is_dynamic=False, **kwargs):
        super().__init__(dtype, qscheme, reduce_range, quant_min, quant_max, eps, is_dynamic)
        if self.qscheme not in (per_channel_affine, per_channel_symmetric):
            raise ValueError(f"{type(self).__name__}: qscheme {self.qscheme!r} is per tensor;"
                             f" use MinMaxObserver")
        self.ch_axis = int(ch_axis)
        self.register_buffer("min_val", Tensor._wrap(np.full((0,), np.inf, _F32)))
        self.register_buffer("max_val", Tensor._wrap(np.full((0,), -np.inf, _F32)))

    def observed(self):
        return self.min_val.numel() > 0 and bool(np.all(np.isfinite(self.min_val.numpy())))

    def _update(self, lo, hi):
        mn, mx = self.min_val.numpy(), self.max_val.numpy()
        if mn.size == 0:
            mn, mx = lo, hi
        else:
            mn, mx = np.minimum(mn, lo), np.maximum(mx, hi)
        self.min_val = Tensor._wrap(np.asarray(mn, _F32))
        self.max_val = Tensor._wrap(np.asarray(mx, _F32))

    def forward(self, x):
        a = _numpy(x)
        if a.size:
            flat = np.moveaxis(a.astype(_F32, copy=False), self.ch_axis, 0).reshape(
                a.shape[self.ch_axis], -1)
            self._update(flat.min(1), flat.max(1))
        return x


class MovingAveragePerChannelMinMaxObserver(PerChannelMinMaxObserver):
    """Per-channel min/max as moving averages (``averaging_constant`` 0.01)."""

    def __init__(self, averaging_constant=0.01, ch_axis=0, dtype="quint8",
                 qscheme=per_channel_affine, reduce_range=False, quant_min=None,
                 quant_max=None, eps=_EPS, is_dynamic=False, **kwargs):
        super().__init__(ch_axis, dtype, qscheme, reduce_range, quant_min, quant_max, eps,
                         is_dynamic)
        self.averaging_constant = float(averaging_constant)

    def _update(self, lo, hi):
        mn, mx = self.min_val.numpy(), self.max_val.numpy()
        if mn.size == 0:
            mn, mx = lo, hi
        else:
            c = _F32(self.averaging_constant)
            mn = mn + c * (lo - mn)
            mx = mx + c * (hi - mx)
        self.min_val = Tensor._wrap(np.asarray(mn, _F32))
        self.max_val = Tensor._wrap(np.asarray(mx, _F32))


def _histc(a, bins, lo, hi):
    """``torch.histc``: ``bins`` equal bins over [lo, hi] (float32 arithmetic), values
    outside ignored, ``hi`` in the last bin."""
    lo, hi = _F32(lo), _F32(hi)
    if hi == lo:  # torch widens an empty range by 1 on each side
        lo, hi = lo - _F32(1), hi + _F32(1)
    a = a[(a >= lo) & (a <= hi)]
    pos = ((a - lo) * _F32(bins) / (hi - lo)).astype(np.int64)
    pos[pos >= bins] = bins - 1
    return np.bincount(pos, minlength=bins).astype(_F32)


class HistogramObserver(ObserverBase):
    """A running histogram (``bins`` = 2048) of the values; ``calculate_qparams`` picks the
    range that minimises the L2 quantization error (PyTorch's search: narrow from the side
    that drops the fewest values until the error grows), then the affine/symmetric formulas.
    Later batches with a wider range re-bin the histogram (upsampled 16x), as PyTorch.

    >>> obs = ember.ao.quantization.HistogramObserver()
    >>> _ = obs(ember.tensor(np.r_[np.linspace(0, 1, 1000), 50.0].astype(np.float32)))
    >>> scale, zero_point = obs.calculate_qparams()   # the outlier 50 is clipped away
    >>> bool(scale < 50 / 255)
    True
    """

    def __init__(self, bins=2048, dtype="quint8", qscheme=per_tensor_affine,
                 reduce_range=False, quant_min=None, quant_max=None, eps=_EPS,
                 is_dynamic=False, **kwargs):
        super().__init__(dtype, qscheme, reduce_range, quant_min, quant_max, eps, is_dynamic)
        if self.qscheme not in (per_tensor_affine, per_tensor_symmetric):
            raise ValueError(f"HistogramObserver: qscheme must be per_tensor_affine or "
                             f"per_tensor_symmetric, got {self.qscheme!r}")
        self.bins = int(bins)
        self.dst_nbins = 256
        self.upsample_rate = 16
        self.register_buffer("histogram", Tensor._wrap(np.zeros(self.bins, _F32)))
        self.register_buffer("min_val", Tensor._wrap(np.asarray(np.inf, _F32)))
        self.register_buffer("max_val", Tensor._wrap(np.asarray(-np.inf, _F32)))

    def forward(self, x):
        a = _numpy(x).astype(_F32, copy=False).ravel()
        a = a[np.isfinite(a)] if not np.all(np.isfinite(a)) else a
        if a.size == 0:
            return x
        lo, hi = a.min(), a.max()
        mn, mx = self.min_val.numpy(), self.max_val.numpy()
        if not np.isfinite(mn) or not np.isfinite(mx):
            hist, new_lo, new_hi = _histc(a, self.bins, lo, hi), lo, hi
        else:
            new_lo, new_hi = min(mn, lo), max(mx, hi)
            update = _histc(a, self.bins, new_lo, new_hi)
            old = self.histogram.numpy()
            if new_lo == mn and new_hi == mx:
                hist = old + update
            elif mn == mx:
                hist = _histc(np.asarray([mn], _F32), self.bins, new_lo, new_hi) * \
                    old.sum() + update
            else:
                hist = update + self._upscale(old, mn, mx, new_lo, new_hi)
        self.histogram = Tensor._wrap(np.asarray(hist, _F32))
        self.min_val = Tensor._wrap(np.asarray(new_lo, _F32))
        self.max_val = Tensor._wrap(np.asarray(new_hi, _F32))
        return x

    def _upscale(self, hist, lo, hi, new_lo, new_hi):
        """The old histogram's mass moved into the new range's bins: each old bin split into
        ``upsample_rate`` parts placed by their midpoints."""
        r, n = self.upsample_rate, self.bins
        fine = np.repeat(hist, r) / _F32(r)
        width = (_F32(hi) - _F32(lo)) / _F32(n * r)
        mids = np.linspace(lo, hi, n * r + 1, dtype=_F32)[:-1] + _F32(0.5) * width
        edges = np.linspace(new_lo, new_hi, n + 1, dtype=_F32)
        idx = np.clip(np.searchsorted(edges, mids, side="right") - 1, 0, n - 1)
        return np.bincount(idx, weights=fine, minlength=n).astype(_F32)

    def _error(self, start, end):
        """L2 error of quantizing the histogram's mass to ``dst_nbins`` levels over the bins
        [start, end] (values uniform within a bin)."""
        bin_width = (float(self.max_val.numpy()) - float(self.min_val.numpy())) / self.bins
        dst_w = bin_width * (end - start + 1) / self.dst_nbins
        if dst_w == 0.0:
            return 0.0
        src = np.arange(self.bins)
        begin = ((src - start) * bin_width).astype(_F32)
        stop = begin + _F32(bin_width)
        last = self.dst_nbins - 1
        d_begin = np.clip(np.floor(begin / _F32(dst_w)), 0, last)
        d_end = np.clip(np.floor(stop / _F32(dst_w)), 0, last)
        density = self.histogram.numpy() / _F32(bin_width)
        half = _F32(dst_w / 2)

        def norm(b, e):
            return density * (e * e * e - b * b * b) / _F32(3)
        total = norm(begin - (d_begin + _F32(0.5)) * _F32(dst_w), half)
        total = total + (d_end - d_begin - 1) * norm(-half, half)
        total = total + norm(-half, stop - (d_end * _F32(dst_w) + half))
        return float(total.astype(_F32).sum(dtype=_F32))

    def _search(self):
        hist = self.histogram.numpy()
        total = float(hist.sum())
        csum = np.cumsum(hist, dtype=_F32)
        step, alpha, beta = 1e-5, 0.0, 1.0
        start, end = 0, self.bins - 1
        best = float("inf")
        while alpha < beta:
            na, nb = alpha + step, beta - step
            lo, hi = start, end
            while lo < end and csum[lo] < na * total:
                lo += 1
            while hi > start and csum[hi] > nb * total:
                hi -= 1
            ns, ne = start, end
            if lo - start > end - hi:
                ns, alpha = lo, na
            else:
                ne, beta = hi, nb
            if ns == start and ne == end:
                continue
            err = self._error(ns, ne)
            if err > best:
                break
            best, start, end = err, ns, ne
        mn, mx = self.min_val.numpy(), self.max_val.numpy()
        width = (mx - mn) / _F32(self.bins)
        return mn + width * _F32(start), mn + width * _F32(end + 1)

    def calculate_qparams(self):
        if not self.observed():
            raise RuntimeError("HistogramObserver.calculate_qparams: no data observed yet; "
                               "run calibration batches through the model first")
        return self._calculate_qparams(*self._search())


class PlaceholderObserver(Module):
    """Records nothing: marks a value to stay in float (``float_qparams`` / dynamic)."""

    def __init__(self, dtype="float32", **kwargs):
        super().__init__()
        self.dtype = dtype

    with_args = classmethod(lambda cls, **kw: _Factory(cls, kw))

    def forward(self, x):
        return x


default_observer = MinMaxObserver.with_args(quant_min=0, quant_max=127)
default_weight_observer = MinMaxObserver.with_args(dtype="qint8", qscheme=per_tensor_symmetric)
default_per_channel_weight_observer = PerChannelMinMaxObserver.with_args(
    dtype="qint8", qscheme=per_channel_symmetric)
default_histogram_observer = HistogramObserver.with_args(quant_min=0, quant_max=127)
