"""JAX programs that use jax.random's gamma-family samplers, run on JAX and on ember by
import swap (the same source; ``jax`` is the jax module or ember, ``jnp`` jax.numpy or
ember.numpy), plus the cost of a 1e6-sample gamma and Poisson draw (CPU time, min of N):

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/jax_random_programs.py [N]

Programs: a small MLP trained with mixup (Beta(0.4, 0.4) weights per example), a Gibbs sampler
for Bayesian linear regression (multivariate normal weights, a Gamma noise precision, in
``lax.scan``), and Dirichlet concentrations fitted by reparameterised gradients, then Poisson
counts under vmap. Each framework runs in its own process; the outputs are compared.
"""
import os
import subprocess
import sys
import time

import numpy as np

def mixup(jax, jnp):
    """A small MLP classifier trained with mixup (lambda ~ Beta(a, a) per example)."""
    key = jax.random.key(0)
    kx, kw1, kw2, key = jax.random.split(key, 4)
    X = jax.random.normal(kx, (256, 8))
    y = (X[:, 0] + X[:, 1] ** 2 > 1.0).astype(jnp.int32)
    params = {"w1": jax.random.normal(kw1, (8, 32)) * 0.3, "b1": jnp.zeros(32),
              "w2": jax.random.normal(kw2, (32, 2)) * 0.3, "b2": jnp.zeros(2)}

    def logits(p, x):
        return jnp.tanh(x @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]

    def loss_fn(p, x, t):
        return -jnp.mean(jnp.sum(t * jax.nn.log_softmax(logits(p, x)), -1))

    @jax.jit
    def step(p, k):
        kl, kp = jax.random.split(k)
        lam = jax.random.beta(kl, 0.4, 0.4, (X.shape[0], 1))
        perm = jax.random.permutation(kp, X.shape[0])
        t = jax.nn.one_hot(y, 2)
        xm = lam * X + (1 - lam) * X[perm]
        tm = lam * t + (1 - lam) * t[perm]
        l, g = jax.value_and_grad(loss_fn)(p, xm, tm)
        return jax.tree_util.tree_map(lambda a, b: a - 0.5 * b, p, g), l

    losses = []
    for i in range(60):
        params, l = step(params, jax.random.fold_in(key, i))
        losses.append(float(l))
    acc = float(jnp.mean(jnp.argmax(logits(params, X), -1) == y))
    return np.array(losses + [acc])


def bayes_linreg(jax, jnp):
    """Gibbs sampling for y = X w + e, w ~ N(0, I / alpha), noise precision tau ~ Gamma(a0, b0)."""
    n, d = 100, 3
    key = jax.random.key(1)
    kx, ke, key = jax.random.split(key, 3)
    X = jax.random.normal(kx, (n, d))
    w_true = jnp.array([1.5, -2.0, 0.5])
    y = X @ w_true + 0.3 * jax.random.normal(ke, (n,))
    alpha, a0, b0 = 1.0, 2.0, 1.0

    def gibbs(carry, k):
        w, tau = carry
        k1, k2 = jax.random.split(k)
        prec = alpha * jnp.eye(d) + tau * X.T @ X
        cov = jnp.linalg.inv(prec)
        mean = tau * cov @ X.T @ y
        w = jax.random.multivariate_normal(k1, mean, cov)
        r = y - X @ w
        tau = jax.random.gamma(k2, a0 + n / 2) / (b0 + 0.5 * r @ r)
        return (w, tau), jnp.concatenate([w, tau[None]])

    keys = jax.random.split(key, 300)
    _, trace = jax.lax.scan(gibbs, (jnp.zeros(d), jnp.array(1.0)), keys)
    return np.asarray(trace)


def dirichlet_fit(jax, jnp):
    """Fit Dirichlet concentrations by reparameterised gradients of a sample-based loss; draw
    Poisson counts per component with vmap over keys."""
    target = jnp.array([0.2, 0.3, 0.5])
    log_alpha = jnp.zeros(3)
    key = jax.random.key(2)

    def loss(la, k):
        x = jax.random.dirichlet(k, jnp.exp(la), (512,))
        return jnp.mean(jnp.sum((x - target) ** 2, -1))

    g = jax.jit(jax.value_and_grad(loss))
    hist = []
    for i in range(40):
        l, gr = g(log_alpha, jax.random.fold_in(key, i))
        log_alpha = log_alpha - 2.0 * gr
        hist.append(float(l))
    counts = jax.vmap(lambda k: jax.random.poisson(k, 10 * jnp.exp(log_alpha)))(
        jax.random.split(key, 8))
    return np.concatenate([np.array(hist), np.asarray(log_alpha), np.asarray(counts).ravel()])


def _draws(jax, n):
    res = {}
    jit = jax.jit if hasattr(jax, "jit") else (lambda f: f)
    for name, f in (("gamma a=0.5", lambda k: jax.random.gamma(k, 0.5, (1_000_000,))),
                    ("gamma a=2", lambda k: jax.random.gamma(k, 2.0, (1_000_000,))),
                    ("poisson lam=5", lambda k: jax.random.poisson(k, 5.0, (1_000_000,)))):
        g = jit(f)
        np.asarray(g(jax.random.key(0)))  # JAX: compile outside the timing
        ts = []
        for i in range(n):
            t = time.process_time()
            np.asarray(g(jax.random.key(i + 1)))
            ts.append(time.process_time() - t)
        res[name] = min(ts)
    return res


def _child(which, out, n):
    if which == "jax":
        import jax
        import jax.numpy as jnp
    else:
        import ember as jax
        import ember.numpy as jnp
    res = {}
    for f in (mixup, bayes_linreg, dirichlet_fit):
        t = time.process_time()
        res[f.__name__] = f(jax, jnp)
        print(f"{which:5s} {f.__name__:14s} {time.process_time() - t:7.2f} s CPU (JAX: with "
              f"compiling)", flush=True)
    for k, v in _draws(jax, n).items():
        print(f"{which:5s} 1e6 {k:14s} {v:7.3f} s CPU, min of {n}", flush=True)
    np.savez(out, **res)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        sys.exit()
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    import tempfile
    d = tempfile.mkdtemp()
    for which in ("ember", "jax"):
        subprocess.run([sys.executable, __file__, "--child", which, f"{d}/{which}.npz", str(n)],
                       check=True, env=dict(os.environ))
    e, j = np.load(f"{d}/ember.npz"), np.load(f"{d}/jax.npz")
    for k in e.files:
        rel = np.max(np.abs(e[k] - j[k]) / (np.abs(j[k]) + 1e-12))
        print(f"{k:14s} ember vs JAX: max relative difference {rel:.1e}")
