"""Tensor parallelism: Megatron's column- and row-parallel Linear pair and
``parallelize_module`` (in the spirit of ``torch.distributed.tensor.parallel``).

A tensor-parallel group of ``tp_size`` members splits each Linear's weight: a
:class:`ColumnParallelLinear` keeps a block of the output features (its output is sharded
along the last dim), a :class:`RowParallelLinear` keeps the matching block of the input
features and all-reduces its partial products. The pair needs two collectives per MLP, each
with its Megatron derivative:

- into a column-parallel layer: identity forward, all-reduce (``psum``) backward
  (:func:`copy_to_tensor_parallel_region`);
- out of a row-parallel layer: all-reduce forward, identity backward
  (:func:`reduce_from_tensor_parallel_region`).

The members are the members of a named axis (``axis_name``, "tp" by default):

- in one process, inside ``ember.pmap``/``ember.vmap(..., axis_name="tp")`` over the
  members' stacked parameters (``functional_call``), each member running the same program;
- across processes, one member per rank of the process group (world size ``tp_size``): the
  layers bind the axis to the group's communicator themselves, so plain eager forward and
  ``.backward()`` work on every rank.

Each member computes the gradient of the same (replicated) loss, as each rank does, so its
parameter gradients are its blocks of the unsplit model's.
"""
from __future__ import annotations

import fnmatch

from ...core.state import AxisFrame, axis_frame, bind_axis, spmd_axes
from ...distributed import groups as _groups
from ...ops import collective_ops as _c
from ...transforms.reverse import stop_gradient
from .. import functional as F
from ..layers import Linear
from ..module import Module, Parameter

__all__ = ["ColumnParallelLinear", "RowParallelLinear", "ColwiseParallel", "RowwiseParallel",
           "parallelize_module", "copy_to_tensor_parallel_region",
           "reduce_from_tensor_parallel_region"]


class _axis_scope:
    """Bind ``name`` for a layer's forward: nothing to do inside a pmap/vmap that binds it;
    otherwise the process group's communicator when its world size is ``size``."""

    def __init__(self, op, name, size):
        self.op, self.name, self.size, self.cm = op, name, size, None

    def __enter__(self):
        f = axis_frame(self.name)
        if f is not None:
            if f.size != self.size:
                raise ValueError(f"{self.op}: the axis {self.name!r} has {f.size} members here "
                                 f"but the layer was split for tp_size={self.size}")
            return
        if _groups.is_initialized():
            comm = _groups._world()
            if comm.size == self.size:
                frame = spmd_axes.get(self.name)
                if frame is None or frame.comm is not comm:
                    frame = spmd_axes[self.name] = AxisFrame(self.name, self.size, None, comm)
                self.cm = bind_axis(frame)
                self.cm.__enter__()
                return
        raise NameError(
            f"{self.op}: the tensor-parallel axis {self.name!r} ({self.size} members) is not "
            f"bound: call the model inside ember.pmap(f, axis_name={self.name!r}) over the "
            f"members' parameters, or on {self.size} ranks (ember run -n {self.size}) after "
            f"ember.distributed.init_process_group()")

    def __exit__(self, *exc):
        if self.cm is not None:
            self.cm.__exit__(*exc)
        return False


def copy_to_tensor_parallel_region(x, axis_name="tp"):
    """``x`` unchanged; its gradient is summed over the members (Megatron's "f").

    >>> copy_in = ember.nn.parallel.copy_to_tensor_parallel_region
    >>> f = lambda v, w: ember.grad(lambda v: (copy_in(v, "tp") * w).sum())(v)
    >>> w = ember.tensor([[1., 2.], [3., 4.]])
    >>> ember.vmap(f, in_axes=(None, 0), axis_name="tp")(ember.ones(2), w)
    tensor([[4., 6.],
            [4., 6.]])
    """
    return _c.pvary1(x, axis_name)


def reduce_from_tensor_parallel_region(x, axis_name="tp"):
    """The sum of ``x`` over the members; its gradient passes through unchanged (Megatron's
    "g").

    >>> reduce_out = ember.nn.parallel.reduce_from_tensor_parallel_region
    >>> f = lambda v: ember.grad(lambda v: reduce_out(v, "tp").sum())(v)
    >>> ember.vmap(f, axis_name="tp")(ember.tensor([[1., 2.], [3., 4.]]))
    tensor([[1., 1.],
            [1., 1.]])
    """
    x = _c.as_value(x)
    # forward: psum(x) + 0 exactly; backward: only the x - stop_gradient(x) term, identity
    return stop_gradient(_c.psum1(x, axis_name)) + (x - stop_gradient(x))


def _tp_size_and_rank(op, tp_size, rank):
    if tp_size is None:
        if not _groups.is_initialized():
            raise ValueError(f"{op}: give tp_size (the number of tensor-parallel members), or "
                             f"initialise the process group (its world size is the default)")
        tp_size = _groups.get_world_size()
    if rank is None:
        rank = _groups.get_rank() if _groups.is_initialized() and \
            _groups.get_world_size() == tp_size else 0
    if not 0 <= rank < tp_size:
        raise ValueError(f"{op}: rank {rank} is out of range for tp_size={tp_size}")
    return int(tp_size), int(rank)


