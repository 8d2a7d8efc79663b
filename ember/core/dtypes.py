"""Data types and the one promotion table.

ember's dtypes are thin named wrappers over NumPy dtypes. Promotion follows PyTorch:

* categories are ordered bool < integer < floating < complex;
* operands are ranked by priority: tensors with at least one dimension, then 0-d tensors,
  then Python scalars (which are *weak*: ``float32_tensor * 2.0`` stays float32);
* the result category is the highest category among all operands; the result dtype is the
  NumPy promotion of the highest-priority operands of that category (integers and floats
  each promote within their family); if only a Python scalar has that category, the result
  is the category's default dtype (int64, or the default float dtype, float32).

``promote_types`` (two dtypes, no weakness) is the same table NumPy uses within a category,
with two PyTorch exceptions: integer + float16/bfloat16 gives the float, and
bfloat16 + float16 gives float32.

Complex numbers (complex64, complex128) rank above the floats. A complex result keeps the
precision of the floats it meets: float64 + complex64 is complex128, float32 + complex128
(a 0-d tensor or a Python complex) stays complex64 when the float is the higher-priority
operand (PyTorch's rule: a lower-priority complex operand makes the higher-priority float
complex, at its own precision); a Python complex alone gives the default complex dtype
(complex64 while the default float is float32).
"""
from __future__ import annotations

import importlib.util

import numpy as np

# bfloat16 lives in the optional package ml_dtypes, imported the first time bfloat16's NumPy
# dtype is needed (importing it costs ~0.6 s, half of `import ember`); until then NumPy arrays
# of it can exist only if something else imported ml_dtypes, and they are told by their dtype
# char 'E' and kind 'V' (ml_dtypes' bfloat16: no NumPy type has that char)
try:
    _HAS_ML_DTYPES = importlib.util.find_spec("ml_dtypes") is not None
except (ImportError, ValueError):  # pragma: no cover - depends on the environment
    _HAS_ML_DTYPES = False
_BF16 = None  # ml_dtypes' bfloat16 NumPy dtype, once loaded


def is_bf16_np(npdt) -> bool:
    """Whether a NumPy dtype is ml_dtypes' bfloat16 (without importing ml_dtypes)."""
    return npdt.char == "E" and npdt.kind == "V"


# the categories, ordered for promotion: a result takes the highest category of its operands
BOOL, INTEGER, FLOATING, COMPLEX = 0, 1, 2, 3


class DType:
    """A tensor element type (``ember.float32`` ...). Compare with ``==``; ``.np`` is NumPy's.

    >>> ember.float32, ember.float32.is_floating_point, ember.float32.itemsize
    (ember.float32, True, 4)
    >>> ember.float32 == "float32", ember.int64 == np.int64
    (True, True)
    """

    __slots__ = ("name", "np", "is_floating_point", "is_integer", "is_bool", "is_signed",
                 "itemsize", "category", "is_complex", "is_inexact")

    def __init__(self, name, npdtype, category, itemsize=None):
        self.name = name
        if npdtype is not None:
            self.np = np.dtype(npdtype)
        self.category = category  # BOOL, INTEGER, FLOATING or COMPLEX
        self.is_floating_point = category == FLOATING  # False for complex, as in PyTorch
        self.is_complex = category == COMPLEX
        self.is_inexact = category >= FLOATING  # floating or complex: has gradients
        self.is_integer = category == INTEGER
        self.is_bool = category == BOOL
        self.is_signed = category >= FLOATING or (category == INTEGER and self.np.kind == "i")
        self.itemsize = self.np.itemsize if itemsize is None else itemsize

    def __repr__(self):
        return "ember." + self.name

    @property
    def dtype(self):
        """NumPy's dtype (as ``jnp.float32.dtype``); NumPy itself reads it, so an ember dtype
        works where NumPy wants one: ``np.zeros(3, dtype=jnp.float32)``."""
        return self.np

    def __reduce__(self):
        return (as_dtype, (self.name,))

    def __eq__(self, other):
        if isinstance(other, DType):
            return self is other
        try:
            return as_dtype(other) is self
        except (TypeError, ValueError):
            return False

    def __hash__(self):
        return hash(self.name)

    def __call__(self, value):
        """A tensor of this dtype from ``value``, as JAX's ``jnp.float32(3)`` (a 0-d array
        for a number)."""
        return _constructor[0](value, dtype=self)


# the tensor constructor DType.__call__ uses; core/creation.py installs ember.tensor
_constructor = [None]


