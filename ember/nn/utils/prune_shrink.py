"""Making structured pruning pay: ``shrink`` removes pruned output channels/features for real,
with the matching inputs of every layer that consumes them, found from the model's traced
graph; ``plain_state_dict``/``apply_masks`` move a pruned model's weights into unpruned models.

How ``shrink`` finds what to remove. The model is traced (``ember.make_graph`` of a
``functional_call`` with the parameters and buffers as inputs, in eval mode) and each
intermediate value's channel axis is followed through the graph:

- a layer whose weight is a graph input contracted with data (``einsum`` of a convolution,
  ``matmul`` of a Linear) starts a new *channel space* on its output axis (the weight's dim 0)
  and, when its data input carries a space, consumes it (the weight's dim 1, in blocks when a
  ``Flatten`` folded the spatial positions into the features);
- per-channel parameters met on the way (a bias, BatchNorm's weight, bias and statistics) are
  indexed by the space; elementwise operations, padding, pooling and flattening keep it;
- adding two values that carry spaces (a residual connection) joins the spaces: a channel
  there goes only if it is pruned in every layer that feeds the sum.

A channel goes when every layer producing it has that output row all zero (what
``ln_structured``/``random_structured`` with ``dim=0`` leave), or when every layer reading it
has that input column all zero (``dim=1``: the columns go, and with them the producers' rows,
the BatchNorm entries and the other readers' columns of the channel, since nothing reads it).
A channel pruned as an output has a constant value downstream (a bias, a BatchNorm shift),
which is folded into the consuming layer's bias where that is exact (a Linear, a convolution
without padding); the outputs stay equal, which ``shrink`` checks on ``example_input`` before
returning. Pruned input columns stay (as zero columns, with a warning) when their channels also
go where shrink cannot follow (the model's output, an operation mixing channels); the columns
of a layer that reads the model's input stay too (the input keeps its shape).

What it refuses (``ValueError`` naming the layer): a pruned channel that reaches the model's
output or passes an operation that mixes channels (softmax over channels, reshapes other than
flattening, grouped convolutions, LayerNorm over channels, ...); a channel pruned in one layer
of a residual sum but not in the others; a pruned channel carrying a non-zero constant into a
padded convolution (its borders see zeros, so no bias can stand for it: prune the BatchNorm's
weight and bias along with the convolution's channels, or leave the bias out) or into a layer
without a bias.
"""
from __future__ import annotations

import copy
import re
import warnings

import numpy as np

from ...core.autograd import no_grad
from ...core.tensor import Tensor
from ...ops.creation_ops import zeros_like
from ...ops.elementwise import where
from ...transforms.staging.ir import Lit
from ...transforms.staging.jitted import make_graph
from ...tree import tree_flatten, tree_unflatten
from ..module import Module, Parameter, _with_tensors
from . import prune as _prune

__all__ = ["shrink", "plain_state_dict", "apply_masks", "magnitude_masks", "masked_params"]

_UNARY = {"relu", "sigmoid", "erf", "softplus_", "clamp", "convert_element_type", "copy",
          "stop_gradient", "rsqrt", "round_", "abs", "neg", "exp", "exp2", "expm1", "log",
          "log1p", "log2", "log10", "sqrt", "tanh", "sin", "cos", "sign", "reciprocal",
          "floor", "ceil", "trunc", "sinh", "cosh", "atan", "asin", "acos"}
_BINARY = {"add", "sub", "mul", "div", "maximum", "minimum", "pow", "select", "atan2"}
_JOINING = {"add", "sub", "maximum", "minimum", "select"}  # two carried spaces may meet here


