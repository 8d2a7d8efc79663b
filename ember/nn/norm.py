"""Normalisation layers: BatchNorm1d/2d (running statistics), LayerNorm, GroupNorm."""
from __future__ import annotations

from . import functional as F
from . import init
from .module import Module, Parameter
from ..ops.creation_ops import zeros, ones, full
from ..ops.indexing import cat
from ..core.primitive import Tracer
from ..core import dtypes as _dt
from ..core.exceptions import OpError


def init_channel_norm(module, num_features, eps, momentum, affine, bias, track_running_stats,
                      dtype, device):
    """The state of a per-channel normalisation (BatchNorm, InstanceNorm): an affine
    ``weight`` (ones) and ``bias`` (zeros) when ``affine``, and the running statistics with
    ``num_batches_tracked`` when ``track_running_stats`` (else None entries, as PyTorch)."""
    module.num_features, module.eps, module.momentum = num_features, eps, momentum
    module.affine, module.track_running_stats = affine, track_running_stats
    if affine:
        module.weight = Parameter(ones(num_features, dtype=dtype, device=device))
        if bias:
            module.bias = Parameter(zeros(num_features, dtype=dtype, device=device))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)
    if track_running_stats:
        module.register_buffer("running_mean", zeros(num_features, dtype=dtype, device=device))
        module.register_buffer("running_var", ones(num_features, dtype=dtype, device=device))
        module.register_buffer("num_batches_tracked", zeros((), dtype=_dt.int64, device=device))
    else:
        for n in ("running_mean", "running_var", "num_batches_tracked"):
            module.register_buffer(n, None)


