"""x.at[idx] with JAX's index semantics (out-of-bounds modes, negative indices, repeated
indices) and the scatter_mul/min/max family, against JAX itself when it is installed;
PyTorch-style indexing (x[i]) keeps its IndexError."""
import numpy as np
import pytest

import ember
import ember.numpy as jnp
from ember import grad, jit, vmap

jax = pytest.importorskip("jax")
import jax.numpy as jjnp  # noqa: E402

X = np.arange(5.0, dtype=np.float32) + 1.5
IDX = np.array([0, 2, 7, -1, -7, 2], np.int32)
U = np.array([10., 20, 30, 40, 50, 60], np.float32)
OPS = ["set", "add", "subtract", "multiply", "min", "max", "divide", "power"]
MODES = [None, "clip", "drop", "fill", "promise_in_bounds"]


def _call(mod, x, idx, op, *args, **kw):
    ref = getattr(mod.asarray(x).at[idx], op)
    return np.asarray(ref(*args, **kw))


def _same(a, b, **kw):
    a = a.numpy() if isinstance(a, ember.Tensor) else np.asarray(a)
    np.testing.assert_allclose(a, np.asarray(b), rtol=1e-6, **kw)


@pytest.mark.parametrize("mode", [None, "clip", "fill", "drop", "promise_in_bounds"])
def test_get_modes_match_jax(mode):
    kw = {} if mode is None else {"mode": mode}
    _same(jnp.asarray(X).at[jnp.asarray(IDX)].get(**kw),
          jjnp.asarray(X).at[jjnp.asarray(IDX)].get(**kw))
    if mode == "fill":
        _same(jnp.asarray(X).at[jnp.asarray(IDX)].get(mode="fill", fill_value=-3.),
              jjnp.asarray(X).at[jjnp.asarray(IDX)].get(mode="fill", fill_value=-3.))
        xi = np.arange(6, dtype=np.int32).reshape(2, 3)
        for i in [(1, 5), (jnp.asarray([0, 5]), slice(1, None))]:
            ji = tuple(jjnp.asarray(np.asarray(v)) if isinstance(v, ember.Tensor) else v
                       for v in i)
            _same(jnp.asarray(xi).at[i].get(mode="fill"), jjnp.asarray(xi).at[ji].get(
                mode="fill"))


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("mode", MODES)
def test_updates_match_jax(op, mode):
    # 'set' with a repeated index: the last write wins, as JAX on the CPU
    kw = {} if mode is None else {"mode": mode}
    if mode == "promise_in_bounds":  # a broken promise is undefined in JAX: keep in range
        idx = np.array([0, 2, 4, -1, -5, 2], np.int32)
    else:
        idx = IDX
    want = _call(jjnp, X, jjnp.asarray(idx), op, jjnp.asarray(U), **kw)
    got = getattr(jnp.asarray(X).at[jnp.asarray(idx)], op)(jnp.asarray(U), **kw)
    _same(got, want)
    # the same under jit, with the indices traced
    got = jit(lambda x, i, u: getattr(x.at[i], op)(u, **kw))(
        jnp.asarray(X), jnp.asarray(idx), jnp.asarray(U))
    _same(got, want)


def test_integer_operands_and_scalars_match_jax():
    xi = np.arange(5, dtype=np.int32)
    i = np.array([1, 1, 3], np.int32)
    for op, v in [("multiply", 3), ("divide", 2), ("power", 2), ("min", -1), ("max", 9),
                  ("set", 2.7), ("multiply", 2.7)]:
        got = getattr(jnp.asarray(xi).at[jnp.asarray(i)], op)(v)
        want = getattr(jjnp.asarray(xi).at[jjnp.asarray(i)], op)(v)
        assert got.dtype.name == str(np.asarray(want).dtype), op
        _same(got, want)
    x2 = np.ones((3, 4), np.float32)
    _same(jnp.asarray(x2).at[1:, jnp.asarray([0, 0, 5])].min(-2.),
          jjnp.asarray(x2).at[1:, jjnp.asarray([0, 0, 5])].min(-2.))
    _same(jnp.asarray(x2).at[jnp.asarray([[0], [3]]), jnp.asarray([1, -4])].add(1.),
          jjnp.asarray(x2).at[jjnp.asarray([[0], [3]]), jjnp.asarray([1, -4])].add(1.))
    _same(jnp.asarray(X).at[9].set(1.), jjnp.asarray(X).at[9].set(1.))
    _same(jnp.asarray(X).at[9].get(), jjnp.asarray(X).at[9].get())
    _same(jnp.asarray(X).at[-2].multiply(3.), jjnp.asarray(X).at[-2].multiply(3.))
    _same(jnp.asarray(X).at[::2].max(3.), jjnp.asarray(X).at[::2].max(3.))
    m = np.array([True, False, True, False, False])
    _same(jnp.asarray(X).at[jnp.asarray(m)].multiply(10.),
          jjnp.asarray(X).at[jjnp.asarray(m)].multiply(10.))


