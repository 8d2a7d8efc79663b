"""Products refuse mixed dtypes as PyTorch does (matmul, conv); elementwise arithmetic and
ember.numpy's products keep promoting (PyTorch / jax.numpy)."""
import numpy as np
import pytest

import ember
import ember.numpy as enp

torch = pytest.importorskip("torch")

PAIRS = [("float32", "float64"), ("int64", "float32"), ("float64", "int64")]


@pytest.mark.parametrize("da,db", PAIRS)
def test_matmul_mixed_dtypes_raise_like_torch(da, db):
    a, b = np.ones((2, 3), da), np.ones((3, 4), db)
    with pytest.raises(RuntimeError):
        torch.matmul(torch.tensor(a), torch.tensor(b))
    with pytest.raises(RuntimeError, match=rf"matmul: mat1 and mat2 must have the same dtype, "
                                           rf"but got ember.{da} \(2, 3\) and ember.{db}"):
        ember.tensor(a) @ ember.tensor(b)
    with pytest.raises(RuntimeError, match="same dtype"):
        ember.jit(lambda x, y: x @ y)(ember.tensor(a), ember.tensor(b))
    with pytest.raises(RuntimeError, match="same dtype"):
        ember.mm(ember.tensor(a), ember.tensor(b))


@pytest.mark.parametrize("dt", ["float32", "float64", "int64"])
def test_matmul_same_dtype_still_works(dt):
    a, b = np.arange(6).reshape(2, 3).astype(dt), np.arange(12).reshape(3, 4).astype(dt)
    out = ember.tensor(a) @ ember.tensor(b)
    assert out.dtype == ember.tensor(a).dtype
    np.testing.assert_array_equal(out.numpy(), a @ b)


def test_elementwise_and_numpy_products_still_promote():
    a, b = ember.ones(2, 3), ember.ones(2, 3, dtype=ember.float64)
    assert (a + b).dtype == ember.float64 and (a * 2).dtype == ember.float32
    assert enp.matmul(a, b.T).dtype == ember.float64
    assert enp.dot(a, ember.ones(3, dtype=ember.int64)).dtype == ember.float32


def test_conv_mixed_dtypes_raise_like_torch():
    x, w = np.ones((1, 1, 5, 5), np.float64), np.ones((2, 1, 3, 3), np.float32)
    with pytest.raises(RuntimeError):
        torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w))
    with pytest.raises(RuntimeError, match="conv2d: input and weight must have the same dtype"):
        ember.nn.functional.conv2d(ember.tensor(x), ember.tensor(w))
    with pytest.raises(RuntimeError, match="conv1d: input and weight"):
        ember.nn.functional.conv1d(ember.ones(1, 1, 5, dtype=ember.int64), ember.ones(1, 1, 3))
    with pytest.raises(RuntimeError, match="conv_transpose2d: input and weight"):
        ember.nn.functional.conv_transpose2d(ember.tensor(x), ember.ones(1, 2, 3, 3))
    with pytest.raises(RuntimeError, match="conv2d: bias and weight"):
        ember.nn.functional.conv2d(ember.ones(1, 1, 5, 5), ember.ones(2, 1, 3, 3),
                                   ember.ones(2, dtype=ember.float64))


def test_numpy_operand_before_a_tensor_in_matmul_takes_jax_dtypes():
    """``ndarray @ tensor`` (PyTorch refuses it) means ``jnp.matmul``: the NumPy operand gets
    JAX's dtype, so a JAX program's float64 data times float32 weights stays float32
    (pytrees.md's MLP); ``tensor @ ndarray`` keeps PyTorch's promotion."""
    a = np.arange(6.0).reshape(2, 3)  # float64
    w = ember.ones(3, 2)              # float32
    left = a @ w
    assert left.dtype == ember.float32
    np.testing.assert_array_equal(left.numpy(), a @ np.ones((3, 2)))
    assert (w.T @ a.T).dtype == ember.float64  # PyTorch: the NumPy operand as a float64 tensor
    assert (a @ ember.ones(3, 2, dtype=ember.float64)).dtype == ember.float64  # promoted
    assert (np.ones((2, 3), np.int64) @ w).dtype == ember.float32
    x = ember.ones(3, 2, requires_grad=True)
    (a @ x).sum().backward()
    assert x.grad.dtype == ember.float32
    np.testing.assert_array_equal(x.grad.numpy(), np.repeat(a.sum(0)[:, None], 2, 1))
    h = ember.relu(a @ w)
    assert (h @ ember.ones(2, 2)).dtype == ember.float32  # the next layer keeps working
    jax = pytest.importorskip("jax")
    assert str((a @ jax.numpy.ones((3, 2))).dtype) == "float32"
