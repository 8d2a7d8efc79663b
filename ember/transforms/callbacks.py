"""Host callbacks: Python functions called with a traced computation's values when it runs,
as ``jax.pure_callback``, ``jax.experimental.io_callback`` and ``jax.debug.callback`` /
``jax.debug.print``.

Three primitives, one per contract:
- ``pure_callback``: a function of its inputs with declared result shapes and dtypes. jit may
  drop it when its results are unused (as JAX does) and merge two identical calls; it has no
  derivative (``custom_jvp``/``custom_vjp`` give it one); under ``vmap`` its ``vmap_method``
  says how it sees the batch.
- ``io_callback``: the same with an effect: jit never drops, merges or reorders it.
- ``debug_callback``: an effect with no results (``debug.print`` is one). Under ``grad`` and
  ``jvp`` it sees the primal values only and runs in the forward pass alone; under ``vmap`` it
  runs once per batch element, in order.

The callback gets ember tensors (JAX gives it ``jax.Array``s) and its results are converted
to the declared dtypes; a result of another shape is an error naming the callback.
"""
from __future__ import annotations

import numpy as np

from ..core import dtypes as _dt
from ..core.primitive import Aval, Primitive, bind
from ..core.tensor import Tensor
from ..ops.elementwise import as_value, moveaxis_to_front
from ..ops.indexing import stack
from ..tree import tree_flatten, tree_unflatten

__all__ = ["pure_callback", "io_callback", "debug_callback", "debug_print"]

_VMAP_METHODS = ("sequential", "sequential_unrolled", "expand_dims", "broadcast_all",
                 "legacy_vectorized")


class _Host:
    """The user's callback behind one bind: takes and gives flat arrays. Hashable by
    identity (jit's CSE and cache compare params)."""

    __slots__ = ("fn", "in_tree", "out_tree", "name")

    def __init__(self, fn, in_tree, out_tree, name):
        self.fn, self.in_tree, self.out_tree, self.name = fn, in_tree, out_tree, name

    def __repr__(self):
        return f"<callback {self.name}>"

    def __call__(self, arrays):
        args, kwargs = tree_unflatten(self.in_tree, [Tensor._wrap(np.asarray(a))
                                                     for a in arrays])
        return self.fn(*args, **kwargs)


def _name(fn):
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def _results(op, host, out, avals):
    """The callback's results as arrays of the declared shapes and dtypes."""
    leaves, tree = tree_flatten(out)
    if tree != host.out_tree:
        raise TypeError(f"{op}: the callback {host.name} returned a value of structure {tree}, "
                        f"but result_shape_dtypes declares {host.out_tree}")
    res = []
    for i, (v, a) in enumerate(zip(leaves, avals)):
        arr = np.asarray(v._data if isinstance(v, Tensor) else v)
        if arr.shape != tuple(a.shape):
            raise ValueError(f"{op}: the callback {host.name} returned result {i} of shape "
                             f"{arr.shape}, but result_shape_dtypes declares {tuple(a.shape)}; "
                             f"return arrays of the declared shapes")
        res.append(np.array(arr, dtype=a.dtype.np, copy=True))
    return tuple(res)


def _call_impl(op):
    def impl(*arrays, callback, result_avals, vmap_method=None):
        return _results(op, callback, callback(arrays), result_avals)
    return impl


def _call_shape(*avals, callback, result_avals, vmap_method=None):
    return list(result_avals)


def _no_derivative(*args, **params):
    raise ValueError("pure_callback / io_callback: a host callback has no derivative rule; "
                     "wrap the function that calls it in ember.custom_jvp or ember.custom_vjp "
                     "to differentiate it")


def _batch_size(op, args, dims):
    sizes = {a.shape[d] for a, d in zip(args, dims) if d is not None}
    if len(sizes) != 1:
        raise ValueError(f"{op}: the batched arguments have different batch sizes {sizes}")
    return sizes.pop()


def _sequential(prim, args, dims, params, n):
    """Bind ``prim`` once per batch element, in order."""
    outs = []
    for i in range(n):
        outs.append(bind(prim, *[a if d is None else moveaxis_to_front(a, d)[i]
                                 for a, d in zip(args, dims)], **params))
    return outs


