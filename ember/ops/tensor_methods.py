"""Operators, conversions and autograd methods of Tensor, and the in-place op machinery."""
from __future__ import annotations

import numpy as np

from ..backend import namespace
from ..core import dtypes as _dt
from ..core import autograd as _ag
from ..core import state as _state
from ..core.state import autocast_threads as _ac
from ..core.tensor import Tensor, device as _device
from . import device_ops as _device_ops
from . import elementwise
from . import shape
from . import linalg as _linalg
from ..core.primitive import bind, Tracer as _Tracer
from .registry_helpers import method

# ---- arithmetic operators -------------------------------------------------------------


def _r(fn):
    return lambda self, other: fn(other, self)


def _binop(prim):
    impl = prim.impl
    levels = _state.transform_levels
    grad_off = _state.grad_off_threads
    layers = _state.eager_layers
    tls = _state.tls
    wrap = Tensor._wrap

    def op(self, other):
        if type(other) is Tensor and type(self) is Tensor and \
                self._data.dtype is other._data.dtype:
            # (an eager layer, e.g. the profiler, raises levels[0]: bind must see the op)
            if (not levels[0] or (len(tls.stack) == 1 and not layers[0])) and not (
                    (self.requires_grad or other.requires_grad) and
                    (not grad_off[0] or tls.grad_enabled)):
                # nothing to record and no transform active: straight to the kernel
                try:
                    return wrap(impl(self._data, other._data))
                except Exception:
                    pass  # let bind raise its descriptive error
            return bind(prim, self, other)
        return bind(prim, *elementwise._binary_args(self, other))
    return op


def _rbinop(prim):
    def op(self, other):
        return bind(prim, *elementwise._binary_args(other, self))
    return op


Tensor.__add__ = _binop(elementwise.add_p)
Tensor.__radd__ = _rbinop(elementwise.add_p)
Tensor.__sub__ = _binop(elementwise.sub_p)
Tensor.__rsub__ = _rbinop(elementwise.sub_p)
Tensor.__mul__ = _binop(elementwise.mul_p)
Tensor.__rmul__ = _rbinop(elementwise.mul_p)
Tensor.__truediv__ = lambda self, other: elementwise.div(self, other)
Tensor.__rtruediv__ = lambda self, other: elementwise.div(other, self)
Tensor.__floordiv__ = lambda self, other: elementwise.div(self, other, rounding_mode="floor")
Tensor.__rfloordiv__ = lambda self, other: elementwise.div(other, self, rounding_mode="floor")
Tensor.__mod__ = elementwise.remainder
Tensor.__rmod__ = _r(elementwise.remainder)
Tensor.__pow__ = lambda self, other: elementwise.pow(self, other)
Tensor.__rpow__ = lambda self, other: elementwise.pow(other, self)
Tensor.__neg__ = elementwise.neg
Tensor.__pos__ = lambda self: self
Tensor.__abs__ = elementwise.abs
Tensor.__invert__ = elementwise.bitwise_not
Tensor.__and__ = elementwise.bitwise_and
Tensor.__rand__ = _r(elementwise.bitwise_and)
Tensor.__or__ = elementwise.bitwise_or
Tensor.__ror__ = _r(elementwise.bitwise_or)
Tensor.__xor__ = elementwise.bitwise_xor
Tensor.__lshift__ = elementwise.bitwise_left_shift
Tensor.__rlshift__ = _r(elementwise.bitwise_left_shift)
Tensor.__rshift__ = elementwise.bitwise_right_shift
Tensor.__rrshift__ = _r(elementwise.bitwise_right_shift)
Tensor.__rxor__ = _r(elementwise.bitwise_xor)


