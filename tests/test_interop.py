"""ember.interop: a PyTorch CNN's weights in Flax's layout drive a hand-written JAX forward that
equals PyTorch's, and the way back restores the state_dict exactly."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402


def _torch_cnn():
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Conv2d(3, 6, 3, padding=1), torch.nn.BatchNorm2d(6),
                            torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                            torch.nn.Linear(6 * 4 * 4, 10))
    with torch.no_grad():  # running statistics that are not the defaults
        m[1].running_mean.uniform_(-0.5, 0.5)
        m[1].running_var.uniform_(0.5, 2.0)
    return m.eval()


def _jax_forward(v, x_nhwc):
    p, s = v["params"], v["batch_stats"]
    y = jax.lax.conv_general_dilated(x_nhwc, p["0"]["kernel"], (1, 1), ((1, 1), (1, 1)),
                                     dimension_numbers=("NHWC", "HWIO", "NHWC")) + p["0"]["bias"]
    y = (y - s["1"]["mean"]) / jnp.sqrt(s["1"]["var"] + 1e-5) * p["1"]["scale"] + p["1"]["bias"]
    y = jnp.maximum(y, 0)
    y = jax.lax.reduce_window(y, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    y = jnp.transpose(y, (0, 3, 1, 2)).reshape(y.shape[0], -1)  # PyTorch's flatten order
    return y @ p["5"]["kernel"] + p["5"]["bias"]


@pytest.mark.parametrize("with_model", [False, True])
def test_torch_to_flax_drives_a_jax_forward_and_comes_back(with_model):
    m = _torch_cnn()
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
    variables = ember.interop.torch_to_flax(m.state_dict(), model=m if with_model else None)
    assert variables["params"]["0"]["kernel"].shape == (3, 3, 3, 6)
    assert variables["params"]["5"]["kernel"].shape == (96, 10)
    got = _jax_forward(variables, jnp.asarray(x.transpose(0, 2, 3, 1)))
    want = m(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-5)
    back = ember.interop.flax_to_torch(variables, model=m if with_model else None)
    sd = m.state_dict()
    assert set(back) == set(sd)
    for k, v in sd.items():
        if k.endswith("num_batches_tracked"):
            assert back[k] == 0
        else:
            np.testing.assert_array_equal(back[k], v.numpy(), err_msg=k)
    if with_model:
        assert list(back) == list(sd)


def test_ember_model_loads_weights_that_went_through_flax():
    m = _torch_cnn()
    e = ember.nn.Sequential(ember.nn.Conv2d(3, 6, 3, padding=1), ember.nn.BatchNorm2d(6),
                            ember.nn.ReLU(), ember.nn.MaxPool2d(2), ember.nn.Flatten(),
                            ember.nn.Linear(96, 10)).eval()
    back = ember.interop.flax_to_torch(ember.interop.torch_to_flax(m.state_dict()), model=e)
    back["1.num_batches_tracked"] = np.asarray(m[1].num_batches_tracked)
    e.load_state_dict({k: ember.tensor(v) for k, v in back.items()})
    x = np.random.default_rng(1).standard_normal((2, 3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(e(ember.tensor(x)).detach().numpy(),
                               m(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)


def test_embeddings_and_layer_norm_take_flax_names():
    sd = {"embed.weight": np.ones((5, 3)), "ln.weight": np.ones(3), "ln.bias": np.zeros(3)}
    p = ember.interop.torch_to_flax(sd)["params"]
    assert p["embed"]["embedding"].shape == (5, 3) and set(p["ln"]) == {"scale", "bias"}


def test_dlpack_shares_memory_with_torch_both_ways():
    e = ember.zeros(3)
    t = torch.from_dlpack(e)
    t[0] = 7.0
    assert e[0].item() == 7.0
    t2 = torch.zeros(2)
    e2 = ember.from_dlpack(t2)
    t2[1] = 3.0
    assert e2[1].item() == 3.0
