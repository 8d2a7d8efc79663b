"""PyTorch's own module database (ModuleInfo) against ember: every constructor and forward
input PyTorch's test suite gives an ``nn`` module, run through ember's module of the same
name with PyTorch's weights, outputs and input gradients compared.

    python benchmarks/moduleinfo_sweep.py [--modules Conv2d,LSTM] [--show 3] [--no-grad]

Needs torch (and ``expecttest``). For each ModuleInfo whose class ember.nn has, each sample
builds the torch module and ember's with the same arguments (tensors copied), loads the torch
module's ``state_dict`` into ember's (a mismatch of keys or shapes is reported), runs both in
training mode on the same inputs (random modules — dropout — are skipped) and compares the
outputs; unless ``--no-grad``, also the gradients of ``sum(out * w)`` with respect to the
floating inputs and the parameters. Prints one line per failing module with its first
failures and a summary. Nothing here is asserted by the test suite: it finds gaps; each fix
gets its own test.
"""
from __future__ import annotations

import argparse
import collections
import traceback
import warnings

import numpy as np

from opinfo_sweep import (_Skip, _compare, _flat, _to_ember, _describe, tally, status,  # noqa
                          print_report)


def _load(em, tm, ember, torch):
    sd = {k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()}
    ek = set(em.state_dict())
    if ek != set(sd):
        return f"state_dict keys differ: ember only {sorted(ek - set(sd))}, torch only " \
               f"{sorted(set(sd) - ek)}"
    em.load_state_dict(sd)
    return None


def _grads(t_args, t_out, e_args, e_out, tm, em, torch, ember):
    pick = [isinstance(a, torch.Tensor) and a.is_floating_point() and a.requires_grad and
            a.is_leaf for a in _flat(t_args)]
    t_ins = [a for a, p in zip(_flat(t_args), pick) if p]
    e_ins = [a for a, p in zip(_flat(e_args), pick) if p]
    t_outs = [o for o in _flat(t_out) if isinstance(o, torch.Tensor) and o.requires_grad]
    e_outs = [o for o in _flat(e_out) if isinstance(o, ember.Tensor)]
    e_outs = [e for t, e in zip([o for o in _flat(t_out) if isinstance(o, torch.Tensor)],
                                e_outs) if t.requires_grad]
    if not t_outs:
        return None
    g = torch.Generator().manual_seed(0)
    ws = [torch.randn(o.shape, generator=g, dtype=o.dtype) for o in t_outs]
    tp = dict(tm.named_parameters())
    ep = dict(em.named_parameters())
    sum(((o * w).sum() for o, w in zip(t_outs, ws)), torch.zeros(())).backward()
    loss = None
    for o, w in zip(e_outs, ws):
        term = (o * ember.tensor(w.numpy())).sum()
        loss = term if loss is None else loss + term
    loss.backward()
    pairs = [(f"input {k}", a.grad, b.grad) for k, (a, b) in enumerate(zip(t_ins, e_ins))]
    pairs += [(f"param {k}", p.grad, ep[k].grad if k in ep else None) for k, p in tp.items()]
    for name, a, b in pairs:
        if a is None and b is None:
            continue
        if (a is None) != (b is None):
            if a is not None and not a.any():
                continue
            return f"grad of {name}: {'None' if b is None else 'a value'}, torch " \
                   f"{'None' if a is None else 'a value'}"
        try:
            torch.testing.assert_close(torch.from_numpy(np.array(b.detach().numpy())), a,
                                       atol=1e-4, rtol=1e-4, equal_nan=True, check_dtype=False)
        except AssertionError as err:
            return f"grad of {name}: " + " ".join(str(err).split())[:200]
    return None


def sweep(names=None, grad=True, show=3):
    import torch
    import ember
    from torch.testing._internal.common_modules import module_db
    report = {}
    for info in module_db:
        cls = info.module_cls.__name__
        if names and cls not in names:
            continue
        ecls = getattr(ember.nn, cls, None)
        if ecls is None:
            report[cls] = {"status": "missing"}
            continue
        counts = collections.Counter()
        msgs = []
        try:
            samples = info.module_inputs_func(info, device="cpu", dtype=torch.float32,
                                              requires_grad=grad, training=True)
        except Exception as err:
            report[cls] = {"status": "no samples", "msg": repr(err)[:200]}
            continue
        for s in samples:
            if s.forward_input is None:
                continue
            c_args, c_kwargs = s.constructor_input.args, s.constructor_input.kwargs
            f_args, f_kwargs = s.forward_input.args, s.forward_input.kwargs
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    torch.manual_seed(0)
                    tm = info.module_cls(*c_args, **c_kwargs)
                    tm.train()
                    t_out = tm(*f_args, **f_kwargs)
                except Exception:
                    counts["skip"] += 1
                    continue
                try:
                    e_cargs = _to_ember(tuple(c_args), ember, torch)
                    e_ckw = _to_ember(dict(c_kwargs), ember, torch)
                    e_fargs = _to_ember(tuple(f_args), ember, torch)
                    e_fkw = _to_ember(dict(f_kwargs), ember, torch)
                except _Skip:
                    counts["skip"] += 1
                    continue
                except AttributeError as err:
                    counts["error"] += 1
                    if len(msgs) < show:
                        msgs.append(f"arguments: {err}")
                    continue
                desc = f"{cls}{_describe_call(c_args, c_kwargs)}{_describe_call(f_args, f_kwargs)}"
                try:
                    em = ecls(*e_cargs, **e_ckw)
                    em.train()
                    bad = None
                    if info.is_lazy:  # parameters exist after the first call
                        em(*e_fargs, **e_fkw)
                        tm(*f_args, **f_kwargs)
                    bad = _load(em, tm, ember, torch)
                    if bad is None:
                        e_out = em(*e_fargs, **e_fkw)
                except Exception as err:
                    counts["error"] += 1
                    if len(msgs) < show:
                        tb = traceback.extract_tb(err.__traceback__)[-1]
                        msgs.append(f"{desc}: {type(err).__name__}: "
                                    f"{' '.join(str(err).split())[:160]} "
                                    f"[{tb.filename.split('/ember/')[-1]}:{tb.lineno}]")
                    continue
            if bad is None:
                try:
                    bad = _compare(t_out, e_out, torch, ember)
                except Exception as err:
                    bad = f"comparing: {type(err).__name__}: {str(err)[:160]}"
            if bad is None and grad:
                warnings.simplefilter("ignore")
                try:
                    bad = _grads(f_args, t_out, e_fargs, e_out, tm, em, torch, ember)
                except Exception as err:
                    bad = f"grad: {type(err).__name__}: {' '.join(str(err).split())[:160]}"
            tally(counts, msgs, show, desc, bad)
        report[cls] = {"status": status(counts), **counts, "msgs": msgs}
    return report


def _describe_call(args, kwargs):
    class S:  # _describe's sample shape
        pass
    s = S()
    s.input, s.args, s.kwargs = (args[0] if args else None), tuple(args[1:]), dict(kwargs)
    return _describe(s) if args or kwargs else "()"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--modules", default=None, help="comma-separated class names")
    ap.add_argument("--show", type=int, default=3)
    ap.add_argument("--no-grad", action="store_true")
    a = ap.parse_args()
    names = set(a.modules.split(",")) if a.modules else None
    report = sweep(names, not a.no_grad, a.show)
    print_report(report, "modules", shown=("fail", "missing", "skipped", "no samples"))


if __name__ == "__main__":
    main()
