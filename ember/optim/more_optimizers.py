"""Adadelta, Adamax, NAdam, RAdam, ASGD, Rprop and LBFGS with PyTorch's names, defaults and
update formulas (the single-tensor forms of ``torch.optim``), on parameters' arrays in place.
Each keeps PyTorch's state names, so ``state_dict`` looks alike."""
from __future__ import annotations

import math

import numpy as np

from ..backend import namespace
from .sgd import Optimizer, check_hyperparameters


class _ArrayOptimizer(Optimizer):
    """Runs ``_update(p, g, state, group)`` on each parameter with a gradient; the state dict
    starts as ``_init(p, group)`` and its ``step`` counts from 1."""

    def _init(self, data, group):
        return {}

    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                st = self.state.get(id(p))
                if st is None:
                    st = self.state[id(p)] = {"step": 0, **self._init(p._data, group)}
                st["step"] += 1
                g = p.grad._data
                if group.get("maximize"):
                    g = -g
                self._update(p._data, g, st, group)
                p._version[0] += 1
        return loss


def _f32(x):
    return float(np.float32(x))


def _decayed(p, g, wd):
    return g + wd * p if wd else g


class Adadelta(_ArrayOptimizer):
    """Adadelta (Zeiler 2012): ``v = rho v + (1 - rho) g^2``, ``d = sqrt(u + eps) / sqrt(v + eps)
    g``, ``u = rho u + (1 - rho) d^2``, ``p -= lr d``.

    >>> w = ember.nn.Parameter(ember.tensor([1.]))
    >>> opt = ember.optim.Adadelta([w])
    >>> w.grad = ember.tensor([1.])
    >>> opt.step()
    >>> round(w.item(), 6)                         # 1 - sqrt(1e-6) / sqrt(0.1 + 1e-6)
    0.996838
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
        check_hyperparameters("Adadelta", lr=lr, rho=rho, eps=eps, weight_decay=weight_decay)
        if rho > 1.0:
            raise ValueError(f"Adadelta: Invalid rho value: {rho} (must be in [0, 1])")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize))

    def _init(self, data, group):
        xp = namespace(data)
        return {"square_avg": xp.zeros_like(data), "acc_delta": xp.zeros_like(data)}

    def _update(self, p, g, st, group):
        rho, eps = group["rho"], group["eps"]
        g = _decayed(p, g, group["weight_decay"])
        sa, acc = st["square_avg"], st["acc_delta"]
        sa *= rho
        sa += (1 - rho) * (g * g)
        delta = np.sqrt(acc + eps) / np.sqrt(sa + eps) * g
        acc *= rho
        acc += (1 - rho) * (delta * delta)
        p -= group["lr"] * delta


class Adamax(_ArrayOptimizer):
    """Adamax (Kingma & Ba, the infinity-norm Adam): ``m = b1 m + (1 - b1) g``,
    ``u = max(b2 u, |g| + eps)``, ``p -= lr / (1 - b1^t) m / u``.

    >>> w = ember.nn.Parameter(ember.tensor([1.]))
    >>> opt = ember.optim.Adamax([w], lr=0.1)
    >>> w.grad = ember.tensor([3.])
    >>> opt.step()                                 # the first step moves by about lr
    >>> round(w.item(), 4)
    0.9
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 maximize=False):
        check_hyperparameters("Adamax", lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, maximize=maximize))

    def _init(self, data, group):
        xp = namespace(data)
        return {"exp_avg": xp.zeros_like(data), "exp_inf": xp.zeros_like(data)}

    def _update(self, p, g, st, group):
        (b1, b2), eps = group["betas"], group["eps"]
        g = _decayed(p, g, group["weight_decay"])
        m, u = st["exp_avg"], st["exp_inf"]
        m += (1 - b1) * (g - m)  # PyTorch's lerp
        u *= b2
        np.maximum(u, np.abs(g) + eps, out=u)
        p -= group["lr"] / (1 - b1 ** st["step"]) * (m / u)


