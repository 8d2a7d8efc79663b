"""Layers: Linear, activations, Flatten, Dropout, Identity, Sequential, ModuleList."""
from __future__ import annotations

import math

from . import functional as F
from . import init
from .module import Module, Parameter
from ._reduction import legacy_reduction
from ._inplace import into
from ..ops.creation_ops import empty
from ..core.exceptions import OpError


class Identity(Module):
    """Returns its input unchanged (a placeholder layer, e.g. to drop a head from a model).

    >>> x = ember.tensor([1., 2.])
    >>> ember.nn.Identity()(x) is x
    True
    """
    def forward(self, x):
        return x


class Linear(Module):
    """y = x W^T + b, with PyTorch's default initialisation and parameter shapes.

    >>> layer = ember.nn.Linear(3, 2)
    >>> layer.weight.shape, layer.bias.shape
    (ember.Size([2, 3]), ember.Size([2]))
    >>> layer(ember.ones(4, 3)).shape
    ember.Size([4, 2])
    """

    def __init__(self, in_features, out_features, bias=True, dtype=None, device=None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(empty(out_features, in_features, dtype=dtype, device=device))
        self.bias = Parameter(empty(out_features, dtype=dtype, device=device)) if bias else None
        if not bias:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        x = input
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise OpError(f"Linear(in_features={self.in_features}): input has "
                             f"{x.shape[-1] if x.ndim else 0} features (shape "
                             f"{tuple(x.shape)})")
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


def _act(name, fn, example_output):
    """A module class applying ``fn``; its docstring example applies it to [-1., 0., 2.]."""
    doc = (f"The {name} activation as a module.\n\n"
           f">>> ember.nn.{name}()(ember.tensor([-1., 0., 2.]))\n{example_output}\n")
    def __init__(self, inplace=False):
        Module.__init__(self)
        self.inplace = inplace

    cls = type(name, (Module,), {"forward": lambda self, x: into(x, fn, self.inplace),
                                 "__init__": __init__,
                                 "extra_repr": lambda self: "inplace=True" if self.inplace
                                 else "", "__doc__": doc})
    return cls


ReLU = _act("ReLU", F.relu, "tensor([0., 0., 2.])")
Tanh = _act("Tanh", lambda x: x.tanh(), "tensor([-0.7616, 0.0000, 0.9640])")
Sigmoid = _act("Sigmoid", lambda x: x.sigmoid(), "tensor([0.2689, 0.5000, 0.8808])")
SiLU = _act("SiLU", F.silu, "tensor([-0.2689, 0.0000, 1.7616])")
ReLU6 = _act("ReLU6", F.relu6, "tensor([0., 0., 2.])")
LogSigmoid = _act("LogSigmoid", F.logsigmoid, "tensor([-1.3133, -0.6931, -0.1269])")


class GELU(Module):
    """The Gaussian error linear unit ``x * Phi(x)``; ``approximate="tanh"`` uses the tanh
    approximation.

    >>> ember.nn.GELU()(ember.tensor([-1., 0., 1.]))
    tensor([-0.1587, 0.0000, 0.8413])
    """
    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, approximate=self.approximate) if self.approximate != "none" \
            else F.gelu(x)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class LeakyReLU(Module):
    """``x`` where positive, ``negative_slope * x`` elsewhere.

    >>> ember.nn.LeakyReLU(0.1)(ember.tensor([-2., 3.]))
    tensor([-0.2000, 3.0000])
    """
    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope, self.inplace)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere.

    >>> ember.nn.ELU()(ember.tensor([-1., 2.]))
    tensor([-0.6321, 2.0000])
    """
    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, x):
        return F.elu(x, self.alpha, self.inplace)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Softmax(Module):
    """Softmax along ``dim``: non-negative values that sum to 1 along that dimension.

    >>> ember.nn.Softmax(dim=-1)(ember.tensor([[0., 0.], [0., 1.]]))
    tensor([[0.5000, 0.5000],
            [0.2689, 0.7311]])
    """
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmax(x, self.dim, _stacklevel=5)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """The logarithm of the softmax along ``dim``, computed stably.

    >>> ember.nn.LogSoftmax(dim=-1)(ember.tensor([0., 0.]))
    tensor([-0.6931, -0.6931])
    """
    def forward(self, x):
        return F.log_softmax(x, self.dim, _stacklevel=5)


class Dropout(Module):
    """Zeroes elements with probability ``p`` in training mode (identity in eval mode).

    >>> drop = ember.nn.Dropout(p=0.5)
    >>> y = drop(ember.ones(1000))
    >>> sorted(set(y.tolist()))          # kept values are scaled by 1 / (1 - p)
    [0.0, 2.0]
    >>> drop.eval()(ember.ones(3))       # eval mode: the identity
    tensor([1., 1., 1.])
    """

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0 <= p <= 1:
            raise OpError(f"Dropout: probability has to be between 0 and 1, got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Embedding(Module):
    """A lookup table of ``num_embeddings`` vectors; the ``padding_idx`` row starts at zero
    and gets no gradient.

    >>> emb = ember.nn.Embedding(10, 3, padding_idx=0)
    >>> emb(ember.tensor([[0, 4, 4]])).shape
    ember.Size([1, 3, 3])
    >>> emb.weight[0]
    tensor([0., 0., 0.], grad_fn=<...>)
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 dtype=None, device=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise OpError(f"Embedding: padding_idx {padding_idx} must be within "
                                 f"num_embeddings {num_embeddings}")
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is not None:
            self.weight = Parameter(_weight)
        else:
            self.weight = Parameter(empty(num_embeddings, embedding_dim, dtype=dtype, device=device))
            self.reset_parameters()

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            from ..core.autograd import no_grad
            with no_grad():
                self.weight[self.padding_idx] = 0.0

    def forward(self, x):
        return F.embedding(x, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None):
        """An Embedding whose table is ``embeddings`` (frozen unless ``freeze=False``).

        >>> emb = ember.nn.Embedding.from_pretrained(ember.tensor([[1., 2.], [3., 4.]]))
        >>> emb(ember.tensor([1, 1]))
        tensor([[3., 4.],
                [3., 4.]])
        >>> emb.weight.requires_grad
        False
        """
        m = cls(embeddings.shape[0], embeddings.shape[1], padding_idx=padding_idx,
                _weight=embeddings)
        m.weight.requires_grad = not freeze
        return m

    def extra_repr(self):
        pad = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"