class _BFloat16(DType):
    """bfloat16, whose NumPy dtype (``.np``) imports ml_dtypes on first use."""

    __slots__ = ("_np",)

    @property
    def np(self):
        try:
            return self._np
        except AttributeError:
            pass
        global _BF16
        import ml_dtypes
        self._np = _BF16 = np.dtype(ml_dtypes.bfloat16)
        _BY_NP[_BF16] = self
        return _BF16


bool_ = DType("bool", np.bool_, BOOL)
uint8 = DType("uint8", np.uint8, INTEGER)
int8 = DType("int8", np.int8, INTEGER)
int16 = DType("int16", np.int16, INTEGER)
int32 = DType("int32", np.int32, INTEGER)
int64 = DType("int64", np.int64, INTEGER)
uint16 = DType("uint16", np.uint16, INTEGER)  # the wide unsigned types exist for random bits
uint32 = DType("uint32", np.uint32, INTEGER)
uint64 = DType("uint64", np.uint64, INTEGER)
float16 = DType("float16", np.float16, FLOATING)
float32 = DType("float32", np.float32, FLOATING)
float64 = DType("float64", np.float64, FLOATING)
bfloat16 = _BFloat16("bfloat16", None, FLOATING, itemsize=2) if _HAS_ML_DTYPES else None
complex64 = DType("complex64", np.complex64, COMPLEX)
complex128 = DType("complex128", np.complex128, COMPLEX)

ALL = [d for d in (bool_, uint8, int8, int16, int32, int64, uint16, uint32, uint64, float16,
                   float32, float64, bfloat16, complex64, complex128) if d is not None]
_BY_NP = {d.np: d for d in ALL if d is not bfloat16}  # (bfloat16's is added when loaded)
_BY_NAME = {d.name: d for d in ALL}
_BY_NAME.update({"bool_": bool_, "half": float16, "float": float32, "double": float64,
                 "long": int64, "int": int32, "short": int16, "cfloat": complex64,
                 "cdouble": complex128})
if bfloat16 is None:
    _BY_NAME["bfloat16"] = None

_default_float = [float32]


def is_floating_np(npdt) -> bool:
    """Whether a NumPy dtype is one of ember's floating types. ml_dtypes' bfloat16 has NumPy
    kind 'V' (not 'f'), so ``dtype.kind == "f"`` alone misses it.

    >>> from ember.core.dtypes import is_floating_np
    >>> is_floating_np(np.dtype(np.float16)), is_floating_np(ember.bfloat16.np), is_floating_np(np.dtype(np.int16))
    (True, True, False)
    """
    return npdt.kind == "f" or is_bf16_np(npdt)


def complex_of(d: DType) -> DType:
    """The complex dtype with ``d``'s precision: complex128 for float64 (and complex128),
    complex64 for the other floats and complex64.

    >>> from ember.core.dtypes import complex_of
    >>> complex_of(ember.float64), complex_of(ember.float32)
    (ember.complex128, ember.complex64)
    """
    return complex128 if d is float64 or d is complex128 else complex64


def real_of(d: DType) -> DType:
    """The real dtype of a complex dtype's parts (float32 for complex64, float64 for
    complex128); other dtypes are returned unchanged.

    >>> from ember.core.dtypes import real_of
    >>> real_of(ember.complex64), real_of(ember.complex128), real_of(ember.float16)
    (ember.float32, ember.float64, ember.float16)
    """
    if d is complex64:
        return float32
    if d is complex128:
        return float64
    return d


def default_complex_dtype() -> DType:
    """The dtype of complex tensors made from Python complex numbers: complex64 while the
    default float is float32 (or lower), complex128 when it is float64 (as PyTorch)."""
    return complex_of(_default_float[0])


def is_low_precision_np(npdt) -> bool:
    """float16 or bfloat16 (NumPy dtype chars 'e' and 'E'): the types whose products ember
    accumulates in float32 and rounds once (``matmul``, ``einsum`` and what builds on them)."""
    return npdt.char == "e" or is_bf16_np(npdt)


def get_default_dtype() -> DType:
    """The dtype of floating-point tensors made from Python numbers (float32 unless changed).

    >>> ember.get_default_dtype()
    ember.float32
    >>> ember.tensor([1.5]).dtype
    ember.float32
    """
    return _default_float[0]


def set_default_dtype(d) -> None:
    """Sets the dtype of floating-point tensors made from Python numbers (float16, bfloat16,
    float32 or float64).

    >>> ember.set_default_dtype(ember.float64)
    >>> ember.tensor([1.5]).dtype, ember.zeros(2).dtype
    (ember.float64, ember.float64)
    >>> ember.set_default_dtype(ember.float32)
    """
    d = as_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"set_default_dtype: only floating dtypes can be the default, got {d}")
    _default_float[0] = d


