"""register_forward_hook / register_forward_pre_hook with PyTorch's keyword options
(``prepend``, ``with_kwargs``), against PyTorch's behaviour."""
import pytest

import ember

torch = pytest.importorskip("torch")


def _script(m):
    nn = m.nn
    lin = nn.Linear(3, 2)
    order = []
    lin.register_forward_hook(lambda mod, a, o: order.append("a"))
    lin.register_forward_hook(lambda mod, a, o: order.append("b"), prepend=True)
    lin.register_forward_hook(lambda mod, a, k, o: order.append(("kw", sorted(k))),
                              with_kwargs=True)
    lin.register_forward_pre_hook(lambda mod, a: order.append("pre"), prepend=True)
    lin(m.ones(1, 3))

    class Scale(nn.Module):
        def forward(self, x, scale=1.0):
            return x * scale
    s = Scale()
    h = s.register_forward_pre_hook(lambda mod, a, k: (a, {**k, "scale": 3.0}),
                                    with_kwargs=True)
    first = s(m.ones(2)).tolist()
    h.remove()
    return order, first, s(m.ones(2), scale=2.0).tolist()


def test_forward_hook_options_as_pytorch():
    assert _script(ember) == _script(torch)


def test_bad_kwargs_pre_hook_return_is_named():
    lin = ember.nn.Linear(3, 2)
    lin.register_forward_pre_hook(lambda mod, a, k: a, with_kwargs=True)
    with pytest.raises(RuntimeError, match="with_kwargs=True must return"):
        lin(ember.ones(1, 3))
