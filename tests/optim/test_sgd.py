import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("kw", [dict(), dict(momentum=0.9), dict(momentum=0.9, nesterov=True),
                                dict(momentum=0.5, dampening=0.1, weight_decay=0.01)])
def test_sgd_trajectory_matches_torch(kw):
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((4, 3)).astype(np.float32)
    pe = ember.nn.Parameter(ember.tensor(w0))
    pt = torch.nn.Parameter(torch.tensor(w0))
    oe = ember.optim.SGD([pe], lr=0.1, **kw)
    ot = torch.optim.SGD([pt], lr=0.1, **kw)
    for _ in range(20):
        g = rng.standard_normal((4, 3)).astype(np.float32)
        pe.grad = ember.tensor(g)
        pt.grad = torch.tensor(g)
        oe.step()
        ot.step()
    np.testing.assert_allclose(pe.detach().numpy(), pt.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_sgd_rejects_bad_arguments():
    p = ember.nn.Parameter(ember.zeros(2))
    with pytest.raises(ValueError, match="lr"):
        ember.optim.SGD([p], lr=-1)
    with pytest.raises(ValueError, match="Nesterov momentum requires"):
        ember.optim.SGD([p], lr=0.1, nesterov=True)
