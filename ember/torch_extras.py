"""Still more of PyTorch's top-level surface, found by running PyTorch's own operator database
(``benchmarks/opinfo_sweep.py``): the legacy decompositions (``torch.svd``, ``torch.qr``,
``torch.cholesky``), ``cholesky_inverse``, ``atleast_3d``, ``frexp``,
``gradient``, ``i0``, ``put``, ``resize_``, ``unsafe_chunk``/``unsafe_split``, the ``*_copy``
functions (a view op's result as a fresh tensor), ``constant_pad_nd``, ``index_reduce``,
``nonzero_static`` and the short-time Fourier transform (``stft``/``istft``).

Everything is composed from ember's ops, so the differentiable functions work eagerly and
under ``grad``/``vmap``/``jit``.
"""
from __future__ import annotations

import builtins
from collections import namedtuple

import numpy as np

from .core.tensor import Tensor
from .core.creation import as_tensor as _as_tensor
from .ops import shape as _sh, indexing as _ix, slicing as _sl
from .ops import linalg_decomp as _ld
from .ops.tensor_methods import _def_inplace
from .torch_ops import _t, _norm_dim

__all__ = [
    "svd", "qr", "cholesky", "cholesky_inverse", "atleast_3d", "frexp",
    "gradient", "i0", "put", "unsafe_chunk", "unsafe_split", "constant_pad_nd",
    "index_reduce", "nonzero_static", "alias_copy", "diagonal_copy", "expand_copy",
    "permute_copy", "t_copy", "transpose_copy", "unsqueeze_copy", "squeeze_copy",
    "view_copy", "unbind_copy", "unfold_copy", "narrow_copy", "split_with_sizes_copy",
    "as_strided_copy", "detach_copy", "select_copy", "slice_copy", "values_copy", "lu",
    "lu_solve", "lu_unpack", "resize_as_", "geqrf", "orgqr", "ormqr",
]


def _e():
    import ember
    return ember


# ------------------------------------------------------------------ legacy decompositions

_SVD = namedtuple("svd", ["U", "S", "V"])
_QR = namedtuple("qr", ["Q", "R"])


def svd(input, some=True, compute_uv=True):
    """``torch.svd``: ``(U, S, V)`` with ``input = U diag(S) V^H`` — ``V``, not ``Vh`` as
    ``linalg.svd`` returns; ``some=False`` gives square ``U`` and ``V``. With
    ``compute_uv=False``, ``U`` and ``V`` are zeros (as PyTorch).

    >>> U, S, V = ember.svd(ember.tensor([[3., 0.], [0., -2.]]))
    >>> S
    tensor([3., 2.])
    """
    A = _t(input, "svd")
    E = _e()
    if not compute_uv:
        S = E.linalg.svdvals(A)
        m, n = A.shape[-2], A.shape[-1]
        k = builtins.min(m, n)
        bshape = tuple(A.shape[:-2])
        U = E.zeros(bshape + ((m, m) if not some else (m, k)), dtype=A.dtype)
        V = E.zeros(bshape + ((n, n) if not some else (n, k)), dtype=A.dtype)
        return _SVD(U, S, V)
    U, S, Vh = E.linalg.svd(A, full_matrices=not some)
    return _SVD(U, S, Vh.mT.conj() if A.dtype.is_complex else Vh.mT)


def qr(input, some=True):
    """``torch.qr``: ``linalg.qr`` with ``mode='reduced'`` (``some=True``) or
    ``'complete'``."""
    Q, R = _e().linalg.qr(_t(input, "qr"), mode="reduced" if some else "complete")
    return _QR(Q, R)


def cholesky(input, upper=False):
    """``torch.cholesky``: the Cholesky factor, lower (``upper=False``) or upper."""
    return _ld.cholesky(_t(input, "cholesky"), upper=upper)


def cholesky_inverse(input, upper=False):
    """The inverse of ``A = L L^H`` given its Cholesky factor ``L`` (``upper``: ``A = U^H U``
    given ``U``), as ``torch.cholesky_inverse``.

    >>> L = ember.tensor([[2., 0.], [1., 1.]])
    >>> ember.cholesky_inverse(L) @ (L @ L.T)
    tensor([[1., 0.],
            [0., 1.]])
    """
    L = _t(input, "cholesky_inverse")
    _ld._check_matrix("cholesky_inverse", L, square=True)
    L = _ld.triu(L) if upper else _ld.tril(L)  # only the factor's triangle is read
    eye = _ld._eye_like(L)
    eye = eye.expand(tuple(L.shape)) if L.ndim > 2 else eye
    return _e().linalg.cholesky_solve(eye, L, upper=upper)


