"""lax.bitcast_convert_type against jax.lax's: same bits, JAX's shape rule for width
changes, its errors, and the transforms."""
import numpy as np
import pytest

import ember
from ember import lax

jax = pytest.importorskip("jax")
import jax.numpy as jjnp  # noqa: E402

CASES = [
    (np.array([1.0, -2.5, np.inf, np.nan], np.float32), "int32"),
    (np.array([1.0, -2.5, 3e38], np.float32), "uint32"),
    (np.array([[1.0, -2.5], [0.1, 7.0]], np.float32), "uint8"),
    (np.array([1.0, -2.5], np.float32), "float16"),
    (np.array([1.0, -2.5], np.float32), "bfloat16"),
    (np.array([[0, 0, 128, 63], [0, 0, 32, 192]], np.uint8), "float32"),
    (np.array([[1, 2], [3, 4]], np.int16), "int32"),
    (np.array([-1, 5], np.int32), "float32"),
    (np.array(3, np.int32), "float32"),
]


@pytest.mark.parametrize("x,dtype", CASES, ids=[f"{c[0].dtype}-{c[1]}" for c in CASES])
def test_matches_jax(x, dtype):
    want = np.atleast_1d(np.asarray(jax.lax.bitcast_convert_type(jjnp.asarray(x),
                                                                 getattr(jjnp, dtype)))).reshape(-1)
    got = lax.bitcast_convert_type(ember.tensor(x), getattr(ember, dtype))
    assert got.dtype.name == str(want.dtype) and got.reshape(-1).shape[0] == want.size
    assert tuple(got.shape) == np.shape(jax.lax.bitcast_convert_type(jjnp.asarray(x),
                                                                      getattr(jjnp, dtype)))
    np.testing.assert_array_equal(np.atleast_1d(got.numpy()).reshape(-1).view(np.uint8),
                                  want.view(np.uint8))
    # the same under jit and vmap (batched over a leading copy)
    np.testing.assert_array_equal(ember.jit(lambda v: lax.bitcast_convert_type(
        v, getattr(ember, dtype)))(ember.tensor(x)).reshape(-1).numpy().view(np.uint8),
        want.view(np.uint8))
    xs = ember.tensor(np.stack([x, x]))
    vm = ember.vmap(lambda v: lax.bitcast_convert_type(v, getattr(ember, dtype)))(xs)
    np.testing.assert_array_equal(vm.numpy()[1].reshape(-1).view(np.uint8),
                                  want.view(np.uint8))


def test_round_trip_and_no_derivative():
    x = ember.tensor([1.0, -2.5, 0.1])
    u8 = lax.bitcast_convert_type(x, ember.uint8)
    np.testing.assert_array_equal(lax.bitcast_convert_type(u8, ember.float32).numpy(),
                                  x.numpy())
    g = ember.grad(lambda v: lax.bitcast_convert_type(v, ember.float32).sum())(x)
    want = jax.grad(lambda v: jax.lax.bitcast_convert_type(v, jjnp.float32).sum())(
        jjnp.asarray(x.numpy()))
    np.testing.assert_array_equal(g.numpy(), np.asarray(want))
    assert ember.jvp(lambda v: lax.bitcast_convert_type(v, ember.int32).float(), (x,),
                     (x,))[1].tolist() == [0.0] * 3


def test_errors_as_jax():
    for x, d in [(ember.tensor([1.0]), ember.bool), (ember.tensor([True]), ember.uint8),
                 (ember.ones(2, dtype=ember.complex64), ember.float32)]:
        with pytest.raises(TypeError, match="bool and complex"):
            lax.bitcast_convert_type(x, d)
    with pytest.raises(ValueError, match="needs a last dim of 4"):
        lax.bitcast_convert_type(ember.ones(3, dtype=ember.uint8), ember.float32)
    with pytest.raises(ValueError, match="needs a last dim of 2"):
        lax.bitcast_convert_type(ember.ones(3, 4, dtype=ember.uint16), ember.float32)
