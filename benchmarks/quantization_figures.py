"""The figures of docs/quantization.md: on Fashion-MNIST, from a float32 checkpoint of
mnist-mlp or mnist-cnn (``ember train --recipe R --mode jit``), the test accuracy of

- float32, bfloat16 inference (the model converted with ``.to(ember.bfloat16)``);
- dynamic int8 (``quantize_dynamic``), beside PyTorch's ``quantize_dynamic`` on the same weights;
- static int8 PTQ with per-channel weights, beside PyTorch's (x86 qconfig) — when ember's
  ``prepare``/``convert`` are available;
- 4-bit weights: post-training (``quantize_params(bits=4)``, per-channel symmetric) vs
  quantization-aware fine-tuning (``--qat-epochs`` epochs of the recipe's optimizer with the
  weights fake-quantized to 4 bits, straight-through gradient, then ``quantize_params``);

and inference time (median ms for a batch of 1000 test images, eager, no_grad, one thread
per framework) and memory
(weight bytes, checkpoint file bytes) for float32, bfloat16 and int8, in ember and PyTorch.

    python benchmarks/quantization_figures.py --recipe mnist-mlp --checkpoint runs/mnist-mlp-jit/best.safetensors
"""
from __future__ import annotations

import argparse
import importlib
import os
import tempfile
import time

import numpy as np
import torch

import ember
from ember import nn
from ember.ao.quantization import dequantize_params, quantize_dynamic, quantize_params
from ember.recipes import RECIPES
from ember.recipes.quantize import evaluate
from ember.recipes.trainer import Args, _batches, _take

from accuracy_torch import torch_model


def torch_acc(m, x, y):
    m.eval()
    with torch.no_grad():
        correct = 0
        for i in range(0, len(y), 1000):
            correct += int((m(x[i:i + 1000]).argmax(-1) == y[i:i + 1000]).sum())
    return correct / len(y)


def median_ms(f, reps):
    f()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return 1000 * float(np.median(ts))


def file_bytes(state):
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "m.safetensors")
        ember.save(state, p)
        return os.path.getsize(p)


def weight_bytes(state):
    return sum(int(v.nbytes) for v in state.values())


def peak_step_memory(r, xtr, ytr, args, amp_dtype, steps=3):
    """Peak bytes NumPy allocates during one eager training step (forward, under
    ``ember.autocast(amp_dtype)`` unless None; backward; optimizer step) above what is live
    before it, measured with ``tracemalloc`` (NumPy reports its array buffers to it); the
    largest over ``steps`` steps after a warm-up step."""
    import tracemalloc
    ember.manual_seed(0)
    model = r.model()
    opt = r.optimizer(model.parameters(), args.lr)
    batches = list(_batches(len(ytr), args.batch_size, 0, 1))[:steps + 1]

    def step(idx):
        x, y = _take(xtr, idx), ytr[idx]
        if amp_dtype is None:
            loss = r.loss(model(x), y)
        else:
            with ember.autocast("cpu", dtype=amp_dtype):
                loss = r.loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    step(batches[0])
    peaks = []
    tracemalloc.start()
    try:
        for idx in batches[1:]:
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            step(idx)
            peaks.append(tracemalloc.get_traced_memory()[1] - before)
    finally:
        tracemalloc.stop()
    return max(peaks)


def fake_quant_params(params, bits):
    """Weights (ndim >= 2) fake-quantized per output channel to ``bits`` (symmetric, the
    scheme of quantize_params), with the straight-through gradient."""
    qmax = 2 ** (bits - 1) - 1
    out = {}
    for k, w in params.items():
        if w.ndim >= 2:
            amax = w.detach().abs().amax(dim=tuple(range(1, w.ndim))).numpy()
            scale = np.where(amax > 0, amax / np.float32(qmax), 1).astype(np.float32)
            out[k] = ember.fake_quantize_per_channel_affine(
                w, ember.tensor(scale), ember.tensor(np.zeros(len(scale), np.int64)), 0,
                -qmax, qmax)
        else:
            out[k] = w
    return out


