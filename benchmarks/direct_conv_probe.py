"""Would convolutions without im2col pay? A probe for issue 17; no ember code path uses it.

    python benchmarks/direct_conv_probe.py [--shapes 16x64x16,64x32x14] [--kernel 3]
        [--rounds 7]

A stride-1 KxK convolution (padding K//2) is a sum over the K*K kernel offsets of products
W_k (O, C) @ X_k (C, positions), X_k the input shifted by the offset. Laid out on the padded
grid, as planes (C, N*Hp*Wp), every X_k is a column-offset view of ONE array, which a BLAS GEMM
reads in place (its row stride is the array's row length): no window matrix, if each product
can add into the output, as ``cblas_sgemm`` does with beta=1. NumPy's matmul has no beta, so
this script calls the sgemm of the OpenBLAS NumPy loaded (located by threadpoolctl; the symbol
``scipy_cblas_sgemm64_`` of NumPy 2.x's wheels, ``cblas_sgemm64_`` of 1.26's) through ctypes.
The price: the products run over the padded grid too ((Hp*Wp) / (H*W) more columns: 1.27x at
16x16, 1.56x at 8x8). The input gradient is the mirror image (each offset's product added into
the gradient's grid at its shift: no col2im), the weight gradient K*K products of the
cotangent with the shifted views (no accumulation needed).

For each shape (batch x channels x size; O = C) it times, alternating in one process, ember's
compiled forward, weight gradient and input gradient (today's paths: the window matrix and
GEMMs, col2im) against the direct ones, the input gradient also by NumPy alone (each product
into a buffer, then added); PyTorch's forward and forward + weight gradient when torch is
installed. Prints medians in ms, the largest differences from ember's results, and whether the
two input gradients (beta=1 and buffer + add) have the same bits (they do with OpenBLAS 0.3.31:
its beta=1 adds each finished product once).
"""
import argparse
import ctypes
import time

import numpy as np