def _check_split(op, what, n, tp_size):
    if n % tp_size:
        raise ValueError(f"{op}: {what}={n} is not divisible by tp_size={tp_size}; each member "
                         f"keeps an equal block (pick a tp_size dividing {n})")
    return n // tp_size


class ColumnParallelLinear(Module):
    """A Linear whose output features are split over the tensor-parallel members: member
    ``rank`` keeps rows ``[rank*k, (rank+1)*k)`` of the weight (and bias), ``k =
    out_features // tp_size``, and returns its block of the output features.

    >>> full = ember.nn.Linear(4, 6)
    >>> col = ember.nn.parallel.ColumnParallelLinear.from_linear(full, tp_size=2, rank=1)
    >>> col.weight.shape, col.bias.shape
    (ember.Size([3, 4]), ember.Size([3]))
    """

    def __init__(self, in_features, out_features, bias=True, *, axis_name="tp", tp_size=None,
                 rank=None, dtype=None, device=None):
        super().__init__()
        tp_size, rank = _tp_size_and_rank("ColumnParallelLinear", tp_size, rank)
        k = _check_split("ColumnParallelLinear", "out_features", out_features, tp_size)
        self.in_features, self.out_features = in_features, out_features
        self.axis_name, self.tp_size, self.rank = axis_name, tp_size, rank
        full = Linear(in_features, out_features, bias=bias, dtype=dtype, device=device)
        self.weight = Parameter(full.weight.detach()[rank * k:(rank + 1) * k].clone())
        if bias:
            self.bias = Parameter(full.bias.detach()[rank * k:(rank + 1) * k].clone())
        else:
            self.register_parameter("bias", None)

    @classmethod
    def from_linear(cls, linear, *, axis_name="tp", tp_size=None, rank=None):
        """This member's block of an existing ``nn.Linear`` (same weights)."""
        tp_size, rank = _tp_size_and_rank("ColumnParallelLinear", tp_size, rank)
        k = _check_split("ColumnParallelLinear", "out_features", linear.out_features, tp_size)
        self = cls.__new__(cls)
        Module.__init__(self)
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.axis_name, self.tp_size, self.rank = axis_name, tp_size, rank
        self.weight = Parameter(linear.weight.detach()[rank * k:(rank + 1) * k].clone())
        if linear.bias is not None:
            self.bias = Parameter(linear.bias.detach()[rank * k:(rank + 1) * k].clone())
        else:
            self.register_parameter("bias", None)
        return self

    def forward(self, x):
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"ColumnParallelLinear(in_features={self.in_features}): input "
                             f"has shape {tuple(x.shape)}")
        with _axis_scope("ColumnParallelLinear", self.axis_name, self.tp_size):
            return F.linear(copy_to_tensor_parallel_region(x, self.axis_name), self.weight,
                            self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features} "
                f"(this member: {self.out_features // self.tp_size}), "
                f"bias={self.bias is not None}, axis_name={self.axis_name!r}, tp_size={self.tp_size}, rank={self.rank}")


class RowParallelLinear(Module):
    """A Linear whose input features are split over the tensor-parallel members: member
    ``rank`` keeps columns ``[rank*k, (rank+1)*k)`` of the weight and takes its block of the
    input features (a :class:`ColumnParallelLinear`'s output); the partial products are
    summed over the members, then the (whole, replicated) bias is added.

    >>> full = ember.nn.Linear(6, 2)
    >>> row = ember.nn.parallel.RowParallelLinear.from_linear(full, tp_size=3, rank=0)
    >>> row.weight.shape, row.bias.shape
    (ember.Size([2, 2]), ember.Size([2]))
    """

    def __init__(self, in_features, out_features, bias=True, *, axis_name="tp", tp_size=None,
                 rank=None, dtype=None, device=None):
        super().__init__()
        tp_size, rank = _tp_size_and_rank("RowParallelLinear", tp_size, rank)
        k = _check_split("RowParallelLinear", "in_features", in_features, tp_size)
        self.in_features, self.out_features = in_features, out_features
        self.axis_name, self.tp_size, self.rank = axis_name, tp_size, rank
        full = Linear(in_features, out_features, bias=bias, dtype=dtype, device=device)
        self.weight = Parameter(full.weight.detach()[:, rank * k:(rank + 1) * k].clone())
        if bias:
            self.bias = Parameter(full.bias.detach().clone())
        else:
            self.register_parameter("bias", None)

    @classmethod
    def from_linear(cls, linear, *, axis_name="tp", tp_size=None, rank=None):
        """This member's block of an existing ``nn.Linear`` (same weights)."""
        tp_size, rank = _tp_size_and_rank("RowParallelLinear", tp_size, rank)
        k = _check_split("RowParallelLinear", "in_features", linear.in_features, tp_size)
        self = cls.__new__(cls)
        Module.__init__(self)
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.axis_name, self.tp_size, self.rank = axis_name, tp_size, rank
        self.weight = Parameter(linear.weight.detach()[:, rank * k:(rank + 1) * k].clone())
        if linear.bias is not None:
            self.bias = Parameter(linear.bias.detach().clone())
        else:
            self.register_parameter("bias", None)
        return self

    def forward(self, x):
        k = self.in_features // self.tp_size
        if x.ndim == 0 or x.shape[-1] != k:
            raise ValueError(f"RowParallelLinear(in_features={self.in_features}, "
                             f"tp_size={self.tp_size}): expects this member's {k} input "
                             f"features (a ColumnParallelLinear's output), got shape "
                             f"{tuple(x.shape)}")
        with _axis_scope("RowParallelLinear", self.axis_name, self.tp_size):
            y = reduce_from_tensor_parallel_region(F.linear(x, self.weight), self.axis_name)
        return y if self.bias is None else y + self.bias

    def extra_repr(self):
        return (f"in_features={self.in_features} (this member: "
                f"{self.in_features // self.tp_size}), out_features={self.out_features}, "
                f"bias={self.bias is not None}, axis_name={self.axis_name!r}, "
                f"tp_size={self.tp_size}, rank={self.rank}")


