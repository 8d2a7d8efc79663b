"""Memory formats (torch.channels_last & co.): layouts, strides and values against PyTorch."""
import pickle

import numpy as np
import pytest

import ember
import ember.nn as nn

try:
    import torch
except ImportError:  # the parity checks below skip
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")


@needs_torch
@pytest.mark.parametrize("shape,name", [((2, 3, 4, 5), "channels_last"),
                                        ((2, 3, 2, 4, 5), "channels_last_3d"),
                                        ((2, 1, 4, 5), "channels_last"),
                                        ((2, 3, 1, 1), "channels_last")])
def test_layout_strides_and_checks_match_torch(shape, name):
    a = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    t = torch.tensor(a).to(memory_format=getattr(torch, name))
    e = ember.tensor(a).to(memory_format=getattr(ember, name))
    assert e.stride() == t.stride()
    np.testing.assert_array_equal(e.numpy(), a)
    for fmt in ("contiguous_format", "channels_last", "channels_last_3d"):
        if fmt != "contiguous_format" and len(shape) != {"channels_last": 4,
                                                        "channels_last_3d": 5}[fmt]:
            continue
        assert e.is_contiguous(memory_format=getattr(ember, fmt)) == \
            t.is_contiguous(memory_format=getattr(torch, fmt)), fmt
    back = e.contiguous()
    assert back.is_contiguous() and back.stride() == t.contiguous().stride()
    assert e.contiguous(memory_format=getattr(ember, name)) is e  # already so: itself


@needs_torch
def test_like_functions_preserve_a_channels_last_layout():
    e = ember.zeros(2, 3, 4, 5).to(memory_format=ember.channels_last)
    t = torch.zeros(2, 3, 4, 5).to(memory_format=torch.channels_last)
    for fn in ("zeros_like", "ones_like", "empty_like", "rand_like", "randn_like"):
        assert getattr(ember, fn)(e).stride() == getattr(torch, fn)(t).stride(), fn
    assert ember.full_like(e, 2.0).stride() == torch.full_like(t, 2.0).stride()
    assert ember.zeros_like(e, memory_format=ember.contiguous_format).stride() == \
        torch.zeros_like(t, memory_format=torch.contiguous_format).stride()
    assert ember.clone(e, memory_format=ember.contiguous_format).is_contiguous()
    assert e.clone().stride() == t.clone().stride()  # preserve_format
    assert e.float(memory_format=ember.contiguous_format).is_contiguous()
    assert ember.rand_like(e, requires_grad=True).requires_grad


def test_contiguous_copies_a_transposed_view_and_gradients_flow():
    x = ember.arange(6.0).reshape(2, 3).requires_grad_()
    y = x.t()
    assert not y.is_contiguous()
    z = y.contiguous()
    assert z.is_contiguous() and z.stride() == (2, 1)
    (z * ember.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 3, 5], [2, 4, 6]])


def test_channels_last_model_gives_the_same_values_eager_and_jit():
    ember.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                      nn.MaxPool2d(2), nn.Conv2d(8, 4, 3), nn.Flatten())
    x = ember.randn(2, 3, 10, 10)
    ref = m(x).detach().numpy()
    same = m.to(memory_format=ember.channels_last)
    assert same is m and m[0].weight.is_contiguous(memory_format=ember.channels_last)
    assert m[1].weight.is_contiguous()  # 1-D: unchanged
    xc = x.to(memory_format=ember.channels_last)
    out = m(xc)
    np.testing.assert_array_equal(out.detach().numpy(), ref)
    out.sum().backward()
    assert m[0].weight.grad.shape == (8, 3, 3, 3)
    params = {k: v.detach() for k, v in m.named_parameters()}
    f = ember.jit(lambda p, v: ember.func.functional_call(m, p, (v,)))
    np.testing.assert_allclose(f(params, xc).numpy(), ref, rtol=1e-6, atol=1e-6)


def test_bad_memory_formats_are_refused_with_the_operation_named():
    with pytest.raises(RuntimeError, match=r"to: memory_format=ember.channels_last needs a 4-D"):
        ember.ones(2, 3).to(memory_format=ember.channels_last)
    with pytest.raises(TypeError, match="contiguous: memory_format must be one of"):
        ember.ones(2, 3).contiguous(memory_format="channels_last")
    with pytest.raises(TypeError, match="Module.to: memory_format must be one of"):
        nn.Linear(2, 2).to(memory_format=3)


def test_memory_formats_pickle_as_themselves_and_print_their_name():
    for name in ("contiguous_format", "channels_last", "channels_last_3d", "preserve_format"):
        f = getattr(ember, name)
        assert isinstance(f, ember.memory_format)
        assert pickle.loads(pickle.dumps(f)) is f
        assert repr(f) == f"ember.{name}"
