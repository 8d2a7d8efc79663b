"""PyTorch's ``out=`` keyword on the top-level functions (``torch.mul(a, b, out=c)``).

The function computes its result as usual, then the result is written into ``out``: resized
when its shape differs (with PyTorch's warning when ``out`` had elements), cast to ``out``'s
dtype when the cast stays within PyTorch's rules (no float into an integer tensor, no complex
into a real one, only bool into bool), and ``out`` is returned. Functions that return a tuple
(``max(x, 1)``, ``sort``, ``topk``) take a tuple of tensors. As in PyTorch, ``out=`` does not
record a gradient: an input (or ``out``) that requires grad, with grad mode on, is an error.
Eager only: under jit/grad/vmap assign the result instead.
"""
from __future__ import annotations

import functools
import warnings

import numpy as np

from .core import state as _state
from .core.primitive import Tracer, eager_mode
from .core.tensor import Tensor

# the top-level functions whose PyTorch signature has ``out=`` (from PyTorch's documentation,
# and the ones it accepts without documenting them)
OUT_NAMES = """argmax argmin clamp_max clamp_min cross ger index_add isin log_softmax nansum prod
scatter softmax sum take tensordot true_divide abs acos acosh add addbmm addcdiv addcmul addmm addmv addr all amax amin angle any
arange asin asinh atan atan2 atanh baddbmm bernoulli bitwise_and bitwise_left_shift bitwise_not
bitwise_or bitwise_right_shift bitwise_xor bmm bucketize cat ceil chain_matmul cholesky_solve
clamp clip column_stack complex concat conj_physical copysign cos cosh cummax cummin cumprod
cumsum deg2rad diag diff digamma div dot dstack empty eq erf erfc erfinv exp exp2 expm1 eye fix
float_power floor floor_divide fmax fmin fmod frac full gather gcd ge greater greater_equal gt
heaviside histc hstack hypot index_select inner inverse isneginf isposinf kron kthvalue lcm
ldexp le lerp less less_equal lgamma linspace log log10 log1p log2 logaddexp logaddexp2
logcumsumexp logical_and logical_not logical_or logical_xor logit logspace logsumexp lt
masked_select matmul matrix_power max maximum mean min minimum mm mode msort mul multinomial
multiply mv mvlgamma nan_to_num nanmean nanquantile ne neg negative nextafter nonzero norm
normal not_equal ones outer polar polygamma pow quantile rad2deg rand randint randn randperm
reciprocal remainder renorm round row_stack rsqrt searchsorted sgn sigmoid sign signbit sin
sinc sinh sort sqrt square stack std sub take_along_dim tan tanh topk tril triu trunc var vdot
vstack where xlogy zeros""".split()

_KIND = {"b": 0, "u": 1, "i": 1, "f": 2, "V": 2, "c": 3}  # bool < integer < float < complex


def _store(name, result, out):
    if isinstance(result, tuple):
        if not isinstance(out, (tuple, list)) or len(out) != len(result):
            raise TypeError(f"{name}(): out= takes a tuple of {len(result)} tensors here, got "
                            f"{type(out).__name__}")
        for r, o in zip(result, out):
            _store(name, r, o)
        return type(result)(*out) if hasattr(result, "_fields") else tuple(out)
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be a Tensor, not {type(out).__name__}")
    if not isinstance(result, Tensor):  # a Python number or an array
        from .core.creation import as_tensor
        result = as_tensor(result)
    if isinstance(out, Tracer) or isinstance(result, Tracer) or not eager_mode():
        raise RuntimeError(f"{name}(): out= is not supported under a transform (jit, grad, "
                           f"vmap); use the returned value instead")
    if _state.grad_enabled() and (result.requires_grad or out.requires_grad):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support "
                           f"automatic differentiation, but one of the arguments requires "
                           f"grad; call it without out= (or under ember.no_grad())")
    src, dst = result._data, out._data
    if type(dst) is not np.ndarray:
        raise RuntimeError(f"{name}(): out= needs a CPU tensor, got one on {out.device}")
    if _KIND.get(np.dtype(src.dtype).kind, 2) > _KIND.get(dst.dtype.kind, 2):
        raise RuntimeError(f"{name}(): result type {result.dtype} can't be cast to the desired "
                           f"output type {out.dtype}; pass an out tensor of a wider kind")
    if dst.shape != src.shape:
        if dst.size:
            warnings.warn(
                f"{name}(): an output with one or more elements was resized since it had shape "
                f"{list(dst.shape)}, which does not match the required output shape "
                f"{list(src.shape)}; pass an out tensor of the right shape (or an empty one)",
                UserWarning, stacklevel=3)
        out._data = dst = np.empty(src.shape, dst.dtype)
    np.copyto(dst, src, casting="unsafe")
    out._version[0] += 1
    return out


def with_out(name, fn):
    """``fn`` taking PyTorch's ``out=`` keyword."""
    @functools.wraps(fn)
    def call(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        return _store(name, fn(*args, **kwargs), out)
    return call


def install(namespace):
    """Give each function in ``OUT_NAMES`` found in ``namespace`` (a module's globals) the
    ``out=`` keyword, unless it takes one already."""
    for n in OUT_NAMES:
        fn = namespace.get(n)
        code = getattr(fn, "__code__", None)
        if fn is None or code is not None and "out" in code.co_varnames[
                :code.co_argcount + code.co_kwonlyargcount]:
            continue
        namespace[n] = with_out(n, fn)
