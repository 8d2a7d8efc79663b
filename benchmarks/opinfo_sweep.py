"""PyTorch's own operator database (OpInfo) against ember: every sample input PyTorch's test
suite feeds an operator, run through ember's function of the same name and compared.

    python benchmarks/opinfo_sweep.py [--ops add,nn.functional.conv2d] [--dtype float32]
        [--grad] [--show 3] [--json out.json]

Needs torch (and ``expecttest``, which torch's testing module imports). For every OpInfo
whose name ember has (``ember.<name>``, or a Tensor method for the method-only ones), each
sample's tensors are copied into ember tensors, ember's function is called with the same
positional and keyword arguments, and the results are compared with torch's (values within
``torch.testing.assert_close``'s tolerances for the dtype, shapes, dtypes). ``--grad``
also compares the gradient of ``sum(out * w)`` (``w`` fixed random) with respect to every
floating input that requires it. Prints one line per operator that is missing or fails,
with the first failures' messages, and a summary. Nothing here is asserted by the test
suite: it finds gaps; each fix gets its own test.
"""
from __future__ import annotations

import argparse
import collections
import json
import traceback
import warnings

import numpy as np


def _to_ember(v, ember, torch):
    if isinstance(v, torch.Tensor):
        if v.layout != torch.strided:
            raise _Skip("sparse input")
        t = ember.tensor(v.detach().cpu().numpy())
        if v.requires_grad:
            t.requires_grad_(True)
        return t
    if isinstance(v, (list, tuple)):
        out = [_to_ember(x, ember, torch) for x in v]
        return type(v)(out) if not hasattr(v, "_fields") else type(v)(*out)
    if isinstance(v, dict):
        return {k: _to_ember(x, ember, torch) for k, x in v.items()}
    if isinstance(v, torch.dtype):
        return getattr(ember, str(v).split(".")[1])
    if isinstance(v, torch.device):
        return "cpu"
    if isinstance(v, torch.Size):
        return tuple(v)
    if isinstance(v, torch.memory_format):
        return getattr(ember, str(v).split(".")[1])
    if isinstance(v, torch.Generator):
        raise _Skip("generator argument")
    if callable(v) and getattr(v, "__module__", None) in ("torch.nn.functional",
                                                          "torch._C._nn", "torch"):
        # a torch function passed as an argument (an activation): ember's of that name
        name = getattr(v, "__name__", "")
        for space in (ember.nn.functional, ember):
            if hasattr(space, name):
                return getattr(space, name)
        raise _Skip(f"a torch function argument ({name})")
    if isinstance(v, torch.nn.Module):  # a parameterless module (a distance function): the
        cls = getattr(ember.nn, type(v).__name__, None)  # ember class of that name, same
        if cls is None or list(v.parameters()):  # settings
            raise _Skip(f"a torch module argument ({type(v).__name__})")
        m = cls()
        for k, a in vars(v).items():
            if not k.startswith("_") and isinstance(a, (int, float, bool, str, type(None))):
                setattr(m, k, a)
        return m
    return v


class _Skip(Exception):
    pass


class _Bad(Exception):
    pass


def _flat(v):
    if isinstance(v, (list, tuple)):
        for x in v:
            yield from _flat(x)
    else:
        yield v


def _compare(t_out, e_out, torch, ember):
    t_leaves, e_leaves = list(_flat(t_out)), list(_flat(e_out))
    if len(t_leaves) != len(e_leaves):
        return f"{len(e_leaves)} outputs, torch {len(t_leaves)}"
    for k, (a, b) in enumerate(zip(t_leaves, e_leaves)):
        if isinstance(a, torch.Tensor) and a.layout != torch.strided:
            # a sparse result: the same layout, then compared as dense values
            if not getattr(b, "is_sparse", False) or a.layout != torch.sparse_coo:
                return f"output {k}: layout {getattr(b, 'layout', 'strided')}, torch {a.layout}"
            a, b = a.to_dense(), b.to_dense()
        if isinstance(a, torch.Tensor):
            if not isinstance(b, ember.Tensor):
                if np.isscalar(b) and a.ndim == 0:
                    b = ember.tensor(b)
                else:
                    return f"output {k}: {type(b).__name__}, torch a Tensor"
            if tuple(a.shape) != tuple(b.shape):
                return f"output {k}: shape {tuple(b.shape)}, torch {tuple(a.shape)}"
            tn = str(a.dtype).split(".")[1]
            en = str(b.dtype).split(".")[-1]
            if tn != en:
                return f"output {k}: dtype {en}, torch {tn}"
            try:
                torch.testing.assert_close(_as_torch(b, torch), _comparable(a, torch),
                                           equal_nan=True, check_dtype=False)
            except AssertionError as err:
                return f"output {k}: " + " ".join(str(err).split())[:200]
        elif isinstance(a, (bool, int, float, complex)) or a is None:
            bv = b.item() if isinstance(b, ember.Tensor) else b
            if a is None and bv is None:
                continue
            if a is None or bv is None or not np.allclose(a, bv, equal_nan=True):
                return f"output {k}: {bv!r}, torch {a!r}"
    return None


