"""ember.numpy.pad against numpy.pad; np.asarray of a 0-d result holding a NumPy scalar."""
import numpy as np
import pytest

import ember
import ember.numpy as jnp


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "wrap"])
@pytest.mark.parametrize("width", [1, (1, 2), ((0, 1), (2, 1)), [[1, 1], [0, 2]]])
def test_pad_matches_numpy(mode, width):
    a = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    kw = {"constant_values": 7.0} if mode == "constant" else {}
    np.testing.assert_array_equal(np.asarray(jnp.pad(a, width, mode=mode, **kw)),
                                  np.pad(a, width, mode=mode, **kw))


def test_pad_gradient_and_errors():
    g = ember.grad(lambda x: (jnp.pad(x, ((1, 1), (0, 2)), mode="edge") ** 2).sum())(
        jnp.ones((2, 2)))
    np.testing.assert_allclose(g.numpy(), [[4.0, 12.0], [4.0, 12.0]])  # copies: 2x1, 2x3
    with pytest.raises(NotImplementedError, match="mode"):
        jnp.pad(jnp.ones(3), 1, mode="median")
    with pytest.raises(TypeError, match="pad_width"):
        jnp.pad(jnp.ones(3), 1.5)
