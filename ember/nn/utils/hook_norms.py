"""The forward-pre-hook forms of weight and spectral normalisation (PyTorch's
``torch.nn.utils.weight_norm`` / ``spectral_norm`` and their ``remove_*``): older than the
parametrizations (``ember.nn.utils.parametrizations``) and still what many scripts call.
Keys as PyTorch's: ``weight_g`` / ``weight_v``; ``weight_orig`` with buffers ``weight_u`` /
``weight_v``."""
from __future__ import annotations

import warnings

from ...core.autograd import no_grad
from ...random.generator import randn as _randn
from .. import functional as F
from ..module import Parameter
from .parametrizations import norm_except_dim, weight_norm_value

__all__ = ["weight_norm", "remove_weight_norm", "spectral_norm", "remove_spectral_norm"]


def _find_hook(module, kind, name):
    for k, hook in module.__dict__.get("_forward_pre_hooks", {}).items():
        if isinstance(hook, kind) and hook.name == name:
            return k, hook
    return None, None


class _WeightNormHook:
    def __init__(self, name, dim):
        self.name, self.dim = name, dim

    def compute(self, module):
        return weight_norm_value(getattr(module, self.name + "_g"),
                                 getattr(module, self.name + "_v"), self.dim)

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute(module))


def weight_norm(module, name="weight", dim=0):
    """``module.<name>`` recomputed before every forward as ``g * v / ||v||`` from the
    parameters ``<name>_g`` and ``<name>_v`` (norm over every dim but ``dim``; ``None``:
    the whole tensor). Deprecated in PyTorch in favour of
    ``nn.utils.parametrizations.weight_norm``, with the same warning here.

    >>> import warnings; warnings.simplefilter("ignore", FutureWarning)
    >>> lin = ember.nn.utils.weight_norm(ember.nn.Linear(3, 2))
    >>> sorted(lin.state_dict())
    ['bias', 'weight_g', 'weight_v']
    """
    warnings.warn("ember.nn.utils.weight_norm is deprecated in favor of "
                  "ember.nn.utils.parametrizations.weight_norm (as in PyTorch).",
                  FutureWarning, stacklevel=2)
    if _find_hook(module, _WeightNormHook, name)[1] is not None:
        raise RuntimeError(f"weight_norm: {type(module).__name__}.{name} already has "
                           f"weight_norm")
    weight = module._parameters.get(name)
    if weight is None:
        raise ValueError(f"weight_norm: {type(module).__name__} has no parameter {name!r}")
    hook = _WeightNormHook(name, -1 if dim is None else dim)
    del module._parameters[name]
    with no_grad():
        g = norm_except_dim(weight, hook.dim)
    module.register_parameter(name + "_g", Parameter(g.detach()))
    module.register_parameter(name + "_v", Parameter(weight.detach()))
    setattr(module, name, hook.compute(module))
    module.register_forward_pre_hook(hook)
    return module


def remove_weight_norm(module, name="weight"):
    """Undo ``weight_norm``: ``<name>`` becomes one parameter holding the current value.

    >>> import warnings; warnings.simplefilter("ignore", FutureWarning)
    >>> lin = ember.nn.utils.remove_weight_norm(ember.nn.utils.weight_norm(ember.nn.Linear(3, 2)))
    >>> sorted(lin.state_dict())
    ['bias', 'weight']
    """
    key, hook = _find_hook(module, _WeightNormHook, name)
    if hook is None:
        raise ValueError(f"remove_weight_norm: weight_norm of {name!r} not found in "
                         f"{type(module).__name__}")
    with no_grad():
        weight = hook.compute(module).detach()
    del module._forward_pre_hooks[key]
    del module._parameters[name + "_g"], module._parameters[name + "_v"]
    module.__dict__.pop(name, None)
    module.register_parameter(name, Parameter(weight))
    return module


class _SpectralNormHook:
    def __init__(self, name, n_power_iterations, dim, eps):
        self.name, self.n, self.dim, self.eps = name, n_power_iterations, dim, eps

    def matrix(self, weight):
        if self.dim != 0:
            weight = weight.movedim(self.dim, 0)
        return weight.reshape(weight.shape[0], -1)

    def compute(self, module, power_iteration):
        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        mat = self.matrix(weight)
        if power_iteration:
            with no_grad():
                m = mat.detach()
                for _ in range(self.n):
                    v = F.normalize(m.mT @ u, dim=0, eps=self.eps)
                    u = F.normalize(m @ v, dim=0, eps=self.eps)
                F._update_stat(getattr(module, self.name + "_u"), u)
                F._update_stat(getattr(module, self.name + "_v"), v)
        u, v = u.detach(), v.detach()
        return weight / (u * (mat @ v)).sum()

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute(module, module.training))


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """``module.<name>`` divided by its largest singular value before every forward, the
    estimate refined by ``n_power_iterations`` power-iteration steps per training-mode
    forward (none in eval mode): parameter ``<name>_orig``, buffers ``<name>_u`` /
    ``<name>_v``, as PyTorch's hook form. ``dim`` defaults to 1 for ConvTranspose layers.

    >>> sn = ember.nn.utils.spectral_norm(ember.nn.Linear(4, 3))
    >>> sorted(sn.state_dict())
    ['bias', 'weight_orig', 'weight_u', 'weight_v']
    """
    if _find_hook(module, _SpectralNormHook, name)[1] is not None:
        raise RuntimeError(f"spectral_norm: {type(module).__name__}.{name} already has "
                           f"spectral_norm")
    weight = module._parameters.get(name)
    if weight is None:
        raise ValueError(f"spectral_norm: {type(module).__name__} has no parameter {name!r}")
    if n_power_iterations <= 0:
        raise ValueError(f"spectral_norm: n_power_iterations must be positive, got "
                         f"{n_power_iterations}")
    if dim is None:
        dim = 1 if type(module).__name__.startswith("ConvTranspose") else 0
    hook = _SpectralNormHook(name, n_power_iterations, dim % max(weight.ndim, 1), eps)
    with no_grad():
        h, w = hook.matrix(weight).shape
        u = F.normalize(_randn(h, dtype=weight.dtype), dim=0, eps=eps)
        v = F.normalize(_randn(w, dtype=weight.dtype), dim=0, eps=eps)
    del module._parameters[name]
    module.register_parameter(name + "_orig", weight)
    setattr(module, name, weight.detach())
    module.register_buffer(name + "_u", u)
    module.register_buffer(name + "_v", v)
    module.register_forward_pre_hook(hook)
    return module


def remove_spectral_norm(module, name="weight"):
    """Undo ``spectral_norm``: ``<name>`` becomes one parameter holding the normalised
    value (without a further power-iteration step).

    >>> lin = ember.nn.utils.remove_spectral_norm(ember.nn.utils.spectral_norm(ember.nn.Linear(3, 2)))
    >>> sorted(lin.state_dict())
    ['bias', 'weight']
    """
    key, hook = _find_hook(module, _SpectralNormHook, name)
    if hook is None:
        raise ValueError(f"remove_spectral_norm: spectral_norm of {name!r} not found in "
                         f"{type(module).__name__}")
    with no_grad():
        weight = hook.compute(module, False).detach()
    del module._forward_pre_hooks[key]
    del module._parameters[name + "_orig"]
    del module._buffers[name + "_u"], module._buffers[name + "_v"]
    module.__dict__.pop(name, None)
    module.register_parameter(name, Parameter(weight))
    return module