def test_gradients_match_jax():
    x = np.array([1., 2, 3], np.float32)
    i = np.array([0, 0, 1], np.int32)
    cases = [("min", np.array([0.5, 0.5, 2.], np.float32)),   # tie between two updates
             ("min", np.array([1., 0.7, 5.], np.float32)),    # tie with the operand
             ("max", np.array([3., 3., 2.], np.float32))]     # tie with the operand at 1
    for op, u in cases:
        want = jax.grad(lambda x, u: getattr(x.at[jjnp.asarray(i)], op)(u).sum(),
                        argnums=(0, 1))(jjnp.asarray(x), jjnp.asarray(u))
        got = grad(lambda x, u: getattr(x.at[jnp.asarray(i)], op)(u).sum(),
                   argnums=(0, 1))(jnp.asarray(x), jnp.asarray(u))
        for a, b in zip(got, want):
            _same(a, b)
        tx, tu = np.array([1., 10, 100], np.float32), np.array([1e3, 1e4, 1e5], np.float32)
        want = jax.jvp(lambda x, u: getattr(x.at[jjnp.asarray(i)], op)(u),
                       (jjnp.asarray(x), jjnp.asarray(u)), (jjnp.asarray(tx), jjnp.asarray(tu)))
        got = ember.jvp(lambda x, u: getattr(x.at[jnp.asarray(i)], op)(u),
                        (jnp.asarray(x), jnp.asarray(u)), (jnp.asarray(tx), jnp.asarray(tu)))
        _same(got[1], want[1])
    # multiply: JAX differentiates unique indices only; ember any (checked by differences)
    ui = np.array([0, 2], np.int32)
    for u in (np.array([3., 0.], np.float32), np.array([3., -2.], np.float32)):
        want = jax.grad(lambda x, u: (x.at[jjnp.asarray(ui)].multiply(
            u, unique_indices=True) ** 2).sum(), argnums=(0, 1))(jjnp.asarray(x),
                                                                 jjnp.asarray(u))
        got = grad(lambda x, u: (x.at[jnp.asarray(ui)].multiply(u, unique_indices=True)
                                 ** 2).sum(), argnums=(0, 1))(jnp.asarray(x), jnp.asarray(u))
        for a, b in zip(got, want):
            _same(a, b)
    # get: a filled entry has no gradient; a clamped one sends its gradient to the edge
    for mode in ("fill", "clip"):
        want = jax.grad(lambda x: (x.at[jjnp.asarray([0, 9, -1])].get(mode=mode) ** 2).sum())(
            jjnp.asarray(X))
        got = grad(lambda x: (x.at[jnp.asarray([0, 9, -1])].get(mode=mode) ** 2).sum())(
            jnp.asarray(X))
        _same(got, want)
    # set with repeats: only the winning update gets a gradient (as JAX)
    want = jax.grad(lambda x, u: (x.at[jjnp.asarray(i)].set(u) ** 2).sum(), argnums=(0, 1))(
        jjnp.asarray(x), jjnp.asarray(np.array([1., 2., 3.], np.float32)))
    got = grad(lambda x, u: (x.at[jnp.asarray(i)].set(u) ** 2).sum(), argnums=(0, 1))(
        jnp.asarray(x), jnp.asarray(np.array([1., 2., 3.], np.float32)))
    for a, b in zip(got, want):
        _same(a, b)