def _adam_moments(g, st, b1, b2):
    m, v = st["exp_avg"], st["exp_avg_sq"]
    m += (1 - b1) * (g - m)  # PyTorch's lerp
    v *= b2
    v += (1 - b2) * (g * g)
    return m, v


def _decay_or_l2(p, g, group):
    """Weight decay: decoupled (p *= 1 - lr wd, as AdamW) or L2 added to the gradient."""
    wd = group["weight_decay"]
    if wd and group["decoupled_weight_decay"]:
        p *= 1 - group["lr"] * wd
        return g
    return _decayed(p, g, wd)


class NAdam(_ArrayOptimizer):
    """NAdam (Dozat 2016): Adam with Nesterov momentum and PyTorch's momentum-decay schedule
    ``mu_t = b1 (1 - 0.5 * 0.96^(t psi))``; ``decoupled_weight_decay`` gives NAdamW.

    >>> w = ember.nn.Parameter(ember.tensor([1.]))
    >>> opt = ember.optim.NAdam([w], lr=0.1)
    >>> w.grad = ember.tensor([2.])
    >>> opt.step()
    >>> round(w.item(), 4)
    0.8944
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, maximize=False):
        check_hyperparameters("NAdam", lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                              momentum_decay=momentum_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize))

    def _init(self, data, group):
        xp = namespace(data)
        return {"mu_product": 1.0, "exp_avg": xp.zeros_like(data),
                "exp_avg_sq": xp.zeros_like(data)}

    def _update(self, p, g, st, group):
        (b1, b2), lr, t, psi = group["betas"], group["lr"], st["step"], group["momentum_decay"]
        g = _decay_or_l2(p, g, group)
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        # PyTorch keeps mu_product in a float32 tensor
        st["mu_product"] = float(np.float32(st["mu_product"]) * np.float32(mu))
        m, v = _adam_moments(g, st, b1, b2)
        denom = np.sqrt(v / (1 - b2 ** t)) + group["eps"]
        p += (-lr * (1.0 - mu) / (1.0 - st["mu_product"])) * (g / denom)
        p += (-lr * mu_next / (1.0 - st["mu_product"] * mu_next)) * (m / denom)


class RAdam(_ArrayOptimizer):
    """RAdam (Liu et al. 2019): Adam whose adaptive step is rectified by the variance of the
    second moment's estimate, and plain momentum SGD while that variance is undefined (the
    first steps); ``decoupled_weight_decay`` as AdamW.

    >>> w = ember.nn.Parameter(ember.tensor([1.]))
    >>> opt = ember.optim.RAdam([w], lr=0.1)
    >>> w.grad = ember.tensor([2.])
    >>> opt.step()                                 # step 1: the bias-corrected momentum, 2
    >>> round(w.item(), 4)
    0.8
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decoupled_weight_decay=False, maximize=False):
        check_hyperparameters("RAdam", lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize))

    def _init(self, data, group):
        xp = namespace(data)
        return {"exp_avg": xp.zeros_like(data), "exp_avg_sq": xp.zeros_like(data)}

    def _update(self, p, g, st, group):
        (b1, b2), lr, t = group["betas"], group["lr"], st["step"]
        g = _decay_or_l2(p, g, group)
        m, v = _adam_moments(g, st, b1, b2)
        bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
        corrected = m / bc1
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * t * (b2 ** t) / bc2
        if rho_t > 5.0:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf /
                             ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            adaptive = math.sqrt(bc2) / (np.sqrt(v) + group["eps"])
            p -= corrected * lr * adaptive * rect
        else:
            p -= corrected * lr


