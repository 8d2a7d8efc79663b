"""JAX's custom derivative rules (the "Custom derivative rules for Python code" notebook):
defjvps, nondiff_argnums, pytree residuals, when each rule runs, and the numbers against JAX."""
from collections import namedtuple
from functools import partial

import numpy as np
import pytest

import ember
import ember.numpy as enp
from ember.lax import while_loop as e_while


def _both():
    jax = pytest.importorskip("jax")
    return jax, jax.numpy


def _close(a, b, tol=1e-6):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


def _f_sin_y(m, np_):
    @m.custom_jvp
    def f(x, y):
        return np_.sin(x) * y
    f.defjvps(lambda x_dot, primal_out, x, y: np_.cos(x) * x_dot * y,
              lambda y_dot, primal_out, x, y: np_.sin(x) * y_dot)
    return f


def test_defjvps_matches_jax():
    jax, jnp = _both()
    fe, fj = _f_sin_y(ember, enp), _f_sin_y(jax, jnp)
    _close(fe(2., 3.), fj(2., 3.))
    ye, te = ember.jvp(fe, (2., 3.), (1., 0.))
    yj, tj = jax.jvp(fj, (2., 3.), (1., 0.))
    _close(ye, yj)
    _close(te, tj)
    _close(ember.grad(fe)(2., 3.), jax.grad(fj)(2., 3.))
    _close(ember.grad(fe, 1)(2., 3.), jax.grad(fj, 1)(2., 3.))


def test_defjvps_none_means_no_tangent():
    jax, jnp = _both()

    def make(m):
        @m.custom_jvp
        def f(x, y):
            return x ** 2 * y
        f.defjvps(lambda x_dot, primal_out, x, y: 2 * x * y * x_dot, None)
        return f
    fe, fj = make(ember), make(jax)
    for n in (0, 1):
        _close(ember.grad(fe, n)(2., 3.), jax.grad(fj, n)(2., 3.))
    assert float(ember.grad(fe, 1)(2., 3.)) == 0.0


def test_defjvps_stable_log1pexp_under_jit_vmap():
    jax, jnp = _both()

    def make(m, np_):
        @m.custom_jvp
        def log1pexp(x):
            return np_.log(1. + np_.exp(x))
        log1pexp.defjvps(lambda t, ans, x: (1 - 1 / (1 + np_.exp(x))) * t)
        return log1pexp
    fe, fj = make(ember, enp), make(jax, jnp)
    _close(ember.grad(fe)(100.), 1.0)
    _close(ember.jit(fe)(3.), jax.jit(fj)(3.))
    _close(ember.jit(ember.grad(fe))(3.), jax.jit(jax.grad(fj))(3.))
    _close(ember.vmap(ember.jit(ember.grad(fe)))(enp.arange(3.)),
           jax.vmap(jax.jit(jax.grad(fj)))(jnp.arange(3.)))


def _app_jvp(m):
    @partial(m.custom_jvp, nondiff_argnums=(0, 2))
    def app2(f, x, g):
        return f(g(x))

    @app2.defjvp
    def app2_jvp(f, g, primals, tangents):
        x, = primals
        x_dot, = tangents
        return f(g(x)), 3. * x_dot
    return app2


def test_custom_jvp_nondiff_argnums_come_first():
    jax, _ = _both()
    ae, aj = _app_jvp(ember), _app_jvp(jax)
    cube, five = (lambda x: x ** 3), (lambda y: 5 * y)
    _close(ae(cube, 3., five), aj(cube, 3., five))
    _close(ember.grad(ae, 1)(cube, 3., five), jax.grad(aj, 1)(cube, 3., five))
    _close(ember.jvp(lambda x: ae(cube, x, five), (3.,), (1.,))[1], 3.0)


def test_custom_vjp_nondiff_argnums_come_first():
    jax, _ = _both()

    def make(m):
        @partial(m.custom_vjp, nondiff_argnums=(0,))
        def app(f, x):
            return f(x)
        app.defvjp(lambda f, x: (f(x), x), lambda f, x, g: (5 * g,))
        return app
    ae, aj = make(ember), make(jax)
    sq = lambda x: x ** 2  # noqa: E731
    _close(ae(sq, 4.), aj(sq, 4.))
    _close(ember.grad(ae, 1)(sq, 4.), jax.grad(aj, 1)(sq, 4.))
    assert ae.defvjp(lambda f, x: (f(x), x), lambda f, x, g: (5 * g,)) is None  # as JAX's