def _as_torch(b, torch):
    v = np.array(b.detach().numpy())
    if v.dtype.kind == "V" or v.dtype.name in ("bfloat16",) or "float8" in v.dtype.name:
        v = v.astype(np.float32)
    return torch.from_numpy(v)


def _comparable(a, torch):
    a = a.detach()
    return a.float() if a.dtype in (torch.bfloat16,) or "float8" in str(a.dtype) else a


# operators whose results are random draws: their values cannot be compared
_RANDOM = {"normal", "bernoulli", "multinomial", "rand_like", "randn", "randn_like", "randint",
           "randint_like", "uniform", "cauchy", "exponential", "geometric", "log_normal",
           "empty", "empty_like", "new_empty", "empty_strided", "new_empty_strided",
           "empty_permuted", "nn.functional.dropout", "nn.functional.dropout2d",
           "nn.functional.dropout3d", "nn.functional.alpha_dropout",
           "nn.functional.feature_alpha_dropout", "nn.functional.rrelu"}


def _abs_cols(u, k):
    return u[..., :k].abs()


def _svd_view(outs, args, kwargs):
    u, s, vh = outs
    k = s.shape[-1]
    return [_abs_cols(u, k), s, vh[..., :k, :].abs()]


def _svd_old_view(outs, args, kwargs):  # torch.svd: U, S, V
    u, s, v = outs
    k = s.shape[-1]
    return [_abs_cols(u, k), s, _abs_cols(v, k)]


def _eig_view(outs, args, kwargs):
    w, v = outs
    return [w, v.abs()]


# Outputs that are unique only up to a convention (eigen/singular vectors up to a sign or a
# complex phase per column; the columns SVD's full_matrices adds beyond min(m, n) span a null
# space and are any orthonormal basis of it): both sides are compared, values and gradients,
# through a view that removes the freedom. The rest of what makes them right is checked on
# ember's result by _INVARIANTS.
_VIEWS = {"linalg.svd": _svd_view, "svd": _svd_old_view, "linalg.eig": _eig_view,
          "linalg.eigh": _eig_view, "svd_lowrank": _svd_old_view,
          "pca_lowrank": _svd_old_view}


def _svd_invariant(e_out, e_args, ember, old=False):
    u, s, v = e_out
    a = e_args[0]
    k = s.shape[-1]
    vh = v[..., :k].mT.conj() if old else v[..., :k, :]
    rec = (u[..., :k] * s.unsqueeze(-2).to(u.dtype)) @ vh
    err = float((rec - a).abs().max()) if a.numel() else 0.0
    scale = 1.0 + (float(a.abs().max()) if a.numel() else 0.0)
    if err > 1e-4 * scale:
        return f"U diag(S) Vh differs from A by {err:.3g}"
    for name, q, dim in (("U", u, -2), ("V", v if old else v.mT.conj(), -2)):
        g = q.mT.conj() @ q
        eye = ember.eye(g.shape[-1], dtype=g.dtype)
        if g.numel() and float((g - eye).abs().max()) > 1e-4:
            return f"{name} is not orthonormal"
    return None