class ASGD(_ArrayOptimizer):
    """Averaged SGD (Polyak & Juditsky): SGD with a decaying step ``eta`` and the running
    average ``ax`` of the iterates (kept in the state, as PyTorch's), from step ``t0`` on.

    >>> w = ember.nn.Parameter(ember.tensor([1.]))
    >>> opt = ember.optim.ASGD([w], lr=0.1, lambd=0.0)
    >>> w.grad = ember.tensor([1.])
    >>> opt.step()
    >>> round(w.item(), 4), opt.state_dict()["state"][0]["ax"].tolist()
    (0.9, [0.8999999761581421])
    """

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0,
                 maximize=False):
        check_hyperparameters("ASGD", lr=lr, lambd=lambd, alpha=alpha, t0=t0,
                              weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0,
                                      weight_decay=weight_decay, maximize=maximize))

    def _init(self, data, group):
        # eta and mu are float32 scalars in PyTorch's state: rounded alike here
        return {"eta": _f32(group["lr"]), "mu": 1.0, "ax": namespace(data).zeros_like(data)}

    def _update(self, p, g, st, group):
        lr, lambd, t = group["lr"], group["lambd"], st["step"]
        g = _decayed(p, g, group["weight_decay"])
        eta = st["eta"]
        p *= 1 - lambd * eta
        p -= eta * g
        ax = st["ax"]
        if st["mu"] != 1:
            ax += (p - ax) * st["mu"]
        else:
            ax[...] = p
        st["eta"] = _f32(lr / ((1 + lambd * lr * t) ** group["alpha"]))
        st["mu"] = _f32(1 / max(1, t - group["t0"]))


class Rprop(_ArrayOptimizer):
    """Resilient backpropagation: each weight's step size grows by ``etas[1]`` while its
    gradient keeps its sign and shrinks by ``etas[0]`` when it flips (then that step is
    skipped), within ``step_sizes``; only the gradient's sign is used.

    >>> w = ember.nn.Parameter(ember.tensor([1.]))
    >>> opt = ember.optim.Rprop([w], lr=0.1)
    >>> w.grad = ember.tensor([5.])
    >>> opt.step()
    >>> round(w.item(), 4)
    0.9
    """

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), maximize=False):
        check_hyperparameters("Rprop", lr=lr)
        etaminus, etaplus = etas
        if not 0.0 < etaminus < 1.0 < etaplus:
            raise ValueError(f"Rprop: Invalid eta values: {etaminus}, {etaplus} (need "
                             f"0 < etaminus < 1 < etaplus)")
        super().__init__(params, dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes),
                                      maximize=maximize))

    def _init(self, data, group):
        xp = namespace(data)
        return {"prev": xp.zeros_like(data), "step_size": xp.full_like(data, group["lr"])}

    def _update(self, p, g, st, group):
        (etaminus, etaplus), (lo, hi) = group["etas"], group["step_sizes"]
        prev, size = st["prev"], st["step_size"]
        s = np.sign(g * prev)
        factor = np.where(s > 0, etaplus, np.where(s < 0, etaminus, 1.0)).astype(size.dtype)
        size *= factor
        np.clip(size, lo, hi, out=size)
        g = np.where(factor == etaminus, 0, g).astype(g.dtype)
        p -= np.sign(g) * size
        prev[...] = g