class _Spaces:
    """Union-find over channel spaces, each with its size and what indexes it."""

    def __init__(self):
        self.parent, self.size = [], []
        self.producers, self.members, self.consumers, self.blocked = [], [], [], []

    def new(self, size):
        i = len(self.parent)
        self.parent.append(i)
        self.size.append(size)
        for lst in (self.producers, self.members, self.consumers, self.blocked):
            lst.append([])
        return i

    def find(self, i):
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a, b):
        a, b = self.find(a), self.find(b)
        if a != b:
            self.parent[b] = a
            for lst in (self.producers, self.members, self.consumers, self.blocked):
                lst[a].extend(lst[b])
        return a

    def block(self, i, why):
        self.blocked[self.find(i)].append(why)


class _Tag:
    """A value's channel space: the axis holding it and its block size (positions per
    channel, > 1 after a Flatten)."""
    __slots__ = ("space", "axis", "block")

    def __init__(self, space, axis, block=1):
        self.space, self.axis, self.block = space, axis, block


def _layer(name, mods):
    """``'path' (Type)``: the layer holding parameter ``name``, for messages."""
    path = name.rsplit(".", 1)[0] if "." in name else ""
    m = mods.get(path)
    return f"'{path or '(model)'}'" + (f" ({type(m).__name__})" if m is not None else "")


def _trace(model, args):
    params = dict(model.named_parameters())
    buffers = dict(model.named_buffers())

    def run(p, b, *xs):
        return _with_tensors(model, dict(p, **b))(*xs)
    graph = make_graph(run)(params, buffers, *args)
    leaves, _ = tree_flatten((params, buffers, args))
    names = {id(t): n for n, t in list(params.items()) + list(buffers.items())}
    invar_names = {}
    for var, leaf in zip(graph.invars, leaves):
        if id(leaf) in names:
            invar_names[id(var)] = names[id(leaf)]
    return graph, invar_names, leaves


def _values(graph, leaves):
    """Every value of the graph on these inputs (NumPy arrays), by running its equations."""
    env = {id(v): leaf._data if isinstance(leaf, Tensor) else np.asarray(leaf)
           for v, leaf in zip(graph.invars, leaves)}

    def read(v):
        if isinstance(v, Lit):
            return v.val._data if isinstance(v.val, Tensor) else v.val
        return env[id(v)]
    for e in graph.eqns:
        out = e.prim.impl(*[read(i) for i in e.ins], **e.params)
        outs = out if e.prim.multiple_results else (out,)
        for o, val in zip(e.outs, outs):
            env[id(o)] = val
    return env


def _analyse(graph, pnames):
    """Follow channel spaces through ``graph``; returns (spaces, tags, consumer records)."""
    S = _Spaces()
    tags = {}      # id(var) -> _Tag
    pderiv = {}    # id(var) -> (set of param names sized by dim 0, transposed-param name)
    data = set()   # ids of values computed from the model's inputs
    for v in graph.invars:
        n = pnames.get(id(v))
        if n is None:
            data.add(id(v))
        else:
            pderiv[id(v)] = ({n}, None, n)

    def block_ins(e, why):
        for i in e.ins:
            t = tags.get(id(i)) if not isinstance(i, Lit) else None
            if t is not None:
                S.block(t.space, why)

    for e in graph.eqns:
        name = e.prim.name
        ins = [None if isinstance(i, Lit) else i for i in e.ins]
        dins = [i for i in ins if i is not None and id(i) in data]
        out = e.outs[0]
        if not dins:  # parameters only: reshapes/transposes of weights, eps added, rsqrt
            srcs = set()
            for i in ins:
                if i is not None and id(i) in pderiv:
                    srcs |= pderiv[id(i)][0]
            direct = None
            if name == "transpose" and ins[0] is not None and id(ins[0]) in pderiv:
                direct = pderiv[id(ins[0])][2]
            for o in e.outs:
                pderiv[id(o)] = (srcs, direct, None)
            continue
        for o in e.outs:
            data.add(id(o))
        dtags = [tags.get(id(i)) for i in dins]
        if name == "einsum":
            _einsum(e, ins, tags, pderiv, pnames, S)
        elif name == "matmul":
            _matmul(e, ins, tags, pderiv, S)
        elif name in _UNARY and len(dins) == 1:
            if dtags[0] is not None:
                tags[id(out)] = dtags[0]
        elif name in _BINARY:
            _binary(e, ins, tags, pderiv, data, S, name)
        elif name in ("pad", "windows", "pool_max"):
            t = dtags[0]
            if t is not None:
                if name == "pad" and tuple(e.params["pads"][t.axis]) != (0, 0):
                    S.block(t.space, "padding along the channels")
                else:
                    tags[id(out)] = t
        elif name == "reshape":
            _reshape(e, ins, tags, S)
        elif name == "sum":
            t = dtags[0]
            if t is not None:
                axes = e.params.get("axis", e.params.get("dims"))
                axes = tuple(range(len(ins[0].aval.shape))) if axes is None else \
                    tuple(a % len(ins[0].aval.shape) for a in
                          (axes if isinstance(axes, (tuple, list)) else (axes,)))
                if t.axis in axes or t.block != 1:
                    S.block(t.space, "a sum over the channels")
                else:
                    keep = e.params.get("keepdims", e.params.get("keepdim", False))
                    ax = t.axis if keep else t.axis - sum(a < t.axis for a in axes)
                    tags[id(out)] = _Tag(t.space, ax)
        else:
            block_ins(e, f"'{name}' (it may mix channels)")
    for o in graph.outs:
        t = None if isinstance(o, Lit) else tags.get(id(o))
        if t is not None:
            S.block(t.space, "the model's output")
    return S, tags