def _eig_invariant(e_out, e_args, ember, uplo=None):
    w, v = e_out
    a = e_args[0].to(v.dtype)
    if uplo is not None:  # eigh reads one triangle: the matrix it decomposes
        t = ember.tril(a) if uplo == "L" else ember.triu(a)
        a = t + (ember.tril(a, -1) if uplo == "L" else ember.triu(a, 1)).mT.conj()
    if not a.numel():
        return None
    err = float((a @ v - v * w.unsqueeze(-2).to(v.dtype)).abs().max())
    if err > 1e-4 * (1.0 + float(a.abs().max())):
        return f"A V differs from V diag(L) by {err:.3g}"
    return None


def _lowrank_invariant(e_out, e_args, ember, pca=False, kwargs=None):
    """svd_lowrank/pca_lowrank's samples are (a, b): the matrix is a @ b^H (minus M, or its
    column means for pca_lowrank with center=True); of rank <= q, so U diag(S) V^H is it."""
    kwargs = kwargs or {}
    a = e_args[0] @ e_args[1].mT.conj()
    if not pca and kwargs.get("M") is not None:
        a = a - kwargs["M"]
    if pca and kwargs.get("center", True):
        a = a - a.mean(-2, keepdim=True)
    return _svd_invariant(e_out, [a], ember, old=True)


_INVARIANTS = {"linalg.svd": _svd_invariant,
               "svd_lowrank": lambda o, a, e, kwargs=None: _lowrank_invariant(o, a, e, False,
                                                                              kwargs),
               "pca_lowrank": lambda o, a, e, kwargs=None: _lowrank_invariant(o, a, e, True,
                                                                              kwargs),
               "svd": lambda o, a, e: _svd_invariant(o, a, e, old=True),
               "linalg.eig": _eig_invariant,
               "linalg.eigh": lambda o, a, e, **kw: _eig_invariant(o, a, e, kw.get("UPLO", "L"))}


def _against_float64(op, args, kwargs, t_out, e_out, bad, torch, ember):
    """A float32 value mismatch is re-judged against torch's float64 result of the same
    inputs: where ember's float32 result is within float32 tolerances of that (torch's own
    float32 kernel rounds differently, e.g. polygamma's), or no farther from it than twice
    torch's own float32 result (rounding noise of a different summation order, amplified
    alike by an ill-conditioned sample), it counts as right. Returns None then, else the
    first message."""
    ins = list(_flat(args)) + list(_flat(list(kwargs.values())))
    if not any(isinstance(a, torch.Tensor) and a.dtype == torch.float32 for a in ins):
        return bad
    try:
        ref = op(*_up64(tuple(args), torch), **_up64(dict(kwargs), torch))
    except Exception:
        return bad
    ref_leaves = [r.float() if isinstance(r, torch.Tensor) and r.dtype == torch.float64
                  else r for r in _flat(ref)]
    if _compare(ref_leaves, e_out, torch, ember) is None:
        return None
    for r, t, e in zip(_flat(ref), _flat(t_out), _flat(e_out)):
        if not (isinstance(r, torch.Tensor) and isinstance(t, torch.Tensor) and
                isinstance(e, ember.Tensor)) or tuple(r.shape) != tuple(e.shape):
            return bad
        if not r.is_floating_point():
            if not torch.equal(r, _as_torch(e, torch).to(r.dtype)):
                return bad
            continue
        rv = r.detach().double()
        t_err = float((t.detach().double() - rv).abs().nan_to_num(0.0).max()) if r.numel() \
            else 0.0
        e_err = float((_as_torch(e, torch).double() - rv).abs().nan_to_num(0.0).max()) \
            if r.numel() else 0.0
        if e_err > 2 * t_err + 1e-7:
            return bad
    return None


def _lstsq_view(t_out, e_out):
    """torch.linalg.lstsq returns an empty tensor for what its driver does not compute
    (rank for 'gels', singular values but for 'gelsd'/'gelss', residuals unless m > n and A
    has full rank): those outputs are not compared."""
    keep = [k for k, t in enumerate(t_out) if not (t.ndim == 1 and t.shape[0] == 0)]
    return [t_out[k] for k in keep], [e_out[k] for k in keep]


