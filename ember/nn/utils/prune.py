"""Pruning with ``torch.nn.utils.prune``'s names and mechanism: pruning ``module.weight``
turns the parameter into ``weight_orig`` (still the trained parameter), adds a ``weight_mask``
buffer of zeros and ones, and a forward pre-hook that sets ``module.weight = weight_orig *
weight_mask`` before each call; ``state_dict`` holds ``weight_orig`` and ``weight_mask`` as in
PyTorch, and ``remove`` makes the pruning permanent. Pruning a pruned tensor again prunes only
what is left (the masks combine as PyTorch's ``PruningContainer``).

>>> layer = ember.nn.Linear(4, 2)
>>> _ = ember.nn.utils.prune.l1_unstructured(layer, "weight", amount=0.5)
>>> int(layer.weight_mask.sum()), sorted(layer.state_dict())
(4, ['bias', 'weight_mask', 'weight_orig'])
>>> _ = ember.nn.utils.prune.remove(layer, "weight")
>>> sorted(layer.state_dict()), int((layer.weight == 0).sum())
(['bias', 'weight'], 4)
"""
from __future__ import annotations

import numbers

import numpy as np

from ...core.autograd import no_grad
from ...core.creation import tensor as _tensor
from ...core.tensor import Tensor
from ...ops.creation_ops import ones_like
from ...random.generator import rand_like

__all__ = ["BasePruningMethod", "PruningContainer", "Identity", "RandomUnstructured",
           "L1Unstructured", "RandomStructured", "LnStructured", "CustomFromMask", "identity",
           "random_unstructured", "l1_unstructured", "random_structured", "ln_structured",
           "global_unstructured", "custom_from_mask", "remove", "is_pruned", "shrink",
           "plain_state_dict", "apply_masks", "magnitude_masks", "masked_params"]


def _nparams_to_prune(amount, size, op):
    """How many of ``size`` entries ``amount`` (a count, or a fraction in [0, 1]) prunes."""
    if isinstance(amount, numbers.Integral):
        if amount > size:
            raise ValueError(f"{op}: amount={amount} should be smaller than the number of "
                             f"parameters to prune={size}")
        return int(amount)
    return int(round(amount * size))


def _check_amount(amount, op):
    """An int >= 0 (a count) or a float in [0, 1] (a fraction), as PyTorch checks it."""
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real):
        raise TypeError(f"{op}: amount must be an int (a count) or a float in [0, 1] (a "
                        f"fraction), got {type(amount).__name__}")
    if (isinstance(amount, numbers.Integral) and amount < 0) or \
            (not isinstance(amount, numbers.Integral) and not 0.0 <= amount <= 1.0):
        raise ValueError(f"{op}: amount={amount} should either be a float in the range [0, 1] "
                         f"or a non-negative integer")
    return amount


def _mask_like(t, values):
    return _tensor(np.asarray(values, dtype=t.dtype.np)).to(t.device)


