"""Random numbers on the strict device: keys made under ``with ember.device("strict")`` live
there (JAX's default-device rule), every keyed draw stays there eagerly, under jit and under
vmap, and gives the CPU's bits; dropout's mask (from the host generator) moves to its
input's device."""
import numpy as np
import pytest

import ember

K = ember.random


DRAWS = [
    ("normal", lambda k: K.normal(k, (5,))),
    ("uniform", lambda k: K.uniform(k, (2, 3), minval=-1.0, maxval=2.0)),
    ("randint", lambda k: K.randint(k, (6,), 0, 9)),
    ("bernoulli", lambda k: K.bernoulli(k, 0.3, (7,))),
    ("permutation", lambda k: K.permutation(k, 6)),
    ("truncated_normal", lambda k: K.truncated_normal(k, -1.0, 1.0, (5,))),
    ("split_fold_in", lambda k: K.uniform(K.fold_in(K.split(k)[1], 3), (3,))),
]


@pytest.mark.parametrize("draw", [d[1] for d in DRAWS], ids=[d[0] for d in DRAWS])
@pytest.mark.parametrize("how", ["eager", "jit", "vmap"])
def test_keyed_draws_on_strict_give_cpu_bits(draw, how):
    def run(device):
        with ember.device(device):
            key = K.key(42)
            assert key.device.type == device
            if how == "jit":
                out = ember.jit(draw)(key)
            elif how == "vmap":
                out = ember.vmap(draw)(K.split(key, 3))
            else:
                out = draw(key)
        assert out.device.type == device
        return out.cpu().numpy()
    np.testing.assert_array_equal(run("strict"), run("cpu"))


def test_dropout_on_a_strict_tensor_uses_the_generator_stream_and_stays_there():
    def run(device):
        ember.manual_seed(3)
        x = ember.ones(4, 5, device=device, requires_grad=True)
        y = ember.nn.functional.dropout(x, 0.4)
        y.sum().backward()
        assert y.device.type == device and x.grad.device.type == device
        return y.detach().cpu().numpy(), x.grad.cpu().numpy()
    for a, b in zip(run("cpu"), run("strict")):
        np.testing.assert_array_equal(b, a)
