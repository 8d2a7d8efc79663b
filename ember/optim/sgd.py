"""Optimizer base class and SGD (momentum, dampening, nesterov, weight decay), with
PyTorch's update rule (``update_rules.sgd``, run in place by ``inplace.sgd_``) on the
parameters' storage."""
from __future__ import annotations

import numpy as np


class Optimizer:
    def __init__(self, params, defaults):
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        self.defaults = defaults
        self.param_groups = []
        for g in params:
            g = dict(g)
            g["params"] = list(g["params"])
            for k, v in defaults.items():
                g.setdefault(k, v)
            self.param_groups.append(g)
        self.state = {}

    def zero_grad(self, set_to_none=True):
        for g in self.param_groups:
            for p in g["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad._data[...] = 0

    def state_dict(self):
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
        group = dict(group)
        group["params"] = list(group["params"])
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        self.param_groups.append(group)

    def load_state_dict(self, sd):
        plist = [p for g in self.param_groups for p in g["params"]]
        self.state = {id(plist[i]): {n: (v.copy() if isinstance(v, np.ndarray) else v)
                                     for n, v in s.items()} for i, s in sd["state"].items()}
        for g, sg in zip(self.param_groups, sd["param_groups"]):
            g.update({k: v for k, v in sg.items() if k != "params"})


class SGD(Optimizer):
    """Stochastic gradient descent: ``v = mu v + (1 - dampening) g``; ``p -= lr v``
    (or ``g + mu v`` with nesterov), with L2 weight decay added to ``g``."""

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, maximize=False):
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: lr, momentum and weight_decay must be >= 0, got lr={lr}, "
                             f"momentum={momentum}, weight_decay={weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov momentum needs momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def step(self, closure=None):
        from .inplace import sgd_
        loss = closure() if closure is not None else None
        for g in self.param_groups:
            hp = {k: v for k, v in g.items() if k != "params"}
            for p in g["params"]:
                if p.grad is None:
                    continue
                st = self.state.setdefault(id(p), {"step": 0})
                st["step"] += 1
                sgd_(p._data, p.grad._data, st, **hp)  # update_rules.sgd, in place
                p._version[0] += 1
        return loss
