"""``gradcheck`` and ``gradgradcheck`` (PyTorch's ``torch.autograd.gradcheck``): the
Jacobians that backward computes, compared with central finite differences."""
from __future__ import annotations

import numpy as np

from ..core.autograd import grad as _grad
from ..core.tensor import Tensor

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck`` when an analytical and a numerical Jacobian differ (a
    RuntimeError, as PyTorch's).

    >>> issubclass(ember.autograd.GradcheckError, RuntimeError)
    True
    """


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _diff_inputs(inputs):
    return [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]


def _outputs(func, inputs):
    return [o for o in _as_tuple(func(*inputs)) if isinstance(o, Tensor)]


def _numerical(func, inputs, wrt, eps):
    """For each differentiable input: a list per output of (numel_in, numel_out) Jacobians."""
    jac = []
    # grad mode stays on: func may itself differentiate (gradgradcheck's first gradients)
    outs0 = _outputs(func, inputs)
    for i in wrt:
        x = inputs[i]
        flat = x._data.flat  # perturbs the storage in place (strided tensors too)
        cols = [np.zeros((x.numel(), o.numel()), np.float64) for o in outs0]
        for k in range(x.numel()):
            orig = flat[k].copy()
            flat[k] = orig + eps
            plus = [o.detach().numpy().astype(np.float64).reshape(-1)
                    for o in _outputs(func, inputs)]
            flat[k] = orig - eps
            minus = [o.detach().numpy().astype(np.float64).reshape(-1)
                     for o in _outputs(func, inputs)]
            flat[k] = orig
            for j, (p, m) in enumerate(zip(plus, minus)):
                cols[j][k] = (p - m) / (2 * eps)
        jac.append(cols)
    return jac


def _analytical(func, inputs, wrt):
    outs = _outputs(func, inputs)
    jac = [[np.zeros((inputs[i].numel(), o.numel()), np.float64) for o in outs] for i in wrt]
    for j, o in enumerate(outs):
        if not o.requires_grad:
            continue
        for k in range(o.numel()):
            seed = np.zeros(o.numel(), o.dtype.np)
            seed[k] = 1
            gs = _grad([o], [inputs[i] for i in wrt],
                       [Tensor._wrap(seed.reshape(tuple(o.shape)))],
                       retain_graph=True, allow_unused=True)
            for a, g in enumerate(gs):
                if g is not None:
                    jac[a][j][:, k] = g.detach().numpy().astype(np.float64).reshape(-1)
    return jac


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, check_grad_dtypes=False,
              check_batched_grad=False, check_batched_forward_grad=False,
              check_forward_ad=False, check_backward_ad=True, fast_mode=False, masked=None):
    """Whether the gradients of ``func`` at ``inputs`` (the tensors among them that require
    grad; use float64) match central finite differences within ``atol + rtol * |numerical|``
    for every input and output element. Raises ``GradcheckError`` naming the first mismatch
    (or returns False with ``raise_exception=False``). ``check_forward_ad=True`` also checks
    the Jacobians forward mode gives (``autograd.forward_ad``), ``check_backward_ad=False``
    skips backward's. The check options PyTorch adds for its batched kernels are accepted
    and ignored.

    >>> x = ember.tensor([1., 2.], dtype=ember.float64, requires_grad=True)
    >>> ember.autograd.gradcheck(lambda t: (t ** 3).sum(), (x,))
    True
    """
    inputs = _as_tuple(inputs)
    wrt = _diff_inputs(inputs)
    if not wrt:
        raise ValueError("gradcheck: none of the inputs requires grad; create them with "
                         "requires_grad=True")
    for i in wrt:
        if inputs[i].dtype.itemsize < 8:
            import warnings
            warnings.warn(f"gradcheck: input {i} is {inputs[i].dtype}, not double precision: "
                          f"finite differences at eps={eps} will likely fail; use float64",
                          UserWarning, stacklevel=2)
    num = _numerical(func, inputs, wrt, eps)
    checks = []
    if check_backward_ad:
        checks.append(("", _analytical(func, inputs, wrt)))
    if check_forward_ad:
        checks.append(("forward-mode (autograd.forward_ad) ", _forward(func, inputs, wrt)))
    for kind, ana in checks:
        for a, i in enumerate(wrt):
            for j, (n, g) in enumerate(zip(num[a], ana[a])):
                if not np.allclose(g, n, rtol=rtol, atol=atol):
                    bad = np.unravel_index(np.argmax(np.abs(g - n) - rtol * np.abs(n)),
                                           g.shape)
                    msg = (f"gradcheck: {kind}Jacobian mismatch for output {j} with respect "
                           f"to input {i}: at (input element {bad[0]}, output element "
                           f"{bad[1]}) the analytical value is {g[bad]:.6g} and the "
                           f"numerical {n[bad]:.6g} (atol={atol}, rtol={rtol}).\n"
                           f"numerical:\n{n}\nanalytical:\n{g}")
                    if raise_exception:
                        raise GradcheckError(msg)
                    return False
    return True


def _forward(func, inputs, wrt):
    """The Jacobians from forward mode: one dual-number pass per input element."""
    from . import forward_ad as fw
    outs = _outputs(func, inputs)
    jac = [[np.zeros((inputs[i].numel(), o.numel()), np.float64) for o in outs] for i in wrt]
    for a, i in enumerate(wrt):
        x = inputs[i]
        for k in range(x.numel()):
            e = np.zeros(x.numel(), x._data.dtype)
            e[k] = 1
            with fw.dual_level():
                args = list(inputs)
                args[i] = fw.make_dual(x.detach(), Tensor._wrap(e.reshape(x._data.shape)))
                for j, o in enumerate(_outputs(func, args)):
                    t = fw.unpack_dual(o).tangent
                    if t is not None:
                        jac[a][j][k] = t.detach().numpy().astype(np.float64).reshape(-1)
    return jac


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0,
                  check_undefined_grad=True, check_grad_dtypes=False,
                  check_batched_grad=False, check_fwd_over_rev=False, check_rev_over_rev=True,
                  fast_mode=False, masked=False):
    """``gradcheck`` of the gradient: checks the second derivatives of ``func`` by checking
    the function ``(inputs, grad_outputs) -> d(outputs . grad_outputs)/d(inputs)`` built
    with ``create_graph=True`` (random ``grad_outputs`` if not given).

    >>> x = ember.tensor([1., 2.], dtype=ember.float64, requires_grad=True)
    >>> ember.autograd.gradgradcheck(lambda t: (t ** 3).sum(), (x,))
    True
    """
    inputs = _as_tuple(inputs)
    wrt = _diff_inputs(inputs)
    outs = _outputs(func, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = [Tensor._wrap(rng.standard_normal(tuple(o.shape)).astype(o.dtype.np))
                        .requires_grad_(True) for o in outs]
    grad_outputs = list(_as_tuple(grad_outputs))
    n_in = len(inputs)

    def first_grads(*args):
        ins, gos = args[:n_in], args[n_in:]
        o = _outputs(func, ins)
        gs = _grad(o, [ins[i] for i in wrt], list(gos), create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_grads, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol,
                     rtol=rtol, raise_exception=raise_exception)
