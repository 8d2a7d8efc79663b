"""CUDA backend flags: not part of this build. The flags PyTorch scripts set
(``torch.backends.cuda.matmul.allow_tf32 = True``, the scaled-dot-product attention kernels)
are accepted, kept, and change nothing on the CPU."""


def is_built() -> bool:
    return False


class _MatmulFlags:
    """``matmul``: the cuBLAS precision flags, with PyTorch's defaults; unknown names raise."""

    __slots__ = ("allow_tf32", "allow_fp16_reduced_precision_reduction",
                 "allow_bf16_reduced_precision_reduction", "allow_fp16_accumulation")

    def __init__(self):
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True
        self.allow_fp16_accumulation = False

    def __setattr__(self, name, value):
        if name not in _MatmulFlags.__slots__:
            raise AttributeError(f"torch.backends.cuda.matmul has no flag {name!r}; "
                                 f"the flags are {', '.join(_MatmulFlags.__slots__)}")
        object.__setattr__(self, name, value)


matmul = _MatmulFlags()

# scaled_dot_product_attention's kernel choice (also set by nn.attention.sdpa_kernel).
# ember has one kernel, which stands for the two PyTorch has on the CPU (math and flash):
# with both of those off, the call fails as PyTorch's does on the CPU ("no available kernel").
_sdp = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}


def _sdp_flag(kind):
    def enable(enabled: bool):
        _sdp[kind] = bool(enabled)

    def query() -> bool:
        return _sdp[kind]
    enable.__name__, query.__name__ = f"enable_{kind}_sdp", f"{kind}_sdp_enabled"
    return enable, query


enable_flash_sdp, flash_sdp_enabled = _sdp_flag("flash")
enable_mem_efficient_sdp, mem_efficient_sdp_enabled = _sdp_flag("mem_efficient")
enable_math_sdp, math_sdp_enabled = _sdp_flag("math")
enable_cudnn_sdp, cudnn_sdp_enabled = _sdp_flag("cudnn")


def preferred_linalg_library(backend=None):
    """PyTorch's GPU linear-algebra library choice: there is none here; returns "default"."""
    return "default"
