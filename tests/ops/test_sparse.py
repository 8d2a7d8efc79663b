"""Sparse COO tensors: construction, coalescing, products with dense tensors and their
gradients (against dense references and PyTorch), and the clear error elsewhere."""
import numpy as np
import pytest

import ember
from ember.core.exceptions import OpError


def _coo():
    return ember.sparse_coo_tensor([[0, 1, 1, 0], [2, 0, 2, 2]], [3., 4., 5., 1.], (2, 3))


def test_construction_dense_form_and_coalesce():
    s = _coo()
    assert s.is_sparse and s.layout is ember.sparse_coo and not ember.ones(1).is_sparse
    assert s.shape == (2, 3) and s.dtype == ember.float32 and s._nnz() == 4
    np.testing.assert_array_equal(s.to_dense().numpy(), [[0, 0, 4], [4, 0, 5]])
    with pytest.raises(OpError, match="not coalesced"):
        s.indices()
    c = s.coalesce()
    assert c.is_coalesced() and c._nnz() == 3
    np.testing.assert_array_equal(c.indices().numpy(), [[0, 1, 1], [2, 0, 2]])
    np.testing.assert_array_equal(c.values().numpy(), [4, 4, 5])
    inferred = ember.sparse_coo_tensor([[0, 3]], [1., 2.])
    assert ember.sparse_coo_tensor([[0, 3]], [1, 2]).dtype == ember.int64  # as torch.tensor
    assert inferred.shape == (4,)
    d = ember.tensor([[0., 2.], [3., 0.]])
    sp = d.to_sparse()
    assert sp.is_coalesced() and sp.values().tolist() == [2., 3.]
    np.testing.assert_array_equal(sp.to_dense().numpy(), d.numpy())


def test_products_either_side_and_addition():
    s, sd = _coo(), _coo().to_dense().numpy()
    m = np.arange(12, dtype=np.float32).reshape(3, 4)
    for out in (s @ ember.tensor(m), ember.mm(s, ember.tensor(m)), ember.spmm(s, ember.tensor(m)),
                ember.sparse.mm(s, ember.tensor(m)), ember.matmul(s, ember.tensor(m))):
        np.testing.assert_allclose(out.numpy(), sd @ m)
    left = np.arange(4, dtype=np.float32).reshape(2, 2)
    np.testing.assert_allclose((ember.tensor(left) @ s).numpy(), left @ sd)
    np.testing.assert_allclose(ember.mm(ember.tensor(left), s).numpy(), left @ sd)
    np.testing.assert_allclose((s @ ember.ones(3)).numpy(), sd.sum(1))
    np.testing.assert_allclose((ember.eye(2, 3) + s).numpy(), np.eye(2, 3) + sd)
    np.testing.assert_allclose((s + ember.eye(2, 3)).numpy(), np.eye(2, 3) + sd)
    both = s + s
    assert both.is_sparse
    np.testing.assert_allclose(both.to_dense().numpy(), 2 * sd)
    np.testing.assert_allclose((s * 2).to_dense().numpy(), 2 * sd)
    np.testing.assert_allclose((s * ember.full((2, 3), 3.)).to_dense().numpy(), 3 * sd)
    np.testing.assert_allclose((s / 2).to_dense().numpy(), sd / 2)
    np.testing.assert_allclose(s.t().to_dense().numpy(), sd.T)
    assert s.sum().item() == sd.sum()
    ints = ember.sparse_coo_tensor([[0, 1], [1, 0]], ember.ones(2), (2, 2), dtype=ember.int64)
    assert ints.dtype == ember.int64
    np.testing.assert_array_equal((ember.eye(2) + ints).numpy(), [[1, 1], [1, 1]])


def test_gradients_flow_to_values_and_dense_operands():
    w = ember.randn(3, 4, requires_grad=True)
    s = ember.sparse_coo_tensor([[0, 1, 1], [2, 0, 2]], [3., 4., 5.], (2, 3),
                                requires_grad=True)
    loss = (ember.spmm(s, w) ** 2).sum()
    loss.backward()
    sd = ember.tensor(s.to_dense().detach().numpy(), requires_grad=True)
    w2 = ember.tensor(w.detach().numpy(), requires_grad=True)
    ((sd @ w2) ** 2).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), w2.grad.numpy(), rtol=1e-5)
    assert s.grad.is_sparse
    np.testing.assert_allclose(s.grad.to_dense().numpy(),
                               sd.grad.numpy() * (s.to_dense().detach().numpy() != 0), rtol=1e-5)
    x = ember.tensor([[0., 2.], [3., 0.]], requires_grad=True)
    (x.to_sparse() @ ember.ones(2, 2)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 2], [2, 0]])


def test_matches_pytorch():
    torch = pytest.importorskip("torch")
    idx = [[0, 1, 1, 2, 0], [2, 0, 2, 1, 2]]
    vals = [3., 4., 5., -1., 1.]
    m = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    ts = torch.sparse_coo_tensor(idx, vals, (3, 3))
    es = ember.sparse_coo_tensor(idx, vals, (3, 3))
    tw, ew = torch.tensor(m, requires_grad=True), ember.tensor(m, requires_grad=True)
    torch.sparse.mm(ts, tw).tanh().sum().backward()
    ember.sparse.mm(es, ew).tanh().sum().backward()
    np.testing.assert_allclose(ew.grad.numpy(), tw.grad.numpy(), rtol=1e-5, atol=1e-6)
    tc, ec = ts.coalesce(), es.coalesce()
    np.testing.assert_array_equal(ec.indices().numpy(), tc.indices().numpy())
    np.testing.assert_allclose(ec.values().numpy(), tc.values().numpy())
    np.testing.assert_allclose((torch.eye(3) + ts).numpy(), (ember.eye(3) + es).numpy())


def test_errors_name_the_operation_and_the_fix():
    s = _coo()
    with pytest.raises(OpError, match=r"does not support sparse COO .*to_dense\(\)"):
        ember.exp(s)
    with pytest.raises(OpError, match="don't line up"):
        s @ ember.ones(2, 2)
    with pytest.raises(OpError, match="out of bounds for size"):
        ember.sparse_coo_tensor([[0, 5]], [1., 2.], (3,))
    with pytest.raises(OpError, match="2 indices but 3 values"):
        ember.sparse_coo_tensor([[0, 1]], [1., 2., 3.])
    with pytest.raises(OpError, match="hybrid"):
        ember.sparse_coo_tensor([[0, 1]], ember.ones(2, 2))
    with pytest.raises(OpError, match="over dims of a sparse tensor"):
        s.sum(1)


def test_legacy_constructor_sizes_and_size_keyword():
    assert ember.Tensor(2, 3).shape == (2, 3) and ember.Tensor(5).shape == (5,)
    assert ember.Tensor([5]).tolist() == [5.0] and ember.Tensor().shape == (0,)
    assert ember.Tensor(ember.Size([2, 1])).shape == (2, 1)
    assert ember.Tensor([1, 2], ember.float64).dtype == ember.float64
    for f in (ember.empty, ember.zeros, ember.ones, ember.rand, ember.randn):
        assert f(size=(2, 3)).shape == (2, 3)
    with pytest.raises(TypeError, match="unexpected keyword argument 'sized'"):
        ember.zeros(sized=(2,))
    with pytest.raises(OpError, match="layout ember.sparse_coo is not supported"):
        ember.zeros(2, layout=ember.sparse_coo)
