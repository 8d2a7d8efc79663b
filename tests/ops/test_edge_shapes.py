"""Parity with PyTorch on edge shapes: empty tensors, size-1 dims and 0-d tensors."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

SHAPES = [(), (0,), (1,), (0, 3), (1, 3), (2, 0, 1), (3, 1)]

UNARY = ["neg", "abs", "exp", "tanh", "sigmoid", "relu", "sin", "floor", "square"]
REDUCE = [("sum", {}), ("sum", {"dim": -1}), ("mean", {"dim": 0, "keepdim": True}),
          ("prod", {}), ("cumsum", {"dim": -1}), ("var", {"dim": -1}),
          ("logsumexp", {"dim": -1})]
SHAPE_OPS = [("flatten", ()), ("unsqueeze", (0,)), ("squeeze", ()), ("flip", ((-1,),)),
             ("repeat", None), ("T", None), ("clone", ())]


def _pair(shape):
    a = np.random.default_rng(len(shape)).standard_normal(shape).astype(np.float32)
    return ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _check(e, t, es, ts):
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert tuple(e.shape) == tuple(t.shape)
    e.sum().backward()
    t.sum().backward()
    np.testing.assert_allclose(es.grad.numpy(), ts.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("op", UNARY)
def test_unary_edge_shapes(op, shape):
    e, t = _pair(shape)
    _check(getattr(e, op)(), getattr(t, op)(), e, t)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("op,kw", REDUCE, ids=[f"{o}{k}" for o, k in REDUCE])
def test_reductions_edge_shapes(op, kw, shape):
    e, t = _pair(shape)
    try:
        tout = getattr(t, op)(**kw)
    except (RuntimeError, IndexError) as ex:
        with pytest.raises((RuntimeError, IndexError, ValueError)):
            getattr(e, op)(**kw)
        return ex
    _check(getattr(e, op)(**kw), tout, e, t)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("op,args", SHAPE_OPS, ids=[o for o, _ in SHAPE_OPS])
def test_shape_ops_edge_shapes(op, args, shape):
    e, t = _pair(shape)
    if op == "repeat":
        args = (2,) * max(len(shape), 1)
    if op == "flip" and not shape:
        args = ((),)
    if op == "T":
        _check(e.T, t.T if len(shape) != 3 else t.permute(2, 1, 0), e, t)
        return
    _check(getattr(e, op)(*args), getattr(t, op)(*args), e, t)


@pytest.mark.parametrize("a,b", [((), (3,)), ((0,), (1,)), ((2, 0, 1), (3,)), ((1, 3), (3, 1)),
                                 ((), ())])
def test_binary_edge_shapes(a, b):
    ea, ta = _pair(a)
    eb, tb = _pair(b)
    for f in (lambda x, y: x * y + x, lambda x, y: x.maximum(y), lambda x, y: x - y / 2):
        for g in (ea, eb, ta, tb):
            g.grad = None
        e, t = f(ea, eb), f(ta, tb)
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-6)
        e.sum().backward()
        t.sum().backward()
        np.testing.assert_allclose(ea.grad.numpy(), ta.grad.numpy(), rtol=1e-6)
        np.testing.assert_allclose(eb.grad.numpy(), tb.grad.numpy(), rtol=1e-6)


def test_matmul_empty_and_vector_cases():
    for sa, sb in [((0, 3), (3, 2)), ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 0)),
                   ((2, 1, 1, 3), (4, 3, 2))]:
        ea, ta = _pair(sa)
        eb, tb = _pair(sb)
        _check(ea @ eb, ta @ tb, ea, ta)


def test_transpose_takes_numpy_forms_besides_pytorch_pairs():
    x = ember.arange(24).reshape(2, 3, 4)
    assert tuple(x.transpose().shape) == (4, 3, 2)
    assert np.array_equal(x.transpose((2, 0, 1)).numpy(), x.numpy().transpose((2, 0, 1)))
    assert np.array_equal(x.transpose(2, 0, 1).numpy(), x.numpy().transpose(2, 0, 1))
    assert tuple(x.transpose(0, 2).shape) == (4, 3, 2)  # two dims: PyTorch's swap
    assert tuple(ember.transpose(x, dim0=0, dim1=1).shape) == (3, 2, 4)
    with pytest.raises(Exception, match="one dim"):
        x.transpose(1)
