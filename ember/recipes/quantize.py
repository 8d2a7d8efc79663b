"""``ember quantize CHECKPOINT``: quantize a trained recipe's checkpoint (from ``ember train``)
to int8 and report what it costs and saves: the weights' size and the test accuracy (or loss)
before and after.

``--mode dynamic`` (the default) swaps the Linear and LSTM layers for dynamically quantized
ones (``ember.ao.quantization.quantize_dynamic``: int8 weights, activations quantized per
call; no calibration data). ``--mode static`` is post-training static quantization with
PyTorch's x86 qconfig (per-channel int8 weights, histogram-calibrated activations):
``prepare``, ``--calibrate N`` training examples through the model, ``convert``; Linear and
Conv2d become int8, other layers (an LSTM) stay float. The written checkpoint holds the
quantized model's state_dict under ``"model"`` (int8 weights, scales and zero points are
plain tensors) with ``"recipe"`` and ``"quantization"``; ``load_quantized(path)`` rebuilds
the model from it.
"""
from __future__ import annotations

import os

import ember
from ember import nn
from .trainer import Args, _batches, _len, _take

MODES = ("dynamic", "static")


def _state_bytes(state):
    return sum(int(v.nbytes) for v in state.values() if hasattr(v, "nbytes"))


def evaluate(model, recipe, x, y, batch_size=1000):
    """``(loss, accuracy)`` of ``model`` on ``(x, y)`` (accuracy None for a regression recipe)."""
    model.eval()
    metric = getattr(recipe, "metric", "accuracy")
    loss_sum, correct, n = 0.0, 0, _len(x)
    with ember.no_grad():
        for idx in _batches(n, batch_size, 0, 0, shuffle=False):
            out = model(_take(x, idx))
            t = y[idx]
            loss_sum += recipe.loss(out, t).item() * len(idx)
            if metric == "accuracy":
                correct += int((out.float().numpy().argmax(-1) == t.numpy()).sum())
    return loss_sum / max(n, 1), (correct / max(n, 1) if metric == "accuracy" else None)


def _read_checkpoint(path, recipe_name):
    from . import RECIPES
    if not os.path.exists(path):
        raise FileNotFoundError(f"quantize: no checkpoint at {path}; train one first, e.g. "
                                f"ember train --recipe mnist-mlp (it writes "
                                f"runs/mnist-mlp-eager/best.safetensors)")
    ck = ember.load(path)
    state = ck.get("model", ck) if isinstance(ck, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f"quantize: {path} holds no state_dict (expected ember train's "
                         f"checkpoint with a 'model' entry, or a state_dict)")
    name = recipe_name or (ck.get("recipe") if isinstance(ck.get("recipe"), str) else None)
    if name is None:
        raise ValueError(f"quantize: {path} does not say which recipe it is from; pass "
                         f"--recipe ({', '.join(sorted(RECIPES))})")
    if name not in RECIPES:
        raise ValueError(f"quantize: unknown recipe {name!r}; choose from "
                         f"{', '.join(sorted(RECIPES))}")
    if recipe_name and isinstance(ck.get("recipe"), str) and ck["recipe"] != recipe_name:
        raise ValueError(f"quantize: {path} is a checkpoint of recipe {ck['recipe']!r}, not "
                         f"{recipe_name!r}; pass --recipe {ck['recipe']} (or leave it out)")
    if "quantization" in ck:
        raise ValueError(f"quantize: {path} is already quantized ({ck.get('quantization')}); "
                         f"pass the float checkpoint that ember train wrote")
    return name, state


def quantized_model(model, mode, calibration=None, batch_size=100):
    """``model`` (float, eval mode) quantized by ``mode``: ``"dynamic"`` (Linear, LSTM) or
    ``"static"`` (x86 qconfig; ``calibration``: the inputs to observe)."""
    q = ember.ao.quantization
    if mode == "dynamic":
        return q.quantize_dynamic(model, {nn.Linear, nn.LSTM}, dtype=ember.qint8)
    model.qconfig = q.get_default_qconfig("x86")
    prepared = q.prepare(model)
    if calibration is not None:
        with ember.no_grad():
            for idx in _batches(_len(calibration), batch_size, 0, 0, shuffle=False):
                prepared(_take(calibration, idx))
    return q.convert(prepared)


