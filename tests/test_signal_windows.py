"""ember.signal.windows against torch.signal.windows."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

CASES = [("hann", {}), ("hamming", {}), ("blackman", {}), ("nuttall", {}), ("bartlett", {}),
         ("cosine", {}), ("gaussian", {"std": 0.7}), ("kaiser", {"beta": 5.0}),
         ("exponential", {"tau": 2.0}), ("general_hamming", {"alpha": 0.6}),
         ("general_cosine", {"a": [0.5, 0.3, 0.2]})]


@pytest.mark.parametrize("name,kw", CASES)
@pytest.mark.parametrize("M", [0, 1, 2, 7, 10])
@pytest.mark.parametrize("sym", [True, False])
def test_windows_match_torch(name, kw, M, sym):
    e = getattr(ember.signal.windows, name)(M, sym=sym, **kw)
    t = getattr(torch.signal.windows, name)(M, sym=sym, **kw)
    assert e.dtype == ember.float32 and tuple(e.shape) == tuple(t.shape)
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6, atol=1e-6)


def test_window_options_and_errors():
    w = ember.signal.windows.exponential(6, center=1.0, sym=False, dtype=ember.float64,
                                         requires_grad=True)
    t = torch.signal.windows.exponential(6, center=1.0, sym=False, dtype=torch.float64)
    assert w.requires_grad and w.dtype == ember.float64
    np.testing.assert_allclose(w.detach().numpy(), t.numpy())
    with pytest.raises(ValueError, match="signal.windows.hann: M must be a non-negative"):
        ember.signal.windows.hann(-1)
    with pytest.raises(ValueError, match="center is for periodic windows only"):
        ember.signal.windows.exponential(5, center=1.0)
    with pytest.raises(ValueError, match="dtype must be floating point"):
        ember.signal.windows.hann(5, dtype=ember.int64)
