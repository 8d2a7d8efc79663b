"""``jax.test_util``: ``check_grads``, which compares a function's automatic derivatives
with central finite differences, in forward mode (``jvp``) and reverse mode (``vjp``), to any
order.

Forward mode: for a random tangent ``t`` (NumPy's ``RandomState(0)``, as JAX), the tangent
``jvp(f, args, t)`` must equal ``(f(args + eps t) - f(args - eps t)) / (2 eps)``, evaluated
in float64 where ``f`` accepts it (JAX evaluates it in the arguments' dtype: float32's
rounding makes that difference noisy at the tolerance's scale). Reverse
mode: for a random tangent ``t`` and cotangent ``c``, ``<t, vjp(c)>`` must equal
``<numerical jvp(t), c>``. Higher orders check the derivatives of the derivative functions
(``jvp`` of ``f`` as a function of primals and tangents; ``vjp`` of ``f`` pulled back with its
own output). A mismatch raises ``AssertionError`` with both numbers.
"""
from __future__ import annotations

import numpy as np

from .core import dtypes as _dt
from .core.tensor import Tensor
from .ops.elementwise import as_jax_value, cast
from .transforms.jvp import jvp as _jvp
from .transforms.reverse import vjp as _vjp
from .tree import tree_flatten, tree_unflatten

__all__ = ["check_grads", "check_jvp", "check_vjp", "EPS", "default_gradient_tolerance"]

EPS = 1e-4
# per result dtype, used for atol and rtol alike when they are not given (JAX's values)
default_gradient_tolerance = {"float16": 1e-2, "bfloat16": 1e-1, "float32": 2e-3,
                              "float64": 1e-5, "complex64": 1e-3, "complex128": 1e-5}


def _leaves(tree, what):
    leaves, td = tree_flatten(tree)
    out = []
    for x in leaves:
        v = as_jax_value(x)
        if not v.dtype.is_inexact:
            raise TypeError(f"check_grads: {what} has a leaf of dtype {v.dtype} (shape "
                            f"{tuple(v.shape)}); only floating and complex values can be "
                            f"perturbed. Close over integer arguments instead "
                            f"(functools.partial)")
        out.append(v)
    return out, td


def _rand_like(rng, leaves):
    out = []
    for v in leaves:
        shape = tuple(v.shape)
        r = rng.randn(*shape)
        if v.dtype.is_complex:
            r = r + 1j * rng.randn(*shape)
        out.append(cast(as_jax_value(np.asarray(r)), v.dtype))
    return out


def _np(v):
    return np.asarray(v.numpy() if isinstance(v, Tensor) else v)


def _tol(dtype, tol):
    if tol is not None:
        return tol
    return default_gradient_tolerance.get(_dt.as_dtype(dtype).name, 1e-5)


def _check_close(got, want, atol, rtol, err_msg):
    g_leaves, g_def = tree_flatten(got)
    w_leaves, w_def = tree_flatten(want)
    if g_def != w_def:
        raise AssertionError(f"{err_msg}: structures differ: {g_def} vs {w_def}")
    for g, w in zip(g_leaves, w_leaves):
        gv, wv = as_jax_value(g), as_jax_value(w)
        dt = gv.dtype if _dt.as_dtype(gv.dtype).itemsize <= _dt.as_dtype(wv.dtype).itemsize \
            else wv.dtype  # the looser of the two dtypes' tolerances
        n = max(int(np.prod(gv.shape)), 1)  # JAX's bounds grow with the leaf's size
        np.testing.assert_allclose(_np(gv), _np(wv), atol=_tol(dt, atol) * n,
                                   rtol=_tol(dt, rtol) * n, err_msg=err_msg)


_WIDE = {"float16": _dt.float64, "bfloat16": _dt.float64, "float32": _dt.float64,
         "complex64": _dt.complex128}


def _shift(leaves, tangents, eps, wide):
    out = []
    for p, t in zip(leaves, tangents):
        d = _WIDE.get(p.dtype.name, p.dtype) if wide else p.dtype
        out.append(cast(cast(p, d) + eps * cast(t, d), d))
    return out


def _numerical_jvp(f, leaves, td, tangents, eps):
    # f at the shifted points in float64 where it runs there (its rounding in float32 is
    # ~1e-7 / eps of the difference: noise of the order of the tolerance); a function that
    # insists on its dtypes (lax's strict ops) runs in them
    try:
        f_pos = f(*tree_unflatten(td, _shift(leaves, tangents, eps, True)))
        f_neg = f(*tree_unflatten(td, _shift(leaves, tangents, -eps, True)))
    except Exception:  # noqa: BLE001 (any failure of the widened call: the plain one decides)
        f_pos = f(*tree_unflatten(td, _shift(leaves, tangents, eps, False)))
        f_neg = f(*tree_unflatten(td, _shift(leaves, tangents, -eps, False)))
    p_leaves, p_def = tree_flatten(f_pos)
    n_leaves = tree_flatten(f_neg)[0]
    out = []
    for a, b in zip(p_leaves, n_leaves):
        a, b = as_jax_value(a), as_jax_value(b)
        out.append(cast((a - b) * (0.5 / eps), a.dtype))
    return tree_unflatten(p_def, out)