def _call_batch(prim, op):
    def rule(args, dims, callback, result_avals, vmap_method=None):
        params = dict(callback=callback, result_avals=result_avals, vmap_method=vmap_method)
        n = _batch_size(op, args, dims)
        if vmap_method is None:
            raise NotImplementedError(
                f"{op}: vmap of a callback needs vmap_method= (one of {', '.join(_VMAP_METHODS)})"
                f": 'sequential' calls it once per batch element, 'expand_dims' once with the "
                f"batch as a new leading dim (size 1 on unbatched arguments), 'broadcast_all' "
                f"once with every argument broadcast to the batch")
        if vmap_method in ("sequential", "sequential_unrolled"):
            outs = _sequential(prim, args, dims, params, n)
            res = [stack([o[k] for o in outs]) for k in range(len(result_avals))]
            return res, [0] * len(res)
        moved = []
        for a, d in zip(args, dims):
            if d is not None:
                moved.append(moveaxis_to_front(a, d))
            elif vmap_method == "legacy_vectorized":
                moved.append(a)
            elif vmap_method == "expand_dims":
                moved.append(a.reshape((1,) + tuple(a.shape)))
            else:  # broadcast_all
                moved.append(a.reshape((1,) + tuple(a.shape)).expand(n, *a.shape))
        params["result_avals"] = tuple(Aval((n,) + tuple(a.shape), a.dtype)
                                       for a in result_avals)
        res = list(bind(prim, *moved, **params))
        return res, [0] * len(res)
    return rule


pure_callback_p = Primitive("pure_callback", _call_impl("pure_callback"), shape=_call_shape,
                            multiple_results=True, vjp=_no_derivative, jvp=_no_derivative,
                            allocating=True, foldable=False)
pure_callback_p.batch = _call_batch(pure_callback_p, "pure_callback")

io_callback_p = Primitive("io_callback", _call_impl("io_callback"), shape=_call_shape,
                          multiple_results=True, vjp=_no_derivative, jvp=_no_derivative,
                          allocating=True, foldable=False)
io_callback_p.effectful = True


def _io_rule(args, dims, callback, result_avals, vmap_method=None):
    # io_callback's ``vmap_method`` param carries "ordered" (or None)
    if vmap_method == "ordered":
        raise ValueError("io_callback: an ordered io_callback cannot be vmapped (its calls "
                         "would run in an order the batch does not define); use "
                         "ordered=False")
    return _call_batch(io_callback_p, "io_callback")(args, dims, callback, result_avals,
                                                     "sequential")


io_callback_p.batch = _io_rule


def _debug_impl(*arrays, callback, ordered=False):
    callback(arrays)
    return ()


def _debug_batch(args, dims, callback, ordered=False):
    n = _batch_size("debug_callback", args, dims)
    _sequential(debug_callback_p, args, dims, dict(callback=callback, ordered=ordered), n)
    return [], []


def _debug_jvp_with_primal(primals, tangents, out, callback, ordered=False):
    # the primal values only, once (as JAX: the forward pass prints, the tangents do not)
    return bind(debug_callback_p, *primals, callback=callback, ordered=ordered), []


debug_callback_p = Primitive("debug_callback", _debug_impl,
                             shape=lambda *avals, callback, ordered=False: [],
                             multiple_results=True, jvp=_debug_jvp_with_primal,
                             vjp=lambda ct, out, *args, **params: [None] * len(args),
                             batch=_debug_batch, differentiable=False, foldable=False)
debug_callback_p.effectful = True
debug_callback_p.jvp_with_primal = True


def _result_avals(op, result_shape_dtypes):
    leaves, tree = tree_flatten(result_shape_dtypes)
    avals = []
    for leaf in leaves:
        if not (hasattr(leaf, "shape") and hasattr(leaf, "dtype")):
            raise TypeError(f"{op}: result_shape_dtypes must be a pytree of objects with .shape "
                            f"and .dtype (ember.ShapeDtypeStruct, arrays), got {leaf!r}")
        avals.append(Aval(tuple(int(d) for d in leaf.shape), _dt.as_dtype(leaf.dtype)))
    return tuple(avals), tree


def _flat_args(args, kwargs):
    leaves, tree = tree_flatten((tuple(args), dict(kwargs)))
    return [as_value(a) for a in leaves], tree


def _bind_call(prim, op, callback, result_shape_dtypes, args, kwargs, vmap_method):
    if not callable(callback):
        raise TypeError(f"{op}: the callback must be callable, got {callback!r}")
    avals, out_tree = _result_avals(op, result_shape_dtypes)
    flat, in_tree = _flat_args(args, kwargs)
    host = _Host(callback, in_tree, out_tree, _name(callback))
    outs = bind(prim, *flat, callback=host, result_avals=avals, vmap_method=vmap_method)
    return tree_unflatten(out_tree, list(outs))


