"""``Module`` and ``Parameter``: PyTorch's layer container, with the same names, state_dict
keys and semantics."""
from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np

from ..backend import device as _device, get as _get_backend
from ..backend.meta import MetaArray as _MetaArray
from ..core.creation import place
from ..core.dtypes import DType, as_dtype, is_floating_np
from ..core.tensor import Tensor
from ..core.autograd import is_grad_enabled, no_grad
from ..core.primitive import transforms_active
from ..ops.tensor_methods import zero_grad_in_place as _zero_in_place
from ..transforms.effects import note_buffer_read, note_training_read


class Parameter(Tensor):
    """A tensor that a Module registers as a learnable parameter (requires_grad by default).

    >>> p = ember.nn.Parameter(ember.tensor([1., 2.]))
    >>> p.requires_grad, isinstance(p, ember.Tensor)
    (True, True)
    """

    def __new__(cls, data=None, requires_grad=True):
        t = object.__new__(cls)
        src = data if data is not None else Tensor._wrap(np.empty(0, np.float32))
        t._data = src._data if isinstance(src, Tensor) else np.asarray(src)
        t.requires_grad = bool(requires_grad)
        return t

    def __init__(self, data=None, requires_grad=True):
        pass

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__  # print(param) shows the header too, as PyTorch

    def __reduce_ex__(self, protocol):
        # unpickles as a Parameter (the data inside pickles as a tensor: by value, or by
        # descriptor when shared and sent to another process)
        return (Parameter, (Tensor._wrap(self._data), self.requires_grad))

    def __deepcopy__(self, memo):
        # a copy of a parameter is a parameter (copy.deepcopy(model) keeps them registered as
        # such, as in PyTorch)
        t = Tensor.__deepcopy__(self, memo)
        p = Parameter(t, requires_grad=self.requires_grad)
        p.grad = t.grad
        memo[id(self)] = p
        return p


class Buffer(Tensor):
    """A tensor that, assigned to a Module attribute, is registered as a buffer (PyTorch's
    ``nn.Buffer``; ``persistent=False`` keeps it out of the state_dict).

    >>> m = ember.nn.Module()
    >>> m.steps = ember.nn.Buffer(ember.zeros(()))
    >>> list(m.state_dict()), type(m.steps).__name__
    (['steps'], 'Tensor')
    """

    def __new__(cls, data=None, *, persistent=True):
        t = object.__new__(cls)
        src = data if data is not None else Tensor._wrap(np.empty(0, np.float32))
        t._data = src._data if isinstance(src, Tensor) else np.asarray(src)
        t.requires_grad = False
        t.persistent = bool(persistent)
        return t

    def __init__(self, data=None, *, persistent=True):
        pass