def _draws_randomly(name, s):
    """A sample whose result is a random draw (attention dropout in training): skipped."""
    if name == "nn.functional.scaled_dot_product_attention":
        return bool(s.kwargs.get("dropout_p", 0.0))
    if name.startswith("nn.functional.fractional_max_pool"):  # windows at random offsets
        return s.kwargs.get("_random_samples") is None       # unless the samples are given
    if name == "svd_lowrank":  # a random M makes A - M of full rank: the rank-q result is
        # then an approximation that depends on the random test matrix
        return s.kwargs.get("M") is not None
    if name == "nn.functional.multi_head_attention_forward":
        p = s.args[9] if len(s.args) > 9 else s.kwargs.get("dropout_p", 0.0)
        return bool(p) and s.kwargs.get("training", True)
    return False


def _swapped(fn, ember):
    """``fn`` (an OpInfo's wrapper, e.g. ``lambda self, cond, other: torch.where(cond, self,
    other)``) with its module-level names bound to ember's (``torch`` -> ember, ``F`` ->
    ember.nn.functional): the import swap applied to the wrapper. None when it is not a
    plain Python function or closes over torch objects."""
    import types
    import torch
    if not isinstance(fn, types.FunctionType) or fn.__module__.split(".")[0] != "torch" \
            or "testing" not in fn.__module__:
        return None
    if fn.__closure__ and any(getattr(c.cell_contents, "__module__", "") and
                              str(getattr(c.cell_contents, "__module__", "")).startswith("torch")
                              for c in fn.__closure__):
        return None
    glb = dict(fn.__globals__)
    for k, v in list(glb.items()):
        if v is torch:
            glb[k] = ember
        elif v is torch.nn.functional:
            glb[k] = ember.nn.functional
        elif v is torch.nn:
            glb[k] = ember.nn
        elif v is getattr(torch, "linalg", None):
            glb[k] = ember.linalg
        elif v is getattr(torch, "special", None):
            glb[k] = ember.special
    return types.FunctionType(fn.__code__, glb, fn.__name__, fn.__defaults__, fn.__closure__)


def _resolve(name, ember):
    obj = ember
    for part in name.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def sweep(names=None, dtype="float32", grad=False, show=3):
    import torch
    import ember
    from torch.testing._internal.common_methods_invocations import op_db
    torch.manual_seed(0)
    tdt = getattr(torch, dtype)
    report = {}
    for op in op_db:
        key = op.name + (f"[{op.variant_test_name}]" if op.variant_test_name else "")
        if names and op.name not in names and key not in names:
            continue
        if tdt not in op.supported_dtypes("cpu") or op.name in _RANDOM:
            continue
        fn = _swapped(op.op, ember) or _resolve(op.name, ember)
        if type(op.op).__name__ == "method_descriptor":  # a Tensor method (torch.cdouble is
            fn = None                                    # a dtype, as ember.cdouble)
        method = None
        if fn is None and op.method_variant is not None:
            method = op.name.split(".")[-1]
            if not hasattr(ember.Tensor, method):
                method = None
        if fn is None and method is None:
            report[key] = {"status": "missing"}
            continue
        counts = collections.Counter()
        msgs = []
        try:
            samples = list(op.sample_inputs("cpu", tdt, requires_grad=grad and
                                            op.supports_autograd))
        except Exception as err:  # torch's own sample generator
            report[key] = {"status": "no samples", "msg": repr(err)[:200]}
            continue
        for s in samples:
            if _draws_randomly(op.name, s):
                counts["skip"] += 1
                continue
            try:
                args = (s.input,) + tuple(s.args)
                e_args = _to_ember(args, ember, torch)
                e_kwargs = _to_ember(dict(s.kwargs), ember, torch)
            except _Skip:
                counts["skip"] += 1
                continue
            except AttributeError as err:  # a torch constant ember lacks
                counts["error"] += 1
                if len(msgs) < show:
                    msgs.append(f"{_describe(s)}: argument: {err}")
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    t_out = op(*args, **s.kwargs)
                except Exception:
                    counts["skip"] += 1  # torch itself refuses this sample
                    continue
                try:
                    if method is not None:
                        e_out = getattr(e_args[0], method)(*e_args[1:], **e_kwargs)
                    else:
                        e_out = fn(*e_args, **e_kwargs)
                except Exception as err:
                    counts["error"] += 1
                    if len(msgs) < show:
                        tb = traceback.extract_tb(err.__traceback__)[-1]
                        msgs.append(f"{_describe(s)}: {type(err).__name__}: "
                                    f"{' '.join(str(err).split())[:160]} "
                                    f"[{tb.filename.split('/ember/')[-1]}:{tb.lineno}]")
                    continue
            view = _VIEWS.get(op.name)
            t_cmp, e_cmp = t_out, e_out
            try:
                if op.name == "linalg.lstsq":
                    t_cmp, e_cmp = _lstsq_view(list(t_out), list(e_out))
                elif view is not None:
                    t_cmp = view(list(t_out), args, s.kwargs)
                    e_cmp = view(list(e_out), e_args, e_kwargs)
                    extra = {"UPLO": e_kwargs.get("UPLO", "L")} \
                        if op.name == "linalg.eigh" else \
                        {"kwargs": e_kwargs} if op.name.endswith("_lowrank") else {}
                    bad = _INVARIANTS[op.name](list(e_out), e_args, ember, **extra)
                    if bad is not None:
                        raise _Bad(bad)
                bad = _compare(t_cmp, e_cmp, torch, ember)
                if bad is not None and "not close" in bad and view is None:
                    bad = _against_float64(op, args, s.kwargs, t_out, e_out, bad, torch,
                                           ember)
            except _Bad as err:
                bad = str(err)
            except Exception as err:  # an output ember cannot hand over as NumPy
                bad = f"comparing: {type(err).__name__}: {' '.join(str(err).split())[:160]}"
            if bad is None and grad and op.supports_autograd:
                bad = _compare_grads(args, t_cmp, e_args, e_cmp, torch, ember, op, s.kwargs,
                                     view)
            tally(counts, msgs, show, _describe(s), bad)
        report[key] = {"status": status(counts), **counts, "msgs": msgs}
    return report


