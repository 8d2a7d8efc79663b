"""SGD's state_dict reads as PyTorch's (the "what is a state_dict" recipe prints it): the
group's keys, defaults and their types, and a state of momentum buffers alone."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _sd(m, **kw):
    w = m.nn.Parameter(m.ones(3))
    opt = m.optim.SGD([w], lr=0.001, **kw)
    (w * m.tensor([1.0, 2.0, 3.0])).sum().backward()
    opt.step()
    return opt.state_dict(), w


@pytest.mark.parametrize("kw", [{}, {"momentum": 0.9}, {"momentum": 0.9, "nesterov": True},
                                {"weight_decay": 0.1, "dampening": 0.5, "momentum": 0.5}])
def test_state_dict_as_pytorch(kw):
    (se, we), (st, wt) = _sd(ember, **kw), _sd(torch, **kw)
    assert se["param_groups"] == st["param_groups"]
    assert [list(map(type, g.values())) for g in se["param_groups"]] == \
        [list(map(type, g.values())) for g in st["param_groups"]]
    assert list(se["state"]) == list(st["state"])
    for i in st["state"]:
        assert sorted(se["state"][i]) == sorted(st["state"][i])
    np.testing.assert_allclose(we.detach().numpy(), wt.detach().numpy(), rtol=1e-6)


def test_momentum_resumes_from_the_state_dict():
    sd, w = _sd(ember, momentum=0.9)
    w2 = ember.nn.Parameter(w.detach().clone())
    opt2 = ember.optim.SGD([w2], lr=0.001, momentum=0.9)
    opt2.load_state_dict(sd)
    w3 = ember.nn.Parameter(w.detach().clone())
    opt3 = ember.optim.SGD([w3], lr=0.001, momentum=0.9)
    for p, o in ((w2, opt2), (w3, opt3)):
        (p * ember.tensor([1.0, 2.0, 3.0])).sum().backward()
        o.step()
    assert not np.allclose(w2.detach().numpy(), w3.detach().numpy())  # the buffer carried on