def from_np(npdt) -> DType:
    """The ember dtype of a NumPy dtype (raises a clear error for unsupported ones)."""
    try:
        return _BY_NP[npdt]
    except KeyError:
        pass
    npdt = np.dtype(npdt)
    if npdt in _BY_NP:
        return _BY_NP[npdt]
    if is_bf16_np(npdt) and bfloat16 is not None:
        bfloat16.np  # loads it (ml_dtypes is imported already: the array exists)
        return bfloat16
    raise TypeError(f"ember does not support NumPy dtype {npdt}; supported: "
                    f"{', '.join(d.name for d in ALL)}")


def as_dtype(d) -> DType:
    """Accept an ember dtype, a NumPy dtype/type, a Python type or a name."""
    if isinstance(d, DType):
        return d
    if d is None:
        return get_default_dtype()
    if d is float:
        return get_default_dtype()
    if d is int:
        return int64
    if d is bool:
        return bool_
    if d is complex:
        return default_complex_dtype()
    if isinstance(d, str):
        name = d[len("ember."):] if d.startswith("ember.") else d
        name = name[len("torch."):] if name.startswith("torch.") else name
        if name in _BY_NAME:
            r = _BY_NAME[name]
            if r is None:
                raise TypeError("bfloat16 needs the optional package ml_dtypes: pip install ml_dtypes")
            return r
    try:
        return from_np(np.dtype(d))
    except TypeError as e:
        raise TypeError(f"unknown dtype {d!r}: use one of {', '.join(x.name for x in ALL)}") from e


def _same_category_promote(a: DType, b: DType) -> DType:
    if a is b:
        return a
    if a.category == COMPLEX:
        return complex128 if complex128 in (a, b) else complex64
    if a.category == FLOATING:
        if {a, b} == {float16, bfloat16}:
            return float32
        if a is bfloat16:
            return b if b.itemsize > 2 else float32
        if b is bfloat16:
            return a if a.itemsize > 2 else float32
    r = np.promote_types(a.np, b.np)
    if r.kind not in "iub" and a.category == INTEGER:
        raise TypeError(f"promotion of {a} and {b} has no integer type that holds both; "
                        f"convert one of them explicitly")
    return from_np(r)


def promote_types(a, b) -> DType:
    """Promotion of two (strong) dtypes.

    >>> ember.promote_types(ember.int32, ember.float16)
    ember.float16
    >>> ember.promote_types(ember.uint8, ember.int8)
    ember.int16
    >>> ember.promote_types(ember.bfloat16, ember.float16)
    ember.float32
    >>> ember.promote_types(ember.float64, ember.complex64)
    ember.complex128
    """
    a, b = as_dtype(a), as_dtype(b)
    if a is b:
        return a
    if a.category != b.category:
        hi, lo = (a, b) if a.category > b.category else (b, a)
        if hi.category == COMPLEX and lo.category == FLOATING:
            return complex_of(_same_category_promote(real_of(hi), lo))
        return hi
    return _same_category_promote(a, b)


def _scalar_category(v) -> int:
    if isinstance(v, (bool, np.bool_)):
        return BOOL
    if isinstance(v, (int, np.integer)):
        return INTEGER
    if isinstance(v, (float, np.floating)):
        return FLOATING
    if isinstance(v, (complex, np.complexfloating)):
        return COMPLEX
    raise TypeError(f"expected a tensor or a Python number, got {type(v).__name__}")


_CAT_DEFAULT = {BOOL: lambda: bool_, INTEGER: lambda: int64, FLOATING: get_default_dtype,
                COMPLEX: default_complex_dtype}


def result_type(*operands) -> DType:
    """The promoted dtype of tensors (anything with ``.dtype`` and ``.ndim``) and Python scalars."""
    # priority 2: dimensioned tensors, 1: 0-d tensors, 0: python scalars
    best_cat = -1
    groups = ({}, {}, {})
    for o in operands:
        dt = getattr(o, "dtype", None)
        if dt is None:
            cat, prio, d = _scalar_category(o), 0, None
        else:
            d = dt if isinstance(dt, DType) else from_np(dt)
            cat = d.category
            prio = 2 if o.ndim > 0 else 1
        if cat > best_cat:
            best_cat = cat
        if d is not None:
            g = groups[prio]
            g[cat] = d if cat not in g else _same_category_promote(g[cat], d)
    if best_cat == COMPLEX:
        return _complex_result(groups)
    for prio in (2, 1):
        if best_cat in groups[prio]:
            return groups[prio][best_cat]
    return _CAT_DEFAULT[best_cat]()


