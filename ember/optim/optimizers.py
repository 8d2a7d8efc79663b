"""Adam, AdamW, RMSprop, Adagrad: PyTorch's stateful optimizers, on the shared update rules
(``update_rules.py``) applied to the parameters' NumPy storage in place."""
from __future__ import annotations

import numpy as np

from . import inplace, update_rules
from .sgd import Optimizer, check_hyperparameters


class _RuleOptimizer(Optimizer):
    rule = None
    extra = {}

    def _init_state(self, p, g):
        hp = dict(g)
        st = {"step": 0}
        for name in update_rules.STATE[self.rule](hp):
            init = hp.get("initial_accumulator_value", 0.0) if name == "sum" else 0.0
            st[name] = np.full_like(p._data, init)
        return st

    def step(self, closure=None):
        loss = closure() if closure is not None else None
        rule = update_rules.RULES[self.rule]
        arith = self._in_place()
        for group in self.param_groups:
            hp = {k: v for k, v in group.items() if k != "params"}
            hp.update(self.extra)
            for p in group["params"]:
                if p.grad is None:
                    continue
                st = self.state.get(id(p))
                if st is None:
                    st = self.state[id(p)] = self._init_state(p, group)
                st["step"] += 1
                arrays = {k: v for k, v in st.items() if k != "step"}
                inplace.update(rule, arith, p._data, p.grad._data, arrays, st["step"], hp,
                               cast=True)
                st.update(arrays)  # the same buffers, updated (and any the rule made)
                p._version[0] += 1
        return loss


class Adam(_RuleOptimizer):
    """Adam (Kingma & Ba) with PyTorch's defaults; ``weight_decay`` is L2 added to the
    gradient; ``amsgrad`` keeps the running maximum of the second moment.

    >>> w = ember.nn.Parameter(ember.tensor([1., 2.]))
    >>> opt = ember.optim.Adam([w], lr=0.1)
    >>> (w ** 2).sum().backward()
    >>> opt.step()                              # the first step moves each weight by about lr
    >>> w
    Parameter containing:
    tensor([0.9000, 1.9000], requires_grad=True)
    """

    rule = "adam"

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, maximize=False, *, foreach=None, fused=None):
        # foreach/fused: PyTorch's choice of kernels, same numbers; ember's update is one
        # whole-tensor pass per parameter either way
        check_hyperparameters(type(self).__name__, lr=lr, eps=eps, betas=betas,
                              weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize))


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): p *= 1 - lr * weight_decay.

    >>> w = ember.nn.Parameter(ember.tensor([1.]))
    >>> opt = ember.optim.AdamW([w], lr=0.1, weight_decay=0.5)
    >>> w.grad = ember.zeros(1)                 # no gradient: only the decay acts
    >>> opt.step()
    >>> w
    Parameter containing:
    tensor([0.9500], requires_grad=True)
    """

    extra = {"decoupled": True}

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, maximize=False, *, foreach=None, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)


class RMSprop(_RuleOptimizer):
    """RMSprop with PyTorch's formula: ``v = alpha v + (1 - alpha) g^2``,
    ``p -= lr g / (sqrt(v) + eps)`` (with optional momentum, centering and L2 decay).

    >>> w = ember.nn.Parameter(ember.tensor([1.]))
    >>> opt = ember.optim.RMSprop([w], lr=0.01, alpha=0.99)
    >>> w.grad = ember.tensor([1.])
    >>> opt.step()                              # 1 - 0.01 / sqrt(0.01)
    >>> w
    Parameter containing:
    tensor([0.9000], requires_grad=True)
    """
    rule = "rmsprop"

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, maximize=False):
        check_hyperparameters("RMSprop", lr=lr, eps=eps, weight_decay=weight_decay,
                              momentum=momentum, alpha=alpha)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))


class Adagrad(_RuleOptimizer):
    """Adagrad with PyTorch's formula: ``s += g^2``, ``p -= lr g / (sqrt(s) + eps)`` (with an
    optional learning-rate decay, L2 decay and initial accumulator value).

    >>> w = ember.nn.Parameter(ember.tensor([1.]))
    >>> opt = ember.optim.Adagrad([w], lr=0.5)
    >>> w.grad = ember.tensor([2.])
    >>> opt.step()
    >>> w
    Parameter containing:
    tensor([0.5000], requires_grad=True)
    """
    rule = "adagrad"

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, maximize=False):
        check_hyperparameters("Adagrad", lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                              initial_accumulator_value=initial_accumulator_value, eps=eps)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))