def _einsum(e, ins, tags, pderiv, pnames, S):
    eq = e.params["eq"]
    lhs, rhs = eq.split("->")
    subs = lhs.split(",")
    out = e.outs[0]
    weights = [(k, pderiv[id(i)][2] or next(iter(pderiv[id(i)][0]), None))
               for k, i in enumerate(ins) if i is not None and id(i) in pderiv]
    direct = [(k, n) for k, n in weights if n is not None and id(ins[k]) in pnames]
    for k, i in enumerate(ins):
        t = None if i is None else tags.get(id(i))
        if t is None:
            continue
        letter = subs[k][t.axis]
        others = [j for j in range(len(subs)) if j != k and letter in subs[j]]
        if letter in rhs and not others and t.block == 1:
            tags[id(out)] = _Tag(t.space, rhs.index(letter))
        elif letter not in rhs and len(others) == 1 and \
                any(j == others[0] for j, _ in direct):
            wname = dict(direct)[others[0]]
            S.consumers[S.find(t.space)].append(dict(weight=wname, dim=subs[others[0]].index(
                letter), block=t.block, var=i, eqn=e, operand=k, w_operand=others[0]))
        else:
            S.block(t.space, f"einsum '{eq}' mixes its channels")
    if len(direct) == 1:  # a layer's weight: its letters not in the data give the new space
        j, wname = direct[0]
        new = [c for c in subs[j] if c in rhs and all(c not in subs[m] for m in range(len(subs))
                                                      if m != j)]
        if len(new) == 1 and id(out) not in tags:
            sp = S.new(out.aval.shape[rhs.index(new[0])])
            S.producers[sp].append((wname, subs[j].index(new[0])))
            tags[id(out)] = _Tag(sp, rhs.index(new[0]))


def _matmul(e, ins, tags, pderiv, S):
    a, b = ins
    out = e.outs[0]
    ta = None if a is None else tags.get(id(a))
    wname = pderiv.get(id(b), (None, None, None))[1] if b is not None else None
    nd = len(out.aval.shape)
    if ta is not None:
        if wname is not None and ta.axis == len(a.aval.shape) - 1:
            S.consumers[S.find(ta.space)].append(dict(weight=wname, dim=1, block=ta.block,
                                                      var=a, eqn=e, operand=0))
        elif ta.axis < len(a.aval.shape) - 2 and ta.block == 1:
            tags[id(out)] = _Tag(ta.space, ta.axis + nd - len(a.aval.shape))
        else:
            S.block(ta.space, "a matmul over the channels")
    tb = None if b is None else tags.get(id(b))
    if tb is not None:
        S.block(tb.space, "a matmul with a data right operand")
    if wname is not None and id(out) not in tags:
        sp = S.new(out.aval.shape[-1])
        S.producers[sp].append((wname, 0))
        tags[id(out)] = _Tag(sp, nd - 1)