class BasePruningMethod:
    """A pruning technique: ``compute_mask(t, default_mask)`` gives the new mask (zeros where
    pruned); ``apply`` installs it on a module's tensor; the instance is the forward pre-hook."""

    PRUNING_TYPE = "unstructured"
    _tensor_name = None

    def __call__(self, module, inputs):
        setattr(module, self._tensor_name, self.apply_mask(module))

    def compute_mask(self, t, default_mask):
        raise NotImplementedError(f"{type(self).__name__}.compute_mask is not defined")

    def apply_mask(self, module):
        name = self._tensor_name
        return getattr(module, name + "_orig") * getattr(module, name + "_mask")

    def prune(self, t, default_mask=None, importance_scores=None):
        """``t`` with this method's mask applied (no module involved)."""
        scores = t if importance_scores is None else importance_scores
        mask = self.compute_mask(scores, ones_like(t) if default_mask is None else default_mask)
        return t * mask

    @classmethod
    def apply(cls, module, name, *args, importance_scores=None, **kwargs):
        """Prune ``module.<name>`` with a new instance ``cls(*args, **kwargs)``."""
        old = _find_hook(module, name)
        method = cls(*args, **kwargs)
        method._tensor_name = name
        if old is not None:  # already pruned: combine, pruning what is left
            hook_id, old_method = old
            container = old_method if isinstance(old_method, PruningContainer) else \
                PruningContainer(old_method)
            container.add_pruning_method(method)
            method = container
        orig = getattr(module, name + "_orig") if old is not None else getattr(module, name)
        if not isinstance(orig, Tensor):
            raise TypeError(f"prune: {type(module).__name__}.{name} is not a tensor "
                            f"(got {type(orig).__name__})")
        scores = orig if importance_scores is None else importance_scores
        if tuple(scores.shape) != tuple(orig.shape):
            raise ValueError(f"prune: importance_scores of shape {tuple(scores.shape)} must "
                             f"match {name}'s shape {tuple(orig.shape)}")
        default_mask = ones_like(orig) if old is None else \
            getattr(module, name + "_mask").detach()
        with no_grad():  # before the module changes: a bad amount leaves it as it was
            mask = method.compute_mask(scores.detach(), default_mask=default_mask)
        if old is None:
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]
        module.register_buffer(name + "_mask", mask)
        if old is not None:
            del module._forward_pre_hooks[old[0]]
        setattr(module, name, method.apply_mask(module))
        module.register_forward_pre_hook(method)
        return method

    def remove(self, module):
        """Make the pruning permanent: ``<name>`` becomes a parameter again, holding
        ``orig * mask``; ``<name>_orig``, ``<name>_mask`` and the hook go."""
        name = self._tensor_name
        with no_grad():
            weight = self.apply_mask(module)
        if name in module.__dict__:
            delattr(module, name)
        orig = module._parameters.pop(name + "_orig")
        orig._data = weight._data
        orig._version[0] += 1
        del module._buffers[name + "_mask"]
        setattr(module, name, orig)


class PruningContainer(BasePruningMethod):
    """Successive pruning methods on one tensor: each new one prunes only the entries (or, for
    structured methods, the slices) that the earlier ones kept."""

    def __init__(self, *methods):
        self._pruning_methods = ()
        for m in methods:
            self.add_pruning_method(m)

    def add_pruning_method(self, method):
        if self._tensor_name is None:
            self._tensor_name = method._tensor_name
        elif method._tensor_name != self._tensor_name:
            raise ValueError(f"prune: can only combine methods on one tensor: "
                             f"{self._tensor_name!r} vs {method._tensor_name!r}")
        self._pruning_methods += (method,)

    def __len__(self):
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, i):
        return self._pruning_methods[i]

    def compute_mask(self, t, default_mask):
        method = self._pruning_methods[-1]
        mask = default_mask.numpy().copy()
        if method.PRUNING_TYPE == "unstructured":
            keep = mask == 1
            part = method.compute_mask(_tensor(t.numpy()[keep]),
                                       default_mask=_tensor(mask[keep]))
            mask[keep] = part.numpy()
        elif method.PRUNING_TYPE == "structured":
            dim = method.dim % t.ndim
            other = tuple(d for d in range(t.ndim) if d != dim)
            keep = mask.sum(axis=other) != 0
            slc = [slice(None)] * t.ndim
            slc[dim] = keep
            part = method.compute_mask(_tensor(t.numpy()[tuple(slc)]),
                                       default_mask=_tensor(mask[tuple(slc)]))
            mask[tuple(slc)] = part.numpy()
        else:  # global: the new mask applies to the whole tensor
            mask = (method.compute_mask(t, default_mask).numpy() * mask)
        return _mask_like(default_mask, mask)


class Identity(BasePruningMethod):
    """Prunes nothing (the mask is all ones): installs the reparametrization only."""

    def compute_mask(self, t, default_mask):
        return default_mask

    @classmethod
    def apply(cls, module, name):
        return super().apply(module, name)


