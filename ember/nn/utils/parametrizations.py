"""``ember.nn.utils.parametrizations`` (PyTorch's ``torch.nn.utils.parametrizations``):
``weight_norm`` and ``spectral_norm`` as parametrizations (``parametrize``), with PyTorch's
state_dict keys (``parametrizations.weight.original0/1``; ``...weight.original`` with the
power iteration's ``parametrizations.weight.0._u`` / ``_v``). ``orthogonal`` is not
implemented (it needs the matrix exponential / Cayley map and complex support)."""
from __future__ import annotations

from ...core.autograd import no_grad
from ...ops import shape as _sh
from ...random.generator import randn as _randn
from .. import functional as F
from ..module import Module
from .parametrize import register_parametrization

__all__ = ["weight_norm", "spectral_norm"]


def norm_except_dim(v, dim):
    """The 2-norm of ``v`` over every dim but ``dim``, shaped to broadcast against ``v``
    (PyTorch's ``norm_except_dim``; ``dim=-1`` means the norm of the whole tensor, a 0-d
    result — PyTorch's convention, kept)."""
    if dim == -1:
        return v.norm()
    dim = dim % v.ndim
    others = tuple(d for d in range(v.ndim) if d != dim)
    return (v * v).sum(others, keepdim=True).sqrt() if others else v.abs()


def weight_norm_value(g, v, dim):
    """``g * v / ||v||`` with the norm over every dim but ``dim`` (``-1``: all of them)."""
    return v * (g / norm_except_dim(v, dim))


class _WeightNorm(Module):
    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return weight_norm_value(weight_g, weight_v, self.dim)

    def right_inverse(self, weight):
        return norm_except_dim(weight, self.dim), weight


def weight_norm(module, name="weight", dim=0):
    """Reparametrize ``module.<name>`` as magnitude times direction, ``g * v / ||v||``
    (Salimans & Kingma), norm over every dim but ``dim`` (``None``: the whole tensor):
    ``g`` is ``parametrizations.<name>.original0`` and ``v`` ``original1``, as PyTorch's.

    >>> lin = ember.nn.utils.parametrizations.weight_norm(ember.nn.Linear(3, 2))
    >>> [n for n, _ in lin.named_parameters()]
    ['bias', 'parametrizations.weight.original0', 'parametrizations.weight.original1']
    >>> lin.parametrizations.weight.original0.shape
    ember.Size([2, 1])
    """
    register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


class _SpectralNorm(Module):
    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        nd = weight.ndim
        if not -nd <= dim < max(nd, 1):
            raise IndexError(f"spectral_norm: dim {dim} is out of range for a {nd}-d weight")
        if n_power_iterations <= 0:
            raise ValueError(f"spectral_norm: n_power_iterations must be positive, got "
                             f"{n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + nd
        self.eps = eps
        if nd > 1:
            self.n_power_iterations = n_power_iterations
            mat = self._matrix(weight)
            h, w = mat.shape
            self.register_buffer("_u", F.normalize(_randn(h, dtype=weight.dtype), dim=0,
                                                   eps=eps))
            self.register_buffer("_v", F.normalize(_randn(w, dtype=weight.dtype), dim=0,
                                                   eps=eps))
            self._power_method(mat, 15)

    def _matrix(self, weight):
        if self.dim != 0:
            weight = _sh.movedim(weight, self.dim, 0)
        return weight.reshape(weight.shape[0], -1)

    def _power_method(self, mat, n):
        with no_grad():
            mat = mat.detach()
            u, v = self._u, self._v
            for _ in range(n):
                u = F.normalize(mat @ v, dim=0, eps=self.eps)
                v = F.normalize(mat.mT @ u, dim=0, eps=self.eps)
            F._update_stat(self._u, u)
            F._update_stat(self._v, v)
        return u, v  # (under jit a buffer written in a call reads its old value until the end)

    def forward(self, weight):
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        mat = self._matrix(weight)
        u, v = self._u, self._v
        if self.training:
            u, v = self._power_method(mat, self.n_power_iterations)
        u, v = u.detach(), v.detach()
        sigma = (u * (mat @ v)).sum()
        return weight / sigma

    def right_inverse(self, value):
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Divide ``module.<name>`` by its largest singular value, estimated by power iteration
    (one step per training-mode forward, none in eval mode; 15 at registration), as
    PyTorch's parametrization: keys ``parametrizations.<name>.original`` and the buffers
    ``parametrizations.<name>.0._u`` / ``_v``. ``dim`` defaults to 1 for ConvTranspose
    layers (their output channels), else 0.

    >>> lin = ember.nn.utils.parametrizations.spectral_norm(ember.nn.Linear(4, 3))
    >>> sorted(lin.state_dict())
    ['bias', 'parametrizations.weight.0._u', 'parametrizations.weight.0._v', 'parametrizations.weight.original']
    """
    weight = getattr(module, name, None)
    if weight is None:
        raise ValueError(f"spectral_norm: {type(module).__name__} has no tensor {name!r}")
    if dim is None:
        dim = 1 if type(module).__name__.startswith("ConvTranspose") else 0
    register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