def _binary(e, ins, tags, pderiv, data, S, name):
    out = e.outs[0]
    shape = out.aval.shape
    nd = len(shape)
    carried = [(i, tags[id(i)]) for i in ins if i is not None and id(i) in tags]
    result = None
    for i, t in carried:
        ax = t.axis + nd - len(i.aval.shape)
        if result is None:
            result = _Tag(t.space, ax, t.block)
        elif result.axis == ax and result.block == t.block and name in _JOINING:
            result = _Tag(S.union(result.space, t.space), ax, t.block)
        else:
            S.block(result.space, f"'{name}' of two differently laid out channel sets")
            S.block(t.space, f"'{name}' of two differently laid out channel sets")
    if result is None:
        return
    for i in ins:
        if i is None or id(i) in tags:
            continue
        ishape = i.aval.shape
        off = nd - len(ishape)
        d = result.axis - off
        size = ishape[d] if d >= 0 else 1
        if id(i) in data:
            if size != 1 or result.block != 1:
                S.block(result.space, f"'{name}' with a value that does not carry the channels")
        elif size == shape[result.axis] and result.block == 1 and \
                all(s == 1 for k, s in enumerate(ishape) if k != d):
            for n in pderiv[id(i)][0]:
                S.members[S.find(result.space)].append((n, 0))
        elif size != 1:
            S.block(result.space, f"'{name}' with a constant laid out across the channels")
    tags[id(out)] = result


def _reshape(e, ins, tags, S):
    t = tags.get(id(ins[0])) if ins[0] is not None else None
    if t is None:
        return
    src, dst = tuple(ins[0].aval.shape), tuple(e.outs[0].aval.shape)
    if src[:t.axis + 1] == dst[:t.axis + 1] and t.block == 1:
        tags[id(e.outs[0])] = t  # the channel axis and those before it unchanged
    elif src[:t.axis] == dst[:t.axis] and len(dst) == t.axis + 1 and \
            int(np.prod(src[t.axis:])) == dst[t.axis]:  # a Flatten from the channel axis
        tags[id(e.outs[0])] = _Tag(t.space, t.axis, t.block * int(np.prod(src[t.axis + 1:])))
    else:
        S.block(t.space, f"a reshape {src} -> {dst} across the channels")


def _unread(consumers, size, arr):
    """The channels of a space that no consumer reads: every consumer's weight has their
    input columns (blocks, after a Flatten) all zero, as ``ln_structured(..., dim=1)`` leaves.
    None without consumers."""
    unread = np.ones(size, bool) if consumers else np.zeros(size, bool)
    for c in consumers:
        cols = np.moveaxis(arr[c["weight"]], c["dim"], 0)
        unread &= ~cols.reshape(size, -1).any(axis=1)  # a channel's block of columns together
    return unread


def _bias_of(weight, params):
    b = weight[:-len("weight")] + "bias" if weight.endswith("weight") else None
    return b if b in params else None


def _keep_cols(keep, block):
    return (np.asarray(keep)[:, None] * block + np.arange(block)[None, :]).reshape(-1)