def pure_callback(callback, result_shape_dtypes, *args, sharding=None, vmap_method=None,
                  vectorized=None, **kwargs):
    """Call the Python function ``callback(*args, **kwargs)`` on the values when the
    computation runs (also inside ``jit``), as ``jax.pure_callback``. ``result_shape_dtypes``
    is a pytree of ``ShapeDtypeStruct`` (or arrays) that the results must match; they are
    converted to its dtypes. The callback must be pure: jit drops it when nothing reads its
    results. It has no derivative; under ``vmap`` give ``vmap_method`` ('sequential',
    'expand_dims', 'broadcast_all').

    >>> import numpy as np
    >>> f = ember.jit(lambda x: ember.pure_callback(
    ...     lambda a: np.sinc(np.asarray(a)), ember.ShapeDtypeStruct(x.shape, x.dtype), x))
    >>> f(ember.tensor([0., 0.5]))
    tensor([1.0000, 0.6366])
    """
    if vectorized is not None:
        vmap_method = vmap_method or ("legacy_vectorized" if vectorized else "sequential")
    if vmap_method is not None and vmap_method not in _VMAP_METHODS:
        raise ValueError(f"pure_callback: vmap_method must be one of {_VMAP_METHODS} or None, "
                         f"got {vmap_method!r}")
    return _bind_call(pure_callback_p, "pure_callback", callback, result_shape_dtypes, args,
                      kwargs, vmap_method)


def io_callback(callback, result_shape_dtypes, *args, sharding=None, ordered=False, **kwargs):
    """``pure_callback`` for a callback with side effects, as
    ``jax.experimental.io_callback``: jit never drops, merges or reorders it against other
    effects. Under ``vmap`` it runs once per batch element (not when ``ordered=True``).

    >>> seen = []
    >>> f = ember.jit(lambda x: ember.experimental.io_callback(
    ...     lambda a: seen.append(float(a)) or a, ember.ShapeDtypeStruct((), ember.float32), x))
    >>> _ = f(ember.tensor(2.)); _ = f(ember.tensor(3.)); seen
    [2.0, 3.0]
    """
    return _bind_call(io_callback_p, "io_callback", callback, result_shape_dtypes, args,
                      kwargs, "ordered" if ordered else None)


def debug_callback(callback, *args, ordered=False, **kwargs):
    """Call ``callback(*args, **kwargs)`` for its effect when the computation runs, as
    ``jax.debug.callback``: inside ``jit`` with the run's values, under ``vmap`` once per
    batch element, under ``grad`` in the forward pass only. Returns None.

    >>> f = ember.jit(lambda x: (ember.debug.callback(lambda v: print("x is", v), x), x * 2)[1])
    >>> f(ember.tensor(3.))
    x is tensor(3.)
    tensor(6.)
    """
    if not callable(callback):
        raise TypeError(f"debug.callback: the callback must be callable, got {callback!r}")
    flat, in_tree = _flat_args(args, kwargs)
    host = _Host(callback, in_tree, None, _name(callback))
    bind(debug_callback_p, *flat, callback=host, ordered=bool(ordered))


def debug_print(fmt, *args, ordered=False, **kwargs):
    """Print ``fmt.format(*args, **kwargs)`` with the values the computation runs on, as
    ``jax.debug.print``: inside ``jit`` at run time (Python's ``print`` there shows a tracer),
    under ``vmap`` one line per batch element. Arrays are formatted as NumPy formats them.

    >>> f = ember.jit(lambda x: (ember.debug.print("x = {x}, sum {}", x.sum(), x=x), x)[1])
    >>> _ = f(ember.tensor([1., 2.]))
    x = [1. 2.], sum 3.0
    """
    if not isinstance(fmt, str):
        raise TypeError(f"debug.print: the format must be a str, got {type(fmt).__name__}")

    def show(*a, **k):
        a = [np.asarray(v) for v in a]
        k = {n: np.asarray(v) for n, v in k.items()}
        print(fmt.format(*a, **k))
    show.__qualname__ = f"debug.print({fmt!r})"
    debug_callback(show, *args, ordered=ordered, **kwargs)