_Geqrf = namedtuple("geqrf", ["a", "tau"])


def geqrf(input):
    """LAPACK's Householder QR: ``(a, tau)``, R on and above ``a``'s diagonal and the
    reflectors' vectors below it, for ``linalg.householder_product`` and ``ormqr`` (as
    ``torch.geqrf``; not differentiable, as there).

    >>> a, tau = ember.geqrf(ember.tensor([[3., 1.], [4., 2.]]))
    >>> a[0, 0], tau.shape
    (tensor(-5.), ember.Size([2]))
    """
    A = _t(input, "geqrf")
    _ld._check_matrix("geqrf", A)
    a = np.asarray(A.detach().numpy())
    if a.shape[-2] == 0 or a.shape[-1] == 0:
        k = builtins.min(a.shape[-2], a.shape[-1])
        return _Geqrf(_as_tensor(a.copy()), _as_tensor(np.zeros(a.shape[:-2] + (k,), a.dtype)))
    h, tau = np.linalg.qr(a, mode="raw")
    return _Geqrf(_as_tensor(np.ascontiguousarray(np.swapaxes(h, -1, -2)).astype(a.dtype)),
                  _as_tensor(np.asarray(tau).astype(a.dtype)))


def orgqr(input, tau):
    """``linalg.householder_product`` under its LAPACK name (as ``torch.orgqr``)."""
    return _e().linalg.householder_product(input, tau)


def ormqr(input, tau, other, left=True, transpose=False):
    """``Q @ other`` (``left=False``: ``other @ Q``; ``transpose``: with ``Q^H``) for the
    full m x m ``Q`` of the reflectors in ``(input, tau)`` (``geqrf``'s output), as
    ``torch.ormqr``; differentiable."""
    E = _e()
    Q = E.linalg._householder_full(input, tau)
    if transpose:
        Q = Q.mT.conj() if Q.dtype.is_complex else Q.mT
    other = _t(other, "ormqr", "other")
    return Q @ other if left else other @ Q


def lu(A, pivot=True, get_infos=False):
    """``torch.lu`` (``linalg.lu_factor``): ``(LU, pivots)``, and ``infos`` with
    ``get_infos``."""
    E = _e()
    if get_infos:
        return E.linalg.lu_factor_ex(A, pivot=pivot)
    return E.linalg.lu_factor(A, pivot=pivot)


def lu_solve(b, LU_data, LU_pivots):
    """``torch.lu_solve``: ``linalg.lu_solve(LU_data, LU_pivots, b)``."""
    return _e().linalg.lu_solve(LU_data, LU_pivots, b)


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True):
    """``(P, L, U)`` from ``lu``'s result (see ``linalg.lu_unpack``)."""
    return _e().linalg.lu_unpack(LU_data, LU_pivots, unpack_data, unpack_pivots)


# ------------------------------------------------------------------------ small functions

def atleast_3d(*tensors):
    """Each tensor viewed with at least three dimensions (as ``torch.atleast_3d``: a vector
    (n,) becomes (1, n, 1), a matrix (m, n) becomes (m, n, 1)).

    >>> ember.atleast_3d(ember.ones(4)).shape, ember.atleast_3d(ember.ones(2, 3)).shape
    (ember.Size([1, 4, 1]), ember.Size([2, 3, 1]))
    """
    one = len(tensors) == 1
    if one and isinstance(tensors[0], (list, tuple)):
        tensors, one = tensors[0], False
    out = []
    for t in (_t(t, "atleast_3d") for t in tensors):
        s = tuple(t.shape)
        new = (1, 1, 1) if t.ndim == 0 else (1,) + s + (1,) if t.ndim == 1 else \
            s + (1,) if t.ndim == 2 else s
        out.append(t if new == s else _sh.reshape(t, new))
    return out[0] if one else tuple(out)


_Frexp = namedtuple("frexp", ["mantissa", "exponent"])


def frexp(input):
    """Mantissas in (-1, 1) and int32 exponents with ``input = mantissa * 2**exponent``
    (as ``torch.frexp``; the mantissa is differentiable).

    >>> ember.frexp(ember.tensor([8., 0.75]))
    frexp(mantissa=tensor([0.5000, 0.7500]), exponent=tensor([4, 0], dtype=ember.int32))
    """
    x = _t(input, "frexp")
    if not x.dtype.is_floating_point:
        raise TypeError(f"frexp: expected a floating-point tensor, got {x.dtype}")
    _, e = np.frexp(np.asarray(x.detach().numpy()))
    e = np.asarray(e, dtype=np.int32)
    # the mantissa as x * 2^-e (exact): its gradient is 2^-e, as PyTorch's
    scale = np.ldexp(np.ones(e.shape, x.dtype.np), -e)
    return _Frexp(x * _as_tensor(scale), _as_tensor(e))