def shrink(model, example_input):
    """A copy of ``model`` with its structurally pruned output channels/features removed, and
    the matching inputs of the layers that consume them (through Sequential chains, residual
    adds, BatchNorm, pooling, Flatten), found from the traced graph; pruned input columns
    (``dim=1``) go too, with the producers' outputs that no other layer reads; pruning
    reparametrisations are made permanent first. The outputs on ``example_input`` stay equal
    (checked); the module attributes (``in_features``, ``out_channels``, ``num_features``,
    ...) follow the new shapes. See the module's notes for what it refuses.

    >>> model = ember.nn.Sequential(ember.nn.Linear(4, 6), ember.nn.ReLU(), ember.nn.Linear(6, 2))
    >>> _ = ember.nn.utils.prune.ln_structured(model[0], "weight", amount=0.5, n=2, dim=0)
    >>> small = ember.nn.utils.prune.shrink(model, ember.randn(3, 4))
    >>> small[0]
    Linear(in_features=4, out_features=3, bias=True)
    >>> tuple(small[2].weight.shape)
    (2, 3)
    """
    if not isinstance(model, Module):
        raise TypeError(f"shrink: expected an nn.Module, got {type(model).__name__}")
    args = example_input if isinstance(example_input, tuple) else (example_input,)
    new = copy.deepcopy(model)
    for m in new.modules():
        for hook in list(m.__dict__.get("_forward_pre_hooks", {}).values()):
            if isinstance(hook, _prune.BasePruningMethod):
                _prune.remove(m, hook._tensor_name)
    training = new.training
    new.eval()
    mods = dict(new.named_modules())
    graph, pnames, leaves = _trace(new, args)
    S, _ = _analyse(graph, pnames)
    params = dict(new.named_parameters())
    tensors = dict(params, **dict(new.named_buffers()))
    arr = {n: t._data for n, t in tensors.items()}
    plan, env = [], None
    for sp in range(len(S.parent)):
        if S.find(sp) != sp or not S.producers[sp]:
            continue
        size = S.size[sp]
        zero = np.ones(size, bool)
        for w, dim in S.producers[sp]:
            rows = np.moveaxis(arr[w], dim, 0).reshape(size, -1)
            zero &= ~rows.any(axis=1)
        unread = _unread(S.consumers[sp], size, arr)
        partial = [w for w, dim in S.producers[sp] if
                   (~np.moveaxis(arr[w], dim, 0).reshape(size, -1).any(axis=1) & ~zero &
                    ~unread).any()]
        layers = sorted({_layer(w, mods) for w, _ in S.producers[sp]})
        if unread.any() and S.blocked[sp]:
            if not zero.any():  # columns pruned, but the channels are read elsewhere too
                readers = sorted({_layer(c["weight"], mods) for c in S.consumers[sp]})
                warnings.warn(
                    f"shrink: the input columns {np.flatnonzero(unread).tolist()[:8]} of "
                    f"{', '.join(readers)} are pruned, but the channels they read (outputs of "
                    f"{', '.join(layers)}) also reach {S.blocked[sp][0]}, so they stay (as "
                    f"zero columns)", stacklevel=2)
                continue
            unread[:] = False
        if unread.all():
            readers = sorted({_layer(c["weight"], mods) for c in S.consumers[sp]})
            raise ValueError(f"shrink: every input column of {', '.join(readers)} is pruned; "
                             f"the layer would read nothing (prune less)")
        if (zero | unread).all() and not zero.all():
            raise ValueError(f"shrink: every channel of {', '.join(layers)} is pruned, as an "
                             f"output row there or as an input column of every layer reading "
                             f"it; nothing would be left (prune less)")
        if partial and S.blocked[sp] == [] and len(S.producers[sp]) > 1:
            names = sorted({_layer(w, mods) for w in partial})
            raise ValueError(
                f"shrink: output channels of {', '.join(names)} are pruned, but a residual "
                f"add joins them with {', '.join(n for n in layers if n not in names)}, where "
                f"the same channels are not; prune every layer feeding the sum at the same "
                f"channels (or none)")
        if not (zero | unread).any():
            continue
        if zero.all():
            raise ValueError(f"shrink: every output channel of {', '.join(layers)} is pruned; "
                             f"the layer would vanish (prune less)")
        if S.blocked[sp]:
            raise ValueError(f"shrink: channels {np.flatnonzero(zero).tolist()[:8]} of "
                             f"{', '.join(layers)} are pruned but cannot be removed: they reach "
                             f"{S.blocked[sp][0]}")
        fold = np.flatnonzero(zero & ~unread)  # unread channels carry nothing to fold
        if len(fold):
            if env is None:
                env = _values(graph, leaves)
            for c in S.consumers[sp]:  # the constant the removed channels carry, folded in
                _fold(c, fold, env, arr, params, mods)
        plan.append((sp, np.flatnonzero(~(zero | unread))))
    if not plan:
        new.train(training)
        return new
    edits = {}
    for sp, keep in plan:
        for w, dim in S.producers[sp] + S.members[sp]:
            edits.setdefault(w, []).append((dim, keep, 1))
        for c in S.consumers[sp]:
            edits.setdefault(c["weight"], []).append((c["dim"], keep, c["block"]))
    for n, cuts in edits.items():
        a = arr[n]
        done = set()
        for dim, keep, block in cuts:
            if dim in done:
                continue
            done.add(dim)
            a = np.take(a, _keep_cols(keep, block), axis=dim)
        arr[n] = np.ascontiguousarray(a)
    changed = set(edits) | {n for n in arr if arr[n] is not tensors[n]._data}
    for n in changed:
        mod = dict(new.named_modules())[n.rsplit(".", 1)[0]] if "." in n else new
        leaf = n.rsplit(".", 1)[-1]
        t = tensors[n]
        nt = Tensor._wrap(arr[n])
        if leaf in mod._parameters:
            mod._parameters[leaf] = Parameter(nt, requires_grad=t.requires_grad)
        else:
            mod._buffers[leaf] = nt
    for m in new.modules():
        _fix_attributes(m)
    new.train(training)
    _check(model, new, args)
    return new


