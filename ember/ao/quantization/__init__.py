"""``ember.ao.quantization`` (also ``ember.quantization``): int8 affine quantization on
ordinary tensors: the functional layer (quantize/dequantize per tensor and per channel, fake
quantization with PyTorch's straight-through gradient), the int8 primitives (``qlinear``,
``qconv2d``: exact integer products on float32 BLAS), observers and ``QConfig``, static
post-training quantization (``fuse_modules`` -> ``prepare`` -> calibrate -> ``convert``),
dynamic quantization (``quantize_dynamic``) and weight-only params (``quantize_params``)."""
from . import kernels  # noqa: F401  (int_matmul: exact int8 GEMM through float32 BLAS)
from .quantized_ops import qlinear, qconv2d  # noqa: F401
from . import observer  # noqa: F401
from .observer import *  # noqa: F401,F403  (MinMaxObserver, ..., the qscheme names)
from .functional import (  # noqa: F401
    quantize_per_tensor, quantize_per_channel, dequantize, fake_quantize_per_tensor_affine,
    fake_quantize_per_channel_affine)

__all__ = ["qlinear", "qconv2d", "quantize_per_tensor", "quantize_per_channel", "dequantize",
           "fake_quantize_per_tensor_affine", "fake_quantize_per_channel_affine"]
__all__ += observer.__all__
from . import fake_quantize  # noqa: F401,E402
from .fake_quantize import *  # noqa: F401,F403,E402  (FakeQuantize and its defaults)
from .qconfig import (QConfig, default_qconfig, default_per_channel_qconfig,  # noqa: F401,E402
                      get_default_qconfig, default_qat_qconfig, get_default_qat_qconfig)
from .quantize import (QuantStub, DeQuantStub, propagate_qconfig_, prepare,  # noqa: F401,E402
                       prepare_qat, convert, DEFAULT_STATIC_QUANT_MODULE_MAPPINGS,
                       DEFAULT_QAT_MODULE_MAPPINGS)
from .fuse import (fuse_modules, fuse_modules_qat, fuse_conv_bn_eval,  # noqa: F401,E402
                   fuse_linear_bn_eval)

__all__ += fake_quantize.__all__
__all__ += ["QConfig", "default_qconfig", "default_per_channel_qconfig", "get_default_qconfig",
            "default_qat_qconfig", "get_default_qat_qconfig", "prepare_qat",
            "QuantStub", "DeQuantStub", "propagate_qconfig_", "prepare", "convert",
            "fuse_modules", "fuse_modules_qat", "fuse_conv_bn_eval", "fuse_linear_bn_eval"]
from .params import QuantizedArray, quantize_params, dequantize_params  # noqa: F401,E402

__all__ += ["QuantizedArray", "quantize_params", "dequantize_params"]
from .dynamic_ops import linear_dynamic  # noqa: F401,E402
from .quantize_dynamic import quantize_dynamic  # noqa: F401,E402

__all__ += ["linear_dynamic", "quantize_dynamic"]