class ColwiseParallel:
    """Plan entry: split a Linear's output features (``"colwise"``)."""
    layer = ColumnParallelLinear

    def __repr__(self):
        return "ColwiseParallel()"


class RowwiseParallel:
    """Plan entry: split a Linear's input features (``"rowwise"``)."""
    layer = RowParallelLinear

    def __repr__(self):
        return "RowwiseParallel()"


_STYLES = {"colwise": ColwiseParallel, "rowwise": RowwiseParallel}


def _style(op, v):
    if isinstance(v, str):
        if v not in _STYLES:
            raise ValueError(f"{op}: unknown style {v!r}; use 'colwise' or 'rowwise' (or "
                             f"ColwiseParallel()/RowwiseParallel())")
        return _STYLES[v]()
    if isinstance(v, (ColwiseParallel, RowwiseParallel)):
        return v
    if v in (ColwiseParallel, RowwiseParallel):
        return v()
    raise TypeError(f"{op}: a plan entry must be 'colwise', 'rowwise', ColwiseParallel() or "
                    f"RowwiseParallel(), got {v!r}")


def parallelize_module(module, device_mesh=None, parallelize_plan=None, *, axis_name="tp",
                       tp_size=None, rank=None):
    """Replace the Linear submodules named in ``parallelize_plan`` (``{name or fnmatch
    pattern: "colwise" | "rowwise"}``, or one style for ``module`` itself) by this member's
    column/row-parallel blocks, in place; returns the module. ``device_mesh`` (PyTorch's
    argument) may be omitted, or given as the plan; ``tp_size``/``rank`` default to the
    process group's world size and rank.

    >>> mlp = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.ReLU(), ember.nn.Linear(8, 4))
    >>> plan = {"0": "colwise", "2": "rowwise"}
    >>> tp = ember.nn.parallel.parallelize_module(mlp, plan, tp_size=2, rank=0)
    >>> tp[0].weight.shape, tp[2].weight.shape
    (ember.Size([4, 4]), ember.Size([4, 4]))
    """
    op = "parallelize_module"
    if parallelize_plan is None and isinstance(device_mesh, (dict, str, ColwiseParallel,
                                                             RowwiseParallel)):
        device_mesh, parallelize_plan = None, device_mesh
    if parallelize_plan is None:
        raise ValueError(f"{op}: give a plan, e.g. {{'fc1': 'colwise', 'fc2': 'rowwise'}}")
    if device_mesh is not None:
        size = getattr(device_mesh, "size", None)
        size = size() if callable(size) else size
        if tp_size is None and isinstance(size, int):
            tp_size = size
    tp_size, rank = _tp_size_and_rank(op, tp_size, rank)

    def convert(name, lin, style):
        if not isinstance(lin, Linear):
            raise TypeError(f"{op}: {name or 'the module'} is a {type(lin).__name__}; only "
                            f"nn.Linear layers can be split 'colwise'/'rowwise'")
        return style.layer.from_linear(lin, axis_name=axis_name, tp_size=tp_size, rank=rank)

    if not isinstance(parallelize_plan, dict):
        return convert("", module, _style(op, parallelize_plan))
    named = dict(module.named_modules())
    for pattern, v in parallelize_plan.items():
        style = _style(op, v)
        hits = [n for n in named if n and fnmatch.fnmatchcase(n, pattern)]
        if not hits:
            raise KeyError(f"{op}: no submodule matches {pattern!r}; the submodules are "
                           f"{[n for n in named if n]}")
        for n in hits:
            parent_name, _, leaf = n.rpartition(".")
            parent = named[parent_name] if parent_name else module
            new = convert(n, named[n], style)
            if leaf in parent._modules:  # in place: a Sequential keeps its order
                parent._modules[leaf] = new
            else:
                setattr(parent, leaf, new)
    return module
