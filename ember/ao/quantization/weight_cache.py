"""float32 copies of quantized modules' integer weights, kept between calls.

This backend multiplies int8 codes in float32 BLAS (exactly, see ``kernels``), so every call
of a quantized layer would otherwise cast its int8 weight to float32 first. A quantized
module keeps that float32 copy instead: it is made at the first call, and made again when
the weight buffer changes, which it sees from the buffer's identity and version (assigning a
new tensor, ``load_state_dict``, ``copy_`` and the other in-place ops all do that). The
copy is not a buffer: ``state_dict`` and ``ember.save`` hold the int8 weight only, and
``copy.deepcopy``/pickling a module drops it.

It costs memory while the model runs: 4 bytes per weight beside the int8 buffer's 1. A
module with ``cache_float_weight = False`` (a class or instance attribute) casts per call
instead; ``release_float_weights(model)`` drops the copies made so far.

Under a transform (``jit`` tracing, ``vmap``, ``grad``) the copy is not used: the traced
graph casts the buffer it reads, so a jitted model follows later changes of its buffers.
Writing into a weight's NumPy array directly (``w.numpy()[...] = v``) bypasses the version
counter: write through ember ops, or call ``release_float_weights``.
"""
from __future__ import annotations

import numpy as np

from ...core.state import transforms_active
from ...core.tensor import Tensor

__all__ = ["float_weight", "release_float_weights"]


class _FloatWeights(dict):
    """name -> (the int8 array it was made from, that tensor's version, float32 tensor).
    Copies and pickles of a module start without it."""

    def __deepcopy__(self, memo):
        return _FloatWeights()

    def __copy__(self):
        return _FloatWeights()

    def __reduce__(self):
        return (_FloatWeights, ())


def float_weight(module, name, w=None):
    """The float32 copy of ``module``'s integer buffer ``name`` (``w``: that buffer, already
    read), or None where it is not kept (under a transform, on a non-NumPy device, with
    ``cache_float_weight = False``): the op then casts the integer tensor itself.

    >>> from ember.ao.quantization.weight_cache import float_weight
    >>> lin = ember.ao.quantization.quantize_dynamic(ember.nn.Linear(3, 2))
    >>> f = float_weight(lin, "weight")
    >>> f.dtype, bool((f == lin.weight.float()).all()), float_weight(lin, "weight") is f
    (ember.float32, True, True)
    >>> _ = lin.weight.mul_(0)                  # an in-place change: a new copy next time
    >>> bool((float_weight(lin, "weight") == 0).all())
    True
    """
    if not getattr(module, "cache_float_weight", True) or transforms_active():
        return None
    if w is None:
        w = getattr(module, name)
    arr = w._data
    if type(arr) is not np.ndarray or type(w) is not Tensor:
        return None
    cache = module.__dict__.get("_float_weights")
    if cache is None:
        cache = module.__dict__["_float_weights"] = _FloatWeights()
    ver = w._version[0]
    hit = cache.get(name)
    if hit is not None and hit[0] is arr and hit[1] == ver:
        return hit[2]
    f = Tensor._wrap(arr.astype(np.float32))
    cache[name] = (arr, ver, f)
    return f


def release_float_weights(model):
    """Drop the float32 weight copies of ``model``'s quantized modules (they are made again
    at their next call unless ``cache_float_weight`` is False); returns the bytes freed.

    >>> from ember.ao.quantization.weight_cache import release_float_weights
    >>> q = ember.ao.quantization.quantize_dynamic(ember.nn.Sequential(ember.nn.Linear(4, 3)))
    >>> _ = q(ember.ones(1, 4))
    >>> release_float_weights(q)                # 3 x 4 float32 values
    48
    """
    freed = 0
    for m in model.modules():
        cache = m.__dict__.get("_float_weights")
        if cache:
            freed += sum(int(entry[2]._data.nbytes) for entry in cache.values())
            cache.clear()
    return freed
