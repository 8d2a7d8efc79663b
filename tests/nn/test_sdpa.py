"""scaled_dot_product_attention's grouped-query option and the kernel choice
(nn.attention.sdpa_kernel, torch.backends.cuda's sdp flags), against PyTorch."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.nn.attention import SDPBackend, sdpa_kernel

rng = np.random.default_rng(0)
Q = rng.standard_normal((2, 8, 5, 4)).astype(np.float32)
KV = rng.standard_normal((2, 2, 2, 5, 4)).astype(np.float32)


def test_grouped_query_attention_matches_pytorch():
    torch = pytest.importorskip("torch")
    for causal in (False, True):
        t = torch.nn.functional.scaled_dot_product_attention(
            torch.tensor(Q), torch.tensor(KV[0]), torch.tensor(KV[1]), is_causal=causal,
            enable_gqa=True)
        e = F.scaled_dot_product_attention(ember.tensor(Q), ember.tensor(KV[0]),
                                           ember.tensor(KV[1]), is_causal=causal,
                                           enable_gqa=True)
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ember.OpError, match="enable_gqa needs the query heads"):
        F.scaled_dot_product_attention(ember.tensor(Q), ember.tensor(Q[:, :3]),
                                       ember.tensor(Q[:, :3]), enable_gqa=True)


def test_sdpa_kernel_sets_and_restores_the_flags():
    torch = pytest.importorskip("torch")
    assert {k: int(v) for k, v in torch.nn.attention.SDPBackend.__members__.items()} == \
        {m.name: int(m) for m in SDPBackend}
    cuda = ember.backends.cuda
    with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.MATH]):
        assert cuda.flash_sdp_enabled() and cuda.math_sdp_enabled()
        assert not cuda.cudnn_sdp_enabled() and not cuda.mem_efficient_sdp_enabled()
        F.scaled_dot_product_attention(ember.tensor(Q), ember.tensor(Q), ember.tensor(Q))
    assert cuda.cudnn_sdp_enabled() and cuda.mem_efficient_sdp_enabled()
    with sdpa_kernel(SDPBackend.EFFICIENT_ATTENTION):  # no CPU kernel among them: as PyTorch
        with pytest.raises(RuntimeError, match="no available kernel"):
            F.scaled_dot_product_attention(ember.tensor(Q), ember.tensor(Q), ember.tensor(Q))
    with pytest.raises(TypeError, match="sdpa_kernel: expected SDPBackend"):
        with sdpa_kernel(["math"]):
            pass