def _fixed_point_module(m, np_, while_loop):
    def vjp(*a):
        return m.vjp(*a)

    @partial(m.custom_vjp, nondiff_argnums=(0,))
    def fixed_point(f, a, x_guess):
        def cond_fun(carry):
            x_prev, x = carry
            return np_.abs(x_prev - x) > 1e-6

        def body_fun(carry):
            _, x = carry
            return x, f(a, x)
        _, x_star = while_loop(cond_fun, body_fun, (x_guess, f(a, x_guess)))
        return x_star

    def fixed_point_fwd(f, a, x_init):
        x_star = fixed_point(f, a, x_init)
        return x_star, (a, x_star)

    def rev_iter(f, packed, u):
        a, x_star, x_star_bar = packed
        _, vjp_x = vjp(lambda x: f(a, x), x_star)
        return x_star_bar + vjp_x(u)[0]

    def fixed_point_rev(f, res, x_star_bar):
        a, x_star = res
        _, vjp_a = vjp(lambda a: f(a, x_star), a)
        a_bar, = vjp_a(fixed_point(partial(rev_iter, f), (a, x_star, x_star_bar),
                                   x_star_bar))
        return a_bar, np_.zeros_like(x_star)
    fixed_point.defvjp(fixed_point_fwd, fixed_point_rev)

    def newton_sqrt(a):
        return fixed_point(lambda a, x: 0.5 * (x + a / x), a, a)
    return newton_sqrt


def test_fixed_point_implicit_gradient_matches_jax():
    jax, jnp = _both()
    se = _fixed_point_module(ember, enp, e_while)
    sj = _fixed_point_module(jax, jnp, jax.lax.while_loop)
    _close(se(2.), sj(2.))
    assert enp.asarray(se(2.)).dtype == ember.float32  # while_loop's carry is arrays
    _close(ember.grad(se)(2.), jax.grad(sj)(2.), 1e-5)
    _close(ember.grad(ember.grad(se))(2.), jax.grad(jax.grad(sj))(2.), 1e-5)
    xs = [1., 2., 3., 4.]
    _close(ember.jit(ember.vmap(se))(enp.array(xs)), jax.jit(jax.vmap(sj))(jnp.array(xs)))


def test_clip_gradient_per_example_and_python_float_residuals():
    jax, jnp = _both()

    def make(m, np_):
        @m.custom_vjp
        def clip_gradient(lo, hi, x):
            return x

        clip_gradient.defvjp(lambda lo, hi, x: (x, (lo, hi)),
                             lambda res, g: (None, None, np_.clip(g, res[0], res[1])))

        def clip_sin(x):
            return np_.sin(clip_gradient(-0.75, 0.75, x))
        return clip_sin
    ce, cj = make(ember, enp), make(jax, jnp)
    t = np.linspace(0, 10, 50).astype(np.float32)
    _close(ember.vmap(ember.grad(ce))(enp.asarray(t)), jax.vmap(jax.grad(cj))(jnp.asarray(t)))
    _close(ember.jit(ember.vmap(ember.grad(ce)))(enp.asarray(t)),
           jax.vmap(jax.grad(cj))(jnp.asarray(t)))


Point = namedtuple("Point", ["x", "y"])


def test_pytree_inputs_outputs_and_residuals():
    jax, jnp = _both()

    def make_jvp(m, np_):
        @m.custom_jvp
        def f(pt):
            return {"a": pt.x ** 2, "b": (np_.sin(pt.x), np_.cos(pt.y))}

        @f.defjvp
        def f_jvp(primals, tangents):
            pt, = primals
            d, = tangents
            return f(pt), {"a": 2 * pt.x * d.x,
                           "b": (np_.cos(pt.x) * d.x, -np_.sin(pt.y) * d.y)}
        return lambda pt: f(pt)["a"] + f(pt)["b"][0]

    def make_vjp(m, np_):
        @m.custom_vjp
        def f(pt):
            return {"a": pt.x ** 2, "b": (np_.sin(pt.x), np_.cos(pt.y))}

        def f_bwd(pt, g):
            return (Point(2 * pt.x * g["a"] + np_.cos(pt.x) * g["b"][0],
                          -np_.sin(pt.y) * g["b"][1]),)
        f.defvjp(lambda pt: (f(pt), pt), f_bwd)
        return lambda pt: f(pt)["a"] + f(pt)["b"][0]
    for make in (make_jvp, make_vjp):
        ge = ember.grad(make(ember, enp))(Point(1., 2.))
        gj = jax.grad(make(jax, jnp))(Point(1., 2.))
        assert isinstance(ge, Point)
        _close(ge.x, gj.x)
        _close(ge.y, gj.y)
        # JAX's symbolic zeros: an unused output's term adds nothing (0.0, not -0.0)
        assert np.signbit(np.asarray(ge.y)) == np.signbit(np.asarray(gj.y))


