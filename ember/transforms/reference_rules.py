"""The rules of fused primitives, derived from their reference definitions.

A primitive built with ``Primitive(..., reference=fn)`` (``fn``: the same computation in
ember ops) gets every rule it lacks, and every case its own rules decline by returning
``NotImplemented``, from ``fn`` run under the matching transform: the JVP is ``fn``'s JVP,
the VJP ``fn``'s VJP (recomputing ``fn``'s forward), the batching rule ``fn`` under vmap.
``core.primitive.use_reference`` wires the rules; this module installs how each is derived
(it needs the transforms, which live above core and ops)."""
from __future__ import annotations

from ..core import primitive as _primitive
from ..ops.elementwise import zeros_like_v
from .batching import vmap
from .jvp import jvp
from .reverse import vjp


def _reference(prim, params):
    ref = prim.reference
    return lambda *args: ref(*args, **params)


def reference_vjp(prim, ct, out, *args, **params):
    outs, pull = vjp(_reference(prim, params), *args)
    if prim.multiple_results:  # outputs without a cotangent get zeros
        ct = [zeros_like_v(o) if c is None else c for c, o in zip(ct, outs)]
    return tuple(pull(ct))


def reference_jvp(prim, primals, tangents, out, **params):
    tangents = [zeros_like_v(p) if t is None else t for p, t in zip(primals, tangents)]
    _, tan = jvp(_reference(prim, params), tuple(primals), tuple(tangents))
    return list(tan) if prim.multiple_results else tan


def reference_batch(prim, args, dims, **params):
    out = vmap(_reference(prim, params), in_axes=tuple(dims))(*args)
    return out, ([0] * len(out) if prim.multiple_results else 0)


_primitive.derivations.update(vjp=reference_vjp, jvp=reference_jvp, batch=reference_batch)
