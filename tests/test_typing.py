"""ember.typing: jax.typing's annotations."""
import numpy as np

import ember
import ember.numpy as jnp
from ember.typing import ArrayLike, DTypeLike


def test_array_like_and_dtype_like_cover_what_jnp_accepts():
    for x in (jnp.ones(2), np.ones(2), np.float32(1.0), np.bool_(True), 1, 2.5, True, 1j):
        assert isinstance(x, ArrayLike), x
        jnp.asarray(x)  # and jnp takes each of them
    assert not isinstance("a", ArrayLike) and not isinstance([1.0], ArrayLike)
    for d in (ember.float32, np.float32, np.dtype("float32"), "float32", float):
        assert isinstance(d, DTypeLike), d
        assert jnp.zeros(1, dtype=d).dtype in (ember.float32, ember.float64)