def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """Derivative estimates along each dim by central differences inside and one-sided
    differences (first or second order, ``edge_order``) at the ends, as ``torch.gradient``:
    ``spacing`` a number (the step), a list of numbers (one step per dim) or a list of
    coordinate tensors. Returns a tuple, one tensor per dim; differentiable.

    >>> ember.gradient(ember.tensor([1., 2., 4., 8.]))
    (tensor([1.0000, 1.5000, 3.0000, 4.0000]),)
    >>> ember.gradient(ember.tensor([1., 4., 9.]), spacing=([0., 1., 3.],))
    (tensor([3.0000, 2.8333, 2.5000]),)
    """
    E = _e()
    x = _t(input, "gradient")
    dims = list(range(x.ndim)) if dim is None else \
        [_norm_dim(d, x.ndim, "gradient") for d in ((dim,) if isinstance(dim, int) else dim)]
    if edge_order not in (1, 2):
        raise ValueError(f"gradient: edge_order must be 1 or 2, got {edge_order}")
    if isinstance(spacing, (list, tuple)):
        if len(spacing) != len(dims):
            raise ValueError(f"gradient: spacing has {len(spacing)} entries but there are "
                             f"{len(dims)} dims to differentiate along")
        steps = list(spacing)
    else:
        steps = [1.0 if spacing is None else spacing] * len(dims)
    if not x.dtype.is_floating_point:
        x = x.to(E.get_default_dtype())
    out = []
    for d, h in zip(dims, steps):
        n = x.shape[d]
        if n < edge_order + 1:
            raise RuntimeError(f"gradient: each dim needs at least edge_order + 1 = "
                               f"{edge_order + 1} samples; dim {d} has {n}")
        sl = lambda a, b: _sl.narrow(x, d, a, b - a)  # noqa: E731
        if isinstance(h, Tensor) or isinstance(h, (list, np.ndarray)):
            c = _t(h, "gradient", "spacing").to(x.dtype)
            if c.ndim != 1 or c.shape[0] != n:
                raise ValueError(f"gradient: coordinates along dim {d} must be a 1-D tensor "
                                 f"of {n} values, got shape {tuple(c.shape)}")
            shp = [1] * x.ndim
            shp[d] = -1
            dx = (c[1:] - c[:-1]).reshape(shp[:d] + [n - 1] + shp[d + 1:])
            hl, hr = _sl.narrow(dx, d, 0, n - 2), _sl.narrow(dx, d, 1, n - 2)
            inner = (hl ** 2 * sl(2, n) - hr ** 2 * sl(0, n - 2) +
                     (hr ** 2 - hl ** 2) * sl(1, n - 1)) / (hl * hr * (hl + hr))
            h0, h1 = _sl.narrow(dx, d, 0, 1), _sl.narrow(dx, d, n - 2, 1)
            if edge_order == 1:
                first = (sl(1, 2) - sl(0, 1)) / h0
                last = (sl(n - 1, n) - sl(n - 2, n - 1)) / h1
            else:
                a1, a2 = h0, _sl.narrow(dx, d, 1, 1)
                first = (-(2 * a1 + a2) / (a1 * (a1 + a2)) * sl(0, 1) +
                         (a1 + a2) / (a1 * a2) * sl(1, 2) - a1 / (a2 * (a1 + a2)) * sl(2, 3))
                b1, b2 = _sl.narrow(dx, d, n - 3, 1), h1
                last = (b2 / (b1 * (b1 + b2)) * sl(n - 3, n - 2) -
                        (b1 + b2) / (b1 * b2) * sl(n - 2, n - 1) +
                        (2 * b2 + b1) / (b2 * (b1 + b2)) * sl(n - 1, n))
        else:
            h = float(h)
            inner = (sl(2, n) - sl(0, n - 2)) / (2 * h)
            if edge_order == 1:
                first = (sl(1, 2) - sl(0, 1)) / h
                last = (sl(n - 1, n) - sl(n - 2, n - 1)) / h
            else:
                first = (-1.5 * sl(0, 1) + 2 * sl(1, 2) - 0.5 * sl(2, 3)) / h
                last = (0.5 * sl(n - 3, n - 2) - 2 * sl(n - 2, n - 1) + 1.5 * sl(n - 1, n)) / h
        out.append(E.cat([first, inner, last], d))
    return tuple(out)