def _sgemm():
    """ctypes sgemm of the OpenBLAS NumPy loaded (64-bit integers), or None."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    for info in threadpool_info():
        if info.get("internal_api") != "openblas":
            continue
        lib = ctypes.CDLL(info["filepath"])
        for name in ("scipy_cblas_sgemm64_", "cblas_sgemm64_", "cblas_sgemm"):
            fn = getattr(lib, name, None)
            if fn is None:
                continue
            i = ctypes.c_int64 if name.endswith("64_") else ctypes.c_int
            fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, i, i, i, ctypes.c_float,
                           ctypes.c_void_p, i, ctypes.c_void_p, i, ctypes.c_float,
                           ctypes.c_void_p, i]
            fn.restype = None
            return fn
    return None


def _median_ms(fns, rounds, reps=10):
    times = [[] for _ in fns]
    for f in fns:
        f()
    for _ in range(rounds):
        for j, f in enumerate(fns):
            for _ in range(reps):
                t = time.perf_counter()
                f()
                times[j].append(time.perf_counter() - t)
    return [float(np.median(t)) * 1e3 for t in times]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shapes", default="16x64x16,16x64x64,16x128x8,16x128x32")
    ap.add_argument("--kernel", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=7)
    a = ap.parse_args()
    import ember
    import ember.nn.functional as F
    ember.backend.keep_freed_memory()
    sgemm = _sgemm()
    if sgemm is None:
        raise SystemExit("no OpenBLAS sgemm found through threadpoolctl: nothing to probe")
    try:
        import torch
    except ImportError:
        torch = None
    k, p = a.kernel, a.kernel // 2
    rng = np.random.default_rng(0)
    for shape in a.shapes.split(","):
        n, c, h = (int(v) for v in shape.split("x"))
        hp = h + 2 * p
        x = rng.standard_normal((n, c, h, h), dtype=np.float32)
        w = rng.standard_normal((c, c, k, k), dtype=np.float32) * np.float32(0.05)
        ct = rng.standard_normal((n, c, h, h), dtype=np.float32)
        ex, ew, ect = ember.tensor(x), ember.tensor(w), ember.tensor(ct)
        fwd = ember.jit(lambda x, w: F.conv2d(x, w, None, 1, p))
        wgrad = ember.jit(ember.grad(lambda x, w: (F.conv2d(x, w, None, 1, p) * ect).sum(), 1))
        xgrad = ember.jit(ember.grad(lambda x, w: (F.conv2d(x, w, None, 1, p) * ect).sum(), 0))
        L = n * hp * hp
        tail = (k - 1) * hp + k - 1  # the furthest shift reads past the last sample
        offsets = [(i, j, i * hp + j) for i in range(k) for j in range(k)]

        def grid(v, lead=0, pad=p):  # (N, C, H, W) -> (C, lead + N*Hp*Wp + tail) planes on
            # the padded grid, v at rows and columns pad.., zeros elsewhere
            z = np.zeros((v.shape[1], lead + L + tail), np.float32)
            z[:, lead:lead + L].reshape(v.shape[1], n, hp, hp)[
                :, :, pad:pad + h, pad:pad + h] = v.transpose(1, 0, 2, 3)
            return z

        def direct_fwd():
            xp = grid(x)
            wk = np.ascontiguousarray(w.transpose(2, 3, 0, 1))  # (K, K, O, C)
            out = np.empty((c, L), np.float32)
            for m, (i, j, off) in enumerate(offsets):
                src = xp[:, off:off + L]
                sgemm(101, 111, 111, c, L, c, 1.0, wk[i, j].ctypes.data, c, src.ctypes.data,
                      xp.shape[1], 0.0 if m == 0 else 1.0, out.ctypes.data, L)
            return out.reshape(c, n, hp, hp)[:, :, :h, :h].transpose(1, 0, 2, 3)

        def direct_wgrad():
            xp, g = grid(x), grid(ct, pad=0)  # the cotangent at the windows' corners
            dw = np.empty((k, k, c, c), np.float32)
            for i, j, off in offsets:
                np.matmul(g[:, :L], xp[:, off:off + L].T, out=dw[i, j])
            return dw.transpose(2, 3, 0, 1)

        def xgrad_by(accumulate):  # z[:, q] += W_k^T g[q - off] for each offset, in order:
            # by sgemm's beta=1, or (NumPy, no beta) into a buffer, then added
            g = grid(ct, lead=tail, pad=0)
            wk = np.ascontiguousarray(w.transpose(2, 3, 1, 0))  # (K, K, C, O)
            z = np.zeros((c, L), np.float32)
            buf = None if accumulate else np.empty((c, L), np.float32)
            for i, j, off in offsets:
                src = g[:, tail - off:tail - off + L]
                if accumulate:
                    sgemm(101, 111, 111, c, L, c, 1.0, wk[i, j].ctypes.data, c,
                          src.ctypes.data, g.shape[1], 1.0, z.ctypes.data, L)
                else:
                    np.add(z, np.matmul(wk[i, j], src, out=buf), out=z)
            return z.reshape(c, n, hp, hp)[:, :, p:p + h, p:p + h].transpose(1, 0, 2, 3)

        def direct_xgrad():
            return xgrad_by(True)

        def grid_xgrad():
            return xgrad_by(False)

        d, gx = direct_xgrad(), grid_xgrad()
        same = np.array_equal(d, gx) and np.array_equal(np.signbit(d), np.signbit(gx))
        err_x = float(np.abs(direct_xgrad() - xgrad(ex, ew).numpy()).max())
        err_f = float(np.abs(direct_fwd() - fwd(ex, ew).numpy()).max())
        err_w = float(np.abs(direct_wgrad() - wgrad(ex, ew).numpy()).max())
        fns = [lambda: fwd(ex, ew), direct_fwd, lambda: wgrad(ex, ew), direct_wgrad,
               lambda: xgrad(ex, ew), direct_xgrad, grid_xgrad]
        if torch is not None:
            tx, tw = torch.from_numpy(x), torch.from_numpy(w).requires_grad_()
            tct = torch.from_numpy(ct)

            def t_fwd():
                with torch.no_grad():
                    return torch.nn.functional.conv2d(tx, tw, None, 1, p)

            def t_wgrad():
                tw.grad = None
                torch.nn.functional.conv2d(tx, tw, None, 1, p).backward(tct)
            fns += [t_fwd, t_wgrad]
        r = _median_ms(fns, a.rounds)
        line = (f"{shape} k{k}: forward ember {r[0]:.3f} direct {r[1]:.3f} ms | weight "
                f"gradient ember {r[2]:.3f} direct {r[3]:.3f} | input gradient ember {r[4]:.3f} "
                f"direct {r[5]:.3f} grid+add {r[6]:.3f}")
        if torch is not None:
            line += f" | torch forward {r[7]:.3f}, forward+weight gradient {r[8]:.3f}"
        print(line + f" | max diff fwd {err_f:.1e} wgrad {err_w:.1e} xgrad {err_x:.1e} | "
              f"input gradient by beta=1 and by buffer+add the same bits: {same}")


if __name__ == "__main__":
    main()
