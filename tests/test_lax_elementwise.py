"""ember.lax's elementwise operations against jax.lax: values, gradients, vmap and jit, and
lax's strictness (one dtype, one shape, no integer input to a float operation)."""
import numpy as np
import pytest

import ember
from ember import lax

jax = pytest.importorskip("jax")
jlax = jax.lax
jnp = jax.numpy

rng = np.random.default_rng(0)
N = (3, 4)


def _u(lo, hi):
    return rng.uniform(lo, hi, N).astype(np.float32)


ANY = _u(-3, 3)
POS = _u(0.2, 3)
UNIT = _u(-0.9, 0.9)
BIG = _u(1.1, 3)

# name, operands (NumPy float32), differentiable
FLOAT_CASES = [
    ("add", (ANY, POS), True), ("sub", (ANY, POS), True), ("mul", (ANY, POS), True),
    ("div", (ANY, POS), True), ("rem", (ANY, POS), True), ("neg", (ANY,), True),
    ("abs", (ANY,), True), ("sign", (ANY,), True), ("floor", (ANY,), True),
    ("ceil", (ANY,), True), ("round", (ANY,), True), ("exp", (ANY,), True),
    ("exp2", (ANY,), True), ("expm1", (ANY,), True), ("log", (POS,), True),
    ("log1p", (POS,), True), ("sqrt", (POS,), True), ("rsqrt", (POS,), True),
    ("cbrt", (ANY,), True), ("square", (ANY,), True), ("reciprocal", (POS,), True),
    ("pow", (POS, ANY), True), ("logistic", (ANY,), True), ("tanh", (ANY,), True),
    ("sin", (ANY,), True), ("cos", (ANY,), True), ("tan", (UNIT,), True),
    ("asin", (UNIT,), True), ("acos", (UNIT,), True), ("atan", (ANY,), True),
    ("atan2", (ANY, POS), True), ("sinh", (ANY,), True), ("cosh", (ANY,), True),
    ("asinh", (ANY,), True), ("acosh", (BIG,), True), ("atanh", (UNIT,), True),
    ("erf", (ANY,), True), ("erfc", (ANY,), True), ("erf_inv", (UNIT,), True),
    ("lgamma", (POS,), True), ("digamma", (POS,), True), ("is_finite", (ANY,), False),
    ("max", (ANY, UNIT), True), ("min", (ANY, UNIT), True), ("nextafter", (ANY, POS), False),
    ("eq", (ANY, ANY), False), ("ne", (ANY, UNIT), False), ("lt", (ANY, UNIT), False),
    ("le", (ANY, UNIT), False), ("gt", (ANY, UNIT), False), ("ge", (ANY, UNIT), False),
]


def _j(name):
    return getattr(jlax, name)


@pytest.mark.parametrize("name,args,diff", FLOAT_CASES, ids=[c[0] for c in FLOAT_CASES])
def test_values_grads_vmap_jit_match_jax(name, args, diff):
    f, jf = getattr(lax, name), _j(name)
    ours = f(*[ember.tensor(a) for a in args])
    theirs = np.asarray(jf(*[jnp.asarray(a) for a in args]))
    assert ours.dtype.name == str(theirs.dtype)
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=2e-6, atol=1e-6)
    ts = [ember.tensor(a) for a in args]
    np.testing.assert_array_equal(ember.jit(f)(*ts).numpy(), ours.numpy())
    np.testing.assert_allclose(ember.vmap(f)(*ts).numpy(), ours.numpy(), rtol=1e-6, atol=1e-7)
    if not diff:
        return
    argnums = tuple(range(len(args)))
    g = ember.grad(lambda *xs: f(*xs).sum(), argnums=argnums)(*ts)
    jg = jax.grad(lambda *xs: jf(*xs).sum(), argnums=argnums)(*[jnp.asarray(a) for a in args])
    for a, b in zip(g, jg):
        np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=2e-5, atol=1e-6)
    # per-example gradients (vmap of grad) equal the loop
    pg = ember.vmap(ember.grad(lambda *xs: f(*xs).sum()))(*ts)
    np.testing.assert_allclose(pg.numpy(), g[0].numpy(), rtol=1e-6, atol=1e-7)


def test_round_ties_and_methods():
    x = np.array([0.5, 1.5, 2.5, -0.5, -2.5, 0.49999997, 3.7], np.float32)
    for m in (0, 1):
        np.testing.assert_array_equal(lax.round(ember.tensor(x), m).numpy(),
                                      np.asarray(jlax.round(x, m)))
    np.testing.assert_array_equal(
        lax.round(ember.tensor(x), lax.RoundingMethod.TO_NEAREST_EVEN).numpy(),
        np.asarray(jlax.round(x, jlax.RoundingMethod.TO_NEAREST_EVEN)))
    with pytest.raises(ValueError, match="lax.round: rounding_method"):
        lax.round(ember.tensor(x), 3)