def i0(input):
    """The modified Bessel function of the first kind, order 0 (``torch.i0``)."""
    return _e().special.i0(_t(input, "i0"))


def put(input, index, source, accumulate=False):
    """A copy of ``input`` with ``source`` written at the flat (row-major) positions
    ``index`` — added there when ``accumulate`` (as ``torch.put``); differentiable.

    >>> ember.put(ember.zeros(2, 2), ember.tensor([0, 3]), ember.tensor([1., 2.]))
    tensor([[1., 0.],
            [0., 2.]])
    """
    x = _t(input, "put")
    idx = _t(index, "put", "index")
    src = _t(source, "put", "source")
    if idx.dtype.is_floating_point:
        raise TypeError(f"put: index must hold integers, got {idx.dtype}")
    if idx.numel() != src.numel():
        raise RuntimeError(f"put: index has {idx.numel()} elements but source has "
                           f"{src.numel()}; they must match")
    n = x.numel()
    flat_i = idx.reshape(-1)
    iv = getattr(flat_i, "_data", None)
    if type(iv) is np.ndarray and iv.size:  # concrete indices: checked here
        if iv.max() >= n or iv.min() < -n:
            raise IndexError(f"put: index {int(iv.max() if iv.max() >= n else iv.min())} is "
                             f"out of range for a tensor of {n} elements")
    flat_i = _e().where(flat_i < 0, flat_i + n, flat_i)
    flat = x.reshape(-1)
    s = src.reshape(-1).to(x.dtype)
    out = flat.index_add(0, flat_i, s) if accumulate else flat.index_copy(0, flat_i, s)
    return out.reshape(tuple(x.shape))


def unsafe_chunk(input, chunks, dim=0):
    """``chunk`` (PyTorch's unsafe variant skips a view check that ember never makes)."""
    return _sl.chunk(input, chunks, dim)


def unsafe_split(tensor, split_size_or_sections, dim=0):
    """``split`` (PyTorch's unsafe variant skips a view check that ember never makes)."""
    return _sl.split(tensor, split_size_or_sections, dim)


def constant_pad_nd(input, pad, value=0):
    """``F.pad(input, pad, value=value)``: pad (or crop, with negative amounts) the last
    dims, ``pad`` listing (before, after) pairs from the last dim backwards."""
    return _e().nn.functional.pad(_t(input, "constant_pad_nd"), list(pad), value=value)


def index_reduce(input, dim, index, source, reduce, *, include_self=True):
    """Reduce ``source``'s slices into ``input`` at ``index`` along ``dim`` with
    ``reduce`` in ``'prod'``, ``'mean'``, ``'amax'``, ``'amin'`` (as
    ``torch.index_reduce``; ``include_self=False`` ignores ``input``'s values at the
    indexed slots). Built on ``scatter_reduce``, so differentiable where it is.

    >>> x = ember.ones(3)
    >>> x.index_reduce(0, ember.tensor([0, 0, 2]), ember.tensor([2., 3., 4.]), 'prod')
    tensor([6., 1., 4.])
    """
    x = _t(input, "index_reduce")
    if x.ndim == 0:  # a 0-d tensor is one slot along dim 0
        src = _t(source, "index_reduce", "source")
        return index_reduce(x.reshape(1), 0, index, src.reshape(1), reduce,
                            include_self=include_self).reshape(())
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise ValueError(f"index_reduce: reduce must be 'prod', 'mean', 'amax' or 'amin', "
                         f"got {reduce!r}")
    d = _norm_dim(dim, x.ndim, "index_reduce")
    idx = _t(index, "index_reduce", "index")
    src = _t(source, "index_reduce", "source")
    if idx.ndim != 1 or src.shape[d] != idx.shape[0]:
        raise RuntimeError(f"index_reduce: index must be 1-D with one entry per slice of "
                           f"source along dim {d} ({src.shape[d] if src.ndim else 0}), got "
                           f"shape {tuple(idx.shape)}")
    shp = [1] * src.ndim
    shp[d] = -1
    full_idx = idx.reshape(shp).expand(tuple(src.shape))
    return _e().scatter_reduce(x, d, full_idx, src.to(x.dtype), reduce,
                               include_self=include_self)