def quantize_checkpoint(checkpoint, recipe=None, mode="dynamic", out=None, data_dir=None,
                        dataset=None, limit=None, calibrate=1000, log=print):
    """Quantize ``checkpoint`` (a recipe's float checkpoint), write the quantized one to
    ``out`` and return a dict of the figures (sizes in bytes, loss/accuracy before and after)."""
    import importlib
    from . import RECIPES
    if mode not in MODES:
        raise ValueError(f"quantize: --mode must be one of {MODES}, got {mode!r}")
    name, state = _read_checkpoint(checkpoint, recipe)
    r = importlib.import_module(RECIPES[name])
    if mode == "static" and (calibrate is None or calibrate < 1):
        raise ValueError(f"quantize --mode static: --calibrate must be a positive number of "
                         f"training examples, got {calibrate}")
    args = Args(data_dir=data_dir, dataset=dataset, limit=limit)
    xtr, _, xte, yte = r.data(args)  # before model(): a recipe may size its model from the data
    if limit:
        xte, yte = _take(xte, slice(0, limit)), yte[:limit]
    model = r.model()
    model.load_state_dict(state)
    model.eval()
    before = evaluate(model, r, xte, yte)
    calib = _take(xtr, slice(0, calibrate)) if mode == "static" else None
    qmodel = quantized_model(model, mode, calib)
    after = evaluate(qmodel, r, xte, yte)
    qstate = qmodel.state_dict()
    out = out or os.path.splitext(checkpoint)[0] + f"-int8-{mode}.safetensors"
    if os.path.abspath(out) == os.path.abspath(checkpoint):
        raise ValueError(f"quantize: --out {out} would overwrite the float checkpoint; pass "
                         f"another path")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    ember.save({"model": qstate, "recipe": name, "quantization": mode,
                "source": os.path.basename(checkpoint),
                "input_shape": [int(d) for d in xte.shape[1:]],
                "input_dtype": str(xte.dtype).replace("ember.", "")}, out)
    res = {"recipe": name, "mode": mode, "out": out, "float_bytes": _state_bytes(state),
           "int8_bytes": _state_bytes(qstate), "file_bytes": os.path.getsize(out),
           "float_loss": before[0], "int8_loss": after[0], "float_acc": before[1],
           "int8_acc": after[1], "test_examples": _len(xte)}
    fb, qb = res["float_bytes"], res["int8_bytes"]
    log(f"{name}: {mode} int8 quantization of {checkpoint}"
        + (f" (calibrated on {_len(calib)} training examples)" if calib is not None else ""))
    log(f"  weights   float32 {fb / 1e6:8.3f} MB -> int8 {qb / 1e6:8.3f} MB "
        f"({fb / max(qb, 1):.2f}x smaller); wrote {out} ({res['file_bytes'] / 1e6:.3f} MB)")
    if before[1] is not None:
        log(f"  test acc  float32 {before[1]:.4f} -> int8 {after[1]:.4f} "
            f"({100 * (after[1] - before[1]):+.2f} pt, {res['test_examples']} examples)")
    log(f"  test loss float32 {before[0]:.4f} -> int8 {after[0]:.4f}")
    return res


def load_quantized(path, recipe_module=None):
    """The quantized model of a checkpoint written by ``ember quantize`` (its recipe's model,
    quantized the same way, with the checkpoint's values). A recipe that sizes its model from
    its data (text-lstm) needs its ``data()`` run first."""
    import importlib
    from . import RECIPES
    ck = ember.load(path)
    if ck.get("quantization") not in MODES:
        raise ValueError(f"load_quantized: {path} is not a checkpoint written by ember "
                         f"quantize (no 'quantization' entry)")
    r = recipe_module or importlib.import_module(RECIPES[ck["recipe"]])
    model = r.model().eval()
    if ck["quantization"] == "static":  # convert needs observed layers: one batch of zeros
        x = ember.zeros(1, *ck["input_shape"], dtype=getattr(ember, ck["input_dtype"]))
        model = quantized_model(model, "static", x)
    else:
        model = quantized_model(model, "dynamic")
    model.load_state_dict(ck["model"])
    return model.eval()


__all__ = ["quantize_checkpoint", "quantized_model", "load_quantized", "evaluate"]