def _compare(fn):
    """A comparison operator as PyTorch's: an operand that is not a tensor, a number or an
    array (None, a string, an arbitrary object) makes it return NotImplemented, so Python
    answers ``t == None`` with False and ``t != None`` with True (``if idx_next == eos_id``
    with ``eos_id=None``), and ``t < None`` raises Python's TypeError."""
    def op(self, other):
        if other is None or isinstance(other, (str, bytes)):
            return NotImplemented
        if isinstance(other, (Tensor, int, float, complex, np.ndarray, np.generic, list, tuple)):
            return fn(self, other)
        try:
            return fn(self, other)
        except TypeError:
            return NotImplemented
    op.__name__ = op.__qualname__ = f"__{fn.__name__}__"
    op.__doc__ = fn.__doc__
    return op


Tensor.__eq__ = _compare(elementwise.eq)
Tensor.__ne__ = _compare(elementwise.ne)
Tensor.__lt__ = _compare(elementwise.lt)
Tensor.__le__ = _compare(elementwise.le)
Tensor.__gt__ = _compare(elementwise.gt)
Tensor.__ge__ = _compare(elementwise.ge)


def _matmul(self, other):
    if type(other) is Tensor and type(self) is Tensor and not _ac[0]:
        a, b = self._data, other._data
        if a.ndim >= 2 and b.ndim >= 2 and a.dtype is b.dtype and a.shape[-1] == b.shape[-2]:
            return bind(_linalg.matmul_p, self, other)
    return _linalg.matmul(self, other)


Tensor.__matmul__ = _matmul
def _rmatmul(self, other):
    """``ndarray @ tensor``, which PyTorch refuses: JAX's meaning (``jnp.matmul``), the NumPy
    operand canonicalized (float64 -> float32 unless 64-bit mode) and both promoted to one
    dtype, so a JAX program's float64 data times float32 weights stays float32."""
    o = elementwise.as_jax_value(other)
    if o.dtype is not self.dtype:
        d = _dt.result_type(o, self)
        o, x = elementwise.cast(o, d), elementwise.cast(self, d)
        return _linalg.matmul(o, x)
    return _linalg.matmul(o, self)


Tensor.__rmatmul__ = _rmatmul


# ---- dtype / device conversion --------------------------------------------------------

@method
def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False,
       memory_format=None):
    """Convert dtype and/or device: ``x.to(ember.float64)``, ``x.to('cpu')``, ``x.to(other)``.

    >>> x = ember.tensor([1.5, 2.5])
    >>> x.to(ember.float64).dtype, x.to(ember.int64), x.to("cpu") is x
    (ember.float64, tensor([1, 2]), True)
    """
    flags = [a for a in args if isinstance(a, bool)]  # (..., non_blocking, copy) positional
    if flags:
        args = tuple(a for a in args if not isinstance(a, bool))
        non_blocking = flags[0]
        copy = copy or (len(flags) > 1 and flags[1])
    for a in args:
        if isinstance(a, Tensor):
            dtype = a.dtype
            device = _device_ops.source_device(a)
        elif isinstance(a, (str, _device)) and not _is_dtype_name(a):
            device = a
        else:
            dtype = a
    out = self if dtype is None else elementwise.cast(self, _dt.as_dtype(dtype))
    if device is not None:
        out = _device_ops.device_put(out, device)
    if copy and out is self:
        out = clone(self)
    if memory_format is not None:
        out = shape.relayout(out, memory_format, "to")
    return out


def _is_dtype_name(a):
    if not isinstance(a, str):
        return False
    try:
        _dt.as_dtype(a)
        return True
    except TypeError:
        return False


def _caster(d):
    def cast(self, memory_format=None):
        out = elementwise.cast(self, d)
        return out if memory_format is None else shape.relayout(out, memory_format, "to")
    return cast


Tensor.float = _caster(_dt.float32)
Tensor.double = _caster(_dt.float64)
Tensor.half = _caster(_dt.float16)
Tensor.long = _caster(_dt.int64)
Tensor.int = _caster(_dt.int32)
Tensor.short = _caster(_dt.int16)
Tensor.char = _caster(_dt.int8)
Tensor.cfloat = _caster(_dt.complex64)
Tensor.cdouble = _caster(_dt.complex128)
Tensor.byte = _caster(_dt.uint8)
Tensor.bool = _caster(_dt.bool_)
if _dt.bfloat16 is not None:
    Tensor.bfloat16 = _caster(_dt.bfloat16)