def nonzero_static(input, *, size, fill_value=-1):
    """The indices of the nonzero elements as ``nonzero`` gives them, cut or padded (with
    ``fill_value``) to exactly ``size`` rows, so the shape is static (as
    ``torch.nonzero_static``).

    >>> ember.nonzero_static(ember.tensor([0, 3, 0, 4]), size=3)
    tensor([[ 1],
            [ 3],
            [-1]])
    """
    x = _t(input, "nonzero_static")
    nz = np.argwhere(np.asarray(x.detach().numpy()))
    size = int(size)
    if size < 0:
        raise ValueError(f"nonzero_static: size must be >= 0, got {size}")
    out = np.full((size, x.ndim), fill_value, dtype=np.int64)
    k = builtins.min(size, len(nz))
    out[:k] = nz[:k]
    return _as_tensor(out)


# -------------------------------------------------- a view op's result as a fresh tensor

def _copying(name, fn):
    def op(input, *args, **kwargs):
        out = fn(_t(input, name), *args, **kwargs)
        if isinstance(out, (tuple, list)):
            return type(out)(o.clone() for o in out)
        return out.clone()
    op.__name__ = name
    op.__qualname__ = name
    op.__doc__ = f"``{name[:-5]}``'s result as a new tensor (as ``torch.{name}``)."
    return op


alias_copy = _copying("alias_copy", lambda x: x)
detach_copy = _copying("detach_copy", lambda x: x.detach())
diagonal_copy = _copying("diagonal_copy", lambda x, offset=0, dim1=0, dim2=1:
                         x.diagonal(offset, dim1, dim2))
expand_copy = _copying("expand_copy", lambda x, size, *, implicit=False: x.expand(*size))
permute_copy = _copying("permute_copy", lambda x, dims: x.permute(*dims))
t_copy = _copying("t_copy", lambda x: x.t())
transpose_copy = _copying("transpose_copy", lambda x, dim0, dim1: x.transpose(dim0, dim1))
unsqueeze_copy = _copying("unsqueeze_copy", lambda x, dim: x.unsqueeze(dim))
squeeze_copy = _copying("squeeze_copy", lambda x, dim=None: x.squeeze() if dim is None else
                        x.squeeze(dim))
view_copy = _copying("view_copy", lambda x, *shape: x.view(*shape))
unbind_copy = _copying("unbind_copy", lambda x, dim=0: x.unbind(dim))
unfold_copy = _copying("unfold_copy", lambda x, dimension, size, step:
                       x.unfold(dimension, size, step))
narrow_copy = _copying("narrow_copy", lambda x, dim, start, length: x.narrow(dim, start, length))
select_copy = _copying("select_copy", lambda x, dim, index: x.select(dim, index))
slice_copy = _copying("slice_copy", lambda x, dim=0, start=None, end=None, step=1:
                      x[(slice(None),) * _norm_dim(dim, x.ndim, "slice_copy") +
                        (slice(start, end, step),)])
split_with_sizes_copy = _copying("split_with_sizes_copy", lambda x, split_sizes, dim=0:
                                 x.split_with_sizes(split_sizes, dim))
values_copy = _copying("values_copy", lambda x: x.values() if x.is_sparse else x)


def as_strided_copy(input, size, stride, storage_offset=None):
    """``as_strided``'s result as a new tensor (as ``torch.as_strided_copy``)."""
    return _t(input, "as_strided_copy").as_strided(size, stride, storage_offset).clone()


# ---------------------------------------------------------------- Tensor methods

def _resize_(self, *sizes, memory_format=None):
    """Give the tensor a new shape in place: its first elements (row-major) kept, new ones
    uninitialised — zeros here (as ``torch.Tensor.resize_``; not differentiable)."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    sizes = tuple(int(s) for s in sizes)
    if builtins.any(s < 0 for s in sizes):
        raise RuntimeError(f"resize_: sizes must be non-negative, got {sizes}")
    if self.requires_grad:
        raise RuntimeError("resize_: cannot resize a tensor that requires grad")
    old = np.ascontiguousarray(np.asarray(self._data)).reshape(-1)
    n = int(np.prod(sizes)) if sizes else 1
    new = np.zeros(n, old.dtype)
    k = builtins.min(n, old.size)
    new[:k] = old[:k]
    self._data = new.reshape(sizes)
    self._version[0] += 1
    return self


def _resize_as_(self, other, memory_format=None):
    return _resize_(self, tuple(other.shape))


def resize_as_(input, the_template, *, memory_format=None):
    """``input.resize_as_(the_template)``: ``input`` takes the template's shape in place."""
    return _resize_as_(_t(input, "resize_as_"), the_template)


