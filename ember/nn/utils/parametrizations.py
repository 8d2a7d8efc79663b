"""``ember.nn.utils.parametrizations`` (PyTorch's ``torch.nn.utils.parametrizations``):
``weight_norm``, ``spectral_norm`` and ``orthogonal`` as parametrizations (``parametrize``),
with PyTorch's state_dict keys (``parametrizations.weight.original0/1``;
``...weight.original`` with the power iteration's ``parametrizations.weight.0._u`` / ``_v``;
``...weight.original`` and ``...weight.0.base`` for ``orthogonal``)."""
from __future__ import annotations

from ...core.autograd import no_grad
from ...ops import shape as _sh
from ...random.generator import randn as _randn
from .. import functional as F
from ..module import Module
from .parametrize import register_parametrization

__all__ = ["weight_norm", "spectral_norm", "orthogonal"]


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


# ---- orthogonal ------------------------------------------------------------------------------

def _make_orthogonal(A):
    """The Q of A's QR with R's diagonal made positive (so Q is unique)."""
    import ember
    a, tau = ember.geqrf(A)
    Q = ember.linalg.householder_product(a, tau)
    d = ember.diagonal(a, 0, -2, -1)
    return Q * ember.sgn(d).unsqueeze(-2)


def _is_orthogonal(Q):
    import ember
    n, k = Q.shape[-2], Q.shape[-1]
    eps = 10.0 * n * float(ember.finfo(Q.dtype).eps)
    QhQ = (Q.mT.conj() if Q.dtype.is_complex else Q.mT) @ Q
    return bool(ember.allclose(QhQ, ember.eye(k, dtype=Q.dtype), atol=eps))


class _Orthogonal(Module):
    """``orthogonal``'s parametrization: an unconstrained matrix to an orthogonal one by the
    matrix exponential or the Cayley map of its skew-symmetric part, or by Householder
    reflectors; with ``use_trivialization`` the result is multiplied by ``base`` (the
    orthogonal matrix last assigned), so assigning any orthogonal matrix works."""

    def __init__(self, weight, orthogonal_map, *, use_trivialization=True):
        super().__init__()
        if weight.dtype.is_complex and orthogonal_map == "householder":
            raise ValueError("orthogonal: the householder map is not supported for complex "
                             "weights; use orthogonal_map='matrix_exp' or 'cayley'")
        self.shape = tuple(weight.shape)
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X):
        import ember
        n, k = X.shape[-2], X.shape[-1]
        transposed = n < k
        if transposed:
            X = X.mT
            n, k = k, n
        if self.orthogonal_map in ("matrix_exp", "cayley"):
            X = ember.tril(X)
            if n != k:
                X = ember.cat([X, ember.zeros(tuple(X.shape[:-2]) + (n, n - k), dtype=X.dtype)],
                              -1)
            A = X - (X.mT.conj() if X.dtype.is_complex else X.mT)
            if self.orthogonal_map == "matrix_exp":
                Q = ember.matrix_exp(A)
            else:
                Id = ember.eye(n, dtype=A.dtype)
                Q = ember.linalg.solve(Id - 0.5 * A, Id + 0.5 * A)
            if n != k:
                Q = Q[..., :k]
        else:
            A = ember.tril(X, -1)
            tau = 2.0 / (1.0 + (A * A).sum(-2))
            Q = ember.linalg.householder_product(A, tau)
            # the diagonal's sign flips the reflectors: X = -I gives the identity
            Q = Q * ember.diagonal(X, 0, -2, -1).int().unsqueeze(-2)
        if getattr(self, "base", None) is not None:
            Q = self.base @ Q
        if transposed:
            Q = Q.mT
        return Q

    def right_inverse(self, Q):
        import ember
        if tuple(Q.shape) != self.shape:
            raise ValueError(f"orthogonal: expected a matrix of shape {self.shape} to assign, "
                             f"got {tuple(Q.shape)}")
        Q_init = Q
        n, k = Q.shape[-2], Q.shape[-1]
        transpose = n < k
        if transpose:
            Q = Q.mT
            n, k = k, n
        if not hasattr(self, "base"):  # no trivialization: only the householder map inverts
            if self.orthogonal_map in ("matrix_exp", "cayley"):
                raise NotImplementedError(
                    "orthogonal: assigning to the matrix_exp or cayley parametrization needs "
                    "use_trivialization=True")
            A, tau = ember.geqrf(Q)
            # make the reflectors' form the one forward builds: tau = 2 / (1 + |v|^2)
            d = ember.diagonal(A, 0, -2, -1)
            sign = ember.where(tau == 0, -ember.sgn(d), ember.sgn(d))
            A = A.clone()
            idx = ember.arange(k)
            A[..., idx, idx] = sign
            return A.mT if transpose else A
        if n == k:
            Q = Q.clone() if _is_orthogonal(Q) else _make_orthogonal(Q)
        else:  # completed to an n x n orthogonal matrix
            N = _randn(*(tuple(Q.shape[:-2]) + (n, n - k)), dtype=Q.dtype)
            Q = _make_orthogonal(ember.cat([Q, N], -1))
        self.base = Q
        neg_id = ember.zeros_like(Q_init)
        m = min(neg_id.shape[-2], neg_id.shape[-1])
        idx = ember.arange(m)
        neg_id[..., idx, idx] = -1.0
        return neg_id


def orthogonal(module, name="weight", orthogonal_map=None, *, use_trivialization=True):
    """Constrain ``module.<name>`` (a matrix or a batch of them) to be orthogonal (unitary),
    as ``torch.nn.utils.parametrizations.orthogonal``: ``orthogonal_map`` 'matrix_exp',
    'cayley' or 'householder' (default: 'matrix_exp' for square or complex matrices, else
    'householder'); the weight starts as the orthogonalised original and stays orthogonal
    through training.

    >>> m = ember.nn.utils.parametrizations.orthogonal(ember.nn.Linear(4, 3))
    >>> W = m.weight
    >>> bool(ember.allclose(W @ W.T, ember.eye(3), atol=1e-5))
    True
    """
    weight = getattr(module, name, None)
    from ...core.tensor import Tensor
    if not isinstance(weight, Tensor):
        raise ValueError(f"orthogonal: module {type(module).__name__} has no tensor "
                         f"parameter or buffer named {name!r}")
    if weight.ndim < 2:
        raise ValueError(f"orthogonal: expected a matrix or a batch of matrices, got a "
                         f"{weight.ndim}-D tensor")
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.shape[-2] == weight.shape[-1] or \
            weight.dtype.is_complex else "householder"
    if orthogonal_map not in ("matrix_exp", "cayley", "householder"):
        raise ValueError(f"orthogonal: orthogonal_map must be 'matrix_exp', 'cayley' or "
                         f"'householder', got {orthogonal_map!r}")
    orth = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    register_parametrization(module, name, orth, unsafe=True)
    return module
