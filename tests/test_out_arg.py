"""PyTorch's out= keyword on ember's top-level functions (ember/out_arg.py)."""
import warnings

import numpy as np
import pytest

import ember
from ember.out_arg import OUT_NAMES


def test_out_is_written_in_place_and_returned():
    a = ember.tensor([[1., 2.], [3., 4.]])
    out = ember.empty(2, 2)
    keep = out  # the same object, the same storage
    r = ember.matmul(a, a.T, out=out)
    assert r is keep
    np.testing.assert_array_equal(out.numpy(), (a @ a.T).numpy())
    view = ember.zeros(4)
    ember.mul(ember.ones(4), 3.0, out=view)
    assert view.tolist() == [3.0] * 4


def test_out_casts_within_kind_and_refuses_narrowing_kind():
    o64 = ember.zeros(2, dtype=ember.float64)
    ember.add(ember.ones(2), 0.5, out=o64)
    assert o64.dtype == ember.float64 and o64.tolist() == [1.5, 1.5]
    oi = ember.zeros(2, dtype=ember.int64)
    with pytest.raises(RuntimeError, match=r"add\(\): result type ember.float32 can't be cast "
                                           r"to the desired output type ember.int64"):
        ember.add(ember.ones(2), 1, out=oi)
    of = ember.zeros(2)
    ember.add(ember.tensor([1, 2]), 1, out=of)  # integer into float is allowed
    assert of.tolist() == [2.0, 3.0]


def test_out_resizes_with_a_warning_unless_empty():
    o = ember.ones(3)
    with pytest.warns(UserWarning, match=r"cat\(\): an output with one or more elements was "
                                         r"resized since it had shape \[3\]"):
        ember.cat([ember.ones(2), ember.zeros(2)], out=o)
    assert o.tolist() == [1.0, 1.0, 0.0, 0.0]
    e = ember.empty(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ember.stack([ember.ones(2), ember.zeros(2)], out=e)
    assert e.shape == (2, 2)


def test_tuple_outputs():
    x = ember.tensor([[1., 5.], [7., 2.]])
    v, i = ember.empty(0), ember.empty(0, dtype=ember.int64)
    r = ember.max(x, 1, out=(v, i))
    assert v.tolist() == [5.0, 7.0] and i.tolist() == [1, 0]
    assert r[0] is v and r[1] is i
    sv, si = ember.empty(0), ember.empty(0, dtype=ember.int64)
    ember.sort(x, 1, out=(sv, si))
    assert sv.tolist() == [[1.0, 5.0], [2.0, 7.0]]
    with pytest.raises(TypeError, match="tuple of 2 tensors"):
        ember.max(x, 1, out=v)


def test_out_with_grad_is_an_error_as_in_pytorch():
    x = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="mul\\(\\): functions with out=... arguments don't "
                                           "support automatic differentiation"):
        ember.mul(x, 2, out=ember.empty(2))
    with ember.no_grad():
        o = ember.empty(2)
        ember.mul(x, 2, out=o)
    assert o.tolist() == [2.0, 2.0] and not o.requires_grad


def test_out_under_a_transform_is_an_error():
    o = ember.zeros(2)
    with pytest.raises(RuntimeError, match="not supported under a transform"):
        ember.jit(lambda x: ember.exp(x, out=o))(ember.ones(2))


def test_out_bumps_the_version_so_saved_tensors_notice():
    w = ember.ones(2, requires_grad=True)
    buf = ember.ones(2)
    y = (w * buf).sum()  # buf is saved for the backward of mul
    ember.exp(ember.zeros(2), out=buf)
    with pytest.raises(RuntimeError, match="modified by an inplace operation|version"):
        y.backward()


def test_every_listed_name_that_ember_has_takes_out():
    import inspect
    for n in OUT_NAMES:
        fn = getattr(ember, n, None)
        if fn is None:
            continue
        code = getattr(fn, "__code__", None)
        names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount] if code else ()
        assert "out" in names or "out" in inspect.signature(fn).parameters, n


def test_parity_with_torch_for_a_few_functions():
    torch = pytest.importorskip("torch")
    a = np.arange(6, dtype=np.float32).reshape(2, 3) / 7
    cases = [("exp", (a,), {}), ("cumsum", (a, 1), {}), ("clamp", (a,), {"min": 0.2}),
             ("where", (a > 0.3, a, -a), {}), ("linspace", (0, 1, 5), {}),
             ("addcmul", (a, a, a), {"value": 0.5}), ("cross", (a[:, :3], a[:, :3] + 1), {})]
    for name, args, kw in cases:
        eo = ember.empty(0)
        to = torch.empty(0)
        getattr(ember, name)(*[ember.tensor(x) if isinstance(x, np.ndarray) else x
                               for x in args], out=eo, **kw)
        getattr(torch, name)(*[torch.tensor(x) if isinstance(x, np.ndarray) else x
                               for x in args], out=to, **kw)
        np.testing.assert_allclose(eo.numpy(), to.numpy(), rtol=1e-6, err_msg=name)


def test_cross_default_dim_is_the_first_of_size_3_and_ger_is_outer():
    a = ember.tensor(np.arange(9.0).reshape(3, 3))
    b = ember.ones(3, 3)
    assert ember.cross(a, b).tolist() == ember.linalg.cross(a, b, dim=0).tolist()
    with pytest.raises(RuntimeError, match="no dimension of size 3"):
        ember.cross(ember.ones(2, 2), ember.ones(2, 2))
    assert ember.ger(ember.ones(2), ember.ones(3)).shape == (2, 3)