def _fold(c, gone, env, arr, params, mods):
    """Add the removed channels' contribution to the consumer's bias (it is constant), or
    refuse when it is not one constant per output."""
    e, k, w = c["eqn"], c["operand"], c["weight"]
    x = env[id(c["var"])]
    cols = _keep_cols(gone, c["block"])
    sel = np.take(x, cols, axis=_tag_axis(c, x))
    if not sel.any():
        return
    wsel = np.take(arr[w], cols, axis=c["dim"])
    ins = [(v.val._data if isinstance(v.val, Tensor) else v.val) if isinstance(v, Lit)
           else env[id(v)] for v in e.ins]
    ins[k] = sel.astype(np.float64)
    # the weight operand: the consumer's weight (or its transpose, for matmul)
    layer = _layer(w, mods)
    if e.prim.name == "matmul":
        ins[1] = wsel.astype(np.float64).T
        out_axis = sel.ndim - 1
    else:
        wi = c["w_operand"]
        ins[wi] = wsel.astype(np.float64)
        lhs, rhs = e.params["eq"].split("->")
        subs = lhs.split(",")
        outs = [ch for ch in subs[wi] if ch in rhs and ch not in subs[k]]
        if len(outs) != 1:
            raise ValueError(f"shrink: the pruned channels {gone.tolist()[:8]} reach {layer} "
                             f"as non-zero constants through einsum '{e.params['eq']}', which "
                             f"shrink cannot fold into a bias; prune their bias (or BatchNorm "
                             f"shift) too so that they carry zero")
        out_axis = rhs.index(outs[0])
    contrib = np.asarray(e.prim.impl(*ins, **e.params))
    # one constant per output channel of the consumer?
    moved = np.moveaxis(contrib, out_axis, 0).reshape(contrib.shape[out_axis], -1)
    if not np.allclose(moved, moved[:, :1], rtol=1e-6, atol=1e-7 * max(1.0, np.abs(
            moved).max())):
        raise ValueError(
            f"shrink: the pruned channels {gone.tolist()[:8]} reach {layer} as non-zero "
            f"constants (a bias or a BatchNorm shift before it) that {layer} does not see "
            f"uniformly (padding zeros at its borders), so no bias can stand for them; prune "
            f"the BatchNorm's weight and bias (or the bias) at the same channels so that they "
            f"carry zero")
    bias = _bias_of(w, params)
    if bias is None:
        raise ValueError(f"shrink: the pruned channels {gone.tolist()[:8]} reach {layer} as "
                         f"non-zero constants and {layer} has no bias to absorb them; prune "
                         f"their bias (or BatchNorm shift) too so that they carry zero")
    arr[bias] = (arr[bias].astype(np.float64) + moved[:, 0]).astype(arr[bias].dtype)


