"""jax.random's rejection samplers (gamma, loggamma, beta, dirichlet, poisson, binomial, ...)
and what derives from them: JAX's samples for the same key, the reparameterisation
gradients in the concentration, jit and vmap, and the distributions themselves (KS tests
against scipy.stats with fixed keys, so deterministic).

Nearly all of this file's time is XLA compiling JAX's side (about a second per sampler
instantiation at XLA's default optimisation, and nothing is cached across processes), so
JAX's reference values come from one program per test (``_jax_program``) compiled at
backend optimisation level 0; each parity case compiles only its own sampler, so that
``pytest -n 2`` workers do not repeat each other's compiles."""
import numpy as np
import pytest

import ember
import ember.numpy as jnp

R = ember.random
A4 = np.array([0.1, 1.0, 5.0, 50.0], np.float32)
LAM = np.array([0.0, 0.5, 5.0, 12.0, 100.0], np.float32)

# XLA's backend optimisation level 0 halves the compile time of these while-loop samplers
# (the programs run once, on small arrays). It may change float results in their last bit
# (float32: ~1e-7 relative, inside the tolerances below); every case still checks the same
# key's draws, and the integer samplers still match count for count.
_COMPILE_OPTIONS = {"xla_backend_optimization_level": 0}


def _jax_program(fn, *args):
    """``jax.jit(fn)(*args)`` compiled once with ``_COMPILE_OPTIONS`` (as usual where this
    XLA does not know them); returns NumPy arrays in the same pytree."""
    import jax
    lowered = jax.jit(fn).lower(*args)
    try:
        compiled = lowered.compile(_COMPILE_OPTIONS)
    except Exception:  # an XLA without the option: compile as usual
        compiled = lowered.compile()
    return jax.tree_util.tree_map(np.asarray, compiled(*args))


# name, args, kwargs, exact: integer-valued samplers reproduce JAX's counts exactly; float
# samplers agree to float32 rounding (NumPy's log/pow/erfinv vs XLA's last bits).
# Redundant points left out: poisson(3.0) and poisson(30.0) took the Knuth and the rejection
# branch that LAM's 0.5, 5 and 12, 100 take (LAM now has twice the draws); loggamma(0.3) and
# loggamma(0.01) took the same a < 1 boosting path, now one case with a < 1 and a >= 1.
CASES = [
    ("gamma", (2.0,), {"shape": (3000,)}, False),
    ("gamma", (A4,), {"shape": (500, 4)}, False),
    ("loggamma", (np.array([0.01, 0.3, 3.0], np.float32),), {"shape": (1000, 3)}, False),
    ("beta", (0.5, 2.0), {"shape": (3000,)}, False),
    ("dirichlet", (np.array([0.2, 1.0, 3.0], np.float32),), {"shape": (1000,)}, False),
    ("chisquare", (3.0,), {"shape": (3000,)}, False),
    ("f", (3.0, 5.0), {"shape": (3000,)}, False),
    ("t", (4.0,), {"shape": (3000,)}, False),
    ("generalized_normal", (1.5,), {"shape": (3000,)}, False),
    ("ball", (3, 1.5), {"shape": (1000,)}, False),
    ("lognormal", (0.5,), {"shape": (3000,)}, False),
    ("orthogonal", (4,), {"shape": (20,)}, False),
    ("orthogonal", (3,), {"shape": (20,), "m": 5}, False),
    ("poisson", (LAM,), {"shape": (1200, 5)}, True),
    ("binomial", (20.0, 0.3), {"shape": (3000,)}, True),
    ("binomial", (np.array([5., 50, 500, 5000], np.float32),
                  np.array([0.1, 0.5, 0.7, 0.99], np.float32)), {"shape": (500, 4)}, True),
    ("multinomial", (30.0, np.array([0.2, 0.3, 0.5], np.float32)), {"shape": (500, 3)}, True),
]


@pytest.mark.parametrize("case", range(len(CASES)), ids=[c[0] for c in CASES])
def test_samples_match_jax(case):
    jax = pytest.importorskip("jax")
    name, args, kw, exact = CASES[case]
    ours = getattr(R, name)(R.key(7), *args, **kw)
    theirs = _jax_program(lambda k: getattr(jax.random, name)(k, *args, **kw),
                          jax.random.key(7))
    assert ours.dtype.name == str(theirs.dtype) and tuple(ours.shape) == theirs.shape
    if exact:
        np.testing.assert_array_equal(ours.numpy(), theirs)
    else:  # QR's rounding differs more than elementwise math
        tol = 1e-4 if name == "orthogonal" else 1e-5
        np.testing.assert_allclose(ours.numpy(), theirs, rtol=tol, atol=1e-6)


