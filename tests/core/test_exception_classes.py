"""ember raises the exception class PyTorch raises for the same mistake (a shape mismatch is a
RuntimeError there and a ValueError in NumPy/JAX: ember's OpError is both), checked against
torch itself when it is installed."""
import numpy as np
import pytest

import ember

MISTAKES = {
    "matmul shapes": lambda m: m.ones(2, 3) @ m.ones(4, 5),
    "mm shapes": lambda m: m.mm(m.ones(2, 3), m.ones(4, 5)),
    "bmm shapes": lambda m: m.bmm(m.ones(2, 2, 3), m.ones(2, 4, 5)),
    "broadcast add": lambda m: m.ones(3) + m.ones(4),
    "broadcast mul": lambda m: m.ones(2, 3) * m.ones(4, 3),
    "where broadcast": lambda m: m.where(m.tensor([True, False]), m.ones(3), m.ones(3)),
    "reshape size": lambda m: m.ones(6).reshape(5),
    "view size": lambda m: m.ones(6).view(4),
    "cat shapes": lambda m: m.cat([m.ones(2, 3), m.ones(2, 4)], 0),
    "stack shapes": lambda m: m.stack([m.ones(2), m.ones(3)]),
    "expand size": lambda m: m.ones(3).expand(4),
    "permute dims": lambda m: m.ones(3, 2).permute(0),
    "split size 0": lambda m: m.ones(3).split(0),
    "zeros negative": lambda m: m.zeros(-2),
    "randn negative": lambda m: m.randn(-1),
    "item of many": lambda m: m.ones(3).item(),
    "bool of many": lambda m: bool(m.ones(3)),
    "linear features": lambda m: m.nn.Linear(3, 2)(m.ones(4, 5)),
    "conv channels": lambda m: m.nn.Conv2d(3, 2, 3)(m.ones(1, 4, 8, 8)),
    "mse shapes": lambda m: m.nn.functional.mse_loss(m.ones(2, 3), m.ones(4, 3)),
    "matmul dtypes": lambda m: m.ones(2, 2) @ m.ones(2, 2, dtype=m.float64),
    "index out of range": lambda m: m.ones(3)[5],
    "index tensor out of range": lambda m: m.ones(3)[m.tensor([5])],
    "too many indices": lambda m: m.ones(3)[0, 0],
    "float index": lambda m: m.ones(3)[m.tensor([1.0])],
    "dim out of range": lambda m: m.ones(3).sum(dim=2),
    "squeeze dim": lambda m: m.ones(3).squeeze(3),
    "transpose dim": lambda m: m.ones(3, 2).transpose(0, 3),
    "softmax dim": lambda m: m.softmax(m.ones(3), dim=2),
    "embedding index": lambda m: m.nn.Embedding(3, 2)(m.tensor([5])),
    "cross_entropy target": lambda m: m.nn.functional.cross_entropy(m.ones(2, 3),
                                                                    m.tensor([0, 7])),
    "add a string": lambda m: m.add(m.ones(3), "a"),
    "size a string": lambda m: m.ones("a"),
    "dim a string": lambda m: m.ones(3).sum(dim="a"),
    "backward twice": lambda m: _backward_twice(m),
    "backward without grad": lambda m: m.ones(3).sum().backward(),
    "backward of a vector": lambda m: (m.ones(3, requires_grad=True) * 2).backward(),
    "in-place on a leaf": lambda m: m.ones(3, requires_grad=True).add_(1),
    "int requires grad": lambda m: m.tensor([1, 2]).requires_grad_(),
    "load_state_dict shapes": lambda m: m.nn.Linear(2, 2).load_state_dict(
        {"weight": m.ones(3, 3)}),
}

# the class PyTorch 2.x raises for each mistake (checked against torch below when installed)
EXPECTED = {k: RuntimeError for k in MISTAKES}
EXPECTED.update({k: IndexError for k in (
    "index out of range", "index tensor out of range", "too many indices", "float index",
    "dim out of range", "squeeze dim", "transpose dim", "softmax dim", "embedding index",
    "cross_entropy target")})
EXPECTED.update({k: TypeError for k in ("add a string", "size a string", "dim a string")})


def _backward_twice(m):
    x = m.ones(3, requires_grad=True)
    y = (x * x).exp().sum()
    y.backward()
    y.backward()


@pytest.mark.parametrize("name", list(MISTAKES))
def test_ember_raises_pytorchs_class(name):
    with pytest.raises(EXPECTED[name]) as info:
        MISTAKES[name](ember)
    assert str(info.value), "the error must say what went wrong"


@pytest.mark.parametrize("name", list(MISTAKES))
def test_the_expected_class_is_pytorchs(name):
    torch = pytest.importorskip("torch")
    with pytest.raises(EXPECTED[name]):
        MISTAKES[name](torch)


def test_shape_errors_stay_value_errors_for_numpy_style_code():
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\)"):
        ember.ones(2, 3) @ ember.ones(4, 5)
    with pytest.raises(ValueError, match="cannot be broadcast"):
        ember.numpy.add(ember.numpy.ones(3), ember.numpy.ones(4))
    assert issubclass(ember.OpError, RuntimeError) and issubclass(ember.OpError, ValueError)


def test_shape_errors_under_transforms_are_the_same_class():
    f = lambda a, b: a @ b  # noqa: E731
    with pytest.raises(RuntimeError, match="matmul"):
        ember.jit(f)(ember.ones(2, 3), ember.ones(4, 5))
    with pytest.raises(RuntimeError, match="matmul"):
        ember.vmap(f)(ember.ones(2, 2, 3), ember.ones(2, 4, 5))
    with pytest.raises(RuntimeError, match="cannot be broadcast"):
        ember.grad(lambda a: (a + ember.ones(4)).sum())(ember.ones(3))


def test_grad_holomorphic_and_allow_int_are_accepted_as_in_jax():
    g = ember.grad(lambda x: x * x, holomorphic=False, allow_int=True)(ember.tensor(3.0))
    np.testing.assert_allclose(g.numpy(), 6.0)
    with pytest.raises(TypeError, match="complex"):  # holomorphic=True needs complex inputs
        ember.grad(lambda x: x * x, holomorphic=True)(ember.tensor(3.0))


def test_import_ember_makes_utils_data_reachable():
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", "import ember; print(ember.utils.data.DataLoader"
                          " is ember.data.DataLoader)"], capture_output=True, text=True)
    assert out.stdout.strip() == "True", out.stderr


def test_shape_mistakes_are_also_typeerrors_as_jax_raises_them():
    """JAX raises TypeError for jnp.dot of shapes that don't line up; a JAX program's
    ``except TypeError`` catches ember's error too."""
    import ember.numpy as jnp
    with pytest.raises(TypeError, match="matmul: shapes"):
        jnp.dot(jnp.ones((10, 784)), jnp.ones((512, 784)).T.T)
    assert issubclass(ember.OpError, (TypeError, ValueError, RuntimeError))
    jax = pytest.importorskip("jax")
    with pytest.raises(TypeError):
        jax.numpy.dot(jax.numpy.ones((10, 784)), jax.numpy.ones((512, 784)))