def tally(counts, msgs, show, where, bad):
    """Count a compared sample (``bad``: None or what differed), keeping the first messages."""
    if bad is None:
        counts["ok"] += 1
        return
    counts["mismatch"] += 1
    if len(msgs) < show:
        msgs.append(f"{where}: {bad}")


def status(counts):
    """An entry's status from its sample counts."""
    if counts["error"] or counts["mismatch"]:
        return "fail"
    return "ok" if counts["ok"] else "skipped"


def print_report(report, kind, shown=("fail", "missing", "no samples")):
    """One line per entry whose status is in ``shown`` (with its first messages), then the
    summary: entries by status, samples by outcome."""
    for key, r in sorted(report.items()):
        if r["status"] in shown:
            extra = f" ok {r.get('ok', 0)} error {r.get('error', 0)} mismatch " \
                    f"{r.get('mismatch', 0)} skip {r.get('skip', 0)}" \
                if r["status"] in ("fail", "skipped") else ""
            print(f"{r['status']:8s} {key}{extra}")
            for m in r.get("msgs", []):
                print(f"           {m}")
    samples = collections.Counter()
    for r in report.values():
        for k in ("ok", "error", "mismatch", "skip"):
            samples[k] += r.get(k, 0)
    print(f"{kind}: {dict(collections.Counter(r['status'] for r in report.values()))}; "
          f"samples: {dict(samples)}")


def _describe(s):
    def d(v):
        if hasattr(v, "shape") and hasattr(v, "dtype"):
            return f"T{tuple(v.shape)}"
        if isinstance(v, (list, tuple)):
            return "[" + ",".join(d(x) for x in v) + "]"
        return repr(v)[:30]
    parts = [d(s.input)] + [d(a) for a in s.args] + [f"{k}={d(v)}" for k, v in s.kwargs.items()]
    return "(" + ", ".join(parts) + ")"


def _up64(v, torch, keep_grad=False):
    """``v`` with its float32 torch tensors as float64 copies (``keep_grad``: requiring grad
    where the originals do), through lists, tuples and dicts."""
    if isinstance(v, torch.Tensor) and v.dtype == torch.float32:
        d = v.detach().double()
        return d.requires_grad_(v.requires_grad) if keep_grad else d
    if isinstance(v, (list, tuple)) and not hasattr(v, "_fields"):
        return type(v)(_up64(x, torch, keep_grad) for x in v)
    if isinstance(v, dict):
        return {k: _up64(x, torch, keep_grad) for k, x in v.items()}
    return v


