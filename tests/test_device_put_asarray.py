"""ember.device_put/device_get (jax.device_put's names) and np.asarray of a 0-d tensor that
holds a NumPy scalar."""
import numpy as np

import ember


def test_device_put_and_get():
    t = ember.device_put(np.zeros((2, 2)))
    assert isinstance(t, ember.Tensor) and t.dtype == ember.float32
    tree = ember.device_put({"a": np.ones(2), "b": [np.arange(3)]}, "cpu")
    assert isinstance(tree["b"][0], ember.Tensor)
    back = ember.device_get(tree)
    assert isinstance(back["a"], np.ndarray) and back["a"].dtype == np.float32


def test_asarray_of_a_0d_result_holding_a_numpy_scalar():
    t = np.float32(2.0) - ember.tensor(1.0) * 0.1  # NumPy scalar on the left
    a = np.asarray(t)
    assert isinstance(a, np.ndarray) and a.shape == () and a.dtype == np.float32
    np.testing.assert_allclose(a, 1.9, rtol=1e-6)
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