def qat(recipe, model, xtr, ytr, bits, epochs, args):
    """Fine-tune ``model`` with its weights fake-quantized to ``bits`` (None: plain float
    fine-tuning, the control)."""
    opt = recipe.optimizer(model.parameters(), args.lr)
    model.train()
    for epoch in range(1, epochs + 1):
        for idx in _batches(len(ytr), args.batch_size, 0, 100 + epoch):
            params = dict(model.named_parameters())
            if bits is not None:
                params = fake_quant_params(params, bits)
            loss = recipe.loss(ember.func.functional_call(model, params, (_take(xtr, idx),)),
                               ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    return model


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--recipe", required=True, choices=["mnist-mlp", "mnist-cnn"])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--calibrate", type=int, default=1000)
    p.add_argument("--qat-epochs", type=int, default=1)
    p.add_argument("--lr", type=float, help="learning rate of the QAT and control fine-tuning "
                   "(default: the recipe's training rate)")
    p.add_argument("--qat-examples", type=int, help="fine-tune on the first N training "
                   "examples only (default: all)")
    p.add_argument("--limit", type=int, help="evaluate on the first N test examples only")
    p.add_argument("--reps", type=int, default=15)
    p.add_argument("--peak-memory", action="store_true", help="only measure the peak memory "
                   "of a float32 and a bf16-autocast training step (tracemalloc)")
    a = p.parse_args()
    r = importlib.import_module(RECIPES[a.recipe])
    args = Args(dataset="fashion-mnist")
    for k, v in r.DEFAULTS.items():
        setattr(args, k, v)
    if a.lr is not None:
        args.lr = a.lr
    xtr, ytr, xte, yte = r.data(args)
    if a.limit:
        xte, yte = _take(xte, slice(0, a.limit)), yte[:a.limit]
    if a.peak_memory:
        print(f"\n| {a.recipe} training step (batch {args.batch_size}, eager) | peak MB "
              f"(tracemalloc, above the step's start) |\n|---|---|")
        for name, dt in (("float32", None), ("autocast bfloat16", ember.bfloat16),
                         ("autocast float16", ember.float16)):
            print(f"| {name} | {peak_step_memory(r, xtr, ytr, args, dt) / 2**20:.2f} |")
        return
    state = ember.load(a.checkpoint)["model"]

    def fresh():
        m = r.model()
        m.load_state_dict(state)
        return m.eval()
    rows = []
    f32 = fresh()
    rows.append(("float32", evaluate(f32, r, xte, yte)[1]))
    bf = fresh().to(ember.bfloat16)
    xte_bf = xte.to(ember.bfloat16)
    rows.append(("bfloat16 (weights and activations)", evaluate(bf, r, xte_bf, yte)[1]))
    dyn = quantize_dynamic(fresh(), {nn.Linear}, dtype=ember.qint8)
    rows.append(("dynamic int8 (Linear)", evaluate(dyn, r, xte, yte)[1]))
    tx, ty = torch.tensor(xte.numpy()), torch.tensor(yte.numpy())
    tf = torch_model(a.recipe, fresh())
    import warnings
    warnings.simplefilter("ignore")
    tdyn = torch.ao.quantization.quantize_dynamic(torch_model(a.recipe, fresh()),
                                                  {torch.nn.Linear}, dtype=torch.qint8)
    tbf = torch_model(a.recipe, fresh()).to(torch.bfloat16).eval()
    torch_rows = {"float32": torch_acc(tf, tx, ty),
                  "bfloat16 (weights and activations)": torch_acc(tbf, tx.to(torch.bfloat16), ty),
                  "dynamic int8 (Linear)": torch_acc(tdyn, tx, ty)}
    # static PTQ, per-channel weights (PyTorch's x86 default qconfig)
    calib = torch.tensor(xtr.numpy()[:a.calibrate])
    tstat = torch.ao.quantization.QuantWrapper(torch_model(a.recipe, fresh())).eval()
    tstat.qconfig = torch.ao.quantization.get_default_qconfig("x86")
    torch.ao.quantization.prepare(tstat, inplace=True)
    with torch.no_grad():
        for i in range(0, len(calib), 100):
            tstat(calib[i:i + 100])
    torch.ao.quantization.convert(tstat, inplace=True)
    torch_rows["static int8 PTQ (per-channel)"] = torch_acc(tstat, tx, ty)
    q = ember.ao.quantization
    if all(hasattr(q, n) for n in ("prepare", "convert", "get_default_qconfig")):
        em = fresh()
        em.qconfig = q.get_default_qconfig("x86")
        q.prepare(em, inplace=True)
        with ember.no_grad():
            for i in range(0, a.calibrate, 100):
                em(_take(xtr, slice(i, i + 100)))
        q.convert(em, inplace=True)
        rows.append(("static int8 PTQ (per-channel)", evaluate(em, r, xte, yte)[1]))
        stat_state = em.state_dict()
        e8 = fresh()
        e8.qconfig = q.get_default_qconfig("onednn")
        q.prepare(e8, inplace=True)
        with ember.no_grad():
            for i in range(0, a.calibrate, 100):
                e8(_take(xtr, slice(i, i + 100)))
        q.convert(e8, inplace=True)
        rows.append(("static int8 PTQ (per-channel), 8-bit activations (onednn qconfig)",
                     evaluate(e8, r, xte, yte)[1]))
    else:
        rows.append(("static int8 PTQ (per-channel)", None))
        stat_state = None
    # 4-bit weights: PTQ vs QAT
    params = dict(fresh().named_parameters())
    p4 = dequantize_params(quantize_params({k: v.detach() for k, v in params.items()}, bits=4))
    m4 = fresh()
    m4.load_state_dict(p4)
    rows.append(("4-bit weights, PTQ (quantize_params)", evaluate(m4, r, xte, yte)[1]))
    # PyTorch: the same per-channel symmetric 4-bit grid (fake_quantize_per_channel_affine,
    # codes in [-7, 7]) applied to the same weights
    t4 = torch_model(a.recipe, fresh())
    with torch.no_grad():
        for _, prm in t4.named_parameters():
            if prm.ndim >= 2:
                amax = prm.abs().amax(dim=tuple(range(1, prm.ndim)))
                sc = torch.where(amax > 0, amax / 7, torch.ones_like(amax))
                prm.copy_(torch.fake_quantize_per_channel_affine(
                    prm, sc, torch.zeros(len(sc), dtype=torch.int32), 0, -7, 7))
    torch_rows["4-bit weights, PTQ (quantize_params)"] = torch_acc(t4, tx, ty)
    t0 = time.perf_counter()
    n_qat = a.qat_examples or len(ytr)
    mq = qat(r, fresh(), _take(xtr, slice(0, n_qat)), ytr[:n_qat], 4, a.qat_epochs, args)
    qat_s = time.perf_counter() - t0
    p4q = dequantize_params(quantize_params({k: v.detach() for k, v in
                                             mq.named_parameters()}, bits=4))
    mq.load_state_dict(p4q)
    rows.append((f"4-bit weights, QAT ({a.qat_epochs} epoch(s) on {n_qat} images, {qat_s:.0f} s)",
                 evaluate(mq, r, xte, yte)[1]))
    # the control: the same fine-tuning in float, then 4-bit PTQ (what QAT adds beyond
    # the extra training)
    mc = qat(r, fresh(), _take(xtr, slice(0, n_qat)), ytr[:n_qat], None, a.qat_epochs, args)
    rows.append(("control: the same fine-tuning in float32", evaluate(mc, r, xte, yte)[1]))
    mc.load_state_dict(dequantize_params(quantize_params({k: v.detach() for k, v in
                                                          mc.named_parameters()}, bits=4)))
    rows.append(("control: its 4-bit PTQ", evaluate(mc, r, xte, yte)[1]))
    print(f"\n{a.recipe} (Fashion-MNIST test set, {len(yte)} images; checkpoint "
          f"{a.checkpoint})\n")
    print("| scheme | ember | PyTorch 2.13 (same weights) |\n|---|---|---|")
    for name, acc in rows:
        e = "n/a" if acc is None else f"{100 * acc:.2f}%"
        t = torch_rows.get(name)
        print(f"| {name} | {e} | {'' if t is None else f'{100 * t:.2f}%'} |")
    # speed and memory of inference: a batch of 1000 test images, one thread each (the
    # machine is shared: with two threads both frameworks wait on each other's load)
    from threadpoolctl import threadpool_limits
    limits = threadpool_limits(1)
    torch.set_num_threads(1)
    xb, txb = _take(xte, slice(0, 1000)), tx[:1000]
    with ember.no_grad(), torch.no_grad():
        xbb = xb.to(ember.bfloat16)
        txbb = txb.to(torch.bfloat16)
        cand = [("float32", lambda: f32(xb), lambda: tf(txb), fresh().state_dict()),
                ("bfloat16", lambda: bf(xbb), lambda: tbf(txbb), bf.state_dict()),
                ("dynamic int8", lambda: dyn(xb), lambda: tdyn(txb), dyn.state_dict())]
        cand.append(("static int8", None if stat_state is None else (lambda: em(xb)),
                     lambda: tstat(txb), stat_state))
        print("\n| inference (batch 1000) | ember ms | PyTorch ms | weights (bytes) | "
              "checkpoint file (bytes) |\n|---|---|---|---|---|")
        for name, fe, ft_, st in cand:
            me, mt = [], []
            for _ in range(max(a.reps // 3, 1)):  # alternate the frameworks
                if fe is not None:
                    me.append(median_ms(fe, 3))
                mt.append(median_ms(ft_, 3))
            e = f"{np.median(me):.2f}" if me else "n/a"
            size = "n/a" if st is None else f"{weight_bytes(st):,} | {file_bytes(st):,}"
            print(f"| {name} | {e} | {np.median(mt):.2f} | {size} |")
    limits.restore_original_limits()


if __name__ == "__main__":
    main()