def test_integer_arithmetic_follows_c():
    a = np.array([7, -7, 7, -7, 0], np.int32)
    b = np.array([2, 2, -2, -2, 3], np.int32)
    for name in ("div", "rem", "add", "sub", "mul", "max", "min"):
        got = getattr(lax, name)(ember.tensor(a), ember.tensor(b))
        want = np.asarray(getattr(jlax, name)(a, b))
        assert got.dtype == ember.int32
        np.testing.assert_array_equal(got.numpy(), want)
    for name in ("neg", "abs", "sign", "square"):
        np.testing.assert_array_equal(getattr(lax, name)(ember.tensor(a)).numpy(),
                                      np.asarray(getattr(jlax, name)(a)))


def test_integer_pow_and_pow_with_int_exponent():
    x = ANY
    for y in (0, 1, 2, 3, -2, 5):
        np.testing.assert_allclose(lax.integer_pow(ember.tensor(x), y).numpy(),
                                   np.asarray(jlax.integer_pow(x, y)), rtol=2e-6)
        g = ember.grad(lambda v: lax.integer_pow(v, y).sum())(ember.tensor(x))
        jg = jax.grad(lambda v: jlax.integer_pow(v, y).sum())(x)
        np.testing.assert_allclose(g.numpy(), np.asarray(jg), rtol=2e-5)
    xi = np.array([2, -3], np.int32)
    np.testing.assert_array_equal(lax.integer_pow(ember.tensor(xi), 3).numpy(), [8, -27])
    with pytest.raises(TypeError, match="negative exponent"):
        lax.integer_pow(ember.tensor(xi), -1)
    e = np.array([[2] * 4] * 3, np.int32)
    np.testing.assert_allclose(lax.pow(ember.tensor(x), ember.tensor(e)).numpy(),
                               np.asarray(jlax.pow(x, e)), rtol=2e-6)