class Module:
    """Base class of every layer: holds parameters, buffers and submodules in order.

    Subclass it, create the layers in ``__init__`` and write ``forward``; assigning a
    ``Parameter`` or a ``Module`` to an attribute registers it.

    >>> class TwoLayer(ember.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc1 = ember.nn.Linear(4, 8)
    ...         self.fc2 = ember.nn.Linear(8, 2)
    ...     def forward(self, x):
    ...         return self.fc2(self.fc1(x).relu())
    >>> model = TwoLayer()
    >>> model(ember.ones(3, 4)).shape
    ember.Size([3, 2])
    >>> [name for name, _ in model.named_parameters()]
    ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
    >>> sum(p.numel() for p in model.parameters())
    58
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_is_training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() is called; "
                                 f"call super().__init__() first in {type(self).__name__}")
        if name in self._buffers and (value is None or isinstance(value, Tensor)):
            self._buffers[name] = value  # assigning a tensor to a buffer's name updates it
            return
        # replacing a parameter/submodule keeps its place in the order (children(),
        # state_dict keys), as PyTorch: pop only from the stores it is leaving
        keep = self._parameters if isinstance(value, Parameter) else \
            self._modules if isinstance(value, Module) else None
        for d in (self._parameters, self._buffers, self._modules):
            if d is not keep:
                d.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Buffer):  # nn.Buffer: registered as a (plain tensor) buffer
            self.register_buffer(name, Tensor._wrap(value._data), value.persistent)
            return
        elif isinstance(value, Module):
            self._modules[name] = value
        else:
            object.__setattr__(self, name, value)
            return
        self.__dict__.pop(name, None)

    @property
    def training(self):
        """Train mode (``train()``) or eval mode (``eval()``). A jitted function that reads it
        is retraced when the mode changes."""
        t = self.__dict__["_is_training"]
        if transforms_active():
            note_training_read(self, t)
        return t

    @training.setter
    def training(self, mode):
        self.__dict__["_is_training"] = bool(mode)

    def __getattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                v = d[store][name]
                if store == "_buffers" and transforms_active():
                    note_buffer_read(v)
                return v
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for d in (self._parameters, self._buffers, self._modules):
            if name in d:
                del d[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name, param):
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Registers a tensor that is state but not a parameter (e.g. running statistics); it is
        saved in ``state_dict`` unless ``persistent=False``.

        >>> m = ember.nn.Module()
        >>> m.register_buffer("count", ember.zeros(()))
        >>> list(m.state_dict()), list(m.parameters())
        (['count'], [])
        """
        if "." in name or not name:
            raise KeyError(f"register_buffer: invalid buffer name {name!r}")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None, got "
                            f"{type(tensor).__name__}")
        self.__dict__.pop(name, None)
        self._buffers[name] = tensor
        if not persistent:
            self.__dict__.setdefault("_non_persistent", set()).add(name)

    def add_module(self, name, module):
        self._modules[name] = module

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}.forward is not defined")

    def __call__(self, *args, **kwargs):
        d = self.__dict__
        kw_ids = d.get("_hooks_with_kwargs", ())
        for hid, hook in d.get("_forward_pre_hooks", {}).items():
            if hid in kw_ids:  # with_kwargs=True: hook(module, args, kwargs) -> (args, kwargs)
                r = hook(self, args, kwargs)
                if r is not None:
                    if not (isinstance(r, tuple) and len(r) == 2):
                        raise RuntimeError("forward pre-hook registered with_kwargs=True must "
                                           f"return None or an (args, kwargs) pair, got {r!r}")
                    args, kwargs = r
                continue
            r = hook(self, args)
            if r is not None:
                args = r if isinstance(r, tuple) else (r,)
        full = d.get("_backward_hooks")
        pre = d.get("_backward_pre_hooks")
        if (full or pre) and is_grad_enabled():
            out = _call_with_backward_hooks(self, args, kwargs, list((full or {}).values()),
                                            list((pre or {}).values()))
        else:
            out = self.forward(*args, **kwargs)
        for hid, hook in d.get("_forward_hooks", {}).items():
            r = hook(self, args, kwargs, out) if hid in kw_ids else hook(self, args, out)
            if r is not None:
                out = r
        return out

    def register_full_backward_hook(self, hook, prepend=False):
        """``hook(module, grad_input, grad_output)`` runs when the gradients with respect to
        the module's positional tensor inputs have been computed (when no input requires a
        gradient it runs with the outputs' gradients, ``grad_input`` all None, and warns); a
        non-None return replaces ``grad_input``. As PyTorch's; returns a handle with
        ``remove()``.

        >>> layer, seen = ember.nn.Linear(2, 3), []
        >>> h = layer.register_full_backward_hook(
        ...     lambda m, gin, gout: seen.append((tuple(gin[0].shape), tuple(gout[0].shape))))
        >>> layer(ember.ones(4, 2, requires_grad=True)).sum().backward()
        >>> seen
        [((4, 2), (4, 3))]
        """
        return _Handle(self.__dict__.setdefault("_backward_hooks", OrderedDict()), hook,
                       prepend)

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """``hook(module, grad_output)`` runs when the gradients with respect to the module's
        outputs have been computed, before those of its inputs; a non-None return replaces
        ``grad_output``. As PyTorch's; returns a handle with ``remove()``."""
        return _Handle(self.__dict__.setdefault("_backward_pre_hooks", OrderedDict()), hook,
                       prepend)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False):
        """``hook(module, inputs, output)`` runs after forward; a non-None return replaces the
        output (``with_kwargs=True``: ``hook(module, inputs, kwargs, output)``; ``prepend``:
        before the hooks already there). Returns a handle with ``remove()``.

        >>> layer = ember.nn.Linear(2, 2)
        >>> handle = layer.register_forward_hook(lambda module, inputs, output: output.clamp(0, 0))
        >>> layer(ember.ones(1, 2))
        tensor([[0., 0.]], grad_fn=<...>)
        >>> handle.remove()
        >>> layer(ember.ones(1, 2)).shape
        ember.Size([1, 2])
        """
        return self._add_hook("_forward_hooks", hook, prepend, with_kwargs)

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """``hook(module, inputs)`` runs before forward; a non-None return replaces the inputs
        (``with_kwargs=True``: ``hook(module, inputs, kwargs)`` returning None or a new
        ``(inputs, kwargs)`` pair)."""
        return self._add_hook("_forward_pre_hooks", hook, prepend, with_kwargs)

    def _add_hook(self, store, hook, prepend, with_kwargs):
        h = _Handle(self.__dict__.setdefault(store, OrderedDict()), hook, prepend)
        if with_kwargs:
            self.__dict__.setdefault("_hooks_with_kwargs", set()).add(h.id)
        return h

    # ---- traversal ---------------------------------------------------------------------
    def named_modules(self, prefix=""):
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self):
        return (m for _, m in self.named_modules())

    def named_children(self):
        return ((n, m) for n, m in self._modules.items() if m is not None)

    def children(self):
        return (m for _, m in self.named_children())

    def named_parameters(self, prefix="", recurse=True):
        seen = set()
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mp, m in mods:
            for n, p in m._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{mp}.{n}" if mp else n), p

    def parameters(self, recurse=True):
        return (p for _, p in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix=""):
        for mp, m in self.named_modules(prefix):
            for n, b in m._buffers.items():
                if b is not None:
                    yield (f"{mp}.{n}" if mp else n), b

    def buffers(self):
        return (b for _, b in self.named_buffers())

    # ---- state -------------------------------------------------------------------------
    def state_dict(self):
        """The parameters and persistent buffers by dotted name (PyTorch's keys), as tensors
        detached from the graph.

        >>> list(ember.nn.Sequential(ember.nn.Linear(2, 3), ember.nn.BatchNorm1d(3)).state_dict())
        ['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var',
         '1.num_batches_tracked']
        """
        out = OrderedDict()
        for mp, m in self.named_modules():
            for n, p in m._parameters.items():
                if p is not None:
                    out[f"{mp}.{n}" if mp else n] = p.detach()
            skip = m.__dict__.get("_non_persistent", ())
            for n, b in m._buffers.items():
                if b is not None and n not in skip:
                    out[f"{mp}.{n}" if mp else n] = b.detach()
        return out

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copies the tensors of ``state_dict`` into the parameters and buffers; with
        ``strict=True`` a missing or unexpected key or a shape mismatch raises. Returns the
        missing and unexpected keys (a named pair, as PyTorch's).

        ``assign=True`` puts the checkpoint's tensors themselves into the module instead of
        copying their values (their dtype and device are kept; a parameter keeps its
        ``requires_grad``): how a model built on the meta device gets its weights. Parameters
        are then new objects, so build the optimizer afterwards -- unless
        ``ember.__future__.set_swap_module_params_on_conversion(True)``, under which the
        module's parameter objects stay and take the checkpoint's data.

        >>> a, b = ember.nn.Linear(2, 1), ember.nn.Linear(2, 1)
        >>> b.load_state_dict(a.state_dict())
        <All keys matched successfully>
        >>> bool((a.weight == b.weight).all())
        True
        >>> with ember.device("meta"):
        ...     c = ember.nn.Linear(2, 1)
        >>> c.load_state_dict(a.state_dict(), assign=True).missing_keys
        []
        >>> c.weight.device, c.weight.requires_grad
        (device(type='cpu'), True)
        """
        own = self.state_dict()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched = [f"shape mismatch for '{k}': checkpoint {tuple(np.shape(state_dict[k]))}, "
                      f"model {tuple(own[k].shape)}" for k in own
                      if k in state_dict and tuple(np.shape(state_dict[k])) != tuple(own[k].shape)]
        problems = []
        if strict and missing:
            problems.append(f"missing keys {missing}")
        if strict and unexpected:
            problems.append(f"unexpected keys {unexpected}")
        problems.extend(mismatched)
        if problems:
            raise RuntimeError("load_state_dict: " + "; ".join(problems))
        if assign:
            self._assign_state(state_dict)
            return _IncompatibleKeys(missing, unexpected)
        with no_grad():
            for k, v in state_dict.items():
                if k in own:
                    own[k].copy_(v if isinstance(v, Tensor) else Tensor._wrap(np.asarray(v)))
        return _IncompatibleKeys(missing, unexpected)

    def _assign_state(self, state_dict):
        from .._future import get_swap_module_params_on_conversion
        swap = get_swap_module_params_on_conversion()
        for prefix, m in self.named_modules():
            head = f"{prefix}." if prefix else ""
            for store in (m._parameters, m._buffers):
                for n, old in list(store.items()):
                    k = head + n
                    if old is None or k not in state_dict:
                        continue
                    v = state_dict[k]
                    v = v if isinstance(v, Tensor) else Tensor._wrap(np.asarray(v))
                    if store is m._parameters:
                        new = Parameter(v.detach(), requires_grad=old.requires_grad)
                    else:
                        new = v
                    if swap:  # the module's objects stay; they take the new data
                        old._data = new._data
                        old.grad = None
                    else:
                        store[n] = new

    # ---- modes and helpers -------------------------------------------------------------
    def train(self, mode=True):
        """Sets train mode (``mode=True``) or eval mode on this module and its submodules;
        returns the module.

        >>> model = ember.nn.Sequential(ember.nn.Dropout(0.5))
        >>> model.eval().training, model[0].training
        (False, False)
        >>> model.train().training
        True
        """
        self.training = mode
        for m in self.children():  # each child's own train() (a Teacher stays in eval)
            m.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        """Clears the ``.grad`` of every parameter (sets it to None, or zero with
        ``set_to_none=False``).

        >>> layer = ember.nn.Linear(2, 1)
        >>> layer(ember.ones(1, 2)).sum().backward()
        >>> layer.bias.grad
        tensor([1.])
        >>> layer.zero_grad()
        >>> layer.bias.grad is None
        True
        """
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                _zero_in_place(p.grad)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def apply(self, fn):
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def double(self):
        return self.to(dtype="float64")

    def float(self):
        return self.to(dtype="float32")

    def half(self):
        return self.to(dtype="float16")

    def bfloat16(self):
        """Cast the floating-point parameters and buffers to bfloat16 (in place)."""
        return self.to(dtype="bfloat16")

    def share_memory(self):
        """Move every parameter, its gradient if it has one, and every buffer into shared
        memory (``Tensor.share_memory_``), for Hogwild training across processes. Returns the
        module."""
        for p in self.parameters():
            p.share_memory_()
            if p.grad is not None:
                p.grad.share_memory_()
        for b in self.buffers():
            b.share_memory_()
        return self

    def cpu(self):
        """Move every parameter and buffer to the CPU (in place; returns the module)."""
        return self.to("cpu")

    def cuda(self, device=None):
        raise RuntimeError("cuda(): this build of ember has no CUDA backend "
                           "(ember.cuda.is_available() is False); keep the model on the CPU")

    def to(self, *args, **kwargs):
        """Move and/or cast the parameters and buffers in place, as ``torch.nn.Module.to``:
        ``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)`` (its device and
        dtype), or the keywords ``device=``/``dtype=``/``memory_format=`` (channels-last:
        the 4-D tensors, such as convolution weights). Floating-point tensors take the
        dtype; every tensor takes the device. Parameters stay the same objects (optimizers
        holding them keep working)."""
        dtype, device = kwargs.get("dtype"), kwargs.get("device")
        for a in args:
            if isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            elif isinstance(a, _device):
                device = a
            elif isinstance(a, DType):
                dtype = a
            elif isinstance(a, str):
                try:
                    dtype = as_dtype(a)
                except TypeError:
                    device = a
            else:
                dtype = a
        if device is not None:
            device = _device(device)
            _get_backend(device)  # a device without a backend (cuda) fails before anything moves
        d = None if dtype is None else as_dtype(dtype).np
        fmt = kwargs.get("memory_format")
        if fmt is not None:  # (channels_last: the 4-D parameters and buffers, as PyTorch)
            from ..core import memory_format as _mf
            rank = _mf.rank(fmt, "Module.to")
        for t in list(self.parameters()) + list(self.buffers()):
            data = t._data
            if fmt is not None and (not rank or data.ndim == rank):
                data = _mf.laid_out(data, fmt)
            if d is not None and is_floating_np(data.dtype) and data.dtype != d:
                data = data.astype(d) if type(data) is not _MetaArray else _MetaArray(
                    data.shape, d)
            if device is not None:
                data = place(data, device)
            t._data = data
            if t.grad is not None and device is not None:
                t.grad._data = place(t.grad._data, device)
        return self

    def to_empty(self, *, device=None, recurse=True):
        """Give every parameter and buffer new, uninitialised storage on ``device`` (as
        ``torch.nn.Module.to_empty``): how a model built on the meta device gets memory.
        Initialise it afterwards (``reset_parameters()`` or ``load_state_dict``)."""
        backend = _get_backend(device)
        tensors = list(self.parameters(recurse=recurse)) + (
            list(self.buffers()) if recurse else list(self._buffers.values()))
        for t in tensors:
            t._data = backend.empty(tuple(t._data.shape), t._data.dtype)
            t.grad = None
        return self

    def extra_repr(self):
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        children = [f"({name}): " + repr(m).replace("\n", "\n  ")
                    for name, m in self._modules.items()]
        head = f"{type(self).__name__}("
        if len(lines) == 1 and not children:
            return head + lines[0] + ")"
        if not lines and not children:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines + children) + "\n)"



class _IncompatibleKeys(namedtuple("_IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the missing and unexpected keys (unpacks as a pair)."""
    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _call_with_backward_hooks(module, args, kwargs, full_hooks, pre_hooks):
    """Run ``module.forward`` between two identity functions whose backward calls the module's
    backward hooks: on the outputs (the pre-hooks see and may replace ``grad_output``) and on
    the positional tensor inputs (the full hooks see ``grad_input`` and may replace it)."""
    from ..autograd.function import Function
    pos = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    needs = [args[i].requires_grad for i in pos]
    seen = {"grad_output": None}

    def run_full(grad_input):
        for h in full_hooks:
            r = h(module, grad_input, seen["grad_output"])
            if r is not None:
                grad_input = tuple(r) if isinstance(r, (tuple, list)) else (r,)
        return grad_input

    class BackwardHookFunctionBackward(Function):
        @staticmethod
        def forward(ctx, *xs):
            return xs

        @staticmethod
        def backward(ctx, *grads):
            # every positional tensor input gets its gradient, as PyTorch's hook sees them
            return run_full(tuple(grads))

    class BackwardPreHookFunctionBackward(Function):
        @staticmethod
        def forward(ctx, *ys):
            return ys

        @staticmethod
        def backward(ctx, *grads):
            gout = tuple(grads)
            for h in pre_hooks:
                r = h(module, gout)
                if r is not None:
                    gout = tuple(r) if isinstance(r, (tuple, list)) else (r,)
            seen["grad_output"] = gout
            if full_hooks and not any(needs):  # no input gradient will come: call them now
                import warnings
                warnings.warn(f"{type(module).__name__}: the full backward hook runs when the "
                              f"gradients of the module's outputs are computed, since no "
                              f"input requires a gradient (grad_input is all None)",
                              UserWarning, stacklevel=2)
                run_full(tuple(None for _ in pos))
            return gout

    if any(needs):
        new = BackwardHookFunctionBackward.apply(*[args[i] for i in pos])
        args = list(args)
        for i, t in zip(pos, new):
            args[i] = t
        args = tuple(args)
    out = module.forward(*args, **kwargs)
    single = isinstance(out, Tensor)
    outs = (out,) if single else out if isinstance(out, tuple) else None
    if outs is None or not any(isinstance(o, Tensor) and o.requires_grad for o in outs):
        return out
    ts = [o for o in outs if isinstance(o, Tensor)]
    wrapped = iter(BackwardPreHookFunctionBackward.apply(*ts))
    res = tuple(next(wrapped) if isinstance(o, Tensor) else o for o in outs)
    return res[0] if single else res


