"""ResNet's and VGG's 3x3 layers through Winograd F(2x2, 3x3) (ember/ops/winograd.py) against
the window-matrix path and PyTorch: ms for the forward and for both gradients, and the
largest error of each against float64's direct sums (relative to that result's largest
entry).

    python benchmarks/winograd_layers.py [--rounds 20]

Each cell is the fastest of ``--rounds`` calls, glibc's allocator tuned as by the ``ember``
command (``keep_freed_memory``), the compiled kernels on; PyTorch's is its eager
conv2d forward, then its backward to the input and the weight.
"""
import argparse
import time

import numpy as np

LAYERS = [(16, 64, 16, 64), (16, 128, 8, 128), (16, 256, 4, 256), (16, 64, 32, 128),
          (16, 256, 16, 256), (16, 512, 8, 512), (16, 512, 4, 512)]  # (N, C, H=W, O)


def _best(fn, rounds):
    fn()
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20)
    a = ap.parse_args()
    import torch
    import ember
    import ember.nn.functional as F
    from ember.ops import winograd as W
    ember.backend.keep_freed_memory()
    if ember.backend.accel.warm() is None:
        raise SystemExit("the compiled kernels are off (numba missing or EMBER_NUMBA=0)")
    rng = np.random.default_rng(0)
    print(f"{'layer (N, C, H, O)':22s} {'wino fwd':>9s} {'grads':>7s} {'window fwd':>11s} "
          f"{'grads':>7s} {'torch fwd':>10s} {'bwd':>6s}  max rel. error fwd/dx/dw")
    for n, c, h, o in LAYERS:
        xp = rng.standard_normal((n, c, h + 2, h + 2)).astype(np.float32)
        w = (rng.standard_normal((o, c, 3, 3)) / np.sqrt(9 * c)).astype(np.float32)
        ct = rng.standard_normal((n, o, h, h)).astype(np.float32)
        xi = xp[:, :, 1:-1, 1:-1].copy()  # the layer's input, padded by one on each side
        wf = _best(lambda: W.conv(xi, w, (1, 1)), a.rounds)
        wg = _best(lambda: W.grads(ct, xi, w, (1, 1)), a.rounds)
        # the window-matrix path: the same layer with Winograd's shapes rule off
        x = ember.tensor(xi)
        we, cte = ember.tensor(w), ember.tensor(ct)
        fit = W._MIN_CHANNELS
        W._MIN_CHANNELS = 1 << 30
        try:
            vjp_fn = ember.vjp(lambda x, w: F.conv2d(x, w, padding=1), x, we)[1]
            mf = _best(lambda: F.conv2d(x, we, padding=1), a.rounds)
            mg = _best(lambda: vjp_fn(cte), a.rounds)
        finally:
            W._MIN_CHANNELS = fit
        tx = torch.from_numpy(xi).requires_grad_()
        tw, tct = torch.from_numpy(w).requires_grad_(), torch.from_numpy(ct)
        with torch.no_grad():
            tf = _best(lambda: torch.nn.functional.conv2d(tx, tw, padding=1), a.rounds)
        y = torch.nn.functional.conv2d(tx, tw, padding=1)
        tb = _best(lambda: torch.autograd.grad(y, (tx, tw), tct, retain_graph=True), a.rounds)
        # errors against float64
        x64, w64, c64 = (torch.from_numpy(v).double() for v in (xi, w, ct))
        x64.requires_grad_(), w64.requires_grad_()
        y64 = torch.nn.functional.conv2d(x64, w64, padding=1)
        dx64, dw64 = torch.autograd.grad(y64, (x64, w64), c64)
        got = (W.conv(xi, w, (1, 1)), *W.grads(ct, xi, w, (1, 1)))
        errs = [np.abs(g - r.detach().numpy()).max() / np.abs(r.detach().numpy()).max()
                for g, r in zip(got, (y64, dx64, dw64))]
        print(f"{str((n, c, h, o)):22s} {wf:9.2f} {wg:7.2f} {mf:11.2f} {mg:7.2f} {tf:10.2f} "
              f"{tb:6.2f}  " + " / ".join(f"{e:.1e}" for e in errs))


if __name__ == "__main__":
    main()