Tensor.type_as = lambda self, other: elementwise.cast(self, other.dtype)


# PyTorch's legacy tensor type names, by dtype (``x.type()``, ``ember.FloatTensor``, ...)
LEGACY_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "int64": "LongTensor",
                     "int32": "IntTensor", "bool": "BoolTensor", "float16": "HalfTensor",
                     "uint8": "ByteTensor", "int8": "CharTensor", "int16": "ShortTensor",
                     "bfloat16": "BFloat16Tensor"}
_LEGACY_DTYPES = {v: k for k, v in LEGACY_TYPE_NAMES.items()}


def _type_method(self, dtype=None, non_blocking=False):
    """``x.type()``: the legacy type name (``"ember.FloatTensor"``); ``x.type(t)``: ``x`` cast
    to ``t``, a dtype, a legacy type (``ember.LongTensor``) or its name (``"torch.LongTensor"``
    is accepted too)."""
    if dtype is None:
        return "ember." + LEGACY_TYPE_NAMES[self.dtype.name]
    legacy = getattr(dtype, "dtype", None) if isinstance(dtype, type) else None
    if legacy is not None:
        dtype = legacy
    elif isinstance(dtype, str) and dtype.rpartition(".")[2] in _LEGACY_DTYPES:
        dtype = _LEGACY_DTYPES[dtype.rpartition(".")[2]]
    return elementwise.cast(self, dtype)


Tensor.type = _type_method


# ---- autograd methods -----------------------------------------------------------------

@method
def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (PyTorch semantics).

    >>> x = ember.tensor([1., 2.], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4.])
    >>> y = x * 3                                  # a non-scalar output needs a gradient
    >>> y.backward(ember.tensor([1., 0.]))
    >>> x.grad                                     # accumulated
    tensor([5., 4.])
    """
    _ag.backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph,
                 inputs=inputs)


@method
def block_until_ready(self):
    """``self``: NumPy computes synchronously (JAX's method, for code that calls it)."""
    return self


@method
def requires_grad_(self, requires_grad=True):
    """Sets ``requires_grad`` on a leaf tensor, in place; returns it.

    >>> w = ember.zeros(2).requires_grad_()
    >>> w.requires_grad, w.is_leaf
    (True, True)
    """
    if requires_grad and not self.dtype.is_inexact:
        raise RuntimeError(f"requires_grad_: only floating point and complex tensors can require gradients, "
                           f"got {self.dtype}; convert with .float() first")
    if not requires_grad and self._node is not None:
        raise RuntimeError("requires_grad_(False): this tensor is not a leaf (it was computed "
                           "from tensors that require grad); use .detach() instead")
    self.requires_grad = bool(requires_grad)
    return self


@method
def detach(self):
    """A tensor sharing data with this one but cut off from the graph (under a transform:
    ``stop_gradient``).

    >>> x = ember.tensor([1., 2.], requires_grad=True)
    >>> y = (x * 2).detach()
    >>> y.requires_grad, y.grad_fn is None
    (False, True)
    """
    if isinstance(self, _Tracer):
        return bind(elementwise.stop_gradient_p, self)
    t = Tensor._wrap(self._data)
    t._version = self._version
    return t


@method
def detach_(self):
    self._node = None
    self.requires_grad = False
    return self


def _clone_impl(x, order="K"):
    return namespace(x).array(x, copy=True, order=order)


from ..core.primitive import Primitive, Aval  # noqa: E402

# copy(x, order): a copy in x's memory order ("K") or row-major ("C": contiguous())
copy_p = Primitive("copy", _clone_impl, shape=lambda x, **_: Aval(x.shape, x.dtype), linear=True,
                   allocating=True,
                   vjp=lambda ct, out, x, **_: (ct,), jvp=lambda p, t, out, **_: t[0])
copy_p.batch = lambda args, dims, **params: (bind(copy_p, args[0], **params), dims[0])


@method
def clone(self, memory_format=None):
    """A copy of the data that stays in the graph (gradients flow back).

    >>> x = ember.tensor([1., 2.], requires_grad=True)
    >>> y = x.clone()
    >>> y.sum().backward()
    >>> x.grad
    tensor([1., 1.])
    """
    from ..core.memory_format import contiguous_format, preserve_format
    x = elementwise.as_value(self)
    if memory_format is None or memory_format is preserve_format:
        return bind(copy_p, x)
    if memory_format is contiguous_format:
        return bind(copy_p, x, order="C")
    return shape.relayout(bind(copy_p, x), memory_format, "clone")


@method
def register_hook(self, hook):
    """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new grad.

    >>> x = ember.tensor([1., 2.], requires_grad=True)
    >>> handle = x.register_hook(lambda grad: grad * 10)
    >>> x.sum().backward()
    >>> x.grad
    tensor([10., 10.])
    """
    if not self.requires_grad:
        raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't "
                           "require grad")
    if self._node is None:
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        lst, node = self._hooks, None
    else:
        node = self._node
        if node.hooks is None:
            node.hooks = {}
        lst = node.hooks.setdefault(self._oidx, [])
        lst.append(hook)

    class _Handle:
        def remove(self_):
            if hook in lst:
                lst.remove(hook)
    return _Handle()