def test_float64_and_int64_in_x64_mode(jax_x64):
    import jax
    jr = jax.random
    jk = jr.key(2)
    j = _jax_program(lambda k: dict(
        gamma=jr.gamma(k, 0.7, (2000,)), loggamma=jr.loggamma(k, 0.7, (2000,)),
        beta=jr.beta(k, 2.0, 3.0, (2000,)), poisson=jr.poisson(k, 40.0, (2000,)),
        binomial=jr.binomial(k, 40.0, 0.6, (2000,)),
        grad=jax.grad(lambda a: jr.gamma(k, a, (100,)).sum())(2.0)), jk)
    for name, args in (("gamma", (0.7,)), ("loggamma", (0.7,)), ("beta", (2.0, 3.0))):
        e = getattr(R, name)(R.key(2), *args, (2000,))
        assert e.dtype == ember.float64 and j[name].dtype == np.float64
        np.testing.assert_allclose(e.numpy(), j[name], rtol=1e-12, atol=1e-14)
    p = R.poisson(R.key(2), 40.0, (2000,))
    assert p.dtype == ember.int64 and j["poisson"].dtype == np.int64
    np.testing.assert_array_equal(p.numpy(), j["poisson"])
    b = R.binomial(R.key(2), 40.0, 0.6, (2000,))
    assert b.dtype == ember.float64 and j["binomial"].dtype == np.float64
    np.testing.assert_array_equal(b.numpy(), j["binomial"])
    assert R.normal(R.key(0), (2,)).dtype == ember.float64  # JAX's default float there
    g = ember.grad(lambda a: R.gamma(R.key(2), a, (100,)).sum())(jnp.asarray(2.0))
    np.testing.assert_allclose(float(g), float(j["grad"]), rtol=1e-10)


A6 = np.array([0.05, 0.3, 1.0, 2.5, 10.0, 150.0], np.float32)
GRAD_CASES = [
    ("gamma", lambda r, k, a: r.gamma(k, a, (200, 6))),
    ("beta", lambda r, k, a: r.beta(k, a, 2.0, (200, 6))),
    ("dirichlet", lambda r, k, a: r.dirichlet(k, a, (200,))[:, :3]),
]


@pytest.fixture(scope="module")
def jax_grads():
    """JAX's gradients for GRAD_CASES, from one compiled program."""
    jax = pytest.importorskip("jax")
    return _jax_program(lambda a: [jax.grad(lambda a: fn(jax.random, jax.random.key(3), a)
                                            .sum())(a) for _, fn in GRAD_CASES],
                        jax.numpy.asarray(A6))


@pytest.mark.parametrize("case", range(len(GRAD_CASES)), ids=[c[0] for c in GRAD_CASES])
def test_reparameterisation_gradients_match_jax(case, jax_grads):
    _, fn = GRAD_CASES[case]
    gj = jax_grads[case]
    a = ember.tensor(A6).requires_grad_()
    fn(R, R.key(3), a).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), gj, rtol=1e-5)
    ge = ember.jit(ember.grad(lambda a: fn(R, R.key(3), a).sum()))(ember.tensor(A6))
    np.testing.assert_allclose(ge.numpy(), gj, rtol=1e-5)


def test_loggamma_gradient_is_jaxs_where_the_sample_is_representable():
    """JAX's loggamma gradient takes exp of the float32 log-sample, and where that underflows
    it substitutes the smallest normal float; ember differentiates in log space in float64,
    so there it follows the exact small-x limit d log x / da = (1 - a (log x - psi(a))) / a^2
    instead. Each sample depends on ``a`` alone, so JAX's per-sample derivatives are one
    forward-mode pass (the same derivative rule its grad transposes); ember's side takes
    them as vmap of grad, one sample at a time."""
    jax = pytest.importorskip("jax")
    from scipy.special import digamma
    a0 = np.float32(0.05)
    log_x, gj = _jax_program(lambda a: jax.jvp(lambda a: jax.random.loggamma(
        jax.random.key(3), a, (1000,)), (a,), (jax.numpy.ones_like(a),)), a0)
    ge = ember.vmap(ember.grad(lambda a, i: R.loggamma(R.key(3), a, (1000,))[i]),
                    (None, 0))(ember.tensor(a0), ember.arange(1000)).numpy()
    normal = np.exp(log_x) >= np.finfo(np.float32).tiny
    assert normal.sum() > 900 and (~normal).sum() > 5
    np.testing.assert_allclose(ge[normal], gj[normal], rtol=1e-5)
    lx = log_x[~normal].astype(np.float64)
    limit = (1 - 0.05 * (lx - digamma(0.05))) / 0.05 ** 2
    np.testing.assert_allclose(ge[~normal], limit, rtol=1e-4)


