"""Optimizer base class and SGD (momentum, dampening, nesterov, weight decay), with
PyTorch's update rule (``update_rules.sgd``, evaluated in place by ``inplace.InPlace``) on
the parameters' storage."""
from __future__ import annotations

from types import FunctionType as _FunctionType

import numpy as np

from ..core.primitive import register_call_target
from ..ops.tensor_methods import zero_grad_in_place as _zero_in_place
from .inplace import SCRATCH_MIN, InPlace, update as _update


def _type_name(x):
    from ..core.tensor import Tensor
    if isinstance(x, Tensor):
        return f"a Tensor of shape {tuple(x.shape)} ({x.dtype})"
    return type(x).__name__


def check_hyperparameters(op, **values):
    """PyTorch's argument checks, one message per value: each of ``values`` must be a real
    number >= 0 (``betas`` a pair in [0, 1))."""
    for name, v in values.items():
        if v is None:
            continue
        if name == "betas":
            try:
                pair = tuple(v)
            except TypeError:
                pair = ()
            if len(pair) != 2:
                raise ValueError(f"{op}: betas must be a pair (beta1, beta2), got {v!r}")
            for i, b in enumerate(pair):
                if not isinstance(b, (int, float, np.integer, np.floating)) or \
                        not 0.0 <= b < 1.0:
                    raise ValueError(f"{op}: Invalid beta parameter at index {i}: {b!r} (each "
                                     f"beta must be in [0, 1))")
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise TypeError(f"{op}: {name} must be a number, got {_type_name(v)} ({v!r})")
        if not v >= 0:  # also refuses NaN
            what = {"lr": "learning rate", "eps": "epsilon value"}.get(name, f"{name} value")
            raise ValueError(f"{op}: Invalid {what}: {v} ({name} must be >= 0)")


def _range_name(attr):
    return lambda opt: f"Optimizer.{attr}#{type(opt).__name__}.{attr}"