def _inner(xs, ys):
    total = 0.0
    for x, y in zip(tree_flatten(xs)[0], tree_flatten(ys)[0]):
        total += float(np.real(np.vdot(_np(as_jax_value(x)).astype(np.complex128).ravel(),
                                       _np(as_jax_value(y)).ravel())))
    return total


def check_jvp(f, f_jvp, args, atol=None, rtol=None, eps=EPS, err_msg=""):
    """Forward mode: ``f_jvp(args, tangents) -> (out, tangent_out)`` against ``f`` and
    central differences along a random tangent."""
    leaves, td = _leaves(tuple(args), "an argument")
    rng = np.random.RandomState(0)
    tangents = _rand_like(rng, leaves)
    out, t_out = f_jvp(tree_unflatten(td, leaves), tree_unflatten(td, tangents))
    _check_close(out, f(*tree_unflatten(td, leaves)), atol, rtol,
                 f"{err_msg} primal" if err_msg else "primal")
    t_want = _numerical_jvp(f, leaves, td, tangents, eps)
    _check_close(t_out, t_want, atol, rtol, f"{err_msg} tangent" if err_msg else "tangent")


def check_vjp(f, f_vjp, args, atol=None, rtol=None, eps=EPS, err_msg=""):
    """Reverse mode: ``f_vjp(*args) -> (out, vjp_fn)``; ``<t, vjp_fn(c)>`` against
    ``<numerical jvp(t), c>`` for a random tangent ``t`` and cotangent ``c``."""
    leaves, td = _leaves(tuple(args), "an argument")
    out, vjp_fn = f_vjp(*tree_unflatten(td, leaves))
    _check_close(out, f(*tree_unflatten(td, leaves)), atol, rtol,
                 f"{err_msg} primal" if err_msg else "primal")
    rng = np.random.RandomState(0)
    tangents = _rand_like(rng, leaves)
    t_out = _numerical_jvp(f, leaves, td, tangents, eps)
    o_leaves, o_def = _leaves(out, "the output")
    cts = _rand_like(rng, o_leaves)
    ct_in = vjp_fn(tree_unflatten(o_def, [c.conj() if c.dtype.is_complex else c
                                          for c in cts]))
    ct_in = [c.conj() if c.dtype.is_complex else c
             for c in (as_jax_value(x) for x in tree_flatten(ct_in)[0])]
    ip = _inner(tangents, ct_in)
    ip_want = _inner(t_out, cts)
    dt = o_leaves[0].dtype if o_leaves else leaves[0].dtype
    np.testing.assert_allclose(ip, ip_want, atol=_tol(dt, atol), rtol=_tol(dt, rtol),
                               err_msg=f"{err_msg} cotangent projection" if err_msg else
                               "cotangent projection (<tangent, vjp(cotangent)> vs "
                               "<numerical jvp(tangent), cotangent>)")


def check_grads(f, args, order, modes=("fwd", "rev"), atol=None, rtol=None, eps=None):
    """``jax.test_util.check_grads``: ``f``'s derivatives up to ``order`` in the given
    ``modes`` ("fwd": jvp, "rev": vjp) against finite differences with step ``eps``
    (default 1e-4); ``atol``/``rtol`` default by dtype (2e-3 for float32, 1e-5 for
    float64) and, as JAX's, are multiplied by each compared leaf's size. Raises
    ``AssertionError`` naming the check and the numbers on a mismatch.

    >>> from ember.test_util import check_grads
    >>> check_grads(lambda x: (x ** 3).sum(), (ember.tensor([1., 2.], dtype=ember.float64),),
    ...             order=2)
    """
    if isinstance(modes, str):
        modes = (modes,)
    bad = [m for m in modes if m not in ("fwd", "rev")]
    if bad:
        raise ValueError(f"check_grads: unknown mode(s) {bad}; use 'fwd' and/or 'rev'")
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"check_grads: order must be a positive int, got {order!r}")
    if not isinstance(args, (tuple, list)):
        raise TypeError(f"check_grads: args must be a tuple of arguments, got "
                        f"{type(args).__name__}; wrap a single argument as (x,)")
    eps = EPS if eps is None else eps

    def run(fn, a, k, msg):
        if "fwd" in modes:
            m = f"JVP of {msg}" if msg else "JVP"
            check_jvp(fn, lambda p, t: _jvp(fn, tuple(p), tuple(t)), a, atol, rtol, eps, m)
            if k > 1:
                run(lambda p, t: _jvp(fn, tuple(p), tuple(t)), (tuple(a), tuple(a)), k - 1, m)
        if "rev" in modes:
            m = f"VJP of {msg}" if msg else "VJP"
            check_vjp(fn, lambda *p: _vjp(fn, *p), a, atol, rtol, eps, m)
            if k > 1:
                def pulled(*p):
                    out, pull = _vjp(fn, *p)
                    return pull(out)
                run(pulled, a, k - 1, m)
    run(f, tuple(args), order, "")