def test_dsample_da_against_finite_differences_of_the_cdf():
    sp = pytest.importorskip("scipy.special")
    st = pytest.importorskip("scipy.stats")
    from ember.ops.random_samplers import gamma_dsample_da
    a = np.array([0.3, 0.3, 1.0, 2.5, 2.5, 10.0, 150.0, 150.0, 1e-3])
    x = np.array([0.01, 2.0, 0.5, 1.0, 5.0, 12.0, 140.0, 160.0, 1e-200])
    h = 1e-6
    ref = -(sp.gammainc(a + h, x) - sp.gammainc(a - h, x)) / (2 * h) / st.gamma.pdf(x, a)
    np.testing.assert_allclose(gamma_dsample_da(a, x), ref, rtol=1e-6)
    np.testing.assert_allclose(gamma_dsample_da(a, np.log(x), log_space=True), ref / x,
                               rtol=1e-6)
    assert np.isnan(gamma_dsample_da(np.array([-1.0, np.nan]), np.array([1.0, 1.0]))).all()
    assert gamma_dsample_da(np.array([2.0]), np.array([0.0]))[0] == 0


def test_jit_and_vmap_over_keys_and_parameters():
    jax = pytest.importorskip("jax")
    jr = jax.random
    a = [0.5, 1.0, 2.0, 4.0]
    discrete = ((lambda kk: R.poisson(kk, 4.0, (6,)), lambda kk: jr.poisson(kk, 4.0, (6,))),
                (lambda kk: R.binomial(kk, 30.0, 0.4, (6,)),
                 lambda kk: jr.binomial(kk, 30.0, 0.4, (6,))),
                (lambda kk: R.dirichlet(kk, jnp.ones(3), (2,)),
                 lambda kk: jr.dirichlet(kk, jax.numpy.ones(3), (2,))))

    def reference(key, al):  # all of JAX's side, one program
        jkeys = jr.split(key, 4)
        jks = jax.vmap(lambda i: jr.fold_in(key, i))(jax.numpy.arange(50))
        return dict(
            by_key=jax.vmap(lambda kk: jr.gamma(kk, 1.5, (5,)))(jkeys),
            by_a=jax.vmap(lambda al: jr.gamma(key, al, (3,)))(al),
            both=jax.vmap(lambda kk, al: jr.beta(kk, al, 2.0, (3,)))(jkeys, al),
            discrete=[jax.vmap(fj)(jkeys) for _, fj in discrete],
            per=jax.vmap(jax.grad(lambda al, kk: jr.gamma(kk, al)), (None, 0))(0.7, jks))

    j = _jax_program(reference, jr.key(1), jax.numpy.array(a))
    k = R.key(1)
    eager = R.gamma(k, 1.5, (5,))
    np.testing.assert_array_equal(ember.jit(lambda kk: R.gamma(kk, 1.5, (5,)))(k).numpy(),
                                  eager.numpy())
    keys = R.split(k, 4)
    by_key = ember.vmap(lambda kk: R.gamma(kk, 1.5, (5,)))(keys)
    np.testing.assert_array_equal(by_key[2].numpy(), R.gamma(keys[2], 1.5, (5,)).numpy())
    np.testing.assert_allclose(by_key.numpy(), j["by_key"], rtol=1e-5)
    by_a = ember.vmap(lambda al: R.gamma(k, al, (3,)))(ember.tensor(a))
    np.testing.assert_allclose(by_a.numpy(), j["by_a"], rtol=1e-5)
    both = ember.jit(ember.vmap(lambda kk, al: R.beta(kk, al, 2.0, (3,))))(keys, ember.tensor(a))
    np.testing.assert_allclose(both.numpy(), j["both"], rtol=1e-5)
    nested = ember.vmap(ember.vmap(lambda kk: R.loggamma(kk, 0.5, (2,))))(R.split(k, (2, 3)))
    np.testing.assert_array_equal(nested[1, 2].numpy(),
                                  R.loggamma(R.split(k, (2, 3))[1, 2], 0.5, (2,)).numpy())
    for (f, _), theirs in zip(discrete, j["discrete"]):
        np.testing.assert_allclose(ember.jit(ember.vmap(f))(keys).numpy(), theirs, rtol=1e-5)
    # per-example gradients of samples
    ks = ember.vmap(lambda i: R.fold_in(k, i))(ember.arange(50))
    per = ember.vmap(ember.grad(lambda al, kk: R.gamma(kk, al)), (None, 0))(ember.tensor(0.7), ks)
    np.testing.assert_allclose(per.numpy(), j["per"], rtol=1e-5)