def _tag_axis(c, x):
    e, k = c["eqn"], c["operand"]
    if e.prim.name == "matmul":
        return x.ndim - 1
    lhs = e.params["eq"].split("->")[0].split(",")
    w = lhs[c["w_operand"]]
    letter = w[c["dim"]]
    return lhs[k].index(letter)


def _fix_attributes(m):
    p = m._parameters
    w = p.get("weight")
    cls = type(m).__name__
    if w is not None and hasattr(m, "in_features") and hasattr(m, "out_features") and \
            w.ndim == 2:
        m.out_features, m.in_features = int(w.shape[0]), int(w.shape[1])
    elif w is not None and hasattr(m, "out_channels") and hasattr(m, "in_channels") and \
            re.match(r"Conv\dd$", cls):
        m.out_channels = int(w.shape[0])
        m.in_channels = int(w.shape[1]) * int(getattr(m, "groups", 1))
    if hasattr(m, "num_features"):
        for n in ("weight", "running_mean"):
            t = p.get(n) if n in p else m._buffers.get(n)
            if t is not None:
                m.num_features = int(t.shape[0])
                break


def _check(model, new, args):
    ref = copy.deepcopy(model)
    ref.eval()
    was = new.training
    new.eval()
    with no_grad():
        a, b = ref(*args), new(*args)
    new.train(was)
    a, b = a.numpy(), b.numpy()
    scale = max(1.0, float(np.abs(a).max()))
    if a.shape != b.shape or not np.allclose(a, b, rtol=1e-4, atol=1e-5 * scale):
        diff = float(np.abs(a - b).max()) if a.shape == b.shape else float("inf")
        raise RuntimeError(f"shrink: the shrunk model's outputs differ from the model's by "
                           f"{diff:.3g} on example_input; please report this model")


def plain_state_dict(model):
    """``(state_dict, masks)`` of a pruned model: the state dict with every pruned tensor as
    a plain ``<name>`` (``<name>_orig * <name>_mask``, the keys of an unpruned model, so it
    loads into one with ``load_state_dict``) and ``{"<module>.<name>": mask}`` to prune it
    again with ``apply_masks``. The model is left as it is.

    >>> layer = ember.nn.Linear(4, 2)
    >>> _ = ember.nn.utils.prune.l1_unstructured(layer, "weight", amount=0.5)
    >>> state, masks = ember.nn.utils.prune.plain_state_dict(layer)
    >>> sorted(state), sorted(masks), int((state["weight"] == 0).sum())
    (['bias', 'weight'], ['weight'], 4)
    """
    state, masks = {}, {}
    pruned = {}
    for mname, m in model.named_modules():
        for hook in m.__dict__.get("_forward_pre_hooks", {}).values():
            if isinstance(hook, _prune.BasePruningMethod):
                pruned[(mname, hook._tensor_name)] = m
    with no_grad():
        for k, v in model.state_dict().items():
            mname, _, leaf = k.rpartition(".")
            if leaf.endswith("_orig") and (mname, leaf[:-5]) in pruned:
                name = leaf[:-5]
                mask = model.state_dict()[(mname + "." if mname else "") + name + "_mask"]
                key = (mname + "." if mname else "") + name
                state[key] = (v * mask).detach()
                masks[key] = mask.detach().clone()
            elif leaf.endswith("_mask") and (mname, leaf[:-5]) in pruned:
                continue
            else:
                state[k] = v
    return state, masks