class RandomUnstructured(BasePruningMethod):
    """Prunes ``amount`` entries chosen at random (the global generator)."""

    def __init__(self, amount):
        self.amount = _check_amount(amount, "RandomUnstructured")

    def compute_mask(self, t, default_mask):
        k = _nparams_to_prune(self.amount, t.numel(), "random_unstructured")
        mask = default_mask.numpy().copy()
        if k:
            scores = rand_like(t).numpy().reshape(-1)
            mask.reshape(-1)[np.argsort(-scores, kind="stable")[:k]] = 0
        return _mask_like(default_mask, mask)

    @classmethod
    def apply(cls, module, name, amount):
        return super().apply(module, name, amount=amount)


class L1Unstructured(BasePruningMethod):
    """Prunes the ``amount`` entries of smallest absolute value (of ``importance_scores``
    when given)."""

    def __init__(self, amount):
        self.amount = _check_amount(amount, "L1Unstructured")

    def compute_mask(self, t, default_mask):
        k = _nparams_to_prune(self.amount, t.numel(), "l1_unstructured")
        mask = default_mask.numpy().copy()
        if k:
            mask.reshape(-1)[np.argsort(np.abs(t.numpy()).reshape(-1), kind="stable")[:k]] = 0
        return _mask_like(default_mask, mask)

    @classmethod
    def apply(cls, module, name, amount, importance_scores=None):
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


def _structured_mask(t, dim, keep_idx, default_mask):
    mask = np.zeros(tuple(t.shape), dtype=default_mask.dtype.np)
    slc = [slice(None)] * t.ndim
    slc[dim] = np.asarray(keep_idx, dtype=np.int64)
    mask[tuple(slc)] = 1
    return _mask_like(default_mask, mask * default_mask.numpy())


class RandomStructured(BasePruningMethod):
    """Prunes ``amount`` whole slices along ``dim`` (e.g. output channels: dim 0), chosen at
    random."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, dim=-1):
        self.amount, self.dim = _check_amount(amount, "RandomStructured"), dim

    def compute_mask(self, t, default_mask):
        dim = self.dim % t.ndim
        size = t.shape[dim]
        k = _nparams_to_prune(self.amount, size, "random_structured")
        if k == 0:
            return default_mask
        scores = rand_like(_tensor(np.zeros(size, np.float32))).numpy()
        keep = np.sort(np.argsort(-scores, kind="stable")[:size - k])
        return _structured_mask(t, dim, keep, default_mask)

    @classmethod
    def apply(cls, module, name, amount, dim=-1):
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(BasePruningMethod):
    """Prunes the ``amount`` slices along ``dim`` with the smallest L``n`` norm (``n``: a
    number, ``inf``, ``-inf``, ``"fro"`` or ``"nuc"`` as ``torch.norm``'s ``p``; here numbers,
    inf and "fro")."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, n, dim=-1):
        self.amount, self.n, self.dim = _check_amount(amount, "LnStructured"), n, dim

    def compute_mask(self, t, default_mask):
        dim = self.dim % t.ndim
        size = t.shape[dim]
        k = _nparams_to_prune(self.amount, size, "ln_structured")
        if k == 0:
            return default_mask
        a = np.moveaxis(t.numpy(), dim, 0).reshape(size, -1).astype(np.float64)
        n = 2 if self.n == "fro" else self.n
        if n == np.inf:
            norms = np.abs(a).max(axis=1)
        elif n == -np.inf:
            norms = np.abs(a).min(axis=1)
        elif isinstance(n, numbers.Real) and n > 0:
            norms = (np.abs(a) ** n).sum(axis=1) ** (1.0 / n)
        else:
            raise ValueError(f"ln_structured: n={self.n!r} is not supported (use a positive "
                             f"number, inf, -inf or 'fro')")
        keep = np.sort(np.argsort(-norms, kind="stable")[:size - k])
        return _structured_mask(t, dim, keep, default_mask)

    @classmethod
    def apply(cls, module, name, amount, n, dim, importance_scores=None):
        return super().apply(module, name, amount=amount, n=n, dim=dim,
                             importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Prunes where the given ``mask`` is zero."""

    PRUNING_TYPE = "global"

    def __init__(self, mask):
        self.mask = mask

    def compute_mask(self, t, default_mask):
        if tuple(self.mask.shape) != tuple(default_mask.shape):
            raise ValueError(f"custom_from_mask: mask of shape {tuple(self.mask.shape)} must "
                             f"match the tensor's shape {tuple(default_mask.shape)}")
        return _mask_like(default_mask, default_mask.numpy() *
                          np.asarray(self.mask.numpy(), dtype=default_mask.dtype.np))

    @classmethod
    def apply(cls, module, name, mask):
        return super().apply(module, name, mask=mask)


def _find_hook(module, name):
    for hook_id, hook in getattr(module, "_forward_pre_hooks", {}).items():
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            return hook_id, hook
    return None


def identity(module, name):
    """Install the pruning reparametrization with an all-ones mask."""
    Identity.apply(module, name)
    return module


def random_unstructured(module, name, amount):
    """Prune ``amount`` random entries of ``module.<name>``; returns the module."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module, name, amount, importance_scores=None):
    """Prune the ``amount`` entries of smallest magnitude; returns the module."""
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module, name, amount, dim):
    """Prune ``amount`` random slices along ``dim``; returns the module."""
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module, name, amount, n, dim, importance_scores=None):
    """Prune the ``amount`` slices along ``dim`` of smallest L``n`` norm; returns the module."""
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def custom_from_mask(module, name, mask):
    """Prune where ``mask`` is zero; returns the module."""
    CustomFromMask.apply(module, name, mask)
    return module


