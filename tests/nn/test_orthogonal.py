"""nn.utils.parametrizations.orthogonal and the Householder functions under it, vs PyTorch."""
import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.nn.utils import parametrizations as P

torch = pytest.importorskip("torch")
rng = np.random.default_rng(0)


@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 3)])
@pytest.mark.parametrize("omap", [None, "matrix_exp", "cayley", "householder"])
@pytest.mark.parametrize("triv", [True, False])
def test_orthogonal_matches_torch_and_stays_orthogonal(shape, omap, triv):
    w = rng.standard_normal(shape).astype(np.float32)
    tm = torch.nn.Linear(shape[1], shape[0])
    with torch.no_grad():
        tm.weight.copy_(torch.tensor(w))
    torch.nn.utils.parametrizations.orthogonal(tm, orthogonal_map=omap, use_trivialization=triv)
    m = nn.Linear(shape[1], shape[0])
    m.weight.data = ember.tensor(w)
    m.bias.data = ember.tensor(tm.bias.detach().numpy())
    P.orthogonal(m, orthogonal_map=omap, use_trivialization=triv)
    np.testing.assert_allclose(m.weight.detach().numpy(), tm.weight.detach().numpy(),
                               atol=2e-6)
    assert sorted(m.state_dict()) == sorted(tm.state_dict())
    if triv and shape[0] != shape[1]:  # the base's completion columns are random draws: torch's
        m.parametrizations.weight[0].base = ember.tensor(
            tm.parametrizations.weight[0].base.numpy())
    x = rng.standard_normal((2, shape[1])).astype(np.float32)
    tm(torch.tensor(x)).pow(2).sum().backward()
    m(ember.tensor(x)).pow(2).sum().backward()
    np.testing.assert_allclose(m.parametrizations.weight.original.grad.numpy(),
                               tm.parametrizations.weight.original.grad.numpy(), rtol=1e-4,
                               atol=1e-4)
    opt = ember.optim.SGD(m.parameters(), lr=0.1)
    opt.step()
    W = m.weight.detach().numpy()
    G = W @ W.T if shape[0] <= shape[1] else W.T @ W
    np.testing.assert_allclose(G, np.eye(min(shape)), atol=1e-5)


def test_orthogonal_assignment_and_errors():
    m = P.orthogonal(nn.Linear(3, 3))
    q = np.linalg.qr(rng.standard_normal((3, 3)))[0].astype(np.float32)
    m.weight = ember.tensor(q)  # through right_inverse: the new base
    np.testing.assert_allclose(m.weight.detach().numpy(), q, atol=1e-6)
    m2 = P.orthogonal(nn.Linear(3, 3), orthogonal_map="cayley", use_trivialization=False)
    with pytest.raises(NotImplementedError, match="needs use_trivialization=True"):
        m2.weight = ember.tensor(q)
    with pytest.raises(ValueError, match="orthogonal: expected a matrix or a batch"):
        P.orthogonal(nn.Linear(3, 3), "bias")
    with pytest.raises(ValueError, match="orthogonal_map must be"):
        P.orthogonal(nn.Linear(3, 3), orthogonal_map="qr")


@pytest.mark.parametrize("shape", [(5, 3), (4, 4), (2, 6, 4)])
def test_geqrf_householder_product_and_ormqr_match_torch(shape):
    a = rng.standard_normal(shape)
    ea, etau = ember.geqrf(ember.tensor(a))
    ta, ttau = torch.geqrf(torch.tensor(a))
    np.testing.assert_allclose(ea.numpy(), ta.numpy(), atol=1e-12)
    np.testing.assert_allclose(etau.numpy(), ttau.numpy(), atol=1e-12)
    e, t = ember.tensor(ea.numpy()).requires_grad_(), torch.tensor(ta.numpy()).requires_grad_()
    Q = ember.linalg.householder_product(e, etau)
    tQ = torch.linalg.householder_product(t, ttau)
    np.testing.assert_allclose(Q.detach().numpy(), tQ.detach().numpy(), atol=1e-12)
    w = rng.standard_normal(tuple(tQ.shape))
    (Q * ember.tensor(w)).sum().backward()
    (tQ * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), atol=1e-10)
    c = rng.standard_normal(shape[:-2] + (shape[-2], 2))
    for transpose in (False, True):
        np.testing.assert_allclose(
            ember.ormqr(ea, etau, ember.tensor(c), transpose=transpose).numpy(),
            torch.ormqr(ta, ttau, torch.tensor(c), transpose=transpose).numpy(), atol=1e-12)
    np.testing.assert_allclose(ember.orgqr(ea, etau).numpy(), tQ.detach().numpy(), atol=1e-12)
