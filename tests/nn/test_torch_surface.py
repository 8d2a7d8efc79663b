"""What a PyTorch script sees of ember.nn besides the numbers: module printouts equal to
torch's, the implicit softmax dim, and the legacy tensor types."""
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

MODULES = [
    ("Linear", (3, 4), {}), ("Bilinear", (2, 3, 4), {"bias": False}),
    ("Conv2d", (2, 3, 3), {"stride": 2, "bias": False}), ("ConvTranspose1d", (2, 3, 3), {}),
    ("MaxPool2d", (3,), {"stride": 1, "padding": 1, "ceil_mode": True}), ("MaxPool1d", (2,), {}),
    ("AvgPool1d", (2,), {}), ("AvgPool2d", (2,), {}), ("AdaptiveAvgPool2d", ((1, 1),), {}),
    ("BatchNorm1d", (3,), {}), ("BatchNorm2d", (3,), {"affine": False}),
    ("BatchNorm2d", (3,), {"bias": False}), ("LayerNorm", (3,), {"bias": False}),
    ("GroupNorm", (1, 3), {}), ("GroupNorm", (1, 3), {"bias": False}),
    ("Dropout", (0.5,), {"inplace": True}), ("Embedding", (10, 3), {}),
    ("RNN", (3, 4), {"nonlinearity": "relu", "bias": False, "dropout": 0.5, "num_layers": 2}),
    ("LSTM", (3, 4), {"num_layers": 2, "batch_first": True}), ("GRU", (3, 4),
                                                               {"bidirectional": True}),
    ("ReLU", (), {"inplace": True}), ("ReLU", (), {}), ("GELU", (), {"approximate": "tanh"}),
    ("ELU", (0.5,), {"inplace": True}), ("LeakyReLU", (0.1,), {}), ("Softmax", (1,), {}),
    ("Flatten", (), {}), ("Unflatten", (1, (2, 2)), {}), ("MultiheadAttention", (4, 2), {}),
    ("TransformerEncoderLayer", (8, 2), {"dim_feedforward": 16}),
]


@pytest.mark.parametrize("name,args,kw", MODULES,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(MODULES)])
def test_module_repr_equals_torch(name, args, kw):
    assert repr(getattr(ember.nn, name)(*args, **kw)) == repr(getattr(torch.nn, name)(*args, **kw))


def test_norm_layers_without_bias_have_no_bias_parameter():
    for name, args in (("BatchNorm2d", (3,)), ("GroupNorm", (1, 3))):
        e, t = getattr(ember.nn, name)(*args, bias=False), getattr(torch.nn, name)(*args,
                                                                                  bias=False)
        assert list(e.state_dict()) == list(t.state_dict()) and e.bias is None
        x = np.random.default_rng(0).standard_normal((2, 3, 4, 4)).astype(np.float32)
        np.testing.assert_allclose(e(ember.tensor(x)).detach().numpy(),
                                   t(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("ndim", [1, 2, 3, 4])
def test_softmax_without_dim_takes_torchs_implicit_dim_and_warns(ndim):
    x = np.random.default_rng(ndim).standard_normal((2, 3, 4, 5)[:ndim]).astype(np.float32)
    for name in ("softmax", "log_softmax"):
        with pytest.warns(UserWarning, match=f"Implicit dimension choice for {name}"):
            got = getattr(ember.nn.functional, name)(ember.tensor(x))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = getattr(torch.nn.functional, name)(torch.tensor(x))
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        got = ember.nn.Softmax()(ember.tensor(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(got.numpy(), torch.nn.Softmax()(torch.tensor(x)).numpy(),
                                   rtol=1e-5, atol=1e-6)


def test_legacy_tensor_types():
    assert ember.LongTensor([1, 2]).dtype == ember.int64
    assert ember.FloatTensor(2, 3).shape == (2, 3) and ember.FloatTensor().shape == (0,)
    assert ember.DoubleTensor(ember.Size([2, 2])).dtype == ember.float64
    x = ember.ones(2)
    assert isinstance(x, ember.FloatTensor) and not isinstance(x, ember.LongTensor)
    assert x.type() == "ember.FloatTensor"
    assert x.type(ember.LongTensor).dtype == ember.int64
    assert x.type("torch.DoubleTensor").dtype == ember.float64
    with pytest.raises(TypeError, match="FloatTensor\\(\\): expected a sequence"):
        ember.FloatTensor("a", 2)