def _complex_result(groups):
    """PyTorch's rule when some operand is complex: the highest-priority tier holding a
    complex dtype decides, unless a higher-priority tier holds floats, whose precision the
    complex result then takes (``float32 tensor + complex128 0-d`` is complex64)."""
    result = None
    for prio in (0, 1, 2):  # lowest priority first; a higher tier overrides
        g = groups[prio]
        if prio == 0 and result is None:
            result = default_complex_dtype()
            continue
        tier = None
        for d in g.values():
            tier = d if tier is None else promote_types(tier, d)
        if tier is None:
            continue
        if tier.category == COMPLEX:
            result = tier
        elif tier.category == FLOATING and result is not None:
            result = complex_of(tier)
    return result


# ---- JAX's 64-bit switch -------------------------------------------------------------------
# ``jax_enable_x64`` (``ember.config.update``): stored here, in the core, so that the
# JAX-style transforms (jit's cache key and guard, grad, vmap, jvp) and ember.numpy read the
# same flag while importing only downward. Off (JAX's default), the JAX-facing entry points
# canonicalize non-tensor inputs to 32 bits (``canonical_np``); the PyTorch-style entry points
# never read it. ``_x64_listeners``: called with the new value after each change (jit forgets
# its last-call shortcuts, whose guards were built under the old setting).
def _env_flag(*names):
    import os
    return any(os.environ.get(n, "").strip().lower() in ("1", "true", "yes", "on") for n in names)


_x64 = [_env_flag("EMBER_ENABLE_X64", "JAX_ENABLE_X64")]
_x64_listeners = []
_TO_32 = {np.dtype(np.float64): np.dtype(np.float32),
          np.dtype(np.complex128): np.dtype(np.complex64),
          np.dtype(np.int64): np.dtype(np.int32), np.dtype(np.uint64): np.dtype(np.uint32)}


def x64_enabled() -> bool:
    """Whether JAX's 64-bit mode is on (``ember.config.update("jax_enable_x64", True)``).

    >>> ember.core.dtypes.x64_enabled()
    False
    """
    return _x64[0]


def set_x64(on) -> None:
    """Turn JAX's 64-bit mode on or off (what ``ember.config.update("jax_enable_x64", on)``
    calls); process-wide, as JAX's."""
    on = bool(on)
    if on != _x64[0]:
        _x64[0] = on
        for f in list(_x64_listeners):
            f(on)


def jax_int(unsigned=False) -> DType:
    """The integer dtype JAX-facing code defaults to (``ember.numpy``'s ``arange``, ``argmax``,
    integer sums, ...): int32, int64 in 64-bit mode (uint32 / uint64 with ``unsigned``).

    >>> ember.core.dtypes.jax_int()
    ember.int32
    """
    if _x64[0]:
        return uint64 if unsigned else int64
    return uint32 if unsigned else int32


def canonical_np(npdt):
    """The NumPy dtype a JAX-facing entry point gives data of NumPy dtype ``npdt``: itself in
    64-bit mode, else float64 -> float32, complex128 -> complex64, int64 -> int32 and
    uint64 -> uint32 (JAX's canonicalization).

    >>> ember.core.dtypes.canonical_np(np.dtype(np.float64))
    dtype('float32')
    """
    return npdt if _x64[0] else _TO_32.get(npdt, npdt)


def canonical_value(x):
    """A JAX-facing entry point's view of an input: tensors (and tracers) as they are (a
    tensor's dtype was chosen by its maker: PyTorch's rules keep float64 data float64); NumPy
    arrays and scalars with their dtype canonicalized (``canonical_np``); Python numbers as
    0-d arrays (floats of the default float dtype, float32, or float64 in 64-bit mode; ints
    int32, or int64 in 64-bit mode or beyond int32's range; bools bool); anything else
    unchanged. Returns a NumPy array for data that was not
    a tensor."""
    t = type(x)
    if t is np.ndarray:
        d = canonical_np(x.dtype)
        return x if d is x.dtype else x.astype(d)
    if isinstance(x, np.generic):
        return np.asarray(x, canonical_np(x.dtype))
    if t is float:  # (a PyTorch-style default dtype set to float64 is honoured too)
        return np.asarray(x, np.float64 if _x64[0] else _default_float[0].np)
    if t is int:
        return np.asarray(x, np.int32 if not _x64[0] and -2**31 <= x < 2**31 else np.int64)
    if t is bool:
        return np.asarray(x)
    if t is complex:
        return np.asarray(x, np.complex128 if _x64[0] else np.complex64)
    return x