def test_which_rule_runs_when():
    calls = []

    @ember.custom_jvp
    def f(x):
        calls.append("f")
        return enp.sin(x)

    @f.defjvp
    def f_jvp(primals, tangents):
        calls.append("f_jvp")
        return f(primals[0]), enp.cos(primals[0]) * tangents[0]

    ember.jvp(f, (3.,), (1.,))
    assert calls == ["f_jvp", "f"]
    calls.clear()
    _close(ember.grad(f)(3.), np.cos(3.), 1e-6)
    assert calls == ["f_jvp", "f"]
    calls.clear()
    _close(ember.grad(ember.grad(f))(3.), -np.sin(3.), 1e-6)
    assert calls == ["f_jvp", "f_jvp", "f"]

    @ember.custom_vjp
    def g(x):
        calls.append("g")
        return enp.sin(x)

    def g_fwd(x):
        calls.append("g_fwd")
        return g(x), enp.cos(x)

    def g_bwd(cos_x, y_bar):
        calls.append("g_bwd")
        return (cos_x * y_bar,)
    g.defvjp(g_fwd, g_bwd)
    calls.clear()
    y, pull = ember.vjp(g, 3.)
    assert calls == ["g_fwd", "g"]
    _close(pull(1.)[0], np.cos(3.), 1e-6)
    assert calls == ["g_fwd", "g", "g_bwd"]
    with pytest.raises(TypeError, match="forward-mode autodiff .jvp. to a custom_vjp"):
        ember.jvp(g, (3.,), (1.,))


def test_rule_errors_name_the_function():
    @ember.custom_vjp
    def h(x, y):
        return x * y
    h.defvjp(lambda x, y: (x * y, (x, y)), lambda res, g: (g * res[1],))
    with pytest.raises(ValueError, match="bwd rule of h returned 1 cotangents for 2"):
        ember.grad(h)(2., 3.)

    @ember.custom_jvp
    def k(x):
        return x
    with pytest.raises(AttributeError, match="k has no JVP rule yet"):
        k(1.)
    k.defjvps(lambda t, ans, x: t, lambda t, ans, x: t)
    with pytest.raises(TypeError, match="2 rules for 1 arguments"):
        ember.grad(k)(1.)
    bad = ember.custom_jvp(lambda f, x: f(x), nondiff_argnums=(5,))
    bad.defjvp(lambda f, primals, tangents: (primals, tangents))
    with pytest.raises(TypeError, match="2 positional arguments but nondiff_argnums"):
        bad(abs, 1.)


def test_while_loop_batched_and_forward_mode_with_closure_constants():
    def f(a):
        return e_while(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] * a), (0, a))[1]
    a = enp.array([2., 3.])
    _close(ember.vmap(f)(a), a.numpy() ** 4)
    _close(ember.jit(ember.vmap(f))(a), a.numpy() ** 4)
    _close(ember.jit(lambda a: ember.jvp(f, (a,), (enp.ones_like(a),))[1])(a),
           4 * a.numpy() ** 3)


def test_jit_traces_the_function_once():
    calls = []

    @ember.custom_jvp
    def f(x):
        calls.append("f")
        return enp.sin(x)
    f.defjvps(lambda t, ans, x: enp.cos(x) * t)

    @ember.custom_vjp
    def g(x):
        calls.append("g")
        return enp.sin(x)
    g.defvjp(lambda x: (g(x), enp.cos(x)), lambda c, ct: (c * ct,))
    a, b = enp.array(3.), enp.array(2.)
    for fn in (f, g):
        calls.clear()
        j = ember.jit(fn)
        _close(j(a), np.sin(3.))
        _close(j(b), np.sin(2.))  # same shapes: the plan runs, fn is not called again
        assert len(calls) == 1
        _close(ember.grad(j)(a), np.cos(3.))
        _close(ember.vmap(j)(enp.arange(3.)), np.sin(np.arange(3.)))