class Optimizer:
    """The base of the stateful optimizers: ``params`` is an iterable of tensors, of
    ``(name, tensor)`` pairs, or of dicts (parameter groups: ``{"params": [...], **options}``);
    every tensor must be a leaf (a tensor computed from others is never updated) and appear
    once. Each group keeps its own hyperparameters; per-parameter state lives in ``state``.

    >>> w = ember.nn.Parameter(ember.tensor([1.]))
    >>> b = ember.nn.Parameter(ember.tensor([1.]))
    >>> opt = ember.optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1)
    >>> [group["lr"] for group in opt.param_groups]
    [0.1, 0.5]
    """

    def __init_subclass__(cls, **kwargs):
        # a profiler shows each step / zero_grad as a range (as PyTorch's
        # "Optimizer.step#SGD.step"); nothing is wrapped while none records
        super().__init_subclass__(**kwargs)
        for attr in ("step", "zero_grad"):
            if type(cls.__dict__.get(attr)) is _FunctionType:
                register_call_target(cls, attr, _range_name(attr), kind="range")

    def __init__(self, params, defaults):
        from ..core.tensor import Tensor
        op = type(self).__name__
        if isinstance(params, (Tensor, dict, set, str, bytes)) or not hasattr(params,
                                                                             "__iter__"):
            raise TypeError(f"{op}: params argument given to the optimizer should be an "
                            f"iterable of Tensors or dicts, but got {_type_name(params)}; "
                            f"pass model.parameters() or a list, e.g. [w]")
        params = list(params)
        if not params:
            raise ValueError(f"{op}: optimizer got an empty parameter list (did the model "
                             f"register no parameters, or was a generator used up?)")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        self.defaults = defaults
        self.param_groups = []
        self.state = {}
        for g in params:
            self.add_param_group(g)

    def _in_place(self):
        """The in-place arithmetic this optimizer's rules run with, with its kept scratch
        buffer (made on the first step)."""
        arith = self.__dict__.get("_arith")
        if arith is None:
            arith = self._arith = InPlace(keep_scratch=True)
        return arith

    def zero_grad(self, set_to_none=True):
        """Clears the gradients of all parameters (None, or zeros with ``set_to_none=False``).

        >>> w = ember.nn.Parameter(ember.tensor([1.]))
        >>> opt = ember.optim.SGD([w], lr=0.1)
        >>> (2 * w).sum().backward()
        >>> opt.zero_grad()
        >>> w.grad is None
        True
        """
        for g in self.param_groups:
            for p in g["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    _zero_in_place(p.grad)

    def state_dict(self):
        """The optimizer's state and hyperparameters, with parameters referred to by index (as
        PyTorch), for ``load_state_dict``.

        >>> opt = ember.optim.SGD([ember.nn.Parameter(ember.zeros(1))], lr=0.1, momentum=0.9)
        >>> group = opt.state_dict()["param_groups"][0]
        >>> group["momentum"], group["params"]
        (0.9, [0])
        """
        idx = {}
        for g in self.param_groups:
            for p in g["params"]:
                idx.setdefault(id(p), len(idx))
        state = {idx[k]: {n: (v.copy() if isinstance(v, np.ndarray) else v)
                          for n, v in s.items()} for k, s in self.state.items()}
        groups = [{**{k: v for k, v in g.items() if k != "params"},
                   "params": [idx[id(p)] for p in g["params"]]} for g in self.param_groups]
        return {"state": state, "param_groups": groups}

    def add_param_group(self, group):
        """Add a group ``{"params": [...], **options}``; options left out take the
        optimizer's defaults."""
        from ..core.tensor import Tensor
        op = type(self).__name__
        if not isinstance(group, dict):
            raise TypeError(f"{op}: a parameter group must be a dict with a 'params' entry, "
                            f"got {_type_name(group)}")
        if "params" not in group:
            raise ValueError(f"{op}: parameter group {sorted(group)} has no 'params' entry")
        group = dict(group)
        ps = group["params"]
        if isinstance(ps, Tensor):
            ps = [ps]
        elif isinstance(ps, (set, dict, str)) or not hasattr(ps, "__iter__"):
            raise TypeError(f"{op}: a group's params should be an iterable of Tensors, got "
                            f"{_type_name(ps)}")
        ps = [p[1] if isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) else p
              for p in ps]
        seen = set()
        for i, p in enumerate(ps):
            if not isinstance(p, Tensor):
                raise TypeError(f"{op}: optimizer can only optimize Tensors, but one of the "
                                f"params (index {i}) is {_type_name(p)}")
            if not p.is_leaf:
                raise ValueError(f"{op}: can't optimize a non-leaf Tensor (params index {i}, "
                                 f"shape {tuple(p.shape)}, computed by "
                                 f"{p._node.name}); optimize the leaf it was computed from, "
                                 f"or pass t.detach().requires_grad_()")
            if id(p) in seen:
                raise ValueError(f"{op}: parameter index {i} (shape {tuple(p.shape)}) appears "
                                 f"twice in one parameter group; it would be updated twice "
                                 f"per step. Pass each parameter once")
            seen.add(id(p))
        for g in self.param_groups:
            if any(id(p) in seen for p in g["params"]):
                raise ValueError(f"{op}: some parameters appear in more than one parameter "
                                 f"group; give each parameter to one group")
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        check_hyperparameters(op, **{k: group.get(k) for k in _CHECKED if k in group})
        group["params"] = ps
        self.param_groups.append(group)

    def load_state_dict(self, sd):
        """Restore ``state_dict()``'s output. The groups must match this optimizer's (same
        number of groups and of parameters in each), and each saved buffer must have its
        parameter's shape."""
        op = type(self).__name__
        if not isinstance(sd, dict) or "state" not in sd or "param_groups" not in sd:
            raise ValueError(f"{op}.load_state_dict: expected a dict with 'state' and "
                             f"'param_groups' (an optimizer's state_dict()), got "
                             f"{sorted(sd) if isinstance(sd, dict) else type(sd).__name__}")
        groups = sd["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"{op}.load_state_dict: loaded state dict has a different number "
                             f"of parameter groups ({len(groups)}) than the optimizer "
                             f"({len(self.param_groups)})")
        for k, (g, sg) in enumerate(zip(self.param_groups, groups)):
            if len(sg.get("params", ())) != len(g["params"]):
                raise ValueError(f"{op}.load_state_dict: loaded state dict contains a "
                                 f"parameter group that doesn't match the size of optimizer's "
                                 f"group {k}: {len(sg.get('params', ()))} vs "
                                 f"{len(g['params'])} parameters")
        plist = [p for g in self.param_groups for p in g["params"]]
        state = {}
        for i, s in sd["state"].items():
            if not isinstance(i, (int, np.integer)) or not 0 <= i < len(plist):
                raise ValueError(f"{op}.load_state_dict: state for parameter {i!r}, but the "
                                 f"optimizer has {len(plist)} parameters")
            p = plist[i]
            for n, v in s.items():
                if isinstance(v, np.ndarray) and v.ndim and v.shape != tuple(p.shape):
                    raise ValueError(f"{op}.load_state_dict: state {n!r} of parameter {i} has "
                                     f"shape {v.shape}, but the parameter has shape "
                                     f"{tuple(p.shape)}; the checkpoint is from another model")
            state[id(p)] = {n: (v.copy() if isinstance(v, np.ndarray) else v)
                            for n, v in s.items()}
        self.state = state
        for g, sg in zip(self.param_groups, groups):
            g.update({k: v for k, v in sg.items() if k != "params"})