def test_multiply_with_repeats_and_zeros_by_finite_differences():
    """Repeated indices, with zero updates among them: first derivatives are exact (each
    update's derivative is the product of the others, never a division by zero); second
    derivatives are checked away from zero updates (at an exact zero they miss the terms
    through the other zeros)."""
    i = jnp.asarray([0, 0, 2, 0, 2])
    for u, order in (([2., 3., 0.5, -1., 5.], 2), ([2., 3., 0., -1., 5.], 1),
                     ([0., 3., 0., 0., 5.], 1), ([0.5, 3., 2., -1., 0.], 1)):
        ember.test_util.check_grads(lambda x, u: x.at[i].multiply(u) * jnp.arange(1., 5.),
                                    (jnp.asarray([1., 2., 3., 4.], dtype=jnp.float64),
                                     jnp.asarray(u, dtype=jnp.float64)), order=order,
                                    modes=("fwd", "rev"))


def test_modes_under_vmap_and_traced_indices():
    xs = jnp.asarray(np.arange(12.0, dtype=np.float32).reshape(3, 4))
    idx = jnp.asarray([[0, 9], [-1, 2], [5, -9]])
    got = vmap(lambda x, i: x.at[i].get(mode="fill", fill_value=-1.))(xs, idx)
    want = jax.vmap(lambda x, i: x.at[i].get(mode="fill", fill_value=-1.))(
        jjnp.asarray(xs.numpy()), jjnp.asarray(idx.numpy()))
    _same(got, want)
    got = vmap(lambda x, i: x.at[i].multiply(2.))(xs, idx)
    want = jax.vmap(lambda x, i: x.at[i].multiply(2.))(jjnp.asarray(xs.numpy()),
                                                        jjnp.asarray(idx.numpy()))
    _same(got, want)
    got = jit(vmap(lambda x, i: x.at[i].max(100., mode="clip")))(xs, idx)
    want = jax.vmap(lambda x, i: x.at[i].max(100., mode="clip"))(jjnp.asarray(xs.numpy()),
                                                                 jjnp.asarray(idx.numpy()))
    _same(got, want)


@pytest.mark.parametrize("name", ["scatter_mul", "scatter_min", "scatter_max"])
@pytest.mark.parametrize("mode", [None, "clip"])
def test_lax_scatter_family_matches_jax(name, mode):
    dn = ember.lax.ScatterDimensionNumbers(update_window_dims=(1,), inserted_window_dims=(0,),
                                           scatter_dims_to_operand_dims=(0,))
    jdn = jax.lax.ScatterDimensionNumbers(update_window_dims=(1,), inserted_window_dims=(0,),
                                          scatter_dims_to_operand_dims=(0,))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3)).astype(np.float32)
    idx = np.array([[1], [3], [1], [6]], np.int32)
    u = rng.normal(size=(4, 3)).astype(np.float32)
    want = getattr(jax.lax, name)(x, idx, u, jdn, mode=mode)
    got = getattr(ember.lax, name)(jnp.asarray(x), jnp.asarray(idx), jnp.asarray(u), dn,
                                   mode=mode)
    _same(got, want)
    if name != "scatter_mul" and mode is None:  # (JAX's clip-mode gradient has infs)
        g = grad(lambda x, u: getattr(ember.lax, name)(x, jnp.asarray(idx), u, dn,
                                                       mode=mode).sum(), argnums=(0, 1))(
            jnp.asarray(x), jnp.asarray(u))
        w = jax.grad(lambda x, u: getattr(jax.lax, name)(x, idx, u, jdn, mode=mode).sum(),
                     argnums=(0, 1))(x, u)
        for a, b in zip(g, w):
            _same(a, b)


def test_bad_mode_and_torch_indexing_keeps_its_errors():
    with pytest.raises(ValueError, match="unknown mode 'wrap'"):
        jnp.ones(3).at[0].get(mode="wrap")
    with pytest.raises(IndexError, match="out of bounds"):
        ember.ones(3)[5]
    with pytest.raises(IndexError, match="out of bounds"):
        ember.ones(3)[ember.tensor([0, 5])]
    t = ember.zeros(3)
    with pytest.raises(IndexError):
        t[ember.tensor([4])] = 1.0
    with pytest.raises(TypeError, match="no order"):
        ember.ones(2, dtype=ember.complex64).at[0].max(1.0)