class LBFGS(Optimizer):
    """L-BFGS (PyTorch's algorithm: two-loop recursion over the last ``history_size`` curvature
    pairs, up to ``max_iter`` iterations per ``step(closure)``, stopping on ``tolerance_grad`` /
    ``tolerance_change``). All parameters form one vector; one parameter group only. The
    closure re-evaluates the model and returns the loss (it calls ``backward``).
    ``line_search_fn="strong_wolfe"`` is not implemented here (a clear error): the fixed step
    ``lr`` is used, as PyTorch's default.

    >>> w = ember.nn.Parameter(ember.tensor([3., -2.]))
    >>> opt = ember.optim.LBFGS([w], lr=1.0)
    >>> def closure():
    ...     opt.zero_grad()
    ...     loss = ((w - 1.0) ** 2).sum()
    ...     loss.backward()
    ...     return loss
    >>> _ = opt.step(closure)
    >>> [round(v, 4) for v in w.tolist()]
    [1.0, 1.0]
    """

    def __init__(self, params, lr=1.0, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        check_hyperparameters("LBFGS", lr=lr, max_iter=max_iter, tolerance_grad=tolerance_grad,
                              tolerance_change=tolerance_change, history_size=history_size)
        if line_search_fn is not None:
            raise ValueError(f"LBFGS: line_search_fn={line_search_fn!r} is not supported by "
                             f"ember yet; use the default None (a fixed step of size lr)")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                                      tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change,
                                      history_size=history_size, line_search_fn=None))
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def _flat_grad(self):
        return np.concatenate([np.zeros(p.numel(), p._data.dtype) if p.grad is None
                               else np.asarray(p.grad._data).reshape(-1)
                               for p in self._params])

    def _add(self, step, direction):
        offset = 0
        for p in self._params:
            n = p.numel()
            p._data += (step * direction[offset:offset + n]).reshape(p._data.shape).astype(
                p._data.dtype)
            p._version[0] += 1
            offset += n

    def step(self, closure):
        if closure is None:
            raise RuntimeError("LBFGS.step needs a closure that re-evaluates the model and "
                               "returns the loss (it calls backward), as in PyTorch")
        from ..core.autograd import enable_grad
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history = group["history_size"]
        # PyTorch keeps the state under the first parameter
        st = self.state.setdefault(id(self._params[0]), {"func_evals": 0, "n_iter": 0})
        with enable_grad():
            orig_loss = closure()
        loss = float(orig_loss)
        current_evals = 1
        st["func_evals"] += 1
        g = self._flat_grad()
        if np.abs(g).max() <= tol_grad:
            return orig_loss
        d, t = st.get("d"), st.get("t")
        old_dirs, old_stps = st.setdefault("old_dirs", []), st.setdefault("old_stps", [])
        ro, h_diag = st.setdefault("ro", []), st.get("H_diag", 1.0)
        prev_g, prev_loss = st.get("prev_flat_grad"), st.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            st["n_iter"] += 1
            if st["n_iter"] == 1:
                d, old_dirs[:], old_stps[:], ro[:], h_diag = -g, [], [], [], 1.0
            else:
                y = g - prev_g
                s = d * t
                ys = float(y @ s)
                if ys > 1e-10:  # keep the curvature pair
                    if len(old_dirs) == history:
                        old_dirs.pop(0), old_stps.pop(0), ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / float(y @ y)
                q = -g
                al = [0.0] * len(old_dirs)
                for i in range(len(old_dirs) - 1, -1, -1):
                    al[i] = float(old_stps[i] @ q) * ro[i]
                    q = q - al[i] * old_dirs[i]
                d = q * h_diag
                for i in range(len(old_dirs)):
                    be_i = float(old_dirs[i] @ d) * ro[i]
                    d = d + old_stps[i] * (al[i] - be_i)
            prev_g, prev_loss = g.copy(), loss
            t = min(1.0, 1.0 / float(np.abs(g).sum())) * lr if st["n_iter"] == 1 else lr
            gtd = float(g @ d)
            if gtd > -tol_change:  # not a descent direction
                break
            self._add(t, d)
            ls_evals = 0
            if n_iter != max_iter:  # re-evaluate (the last iteration's loss is not needed)
                with enable_grad():
                    loss = float(closure())
                g = self._flat_grad()
                ls_evals = 1
            current_evals += ls_evals
            st["func_evals"] += ls_evals
            if n_iter == max_iter or current_evals >= max_eval:
                break
            if np.abs(g).max() <= tol_grad:
                break
            if np.abs(d * t).max() <= tol_change or abs(loss - prev_loss) < tol_change:
                break
        st.update(d=d, t=t, H_diag=h_diag, prev_flat_grad=prev_g, prev_loss=prev_loss)
        return orig_loss