class _Handle:
    _next = [0]

    def __init__(self, store, hook, prepend=False):
        self.store, self.id = store, _Handle._next[0]
        _Handle._next[0] += 1
        store[self.id] = hook
        if prepend:
            store.move_to_end(self.id, last=False)

    def remove(self):
        self.store.pop(self.id, None)


# ---- modules as pytrees ---------------------------------------------------------------------

class _ModuleRef:
    """Pytree aux data: a module compared by identity (the same model gives the same
    structure, so jit caches hit)."""

    __slots__ = ("module", "names")

    def __init__(self, module, names):
        self.module, self.names = module, names

    def __eq__(self, other):
        return isinstance(other, _ModuleRef) and other.module is self.module and \
            other.names == self.names

    def __hash__(self):
        return hash((id(self.module), self.names))


def _named_tensors(module):
    out = []
    for mp, m in module.named_modules():
        for store in ("_parameters", "_buffers"):
            for n, t in m.__dict__[store].items():
                if t is not None:
                    out.append((f"{mp}.{n}" if mp else n, t))
    return out


def _module_flatten(module):
    items = _named_tensors(module)
    return [t for _, t in items], _ModuleRef(module, tuple(n for n, _ in items))


def _module_unflatten(aux, leaves):
    return _with_tensors(aux.module, dict(zip(aux.names, leaves)))


def _with_tensors(module, mapping, prefix=""):
    """A shallow copy of ``module`` (and its submodules) with named tensors replaced."""
    new = object.__new__(type(module))
    d = dict(module.__dict__)
    d["_parameters"] = OrderedDict(
        (n, mapping.get(f"{prefix}{n}", p)) for n, p in module._parameters.items())
    d["_buffers"] = OrderedDict(
        (n, mapping.get(f"{prefix}{n}", b)) for n, b in module._buffers.items())
    d["_modules"] = OrderedDict(
        (n, None if m is None else _with_tensors(m, mapping, f"{prefix}{n}."))
        for n, m in module._modules.items())
    new.__dict__.update(d)
    return new


def _module_flatten_with_keys(module):
    from ..tree import GetAttrKey
    items = _named_tensors(module)
    return [(GetAttrKey(n), t) for n, t in items], _ModuleRef(module, tuple(n for n, _ in items))


def _register_module_pytree():
    from ..tree import register_pytree_with_keys
    register_pytree_with_keys(Module, _module_flatten_with_keys, _module_unflatten,
                              flatten_func=_module_flatten)


_register_module_pytree()