def _as_strided(self, size, stride, storage_offset=None):
    """A view with the given sizes and strides (in elements) over this tensor's elements in
    row-major order from ``storage_offset`` (as ``torch.Tensor.as_strided`` on a contiguous
    tensor; differentiable: it gathers those elements)."""
    size = tuple(int(s) for s in size)
    stride = tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError(f"as_strided: size {size} and stride {stride} must have the same "
                           f"length")
    off = 0 if storage_offset is None else int(storage_offset)
    n = self.numel()
    idx = np.full(size, off, dtype=np.int64)
    for d, (s, st) in enumerate(zip(size, stride)):
        shp = [1] * len(size)
        shp[d] = s
        idx = idx + (np.arange(s, dtype=np.int64) * st).reshape(shp)
    if idx.size and (idx.max() >= n or idx.min() < 0):
        raise RuntimeError(f"as_strided: size {size}, stride {stride} and offset {off} reach "
                           f"element {int(idx.max())}, but the tensor has {n} elements")
    return self.reshape(-1)[_as_tensor(idx)] if size else self.reshape(-1)[off]


def _put_method(self, index, source, accumulate=False):
    return put(self, index, source, accumulate)


def _index_reduce_method(self, dim, index, source, reduce, *, include_self=True):
    return index_reduce(self, dim, index, source, reduce, include_self=include_self)


for _n, _f in {"put": _put_method, "index_reduce": _index_reduce_method,
               "resize_": _resize_, "resize_as_": _resize_as_, "as_strided": _as_strided,
               "frexp": frexp, "i0": i0,
               "cholesky_inverse": cholesky_inverse, "svd": svd, "qr": qr,
               "cholesky": cholesky, "unsafe_chunk": unsafe_chunk, "lu": lu,
               "lu_solve": lu_solve,
               "unsafe_split": unsafe_split, "nonzero_static": nonzero_static}.items():
    if not hasattr(Tensor, _n):
        setattr(Tensor, _n, _f)
for _n in ("put", "index_reduce", "i0"):
    if not hasattr(Tensor, _n + "_"):
        _def_inplace(_n, getattr(Tensor, _n))
del _n, _f


def as_strided(input, size, stride, storage_offset=None):
    """``input.as_strided(size, stride, storage_offset)`` (see ``Tensor.as_strided``)."""
    return _as_strided(_t(input, "as_strided"), size, stride, storage_offset)


__all__.append("as_strided")


# ------------------------------------------------------------ short-time Fourier transform

def _stft_window(window, win_length, n_fft, dtype, op):
    E = _e()
    win_length = n_fft if win_length is None else int(win_length)
    if not 0 < win_length <= n_fft:
        raise RuntimeError(f"{op}: expected 0 < win_length <= n_fft ({n_fft}), got "
                           f"{win_length}")
    if window is None:
        w = E.ones(win_length, dtype=dtype)
    else:
        w = _t(window, op, "window")
        if w.ndim != 1 or w.shape[0] != win_length:
            raise RuntimeError(f"{op}: expected a 1-D window of win_length = {win_length} "
                               f"values, got shape {tuple(w.shape)}")
    left = (n_fft - win_length) // 2  # centred in n_fft, as PyTorch
    if left or n_fft - win_length - left:
        w = E.nn.functional.pad(w, (left, n_fft - win_length - left))
    return w