def apply_masks(model, masks):
    """Prune ``model`` with saved masks (``{"<module>.<name>": mask}``, as ``plain_state_dict``
    gives): ``custom_from_mask`` on each. Returns the model.

    >>> layer = ember.nn.Linear(2, 2)
    >>> _ = ember.nn.utils.prune.apply_masks(layer, {"weight": ember.tensor([[1., 0.], [0., 1.]])})
    >>> ember.nn.utils.prune.is_pruned(layer)
    True
    """
    for key, mask in masks.items():
        mname, _, name = key.rpartition(".")
        m = dict(model.named_modules()).get(mname)
        if m is None:
            raise KeyError(f"apply_masks: {type(model).__name__} has no submodule {mname!r} "
                           f"(mask {key!r})")
        _prune.custom_from_mask(m, name, mask)
    return model


# ---- the JAX-style twin: masks over a params pytree ----------------------------------------

def magnitude_masks(params, amount, scope="global", select=None):
    """Pruning masks for a params pytree, JAX style (no modules, no hooks): a pytree like
    ``params`` of 0/1 tensors that zero the ``amount`` (a fraction, or a count) entries of
    smallest magnitude, ranked over all selected leaves together (``scope="global"``, the
    masks of ``global_unstructured`` with ``L1Unstructured``) or leaf by leaf
    (``scope="leaf"``, those of ``l1_unstructured``). ``select(leaf) -> bool`` picks the
    leaves to prune (default: those with 2 or more dims, the weights, not the biases); the
    others get masks of ones. Use with ``masked_params`` and
    ``ember.optim.functional.masked_update``.

    >>> params = {"w": ember.tensor([[0.1, -2.0], [3.0, 0.2]]), "b": ember.tensor([0.01, 5.0])}
    >>> masks = ember.nn.utils.prune.magnitude_masks(params, 0.5)
    >>> masks["w"], masks["b"]
    (tensor([[0., 1.],
            [1., 0.]]), tensor([1., 1.]))
    """
    if scope not in ("global", "leaf"):
        raise ValueError(f"magnitude_masks: scope must be 'global' or 'leaf', got {scope!r}")
    _prune._check_amount(amount, "magnitude_masks")
    leaves, td = tree_flatten(params)
    select = select or (lambda t: t.ndim >= 2)
    chosen = [i for i, t in enumerate(leaves) if select(t)]
    if not chosen:
        raise ValueError("magnitude_masks: no leaf selected to prune (the default prunes "
                         "leaves with 2 or more dims; pass select=lambda t: ... to choose)")
    masks = [np.ones(tuple(t.shape), t.dtype.np) for t in leaves]
    groups = [chosen] if scope == "global" else [[i] for i in chosen]
    for g in groups:
        flat = np.concatenate([np.abs(leaves[i].numpy()).reshape(-1) for i in g])
        k = _prune._nparams_to_prune(amount, flat.size, "magnitude_masks")
        m = np.ones(flat.size, np.float64)
        if k:
            m[np.argsort(flat, kind="stable")[:k]] = 0
        off = 0
        for i in g:
            n = masks[i].size
            masks[i] = m[off:off + n].reshape(masks[i].shape).astype(masks[i].dtype)
            off += n
    return tree_unflatten(td, [Tensor._wrap(m) for m in masks])


def masked_params(params, masks):
    """``params`` with the pruned entries set to exactly zero (leafwise ``where(mask, p, 0)``).

    >>> ember.nn.utils.prune.masked_params([ember.tensor([1., 2.])], [ember.tensor([0., 1.])])
    [tensor([0., 2.])]
    """
    p, td = tree_flatten(params)
    m, mtd = tree_flatten(masks)
    if td != mtd:
        raise ValueError(f"masked_params: the masks' structure {mtd} doesn't match the "
                         f"params' {td}")
    return tree_unflatten(td, [where(mk != 0, x, zeros_like(x)) for x, mk in zip(p, m)])