class Bilinear(Module):
    """y = x1^T A x2 + b with A of shape (out, in1, in2).

    >>> layer = ember.nn.Bilinear(3, 4, 5)
    >>> layer(ember.ones(2, 3), ember.ones(2, 4)).shape
    ember.Size([2, 5])
    """

    def __init__(self, in1_features, in2_features, out_features, bias=True, dtype=None, device=None):
        super().__init__()
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        self.weight = Parameter(empty(out_features, in1_features, in2_features, dtype=dtype, device=device))
        self.bias = Parameter(empty(out_features, dtype=dtype, device=device)) if bias else None
        if not bias:
            self.register_parameter("bias", None)
        bound = 1 / math.sqrt(in1_features)
        init.uniform_(self.weight, -bound, bound)
        if bias:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x1, x2):
        from ..ops.einsum import einsum
        y = einsum("...i,oij,...j->...o", x1, self.weight, x2)
        return y + self.bias if self.bias is not None else y

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class Flatten(Module):
    """Flattens dims ``start_dim..end_dim`` into one (by default all but the batch dim).

    >>> ember.nn.Flatten()(ember.zeros(8, 3, 4, 4)).shape
    ember.Size([8, 48])
    """
    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Splits dimension ``dim`` into ``unflattened_size``.

    >>> ember.nn.Unflatten(1, (3, 16))(ember.zeros(8, 48)).shape
    ember.Size([8, 3, 16])
    """
    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x):
        return x.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Sequential(Module):
    """Runs its modules one after another; built from modules or from an ordered dict of
    named modules.

    >>> model = ember.nn.Sequential(ember.nn.Linear(3, 2), ember.nn.ReLU())
    >>> model(ember.ones(4, 3)).shape
    ember.Size([4, 2])
    >>> list(model.state_dict())
    ['0.weight', '0.bias']
    >>> model[0]
    Linear(in_features=3, out_features=2, bias=True)
    """
    def __init__(self, *mods):
        super().__init__()
        if len(mods) == 1 and isinstance(mods[0], dict):
            for k, m in mods[0].items():
                self.add_module(k, m)
        else:
            for i, m in enumerate(mods):
                self.add_module(str(i), m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Sequential(*list(self._modules.values())[i])
        return list(self._modules.values())[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, m):
        self.add_module(str(len(self._modules)), m)
        return self

    def __setitem__(self, i, m):
        setattr(self, _key_at(self._modules, i, "Sequential"), m)

    def __delitem__(self, i):
        _delete_renumber(self, i, "Sequential")

    def insert(self, index, m):
        _insert_renumber(self, index, m, "Sequential")
        return self

    def extend(self, mods):
        for m in mods:
            self.append(m)
        return self

    def pop(self, i):
        m = self[i]
        del self[i]
        return m


def _key_at(modules, i, owner):
    keys = list(modules)
    n = len(keys)
    j = i + n if i < 0 else i
    if not 0 <= j < n:
        raise IndexError(f"{owner}: index {i} is out of range for {n} modules")
    return keys[j]


def _delete_renumber(owner, i, name):
    keys = [_key_at(owner._modules, k, name) for k in
            (range(len(owner._modules))[i] if isinstance(i, slice) else [i])]
    for k in keys:
        del owner._modules[k]
    if all(k.isdigit() for k in owner._modules):  # numbered: renumber 0..n-1, as PyTorch
        mods = list(owner._modules.values())
        owner._modules.clear()
        for j, m in enumerate(mods):
            owner._modules[str(j)] = m


def _insert_renumber(owner, index, m, name):
    n = len(owner._modules)
    j = index + n if index < 0 else index
    if not 0 <= j <= n:
        raise IndexError(f"{name}: insert index {index} is out of range for {n} modules")
    mods = list(owner._modules.values())
    mods.insert(j, m)
    owner._modules.clear()
    for k, v in enumerate(mods):
        owner._modules[str(k)] = v


class ModuleList(Module):
    """A list of modules whose parameters belong to the owning module.

    >>> layers = ember.nn.ModuleList([ember.nn.Linear(2, 2) for _ in range(3)])
    >>> len(layers), len(list(layers.parameters()))
    (3, 6)
    """
    def __init__(self, mods=()):
        super().__init__()
        for m in mods:
            self.append(m)

    def append(self, m):
        self.add_module(str(len(self._modules)), m)
        return self

    def extend(self, mods):
        for m in mods:
            self.append(m)
        return self

    def __getitem__(self, i):
        if isinstance(i, slice):
            return type(self)(list(self._modules.values())[i])
        return list(self._modules.values())[i]

    def __setitem__(self, i, m):
        setattr(self, _key_at(self._modules, i, "ModuleList"), m)

    def __delitem__(self, i):
        _delete_renumber(self, i, "ModuleList")

    def insert(self, index, m):
        _insert_renumber(self, index, m, "ModuleList")

    def pop(self, i=-1):
        m = self[i]
        del self[i]
        return m

    def __iadd__(self, mods):
        return self.extend(mods)

    def __iter__(self):
        return iter(self._modules.values())

    def __len__(self):
        return len(self._modules)

    def __repr__(self):
        # as torch: consecutive children with the same printout are shown once, as
        # "(i-j): n x Child(...)"
        reprs = [repr(m) for m in self._modules.values()]
        if not reprs:
            return f"{type(self).__name__}()"
        runs = []  # [first index, last index, printout]
        for i, r in enumerate(reprs):
            if runs and runs[-1][2] == r:
                runs[-1][1] = i
            else:
                runs.append([i, i, r])
        lines = []
        for a, b, r in runs:
            label = f"({a})" if a == b else f"({a}-{b}): {b - a + 1} x"
            lines.append(f"  {label}{':' if a == b else ''} " + r.replace("\n", "\n  "))
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"


class ModuleDict(Module):
    """A dict of named modules whose parameters belong to the owning module.

    >>> heads = ember.nn.ModuleDict({"cls": ember.nn.Linear(4, 10), "box": ember.nn.Linear(4, 4)})
    >>> list(heads.keys()), heads["box"](ember.ones(1, 4)).shape
    (['cls', 'box'], ember.Size([1, 4]))
    """
    def __init__(self, modules=None):
        super().__init__()
        for k, m in (modules or {}).items():
            self.add_module(k, m)

    def __getitem__(self, k):
        return self._modules[k]

    def __setitem__(self, k, m):
        self.add_module(k, m)

    def __delitem__(self, k):
        del self._modules[k]

    def pop(self, k):
        return self._modules.pop(k)

    def __contains__(self, k):
        return k in self._modules

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()


# ---- losses ------------------------------------------------------------------------------

class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        reduction = legacy_reduction(size_average, reduce, reduction, type(self).__name__,
                                     stacklevel=4)
        if reduction not in ("mean", "sum", "none", "batchmean"):
            raise OpError(f"{type(self).__name__}: reduction must be 'mean', 'sum' or "
                             f"'none', got {reduction!r}")
        self.reduction = reduction


class MSELoss(_Loss):
    """Mean squared error ``(input - target) ** 2``, reduced by ``reduction``.

    >>> ember.nn.MSELoss()(ember.tensor([1., 2.]), ember.tensor([1., 4.]))
    tensor(2.)
    """
    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error ``|input - target|``, reduced by ``reduction``.

    >>> ember.nn.L1Loss(reduction="sum")(ember.tensor([1., 2.]), ember.tensor([0., 4.]))
    tensor(3.)
    """
    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """Squared error below ``beta`` (scaled by ``0.5 / beta``), absolute error minus
    ``beta / 2`` above it.

    >>> ember.nn.SmoothL1Loss(reduction="none")(ember.tensor([0.5, 3.]), ember.tensor([0., 0.]))
    tensor([0.1250, 2.5000])
    """
    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """Squared error below ``delta`` (times 0.5), linear above it (``delta * (|d| - delta / 2)``).

    >>> ember.nn.HuberLoss(reduction="none", delta=2.0)(ember.tensor([1., 4.]), ember.zeros(2))
    tensor([0.5000, 6.0000])
    """
    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class NLLLoss(_Loss):
    """Negative log-likelihood of the target classes, from log-probabilities ``(N, C)``.

    >>> logp = ember.tensor([[-0.1, -2.3], [-1.2, -0.4]])
    >>> ember.nn.NLLLoss()(logp, ember.tensor([0, 1]))
    tensor(0.2500)
    """
    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)  # (a state_dict entry, as PyTorch)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class CrossEntropyLoss(_Loss):
    """Cross entropy from raw scores ``(N, C, ...)`` and class indices (or class
    probabilities), with optional class weights, ``ignore_index`` and label smoothing.

    >>> logits = ember.tensor([[2., 0.], [0., 2.]])
    >>> ember.nn.CrossEntropyLoss()(logits, ember.tensor([0, 1]))
    tensor(0.1269)
    """
    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean", label_smoothing=0.0):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)  # (a state_dict entry, as PyTorch)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                               self.label_smoothing)


class BCELoss(_Loss):
    """Binary cross entropy from probabilities in [0, 1].

    >>> ember.nn.BCELoss()(ember.tensor([0.5, 0.5]), ember.tensor([1., 0.]))
    tensor(0.6931)
    """
    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross entropy from logits (a sigmoid folded in, numerically stable), with
    optional ``pos_weight`` for the positive class.

    >>> ember.nn.BCEWithLogitsLoss()(ember.tensor([0., 0.]), ember.tensor([1., 0.]))
    tensor(0.6931)
    """
    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean",
                 pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction,
                                                  self.pos_weight)


class KLDivLoss(_Loss):
    """Kullback-Leibler divergence ``target * (log(target) - input)`` with ``input`` given
    as log-probabilities (``log_target=True``: the target too).

    >>> p = ember.tensor([[0.5, 0.5]])
    >>> ember.nn.KLDivLoss(reduction="batchmean")(p.log(), p)
    tensor(0.)
    """
    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return F.kl_div(input, target, self.reduction, self.log_target)