def stft(input, n_fft, hop_length=None, win_length=None, window=None, center=True,
         pad_mode="reflect", normalized=False, onesided=None, return_complex=None):
    """The short-time Fourier transform (as ``torch.stft``): frames of ``n_fft`` samples,
    ``hop_length`` apart (default ``n_fft // 4``), times ``window`` (``win_length`` values,
    zero-padded to ``n_fft`` in the middle; a rectangle when None), Fourier-transformed.
    ``center`` pads ``n_fft // 2`` samples on each side (``pad_mode``) so that frame ``t`` is
    centred on sample ``t * hop_length``. Returns (..., freqs, frames): complex with
    ``return_complex=True`` (which real inputs must say, as in PyTorch), or the real and
    imaginary parts in a last dim of 2 with ``False``; ``onesided`` (default for real input)
    keeps the ``n_fft // 2 + 1`` non-negative frequencies; ``normalized`` scales by
    ``n_fft ** -0.5``. Differentiable.

    >>> spec = ember.stft(ember.ones(16), 8, hop_length=4, window=ember.hann_window(8),
    ...                   return_complex=True)
    >>> spec.shape, spec.dtype
    (ember.Size([5, 5]), ember.complex64)
    """
    E = _e()
    x = _t(input, "stft")
    if x.ndim not in (1, 2):
        raise RuntimeError(f"stft: expected a 1-D signal or a 2-D batch of signals, got shape "
                           f"{tuple(x.shape)}")
    complex_in = x.dtype.is_complex or (window is not None and _t(window, "stft").dtype.is_complex)
    if return_complex is None:
        if not complex_in:
            raise RuntimeError("stft: return_complex must be given for real inputs; "
                               "return_complex=True gives a complex tensor (recommended), "
                               "False its real and imaginary parts in a last dim of 2")
        return_complex = True
    n_fft = int(n_fft)
    hop = n_fft // 4 if hop_length is None else int(hop_length)
    if n_fft <= 0 or hop <= 0:
        raise RuntimeError(f"stft: n_fft ({n_fft}) and hop_length ({hop}) must be positive")
    batched = x.ndim == 2
    x = x if batched else x.reshape(1, -1)
    if not x.dtype.is_floating_point and not x.dtype.is_complex:
        x = x.to(E.get_default_dtype())
    if center:
        p = n_fft // 2
        x = E.nn.functional.pad(x.unsqueeze(1), (p, p), mode=pad_mode).squeeze(1)
    if x.shape[-1] < n_fft:
        raise RuntimeError(f"stft: the (padded) signal has {x.shape[-1]} samples, fewer than "
                           f"n_fft = {n_fft}")
    real_dtype = x.real.dtype if x.dtype.is_complex else x.dtype
    w = _stft_window(window, win_length, n_fft, real_dtype, "stft")
    frames = x.unfold(-1, n_fft, hop) * w  # (B, frames, n_fft)
    onesided = (not complex_in) if onesided is None else bool(onesided)
    if onesided and complex_in:
        raise RuntimeError("stft: onesided=True needs a real input and window")
    spec = E.fft.rfft(frames, dim=-1) if onesided else E.fft.fft(frames, dim=-1)
    if normalized:
        spec = spec * (n_fft ** -0.5)
    spec = spec.transpose(-1, -2)  # (B, freqs, frames)
    if not batched:
        spec = spec.squeeze(0)
    return spec if return_complex else E.view_as_real(spec)


def istft(input, n_fft, hop_length=None, win_length=None, window=None, center=True,
          normalized=False, onesided=None, length=None, return_complex=False):
    """The inverse of ``stft`` (as ``torch.istft``): each frame's inverse Fourier transform
    times the window, overlap-added and divided by the summed squared window, the centre
    padding cut (``length`` trims or zero-pads the result). ``input`` is complex (..., freqs,
    frames). Raises when the window's overlap leaves a sample with a zero envelope (the
    NOLA condition). Differentiable.

    >>> x = ember.randn(64)
    >>> w = ember.hann_window(16)
    >>> y = ember.istft(ember.stft(x, 16, 4, window=w, return_complex=True), 16, 4, window=w,
    ...                 length=64)
    >>> bool(ember.allclose(x, y, atol=1e-5))
    True
    """
    E = _e()
    spec = _t(input, "istft")
    if not spec.dtype.is_complex:
        raise RuntimeError(f"istft: expected a complex spectrogram (stft's return_complex=True), "
                           f"got {spec.dtype}; for real/imaginary parts in a last dim of 2 use "
                           f"ember.view_as_complex first")
    if spec.ndim not in (2, 3):
        raise RuntimeError(f"istft: expected (freqs, frames) or (batch, freqs, frames), got "
                           f"shape {tuple(spec.shape)}")
    batched = spec.ndim == 3
    spec = spec if batched else spec.unsqueeze(0)
    n_fft = int(n_fft)
    hop = n_fft // 4 if hop_length is None else int(hop_length)
    onesided = (spec.shape[-2] != n_fft) if onesided is None else bool(onesided)
    expect = n_fft // 2 + 1 if onesided else n_fft
    if spec.shape[-2] != expect:
        raise RuntimeError(f"istft: expected {expect} frequencies for n_fft = {n_fft} "
                           f"(onesided={onesided}), got {spec.shape[-2]}")
    frames = spec.transpose(-1, -2)  # (B, T, freqs)
    if normalized:
        frames = frames * (n_fft ** 0.5)
    if onesided:
        if return_complex:
            raise RuntimeError("istft: return_complex=True needs a two-sided spectrogram")
        sig = E.fft.irfft(frames, n=n_fft, dim=-1)
    else:
        sig = E.fft.ifft(frames, dim=-1)
        if not return_complex:
            sig = sig.real
    real_dtype = sig.real.dtype if sig.dtype.is_complex else sig.dtype
    w = _stft_window(window, win_length, n_fft, real_dtype, "istft")
    sig = sig * w
    B, T = sig.shape[0], sig.shape[1]
    total = n_fft + hop * (T - 1)
    idx = (np.arange(T)[:, None] * hop + np.arange(n_fft)[None, :]).reshape(-1)
    it = _as_tensor(idx)
    out = E.zeros((B, total), dtype=sig.dtype).index_add(1, it, sig.reshape(B, -1))
    env = np.zeros(total)
    wn = np.asarray(w.detach().numpy(), dtype=np.float64)
    np.add.at(env, idx, np.tile(wn * wn, T))
    start = n_fft // 2 if center else 0
    end = total - n_fft // 2 if center else total
    if length is not None:
        end = start + int(length)
    seg = env[start:builtins.min(end, total)]
    if seg.size and np.abs(seg).min() < 1e-11:
        raise RuntimeError("istft: the window's overlap-add envelope is zero somewhere (the "
                           "NOLA condition fails); use a window and hop_length whose squared "
                           "windows overlap everywhere, e.g. hann_window(n_fft) with "
                           "hop_length <= n_fft // 2")
    out = out[:, start:builtins.min(end, total)] / _as_tensor(seg).to(real_dtype)
    if length is not None and out.shape[-1] < int(length):
        out = E.nn.functional.pad(out, (0, int(length) - out.shape[-1]))
    return out if batched else out.squeeze(0)