def global_unstructured(parameters, pruning_method, importance_scores=None, **kwargs):
    """Prune ``(module, name)`` pairs together: ``pruning_method`` (e.g. ``L1Unstructured``
    with ``amount=``) ranks all their entries as one vector, so layers lose different
    fractions."""
    parameters = list(parameters)
    if not parameters:
        raise ValueError("global_unstructured: parameters must be a non-empty iterable of "
                         "(module, name) pairs")
    importance_scores = importance_scores or {}
    scores, masks = [], []
    for module, name in parameters:
        s = importance_scores.get((module, name), getattr(module, name))
        scores.append(s.detach().numpy().reshape(-1))
        mask = getattr(module, name + "_mask", None)
        masks.append(np.ones(s.numel(), s.dtype.np) if mask is None else
                     mask.numpy().reshape(-1))
    method = pruning_method(**kwargs)
    method._tensor_name = "global"
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(f"global_unstructured: {pruning_method.__name__} is "
                        f"{method.PRUNING_TYPE}; only unstructured methods rank entries "
                        f"globally")
    container = PruningContainer(method)
    flat = container.compute_mask(_tensor(np.concatenate(scores)),
                                  default_mask=_tensor(np.concatenate(masks)))
    offset = 0
    for (module, name), s in zip(parameters, scores):
        n = s.size
        param = getattr(module, name)
        mask = _tensor(flat.numpy()[offset:offset + n].reshape(tuple(param.shape)))
        custom_from_mask(module, name, mask=mask)
        offset += n


def remove(module, name):
    """Make ``module.<name>``'s pruning permanent (see :meth:`BasePruningMethod.remove`);
    returns the module."""
    found = _find_hook(module, name)
    if found is None:
        raise ValueError(f"prune.remove: parameter {name!r} of {type(module).__name__} has "
                         f"not been pruned")
    hook_id, method = found
    method.remove(module)
    del module._forward_pre_hooks[hook_id]
    return module


def is_pruned(module):
    """Whether any submodule of ``module`` has a pruned tensor."""
    return any(isinstance(h, BasePruningMethod)
               for m in module.modules()
               for h in getattr(m, "_forward_pre_hooks", {}).values())


# beyond PyTorch: physical removal of pruned channels, and pruned checkpoints for plain models
from .prune_shrink import (  # noqa: E402,F401
    shrink, plain_state_dict, apply_masks, magnitude_masks, masked_params)