# the options every group's values are checked for (PyTorch checks these, not dampening)
_CHECKED = ("lr", "momentum", "weight_decay", "eps", "betas", "alpha", "lr_decay",
            "initial_accumulator_value")


register_call_target(Optimizer, "zero_grad", _range_name("zero_grad"), kind="range")


class SGD(Optimizer):
    """Stochastic gradient descent: ``v = mu v + (1 - dampening) g``; ``p -= lr v``
    (or ``g + mu v`` with nesterov), with L2 weight decay added to ``g``.

    >>> w = ember.nn.Parameter(ember.tensor([1., 2.]))
    >>> opt = ember.optim.SGD([w], lr=0.1)
    >>> (w ** 2).sum().backward()              # gradient 2 * w
    >>> opt.step()
    >>> w
    Parameter containing:
    tensor([0.8000, 1.6000], requires_grad=True)
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        # foreach/fused/differentiable: PyTorch's choice of kernels (same numbers), kept in
        # the groups as PyTorch keeps them (state_dict() shows PyTorch's keys)
        check_hyperparameters("SGD", lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(f"SGD: Nesterov momentum requires a momentum and zero dampening, "
                             f"got momentum={momentum}, dampening={dampening}")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))

    def step(self, closure=None):
        from .update_rules import sgd
        loss = closure() if closure is not None else None
        arith = self._in_place()
        ndarray = np.ndarray
        for g in self.param_groups:
            hp = {k: v for k, v in g.items() if k not in _NOT_HYPER}
            # plain SGD (no momentum, weight decay or maximize, a float lr): the rule is
            # ``p += g * -lr``; below the size where the rule keeps a scratch buffer it runs
            # these two NumPy calls, so they are made here directly (the same bits), without
            # the rule's per-parameter dispatch (linreg eager step, CPU: see the commit)
            lr = hp["lr"]
            plain = (not hp["momentum"] and not hp["weight_decay"] and not hp["maximize"]
                     and type(lr) in (float, int))
            for p in g["params"]:
                gt = p.grad
                if gt is None:
                    continue
                if plain:
                    d, gd = p._data, gt._data
                    if (type(d) is ndarray and type(gd) is ndarray
                            and gd.size < SCRATCH_MIN):
                        d += np.multiply(gd, -lr)
                        p._version[0] += 1
                        continue
                # SGD's state is its momentum buffer alone (as PyTorch's: no step count,
                # and no entry at all without momentum)
                st = self.state.setdefault(id(p), {}) if g["momentum"] else {}
                _update(sgd, arith, p._data, p.grad._data, st, None, hp)
                p._version[0] += 1
        return loss


_NOT_HYPER = ("params", "foreach", "differentiable", "fused")