KS = [  # (sampler, args, scipy distribution, its args)
    ("gamma", (0.3,), "gamma", (0.3,)),
    ("gamma", (7.0,), "gamma", (7.0,)),
    ("beta", (0.5, 2.0), "beta", (0.5, 2.0)),
    ("chisquare", (3.0,), "chi2", (3.0,)),
    ("t", (4.0,), "t", (4.0,)),
    ("f", (3.0, 7.0), "f", (3.0, 7.0)),
    ("lognormal", (0.5,), "lognorm", (0.5,)),
    ("generalized_normal", (1.5,), "gennorm", (1.5,)),
]


@pytest.mark.parametrize("name,args,dist,dargs", KS)
def test_distribution_ks(name, args, dist, dargs):
    """20000 draws from a fixed key: the KS statistic of a correct sampler is about
    0.9 / sqrt(n) = 0.006 and exceeds 0.012 with probability below 1e-3 (Kolmogorov), while
    a wrong shape parameter by 10% gives about 0.03."""
    st = pytest.importorskip("scipy.stats")
    x = getattr(R, name)(R.key(11), *args, shape=(20000,)).numpy().astype(np.float64)
    assert st.kstest(x, dist, args=dargs).statistic < 0.012


def test_discrete_moments_and_edges():
    k = R.key(5)
    for lam in (0.7, 4.0, 25.0, 400.0):  # mean and variance lam; 3 standard errors
        x = R.poisson(k, lam, (20000,)).numpy()
        se = np.sqrt(lam / 20000)
        assert abs(x.mean() - lam) < 4 * se and abs(x.var() / lam - 1) < 0.05
    assert (R.poisson(k, 0.0, (10,)).numpy() == 0).all()
    for n, p in ((8.0, 0.3), (200.0, 0.4), (1000.0, 0.9)):
        x = R.binomial(k, n, p, (20000,)).numpy()
        assert abs(x.mean() - n * p) < 4 * np.sqrt(n * p * (1 - p) / 20000)
        assert x.min() >= 0 and x.max() <= n
    b = R.binomial(k, jnp.array([-1.0, np.inf, 5.0]), jnp.array([0.5, 0.5, np.nan]))
    assert np.isnan(b[0].item()) and np.isinf(b[1].item()) and np.isnan(b[2].item())
    m = R.multinomial(k, jnp.array([10.0, 20.0]), jnp.array([0.1, 0.6, 0.3]), shape=(2, 3))
    np.testing.assert_array_equal(m.sum(-1).numpy(), [10.0, 20.0])
    assert R.multinomial(k, 5.0, jnp.ones(4) / 4, dtype=jnp.int32).dtype == ember.int32
    d = R.dirichlet(k, jnp.array([0.001, 0.001]), (100,))  # tiny alpha: log space keeps 0 < x
    assert np.isfinite(d.numpy()).all()
    g = R.gamma(k, jnp.array([0.0, -1.0, np.inf]))
    assert g[0].item() == 0 and np.isnan(g[1].item()) and np.isinf(g[2].item())
    q = R.orthogonal(k, 3, (4,), dtype=ember.float64)
    np.testing.assert_allclose((q @ jnp.swapaxes(q, -1, -2)).numpy(),
                               np.broadcast_to(np.eye(3), (4, 3, 3)), atol=1e-12)


def test_shapes_and_errors():
    k = R.key(0)
    assert tuple(R.gamma(k, jnp.ones((2, 3))).shape) == (2, 3)
    assert tuple(R.beta(k, jnp.ones(3), 2.0, (4, 3)).shape) == (4, 3)
    assert tuple(R.dirichlet(k, jnp.ones((2, 4))).shape) == (2, 4)
    assert tuple(R.ball(k, 5, shape=(2,)).shape) == (2, 5)
    assert R.poisson(k, 2.0, (3,), dtype=jnp.int16).dtype == ember.int16
    assert R.gamma(k, 1.0, (2,), dtype=ember.float16).dtype == ember.float16
    with pytest.raises(ValueError, match="random.gamma: the parameters' shape"):
        R.gamma(k, jnp.ones(3), (2,))
    with pytest.raises(ValueError, match="random.dirichlet: alpha needs at least one axis"):
        R.dirichlet(k, 1.0)
    with pytest.raises(TypeError, match="random.poisson: dtype must be an integer"):
        R.poisson(k, 1.0, dtype=ember.float32)
    with pytest.raises(TypeError, match="random.beta: dtype must be floating"):
        R.beta(k, 1.0, 1.0, dtype=ember.int32)
    with pytest.raises(ValueError, match="random.orthogonal: n must be"):
        R.orthogonal(k, -1)
    with pytest.raises(TypeError, match="random.gamma: expected a key"):
        R.gamma(jnp.ones(2), 1.0)