@method
def register_post_accumulate_grad_hook(self, hook):
    """Call ``hook(tensor)`` in each backward pass as soon as this leaf's ``.grad`` has been
    accumulated (before the rest of the pass runs, when the leaf is done early); returns a
    handle whose ``.remove()`` unregisters it (as PyTorch)."""
    if not callable(hook):
        raise TypeError(f"register_post_accumulate_grad_hook: the hook must be callable, "
                        f"got {type(hook).__name__}")
    if not self.requires_grad:
        raise RuntimeError("register_post_accumulate_grad_hook: cannot register a hook on a "
                           "tensor that doesn't require grad; call .requires_grad_() first")
    if self._node is not None:
        raise RuntimeError(
            f"register_post_accumulate_grad_hook: only leaf tensors accumulate a .grad, but "
            f"this tensor (shape {tuple(self.shape)}) is the output of {self._node.name}"
            f"Backward. Register it on the leaf, or use register_hook for non-leaf tensors.")
    if self._post_acc_hooks is None:
        self._post_acc_hooks = []
    lst = self._post_acc_hooks
    lst.append(hook)

    class _Handle:
        def remove(self_):
            if hook in lst:
                lst.remove(hook)
    return _Handle()


@method
def retain_grad(self):
    """Keep ``.grad`` of a non-leaf tensor after backward.

    >>> x = ember.tensor([1., 2.], requires_grad=True)
    >>> y = x * 2
    >>> y.retain_grad()
    >>> (y * y).sum().backward()
    >>> y.grad
    tensor([4., 8.])
    """
    if self._node is None:
        return
    if self._retains_grad:
        return
    self._retains_grad = True
    import weakref
    ref = weakref.ref(self)

    def hook(g):
        t = ref()
        if t is not None:
            gd = g.detach()
            t.grad = gd if t.grad is None else t.grad + gd
    hook._retain = True
    self.register_hook(hook)


Tensor.retains_grad = property(lambda self: self._retains_grad)


# ---- in-place operations --------------------------------------------------------------

def _storage(self):
    """``self._data`` ready to be written: a reduction's 0-d result may hold an immutable NumPy
    scalar, which becomes a 0-d array here (no view can share a scalar's memory)."""
    d = self._data
    if isinstance(d, np.generic):
        d = self._data = np.array(d)
    return d