__all__ += ["stft", "istft"]
for _n, _f in (("stft", stft), ("istft", istft)):
    if not hasattr(Tensor, _n):
        setattr(Tensor, _n, _f)
del _n, _f


def _lowrank_args(A, q, niter, op):
    E = _e()
    A = _t(A, op, "A")
    if A.ndim < 2:
        raise ValueError(f"{op}: A must be a matrix or a batch of matrices, got shape "
                         f"{tuple(A.shape)}")
    m, n = A.shape[-2:]
    if q is None:
        q = min(6, m, n)
    if not 0 <= q <= min(m, n):
        raise ValueError(f"{op}: q={q} must be in [0, min(m, n)] = [0, {min(m, n)}] for A of "
                         f"shape {tuple(A.shape)}")
    if niter < 0:
        raise ValueError(f"{op}: niter={niter} must be >= 0")
    if not A.dtype.is_inexact:
        A = A.to(E.get_default_dtype())
    return A, q


def svd_lowrank(A, q=6, niter=2, M=None):
    """A rank-``q`` SVD ``(U, S, V)`` of ``A - M`` (``M`` broadcast to ``A``; None: 0) by a
    randomized range finder with ``niter`` subspace iterations (Halko, Martinsson and Tropp,
    2011), as ``torch.svd_lowrank``; exact when ``A - M`` has rank <= ``q``. The random
    matrix comes from ember's global generator (``ember.manual_seed``); differentiable.
    ``A ~ U diag(S) V^H``.

    >>> a = ember.tensor([[3., 0.], [0., 1.], [0., 0.]])
    >>> U, S, V = ember.svd_lowrank(a, q=2)
    >>> S
    tensor([3.0000, 1.0000])
    """
    E = _e()
    A, q = _lowrank_args(A, q if q is not None else 6, niter, "svd_lowrank")
    if M is not None:
        A = A - _t(M, "svd_lowrank", "M").to(A.dtype)
    m, n = A.shape[-2:]
    if m < n:  # the range finder on the taller side
        V, S, U = svd_lowrank(A.mT.conj(), q, niter)
        return U, S, V
    AH = A.mT.conj()
    R = E.randn(*A.shape[:-2], n, q, dtype=A.dtype)
    Q = E.linalg.qr(A @ R).Q
    for _ in range(niter):
        Q = E.linalg.qr(AH @ Q).Q
        Q = E.linalg.qr(A @ Q).Q
    B = Q.mT.conj() @ A
    Ub, S, Vh = E.linalg.svd(B, full_matrices=False)
    return Q @ Ub, S, Vh.mT.conj()


def pca_lowrank(A, q=None, center=True, niter=2):
    """Principal components of the rows of ``A`` (``torch.pca_lowrank``): ``svd_lowrank`` of
    ``A`` minus its column means (when ``center``), rank ``q`` (default ``min(6, m, n)``);
    ``V``'s columns are the principal directions, ``S**2 / (m - 1)`` their variances.

    >>> a = ember.tensor([[1., 0.], [-1., 0.], [0., 2.], [0., -2.]])
    >>> ember.pca_lowrank(a, q=2)[1]
    tensor([2.8284, 1.4142])
    """
    A, q = _lowrank_args(A, q, niter, "pca_lowrank")
    if not center:
        return svd_lowrank(A, q, niter)
    return svd_lowrank(A, q, niter, M=A.mean(-2, keepdim=True))


__all__ += ["svd_lowrank", "pca_lowrank"]