def test_clamp_values_and_gradients_at_the_bounds():
    x = np.array([-2., -1., 0., 1., 2.], np.float32)
    lo, hi = np.float32(-1), np.float32(1)
    np.testing.assert_array_equal(lax.clamp(-1., ember.tensor(x), 1.).numpy(),
                                  np.asarray(jlax.clamp(lo, x, hi)))
    lo, hi = np.full(5, -1, np.float32), np.full(5, 1, np.float32)  # (jax.grad needs arrays)
    g = ember.grad(lambda a, l, h: lax.clamp(l, a, h).sum(), argnums=(0, 1, 2))(
        ember.tensor(x), ember.tensor(lo), ember.tensor(hi))
    jg = jax.grad(lambda a, l, h: jlax.clamp(l, a, h).sum(), argnums=(0, 1, 2))(x, lo, hi)
    for a, b in zip(g, jg):
        np.testing.assert_array_equal(a.numpy(), np.asarray(b))
    lo_arr = np.full(5, -0.5, np.float32)
    np.testing.assert_array_equal(lax.clamp(ember.tensor(lo_arr), ember.tensor(x), 1.).numpy(),
                                  np.asarray(jlax.clamp(lo_arr, x, np.float32(1))))


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint8, np.uint32])
def test_bitwise_and_shifts(dtype):
    info = np.iinfo(dtype)
    vals = np.array([0, 1, 5, info.max, info.min, info.max // 3], dtype)
    bits = np.dtype(dtype).itemsize * 8
    shifts = np.array([0, 1, 3, bits - 1, bits, bits + 2], dtype)
    a, s = ember.tensor(vals), ember.tensor(shifts)
    with jax.enable_x64(True):
        _bitwise_and_shifts(a, s, vals, shifts, dtype)


def _bitwise_and_shifts(a, s, vals, shifts, dtype):
    for name in ("bitwise_and", "bitwise_or", "bitwise_xor", "shift_left",
                 "shift_right_logical"):
        got = getattr(lax, name)(a, s if "shift" in name else ember.tensor(vals[::-1].copy()))
        want = getattr(jlax, name)(vals, shifts if "shift" in name else vals[::-1].copy())
        assert got.dtype.name == str(np.asarray(want).dtype)
        np.testing.assert_array_equal(got.numpy(), np.asarray(want), err_msg=name)
    # (unsigned: the bits read as a signed number, the top bit fills, as XLA)
    np.testing.assert_array_equal(lax.shift_right_arithmetic(a, s).numpy(),
                                  np.asarray(jlax.shift_right_arithmetic(vals, shifts)))
    np.testing.assert_array_equal(lax.bitwise_not(a).numpy(), np.asarray(jlax.bitwise_not(vals)))
    np.testing.assert_array_equal(lax.population_count(a).numpy(),
                                  np.asarray(jlax.population_count(vals)))
    f = lambda v: lax.population_count(lax.shift_left(v, 1))  # noqa: E731
    np.testing.assert_array_equal(ember.jit(f)(a).numpy(), f(a).numpy())
    np.testing.assert_array_equal(ember.vmap(f)(a).numpy(), f(a).numpy())


def test_bool_logic():
    p = np.array([True, False, True, False])
    q = np.array([True, True, False, False])
    for name in ("bitwise_and", "bitwise_or", "bitwise_xor"):
        np.testing.assert_array_equal(getattr(lax, name)(ember.tensor(p), ember.tensor(q)).numpy(),
                                      np.asarray(getattr(jlax, name)(p, q)))
    np.testing.assert_array_equal(lax.bitwise_not(ember.tensor(p)).numpy(), ~p)


def test_complex_parts():
    re_, im_ = ANY, POS
    z = lax.complex(ember.tensor(re_), ember.tensor(im_))
    jz = jlax.complex(re_, im_)
    assert z.dtype == ember.complex64
    np.testing.assert_allclose(z.numpy(), np.asarray(jz))
    for name in ("real", "imag", "conj", "abs", "sign", "exp", "neg"):
        np.testing.assert_allclose(getattr(lax, name)(z).numpy(),
                                   np.asarray(getattr(jlax, name)(jz)), rtol=2e-6, atol=1e-6)
    assert lax.conj(ember.tensor(re_)).dtype == ember.complex64
    g = ember.grad(lambda a, b: lax.real(lax.mul(lax.complex(a, b), lax.conj(
        lax.complex(a, b)))).sum(), argnums=(0, 1))(ember.tensor(re_), ember.tensor(im_))
    jg = jax.grad(lambda a, b: jlax.real(jlax.complex(a, b) * jlax.conj(
        jlax.complex(a, b))).sum(), argnums=(0, 1))(re_, im_)
    for a, b in zip(g, jg):
        np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=1e-6)


def test_python_numbers_are_weak_and_numpy_data_canonical():
    x = ember.tensor([1., 2.])
    assert lax.add(x, 2).dtype == ember.float32
    assert lax.mul(ember.tensor([1, 2], dtype=ember.int8), 3).dtype == ember.int8
    assert lax.add(x, np.ones(2)).dtype == ember.float32  # float64 NumPy data -> float32
    assert lax.add(x, np.float32(1)).shape == (2,)  # a 0-d operand goes with any shape
    np.testing.assert_array_equal(lax.add(2, 3).numpy(), 5)
    # "Thinking in JAX": lax.add(1, 1.0) is refused, lax.add(jnp.float32(1), 1.0) is 2.0
    with pytest.raises(TypeError, match="lax.add: operands must have the same dtype"):
        lax.add(1, 1.0)
    with pytest.raises(TypeError):
        jlax.add(1, 1.0)
    assert lax.add(ember.numpy.float32(1), 1.0).item() == 2.0


def test_strictness_errors_name_the_op_the_operands_and_the_fix():
    f32, i32 = ember.ones(3), ember.ones(3, dtype=ember.int32)
    with pytest.raises(TypeError, match=r"lax.add: operands must have the same dtype.*float32"
                                        r".*int32.*ember.numpy.add"):
        lax.add(f32, i32)
    with pytest.raises(TypeError, match=r"lax.mul: operands must have the same shape.*\(2, 3\)"
                                        r".*\(3,\).*ember.numpy.mul"):
        lax.mul(ember.ones(2, 3), f32)
    with pytest.raises(TypeError, match=r"lax.add: the Python float 2.5 does not fit.*int32"):
        lax.add(i32, 2.5)
    with pytest.raises(TypeError, match=r"lax.exp: does not accept dtype int32.*"
                                        r"convert_element_type"):
        lax.exp(i32)
    with pytest.raises(TypeError, match="lax.shift_left: does not accept dtype float32"):
        lax.shift_left(f32, f32)
    with pytest.raises(TypeError, match="lax.real: does not accept dtype float32"):
        lax.real(f32)
    with pytest.raises(TypeError, match="lax.add: operands must be tensors.*list"):
        lax.add([1., 2.], f32)
    # JAX refuses the same programs (TypeError as well)
    with pytest.raises(TypeError):
        jlax.add(jnp.ones(3), jnp.ones(3, jnp.int32))
    with pytest.raises(TypeError):
        jlax.mul(jnp.ones((2, 3)), jnp.ones(3))
