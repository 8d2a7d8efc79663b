"""Property-based tests (hypothesis): broadcasting, type promotion and shape ops agree with
NumPy/PyTorch over generated shapes, dtypes and arguments."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import ember

torch = pytest.importorskip("torch")

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
settings.register_profile("ember", max_examples=60, deadline=None)
settings.load_profile("ember")


@given(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=3))
def test_binary_ops_broadcast_like_numpy(shapes):
    a_shape, b_shape = shapes.input_shapes
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    for op in (np.add, np.multiply, np.maximum):
        out = getattr(ember, op.__name__)(ember.tensor(a), ember.tensor(b))
        assert tuple(out.shape) == shapes.result_shape
        np.testing.assert_array_equal(out.numpy(), op(a, b))


@given(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3))
def test_broadcast_gradients_reduce_to_input_shapes(shapes):
    a_shape, b_shape = shapes.input_shapes
    a = ember.ones(*a_shape, dtype=ember.float64, requires_grad=True)
    b = ember.ones(*b_shape, dtype=ember.float64, requires_grad=True)
    (a * b).sum().backward()
    n = int(np.prod(shapes.result_shape))
    assert tuple(a.grad.shape) == a_shape and tuple(b.grad.shape) == b_shape
    assert a.grad.sum().item() == n and b.grad.sum().item() == n


@given(st.sampled_from(DTYPES), st.sampled_from(DTYPES))
def test_promote_types_matches_torch(d1, d2):
    e = ember.promote_types(getattr(ember, d1 if d1 != "bool" else "bool"),
                            getattr(ember, d2 if d2 != "bool" else "bool"))
    t = torch.promote_types(getattr(torch, d1), getattr(torch, d2))
    assert e.name == str(t).replace("torch.", "")


@given(st.sampled_from(DTYPES), st.sampled_from(DTYPES), st.booleans(),
       st.sampled_from([True, 2, 2.5]))
def test_result_type_with_zero_dim_and_scalars_matches_torch(d1, d2, zero_dim, scalar):
    shape_b = () if zero_dim else (2,)
    ea = ember.zeros(2, dtype=getattr(ember, d1))
    eb = ember.zeros(*shape_b, dtype=getattr(ember, d2))
    ta = torch.zeros(2, dtype=getattr(torch, d1))
    tb = torch.zeros(shape_b, dtype=getattr(torch, d2))
    assert (ea + eb).dtype.name == str((ta + tb).dtype).replace("torch.", "")
    if d1 != "bool" or not isinstance(scalar, bool):
        assert (ea * scalar).dtype.name == str((ta * scalar).dtype).replace("torch.", "")


shape_st = hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4)


@given(shape_st, st.data())
def test_permute_reshape_flip_roll_like_numpy(shape, data):
    a = np.arange(int(np.prod(shape))).reshape(shape)
    x = ember.tensor(a)
    perm = data.draw(st.permutations(range(len(shape))))
    np.testing.assert_array_equal(x.permute(*perm).numpy(), a.transpose(perm))
    np.testing.assert_array_equal(x.reshape(-1, shape[-1]).numpy(), a.reshape(-1, shape[-1]))
    dims = data.draw(st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True))
    np.testing.assert_array_equal(x.flip(dims).numpy(), np.flip(a, dims))
    shift = data.draw(st.integers(-5, 5))
    d = data.draw(st.integers(-len(shape), len(shape) - 1))
    np.testing.assert_array_equal(x.roll(shift, d).numpy(), np.roll(a, shift, d))
    np.testing.assert_array_equal(x.roll(shift).numpy(), np.roll(a, shift))


@given(shape_st, st.data())
def test_repeat_split_squeeze_like_torch(shape, data):
    a = np.arange(int(np.prod(shape))).reshape(shape)
    x, t = ember.tensor(a), torch.tensor(a)
    reps = data.draw(st.lists(st.integers(1, 3), min_size=len(shape), max_size=len(shape) + 1))
    np.testing.assert_array_equal(x.repeat(*reps).numpy(), t.repeat(*reps).numpy())
    d = data.draw(st.integers(0, len(shape) - 1))
    size = data.draw(st.integers(1, 4))
    for e, tt in zip(x.split(size, d), t.split(size, d)):
        np.testing.assert_array_equal(e.numpy(), tt.numpy())
    chunks = data.draw(st.integers(1, 5))
    ec, tc = x.chunk(chunks, d), t.chunk(chunks, d)
    assert len(ec) == len(tc)
    for e, tt in zip(ec, tc):
        np.testing.assert_array_equal(e.numpy(), tt.numpy())
    np.testing.assert_array_equal(x.unsqueeze(d).squeeze().numpy(), t.unsqueeze(d).squeeze()
                                  .numpy())
