"""Moving weights between PyTorch's layout (which ember's ``state_dict`` shares) and the
Flax layout JAX code uses, with NumPy alone (neither torch nor jax is imported).

PyTorch keeps ``{"features.0.weight": array, ...}``; Flax keeps nested dicts of variables
``{"params": {...}, "batch_stats": {...}}``, with its own leaf names and layouts:

=============  ========================================  ==========================================
layer          PyTorch (and ember)                       Flax
=============  ========================================  ==========================================
Linear         ``weight`` (out, in), ``bias``            ``kernel`` (in, out), ``bias``
Conv1d/2d/3d   ``weight`` (O, I, *K)                     ``kernel`` (*K, I, O)
BatchNorm      ``weight``, ``bias``, ``running_mean``,   ``params``: ``scale``, ``bias``;
               ``running_var``, ``num_batches_tracked``  ``batch_stats``: ``mean``, ``var``
LayerNorm/     ``weight``, ``bias``                      ``scale``, ``bias``
GroupNorm
Embedding      ``weight`` (num, dim)                     ``embedding`` (num, dim)
=============  ========================================  ==========================================

A module's dotted path becomes the nesting (``"features.0.weight"`` ->
``params["features"]["0"]["kernel"]``). Which layer a weight belongs to is read from ``model``
when given (an ember or PyTorch module: exact), else guessed from the names and shapes (a 2-d
``weight`` is a Linear's unless its module is named like an embedding; a 1-d ``weight`` with
running statistics is a BatchNorm's, without them a LayerNorm's).

>>> sd = {"fc.weight": np.arange(6.).reshape(2, 3), "fc.bias": np.zeros(2)}
>>> variables = ember.interop.torch_to_flax(sd)
>>> variables["params"]["fc"]["kernel"].shape
(3, 2)
>>> back = ember.interop.flax_to_torch(variables)
>>> sorted(back), bool((back["fc.weight"] == sd["fc.weight"]).all())
(['fc.bias', 'fc.weight'], True)
"""
from __future__ import annotations

import numpy as np

__all__ = ["torch_to_flax", "flax_to_torch", "layer_kinds"]


def _array(v):
    """A NumPy array from an ember or torch tensor, a JAX array or an array-like."""
    detach = getattr(v, "detach", None)
    if detach is not None:
        v = detach()
        v = v.cpu() if hasattr(v, "cpu") else v
    return np.asarray(v)


_KINDS = {"Linear": "linear", "Bilinear": "other", "Embedding": "embedding",
          "Conv1d": "conv", "Conv2d": "conv", "Conv3d": "conv", "BatchNorm1d": "batchnorm",
          "BatchNorm2d": "batchnorm", "BatchNorm3d": "batchnorm", "SyncBatchNorm": "batchnorm",
          "LayerNorm": "norm", "GroupNorm": "norm", "RMSNorm": "norm"}


def layer_kinds(model):
    """``{module path: kind}`` for the layers of ``model`` (an ember or PyTorch module) whose
    weights change layout or names: "linear", "conv", "embedding", "batchnorm", "norm"."""
    return {name: _KINDS.get(type(m).__name__, "other") for name, m in model.named_modules()}


def _guess(path, names):
    """The kind of the module at ``path`` from the leaf names it holds."""
    if "running_mean" in names:
        return "batchnorm"
    w = names.get("weight")
    if w is None:
        return "other"
    if w.ndim >= 3:
        return "conv"
    if w.ndim == 2:
        return "embedding" if "emb" in path.rsplit(".", 1)[-1].lower() else "linear"
    return "norm" if w.ndim == 1 else "other"


def _group(state_dict):
    mods = {}
    for key, v in state_dict.items():
        path, _, leaf = key.rpartition(".")
        mods.setdefault(path, {})[leaf] = _array(v)
    return mods


def _put(tree, path, leaf, value):
    node = tree
    for part in (path.split(".") if path else []):
        node = node.setdefault(part, {})
    node[leaf] = value


def torch_to_flax(state_dict, model=None):
    """PyTorch/ember ``state_dict`` -> Flax variables ``{"params": ..., "batch_stats": ...}``
    (``batch_stats`` only when there are BatchNorm layers). Arrays are NumPy arrays."""
    kinds = layer_kinds(model) if model is not None else {}
    params, stats = {}, {}
    for path, leaves in _group(state_dict).items():
        kind = kinds.get(path) or _guess(path, leaves)
        for leaf, a in leaves.items():
            if kind == "linear" and leaf == "weight":
                _put(params, path, "kernel", np.ascontiguousarray(a.T))
            elif kind == "conv" and leaf == "weight":  # (O, I, *K) -> (*K, I, O)
                axes = tuple(range(2, a.ndim)) + (1, 0)
                _put(params, path, "kernel", np.ascontiguousarray(a.transpose(axes)))
            elif kind == "embedding" and leaf == "weight":
                _put(params, path, "embedding", a)
            elif kind in ("batchnorm", "norm") and leaf == "weight":
                _put(params, path, "scale", a)
            elif kind == "batchnorm" and leaf in ("running_mean", "running_var"):
                _put(stats, path, "mean" if leaf == "running_mean" else "var", a)
            elif kind == "batchnorm" and leaf == "num_batches_tracked":
                continue  # Flax keeps no step count
            else:
                _put(params, path, leaf, a)
    return {"params": params, **({"batch_stats": stats} if stats else {})}


def _walk(tree, prefix=""):
    for k, v in tree.items():
        path = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict):
            yield from _walk(v, path)
        else:
            yield path, v


def flax_to_torch(variables, model=None):
    """Flax variables (``{"params": ..., "batch_stats": ...}``, or a bare params tree) ->
    a PyTorch/ember ``state_dict`` of NumPy arrays (BatchNorm's ``num_batches_tracked`` is
    0: Flax does not count steps)."""
    if "params" not in variables:
        variables = {"params": variables}
    kinds = layer_kinds(model) if model is not None else {}
    out = {}
    for path, a in _walk(variables["params"]):
        mod, _, leaf = path.rpartition(".")
        a = _array(a)
        if leaf == "kernel":
            kind = kinds.get(mod) or ("linear" if a.ndim == 2 else "conv")
            if kind == "linear":
                a = np.ascontiguousarray(a.T)
            else:  # (*K, I, O) -> (O, I, *K)
                k = a.ndim - 2
                a = np.ascontiguousarray(a.transpose((k + 1, k) + tuple(range(k))))
            leaf = "weight"
        elif leaf in ("scale", "embedding"):
            leaf = "weight"
        out[f"{mod}.{leaf}" if mod else leaf] = a
    for path, a in _walk(variables.get("batch_stats", {})):
        mod, _, leaf = path.rpartition(".")
        out[f"{mod}.running_{leaf}"] = _array(a)
        out[f"{mod}.num_batches_tracked"] = np.zeros((), np.int64)
    if model is not None:  # PyTorch's key order
        order = {k: i for i, k in enumerate(model.state_dict())}
        out = dict(sorted(out.items(), key=lambda kv: order.get(kv[0], len(order))))
    return out