def inplace_apply(self, fn, *args, **kwargs):
    """Run ``fn(self, *args)`` out of place and write the result into ``self``'s storage.

    Keeps PyTorch's semantics: views see the change, the version counter goes up (so a
    backward that needed the old value raises), and a non-leaf keeps a correct grad_fn.
    """
    grad_on = _ag.is_grad_enabled()
    if self.requires_grad and grad_on:
        if self._node is None:
            raise RuntimeError(
                f"{fn.__name__}_: a leaf tensor that requires grad (shape {tuple(self.shape)}) "
                f"is being used in an in-place operation. Do it under ember.no_grad(), or on "
                f"a .clone()")
        # the old value may be needed by the new node: give it a private snapshot
        snap = Tensor._wrap(self._data.copy())
        snap._node, snap._oidx, snap.requires_grad = self._node, self._oidx, True
        out = fn(snap, *args, **kwargs)
    else:
        out = fn(self, *args, **kwargs)
    if not isinstance(out, Tensor):
        out = elementwise.as_value(out)
    if tuple(out.shape) != tuple(self.shape):
        raise RuntimeError(f"{fn.__name__}_: the result has shape {tuple(out.shape)}, which "
                           f"can't be written in place into a tensor of shape "
                           f"{tuple(self.shape)} (in-place ops can't broadcast the target)")
    if _storage(self).flags.writeable is False:
        raise RuntimeError(f"{fn.__name__}_: this tensor is a read-only (broadcast) view; "
                           f"clone() it before writing")
    namespace(self._data).copyto(self._data, out._data, casting="unsafe")
    self._version[0] += 1
    if _state.eager_layers[0]:  # e.g. forward_ad: the tangent follows the value
        for listener in _state.inplace_listeners:
            listener(self, out)
    if out.requires_grad and grad_on:
        self._node, self._oidx = out._node, out._oidx
        self.requires_grad = True
    return self


def _def_inplace(name, fn):
    def op(self, *args, **kwargs):
        return inplace_apply(self, fn, *args, **kwargs)
    op.__name__ = name + "_"
    setattr(Tensor, name + "_", op)
    return op


def _fast_binary_inplace(name, prim, fn):
    """``x.add_(y)`` and its siblings. Outside autograd, the primitive's ufunc (the table's
    ``ufunc`` field, looked up in the array namespace) writes straight into the storage when
    the operand casts to the target's dtype (same kind) and broadcasts to its shape; everything else
    (autograd, int target with a float operand, a shape that would grow the target, bad
    input) goes through ``inplace_apply``, which computes ``fn`` out of place and raises the
    op's own error."""
    ufunc = getattr(np, prim.ufunc)
    grad_enabled = _ag.is_grad_enabled
    can_cast = np.can_cast
    layers = _state.eager_layers

    def op(self, other, alpha=None):
        if alpha is not None:
            other = elementwise.mul(other, alpha)
        # (an active eager layer, e.g. the profiler or forward_ad, must see the op)
        if type(self) is Tensor and not layers[0] and not (grad_enabled() and (
                self.requires_grad or getattr(other, "requires_grad", False))):
            dst = self._data
            if type(other) is Tensor:
                o = other._data
                fits = o.dtype is dst.dtype or can_cast(o.dtype, dst.dtype, "same_kind")
            else:  # a weak Python scalar (bool is an int) fits a target of its kind
                o = other
                fits = (type(other) is float and _dt.is_floating_np(dst.dtype)) or (
                    isinstance(other, int) and (dst.dtype.kind in "iu" or
                                                _dt.is_floating_np(dst.dtype)))
            if fits:
                try:
                    ufunc(dst, o, out=dst, casting="same_kind")
                except (TypeError, ValueError, OverflowError):  # a read-only view, shapes
                    return inplace_apply(self, fn, other)  # that don't broadcast: op's error
                self._version[0] += 1
                return self
        return inplace_apply(self, fn, other)
    op.__name__ = name + "_"
    setattr(Tensor, name + "_", op)
    return op


_fast_binary_inplace("add", elementwise.add_p, elementwise.add)
_fast_binary_inplace("sub", elementwise.sub_p, elementwise.sub)
_fast_binary_inplace("mul", elementwise.mul_p, elementwise.mul)
_fast_binary_inplace("div", elementwise.div_p, elementwise.div)
Tensor.__iadd__ = Tensor.add_
Tensor.__isub__ = Tensor.sub_
Tensor.__imul__ = Tensor.mul_
Tensor.__itruediv__ = Tensor.div_
Tensor.subtract_ = Tensor.sub_
Tensor.multiply_ = Tensor.mul_
Tensor.divide_ = Tensor.div_