class _BatchNorm(Module):
    """Batch statistics in training (running mean/var updated with ``momentum``; the
    running variance uses the unbiased estimate), running statistics in eval mode. A jitted
    call updates the running buffers as an eager one does; under ``vmap`` or ``grad`` of eager
    code, and for buffers passed in as arguments (``functional_call``), they are not updated.
    """

    _dims = (2,)

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, dtype=None, device=None, *, bias=True):
        super().__init__()
        init_channel_norm(self, num_features, eps, momentum, affine, bias, track_running_stats,
                          dtype, device)

    def reset_parameters(self):
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, x):
        if x.ndim not in self._dims:
            raise OpError(f"{type(self).__name__}: expected a {' or '.join(map(str, self._dims))}"
                             f"-D input, got shape {tuple(x.shape)}")
        if x.shape[1] != self.num_features:
            raise OpError(f"{type(self).__name__}({self.num_features}): input has "
                             f"{x.shape[1]} channels (shape {tuple(x.shape)})")
        use_batch = self.training or not self.track_running_stats
        momentum = self.momentum
        if self.training and self.track_running_stats:
            count = self.num_batches_tracked + 1
            F._update_stat(self.num_batches_tracked, count)
            if momentum is None:  # a cumulative average of the batch statistics (PyTorch)
                momentum = 1.0 / count
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            use_batch, momentum, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over ``(N, C)`` or ``(N, C, L)`` per channel ``C``.

    >>> bn = ember.nn.BatchNorm1d(1)
    >>> bn(ember.tensor([[1.], [3.]]))                 # training: the batch's statistics
    tensor([[-1.0000],
            [ 1.0000]], grad_fn=<...>)
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
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Normalises groups of ``num_channels / num_groups`` channels of each example, then applies
    a per-channel ``weight`` and ``bias``.

    >>> gn = ember.nn.GroupNorm(2, 4)
    >>> gn(ember.tensor([[1., 3., 5., 9.]]).reshape(1, 4, 1)).flatten()
    tensor([-1.0000,  1.0000, -1.0000,  1.0000], grad_fn=<...>)
    """
    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, dtype=None,
                 device=None, *, bias=True):
        super().__init__()
        if num_channels % num_groups:
            raise OpError(f"GroupNorm: num_channels {num_channels} must be divisible by "
                             f"num_groups {num_groups}")
        self.num_groups, self.num_channels, self.eps, self.affine = \
            num_groups, num_channels, eps, affine
        if affine:
            self.weight = Parameter(ones(num_channels, dtype=dtype, device=device))
            if bias:
                self.bias = Parameter(zeros(num_channels, dtype=dtype, device=device))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class SyncBatchNorm(_BatchNorm):
    """Batch normalisation whose training statistics are taken over the batches of every rank
    of ``process_group`` (default: the world), as ``torch.nn.SyncBatchNorm``: with N ranks
    of batch B it normalises as BatchNorm on the whole N*B batch (forward, gradients and
    running statistics). Two all-reduces per forward (sum and count; then the centred squares)
    and their transposes in backward. In eval mode it uses the running statistics, with no
    communication. ``convert_sync_batchnorm`` swaps it in for a model's BatchNorm layers.

    >>> import ember.distributed as dist
    >>> dist.init_process_group()                       # a world of one: as BatchNorm
    >>> net = ember.nn.SyncBatchNorm.convert_sync_batchnorm(
    ...     ember.nn.Sequential(ember.nn.Linear(2, 3), ember.nn.BatchNorm1d(3)))
    >>> type(net[1]).__name__, net(ember.randn(4, 2)).shape
    ('SyncBatchNorm', ember.Size([4, 3]))
    >>> dist.destroy_process_group()
    """

    _dims = (2, 3, 4, 5)

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, process_group=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype=dtype)
        object.__setattr__(self, "process_group", process_group)

    def forward(self, x):
        if not (self.training or not self.track_running_stats):
            return super().forward(x)
        from ..distributed import functional as DF
        if x.ndim not in self._dims:
            raise OpError(f"SyncBatchNorm: expected a 2-D to 5-D input (N, C, ...), got "
                             f"shape {tuple(x.shape)}")
        c = self.num_features
        if x.shape[1] != c:
            raise OpError(f"SyncBatchNorm({c}): input has {x.shape[1]} channels (shape "
                             f"{tuple(x.shape)})")
        group = self.process_group
        dims = (0,) + tuple(range(2, x.ndim))
        shape = (1, c) + (1,) * (x.ndim - 2)
        count = x.numel() // c
        local = cat([x.sum(dims), full((1,), float(count), dtype=x.dtype)])
        tot = DF.all_reduce(local, "sum", group)    # per-channel sums and the total count
        n = tot[c:c + 1].detach()
        if not isinstance(n, Tracer) and float(n.item()) <= 1:
            raise OpError(f"SyncBatchNorm: expected more than 1 value per channel over all "
                             f"ranks when training, got input of shape {tuple(x.shape)} here "
                             f"and {int(n.item())} values in all")
        mean = tot[:c] / n
        xc = x - mean.reshape(shape)
        var = DF.all_reduce((xc * xc).sum(dims), "sum", group) / n
        if self.training and self.track_running_stats:
            F._update_stat(self.num_batches_tracked, self.num_batches_tracked + 1)
            m = self.momentum if self.momentum is not None else \
                1.0 / float(self.num_batches_tracked.item())
            from ..core.autograd import no_grad
            with no_grad():
                F._update_stat(self.running_mean, (1 - m) * self.running_mean + m * mean.detach())
                F._update_stat(self.running_var, (1 - m) * self.running_var
                               + m * (var.detach() * (n / (n - 1))))
        out = xc * (var.reshape(shape) + self.eps).rsqrt()
        if self.weight is not None:
            out = out * self.weight.reshape(shape)
        if self.bias is not None:
            out = out + self.bias.reshape(shape)
        return out

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """``module`` with every BatchNorm layer replaced by a SyncBatchNorm that shares its
        parameters and buffers (a BatchNorm ``module`` itself is returned converted)."""
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            new = cls.__new__(cls)
            Module.__init__(new)
            for k in ("num_features", "eps", "momentum", "affine", "track_running_stats"):
                object.__setattr__(new, k, getattr(module, k))
            object.__setattr__(new, "process_group", process_group)
            for name, p in module._parameters.items():
                new._parameters[name] = p
            for name, b in module._buffers.items():
                new._buffers[name] = b
            new.train(module.training)
            return new
        for name, child in list(module._modules.items()):
            if child is not None:
                module._modules[name] = cls.convert_sync_batchnorm(child, process_group)
        return module