def _grads64(op, args, kwargs, ws, torch, view):
    """torch's gradients of sum(out * w) in float64 (the inputs and weights upcast), or
    None when torch can't run it so."""
    try:
        a64, k64 = _up64(tuple(args), torch, True), _up64(dict(kwargs), torch, True)
        out = op(*a64, **k64)
        if view is not None:
            out = view(list(out), a64, k64)
        ins = [a for a in _flat(a64) if isinstance(a, torch.Tensor) and a.requires_grad]
        outs = [o for o in _flat(out) if isinstance(o, torch.Tensor) and o.requires_grad]
        return torch.autograd.grad(sum((o * w.double()).sum() for o, w in zip(outs, ws)),
                                   ins, allow_unused=True)
    except Exception:
        return None


def _compare_grads(args, t_out, e_args, e_out, torch, ember, op=None, kwargs=None,
                   view=None):
    t_ins = [a for a in _flat(args) if isinstance(a, torch.Tensor) and a.requires_grad]
    e_ins = [a for a in _flat(e_args) if isinstance(a, ember.Tensor) and a.requires_grad]
    t_outs = [o for o in _flat(t_out) if isinstance(o, torch.Tensor) and o.requires_grad]
    e_outs = [o for o in _flat(e_out) if isinstance(o, ember.Tensor)]
    if not t_ins or not t_outs:
        return None
    e_outs = [e for t, e in zip([o for o in _flat(t_out) if isinstance(o, torch.Tensor)],
                                e_outs) if t.requires_grad]
    # a sparse output (to_sparse) is weighted as its dense values
    t_outs = [o.to_dense() if o.layout != torch.strided else o for o in t_outs]
    e_outs = [o.to_dense() if getattr(o, "is_sparse", False) else o for o in e_outs]
    ws = [torch.randn_like(o) for o in t_outs]
    try:
        tg = torch.autograd.grad(sum((o * w).sum() for o, w in zip(t_outs, ws)), t_ins,
                                 allow_unused=True)
    except Exception:
        return None
    try:
        loss = sum((o * ember.tensor(w.float().numpy()).to(o.dtype)).sum()
                   for o, w in zip(e_outs, ws))
        if not (isinstance(loss, ember.Tensor) and loss.requires_grad):
            eg = [None] * len(e_ins)  # a piecewise-constant op: no gradient (torch's: 0)
        else:
            eg = ember.autograd.grad(loss, e_ins, allow_unused=True)
    except Exception as err:
        return f"grad: {type(err).__name__}: {' '.join(str(err).split())[:160]}"
    for k, (a, b) in enumerate(zip(tg, eg)):
        if a is None or b is None:
            # torch's None for an empty input is ember's empty gradient: both carry nothing
            empty = b is not None and b.numel() == 0
            if (a is None) != (b is None) and not (a is not None and not a.any()) \
                    and not empty:
                return f"grad {k}: {'None' if b is None else 'a value'}, torch " \
                       f"{'None' if a is None else 'a value'}"
            continue
        if a.layout != torch.strided:  # a sparse gradient (embedding's sparse=True)
            a = a.to_dense()
        try:
            torch.testing.assert_close(_as_torch(b, torch), _comparable(a, torch),
                                       equal_nan=True, check_dtype=False, atol=1e-4,
                                       rtol=1e-4)
        except AssertionError as err:
            # re-judged against torch's float64 gradient, as values are (_against_float64)
            g64 = None if op is None or a.dtype != torch.float32 else \
                _grads64(op, args, kwargs, ws, torch, view)
            r = None if g64 is None else g64[k]
            if r is not None and tuple(r.shape) == tuple(a.shape):
                eb = _as_torch(b, torch).double()
                e_err = float((eb - r).abs().nan_to_num(0.0).max()) if r.numel() else 0.0
                t_err = float((a.double() - r).abs().nan_to_num(0.0).max()) if r.numel() \
                    else 0.0
                close = torch.allclose(eb, r, atol=1e-4, rtol=1e-4, equal_nan=True)
                if close or e_err <= 2 * t_err + 1e-7:
                    continue
            return f"grad {k}: " + " ".join(str(err).split())[:200]
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ops", default=None, help="comma-separated OpInfo names")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--grad", action="store_true")
    ap.add_argument("--show", type=int, default=3)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    names = set(a.ops.split(",")) if a.ops else None
    report = sweep(names, a.dtype, a.grad, a.show)
    print_report(report, "operators")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