for _name in ("neg", "exp", "log", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid", "relu",
              "abs", "sign", "floor", "ceil", "round", "trunc", "clamp", "clamp_min",
              "clamp_max", "pow", "reciprocal", "remainder", "fmod", "lerp", "maximum",
              "minimum", "where", "log1p", "expm1", "square", "atan2", "erf", "nan_to_num",
              "logical_not", "logical_and", "logical_or", "sigmoid", "tan", "silu", "gelu",
              "floor_divide"):
    _def_inplace(_name, getattr(elementwise, _name))
Tensor.__ipow__ = Tensor.pow_
Tensor.clip_ = Tensor.clamp_


def _addcmul(self, tensor1, tensor2, value=1):
    return self + value * tensor1 * tensor2


def _addcdiv(self, tensor1, tensor2, value=1):
    return self + value * tensor1 / tensor2


Tensor.addcmul = _addcmul
Tensor.addcdiv = _addcdiv
_def_inplace("addcmul", _addcmul)
_def_inplace("addcdiv", _addcdiv)


@method
def zero_(self):
    """Fills the tensor with zeros in place; returns it.

    >>> ember.ones(3).zero_()
    tensor([0., 0., 0.])
    """
    return fill_(self, 0)


@method
def fill_(self, value):
    """Fills the tensor with ``value`` in place; returns it.

    >>> ember.zeros(2, dtype=ember.int64).fill_(7)
    tensor([7, 7])
    """
    if isinstance(value, Tensor):
        value = value.item()
    if self.requires_grad and _ag.is_grad_enabled():
        return inplace_apply(self, lambda s, v: elementwise.where(elementwise.full_like_traced(s, True), v, s) * 0
                             + v, value)
    _storage(self)[...] = value
    self._version[0] += 1
    return self


def zero_grad_in_place(g):
    """Zero a ``.grad`` in place, as ``zero_grad(set_to_none=False)`` does in PyTorch: the
    tensor (and views of it) is kept, detached from any graph, and NaN/inf become 0."""
    g._node, g.requires_grad = None, False
    return fill_(g, 0)


@method
def copy_(self, src, non_blocking=False):
    """Copy ``src`` (broadcast) into this tensor's storage; gradients flow to ``src``.

    >>> x = ember.zeros(2, 2)
    >>> x.copy_(ember.tensor([1., 2.]))
    tensor([[1., 2.],
            [1., 2.]])
    """
    src = elementwise.as_value(src)
    if (self.requires_grad or src.requires_grad) and _ag.is_grad_enabled():
        def _copy(s, v):
            return elementwise.cast(v, s.dtype).expand(tuple(s.shape)) + elementwise.zeros_like_v(s)
        return inplace_apply(self, _copy, src)
    xp = namespace(_storage(self))
    xp.copyto(self._data, xp.broadcast_to(src._data, self._data.shape), casting="unsafe")
    self._version[0] += 1
    return self




def _install_late_inplace():
    from . import indexing
    for name in ("masked_fill", "scatter", "scatter_add", "index_add"):
        _def_inplace(name, getattr(indexing, name))


_install_late_inplace()


# Augmented assignment on a traced value (``y -= x`` inside grad/jit/vmap) rebinds the name to
# the out-of-place result, as JAX's immutable arrays do; eager tensors keep PyTorch's in-place
# ``+=`` (the named in-place methods, ``y.sub_(x)``, still refuse a traced target).
def _rebinding(op):
    def aug(self, other):
        return op(self, other)
    aug.__name__ = f"__i{op.__name__.strip('_')}__"
    return aug


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or",
              "xor", "lshift", "rshift"):
    _fwd = getattr(Tensor, f"__{_name}__", None)
    if _fwd is not None:
        setattr(_Tracer, f"__i{_name}__", _rebinding(_fwd))
del _name, _fwd
