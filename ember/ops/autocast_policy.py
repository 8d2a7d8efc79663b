"""Which operations ``ember.autocast`` runs in lower precision, which in float32, and the
casts it applies: PyTorch's CPU autocast policy, as data a user can read.

The policy is read in the public functions before ``bind`` (never inside primitives), so the
rules that backward passes and transforms bind are never cast again. Each listed public
function starts with ``if autocast_threads[0]:`` — one list read when no thread has
autocast on — and then calls ``lower`` or ``float32`` below.

- ``LOWER_PRECISION``: the operation's floating inputs (float16/bfloat16/float32; float64 is
  left alone, as PyTorch) are cast to the autocast dtype, so it runs (and returns) there.
- ``FLOAT32``: float16/bfloat16 inputs are cast to float32 (losses, reductions that lose
  precision, decompositions).
- ``PROMOTE``: mixed floating inputs run in the widest of their dtypes; ember's ``cat`` and
  ``stack`` promote that way at all times.
- everything else runs in its inputs' dtype (``softmax``, ``layer_norm``, ``sum``, ``relu``
  ... on a bfloat16 input stay bfloat16).

Names are PyTorch's; ``IMPLEMENTED`` maps the ones ember has to the ember function that
applies the cast.
"""
from __future__ import annotations

from ..core import dtypes as _dt
from ..core.state import tls as _tls
from ..core.tensor import Tensor
from .elementwise import cast

# PyTorch 2.x's CPU lists (aten op names)
LOWER_PRECISION = (
    "conv1d", "conv2d", "conv3d", "bmm", "mm", "linalg_vecdot", "baddbmm", "addmm", "addbmm",
    "linear", "_convolution", "matmul", "conv_tbc", "mkldnn_rnn_layer", "conv_transpose1d",
    "conv_transpose2d", "conv_transpose3d", "prelu", "scaled_dot_product_attention",
    "_native_multi_head_attention",
)
FLOAT32 = (
    "avg_pool3d", "binary_cross_entropy", "grid_sampler", "polar", "prod", "quantile",
    "nanquantile", "stft", "cdist", "trace", "view_as_complex", "cholesky", "cholesky_inverse",
    "cholesky_solve", "inverse", "lu_solve", "orgqr", "ormqr", "pinverse", "max_pool3d",
    "max_unpool2d", "max_unpool3d", "adaptive_avg_pool3d", "reflection_pad1d",
    "reflection_pad2d", "replication_pad1d", "replication_pad2d", "replication_pad3d",
    "mse_loss", "cosine_embedding_loss", "nll_loss", "nll_loss2d", "hinge_embedding_loss",
    "poisson_nll_loss", "smooth_l1_loss", "cross_entropy_loss", "l1_loss", "huber_loss",
    "margin_ranking_loss", "soft_margin_loss", "triplet_margin_loss", "multi_margin_loss",
    "ctc_loss", "kl_div", "multilabel_margin_loss", "binary_cross_entropy_with_logits",
    "fft_fft", "fft_ifft", "fft_fft2", "fft_ifft2", "fft_fftn", "fft_ifftn", "fft_rfft",
    "fft_irfft", "fft_rfft2", "fft_irfft2", "fft_rfftn", "fft_irfftn", "fft_hfft", "fft_ihfft",
    "linalg_cond", "linalg_matrix_rank", "linalg_solve", "linalg_cholesky", "linalg_svdvals",
    "linalg_eigvals", "linalg_eigvalsh", "linalg_inv", "linalg_householder_product",
    "linalg_tensorinv", "linalg_tensorsolve", "fake_quantize_per_tensor_affine", "geqrf",
    "_lu_with_info", "qr", "svd", "triangular_solve", "fractional_max_pool2d",
    "fractional_max_pool3d", "adaptive_max_pool3d", "multilabel_margin_loss_forward",
    "linalg_qr", "linalg_cholesky_ex", "linalg_svd", "linalg_eig", "linalg_eigh",
    "linalg_lstsq", "linalg_inv_ex",
)
PROMOTE = ("stack", "cat", "index_copy")

# PyTorch's name -> the ember function that applies the cast (filled in by the families)
IMPLEMENTED: dict = {}

SUPPORTED_DTYPES = ("bfloat16", "float16")


def _eligible(x):
    """A floating tensor autocast may cast (float64 is never cast, as PyTorch)."""
    return isinstance(x, Tensor) and x.dtype.is_floating_point and x.dtype is not _dt.float64


def lower(*xs):
    """``xs`` with each eligible tensor cast to this thread's autocast dtype (others, and
    everything when autocast is off, unchanged)."""
    d = _tls.autocast
    if d is None:
        return xs
    return tuple(cast(x, d) if _eligible(x) and x.dtype is not d else x for x in xs)


def float32(*xs):
    """``xs`` with float16/bfloat16 tensors cast to float32 (when autocast is on)."""
    if _tls.autocast is None:
        return xs
    return tuple(cast(x, _dt.float32) if _eligible(x) and x.dtype.itemsize == 2 else x
                 for x in xs)


def register(torch_name, fn):
    """Record that ember's ``fn`` applies the policy of PyTorch's ``torch_name``."""
    IMPLEMENTED[torch_name] = f"{fn.__module__}.{fn.__qualname__}"
    return fn


def policy():
    """The policy as a dict of lists: ``lower_precision``, ``float32``, ``promote`` (PyTorch's
    names) and ``implemented`` (which of them ember has, and where)."""
    return {"lower_precision": list(LOWER_PRECISION), "float32": list(FLOAT32),
            "promote": list(PROMOTE), "implemented": dict(IMPLEMENTED)}
