"""Normalisation layers: BatchNorm1d/2d (running statistics), LayerNorm, GroupNorm."""
from __future__ import annotations

from . import functional as F
from . import init
from .module import Module, Parameter
from ..ops.creation_ops import empty, zeros, ones
from ..core import dtypes as _dt


class _BatchNorm(Module):
    """Batch statistics in training (running mean/var updated with ``momentum``; the
    running variance uses the unbiased estimate), running statistics in eval mode. A jitted
    call updates the running buffers as an eager one does; under ``vmap`` or ``grad`` of eager
    code, and for buffers passed in as arguments (``functional_call``), they are not updated.
    """

    _dims = (2,)

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, dtype=None, device=None):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(empty(num_features, dtype=dtype, device=device))
            self.bias = Parameter(empty(num_features, dtype=dtype, device=device))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype, device=device))
            self.register_buffer("running_var", ones(num_features, dtype=dtype, device=device))
            self.register_buffer("num_batches_tracked", zeros((), dtype=_dt.int64,
                                                               device=device))
        else:
            for n in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(n, None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, x):
        if x.ndim not in self._dims:
            raise ValueError(f"{type(self).__name__}: expected a {' or '.join(map(str, self._dims))}"
                             f"-D input, got shape {tuple(x.shape)}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}({self.num_features}): input has "
                             f"{x.shape[1]} channels (shape {tuple(x.shape)})")
        use_batch = self.training or not self.track_running_stats
        if self.training and self.track_running_stats:
            F._update_stat(self.num_batches_tracked, self.num_batches_tracked + 1)
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            use_batch, self.momentum, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over ``(N, C)`` or ``(N, C, L)`` per channel ``C``.

    >>> bn = ember.nn.BatchNorm1d(1)
    >>> bn(ember.tensor([[1.], [3.]]))                 # training: the batch's statistics
    tensor([[-1.0000],
            [1.0000]], grad_fn=<...>)
    >>> bn.running_mean, bn.running_var
    (tensor([0.2000]), tensor([1.1000]))
    """
    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation over ``(N, C, H, W)`` per channel ``C``.

    >>> bn = ember.nn.BatchNorm2d(3)
    >>> bn(ember.randn(4, 3, 5, 5)).mean(dim=(0, 2, 3)).abs().max() < 1e-5
    tensor(True)
    >>> list(bn.state_dict())
    ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
    """
    _dims = (4,)


class LayerNorm(Module):
    """Normalises over the trailing ``normalized_shape`` dims of each example, then applies an
    elementwise ``weight`` and ``bias``.

    >>> ember.nn.LayerNorm(2)(ember.tensor([[1., 3.], [0., 10.]]))
    tensor([[-1.0000,  1.0000],
            [-1.0000,  1.0000]], grad_fn=<...>)
    """
    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 dtype=None, device=None):
        super().__init__()
        ns = (normalized_shape,) if isinstance(normalized_shape, int) else \
            tuple(normalized_shape)
        self.normalized_shape, self.eps = ns, eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(ones(*ns, dtype=dtype, device=device))
            self.bias = Parameter(zeros(*ns, dtype=dtype, device=device)) if bias else None
            if not bias:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class GroupNorm(Module):
    """Normalises groups of ``num_channels / num_groups`` channels of each example, then applies
    a per-channel ``weight`` and ``bias``.

    >>> gn = ember.nn.GroupNorm(2, 4)
    >>> gn(ember.tensor([[1., 3., 5., 9.]]).reshape(1, 4, 1)).flatten()
    tensor([-1.0000,  1.0000, -1.0000,  1.0000], grad_fn=<...>)
    """
    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, dtype=None,
                 device=None):
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels {num_channels} must be divisible by "
                             f"num_groups {num_groups}")
        self.num_groups, self.num_channels, self.eps, self.affine = \
            num_groups, num_channels, eps, affine
        if affine:
            self.weight = Parameter(ones(num_channels, dtype=dtype, device=device))
            self.bias = Parameter(zeros(num_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
