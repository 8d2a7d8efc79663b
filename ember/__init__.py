"""ember: one Tensor for PyTorch-style eager autograd and JAX-style function transforms."""
from __future__ import annotations

import sys as _sys
import warnings as _warnings

# NumPy's floating-point warnings from ember's kernels ("overflow encountered in exp"): PyTorch
# and JAX return inf/nan silently, and so does ember (anomaly detection and jax_debug_nans look
# at the values); the filter is scoped to warnings raised from ember's own modules
_warnings.filterwarnings("ignore", message=r"(overflow|invalid value|divide by zero|underflow) "
                         r"encountered", category=RuntimeWarning, module=r"ember\.")

__version__ = "0.1.0"

from . import _blas_env  # noqa: E402,F401  (sets OpenBLAS's spin before NumPy loads it)

from .core.dtypes import (  # noqa: F401
    DType as dtype, bool_ as bool, uint8, uint16, uint32, uint64, int8, int16, int32, int64, float16, float32, float64,
    bfloat16, complex64, complex128, get_default_dtype, set_default_dtype, promote_types,
    result_type as _result_type)
from .core.dtypes import float16 as half, float32 as float, float64 as double  # noqa: F401
from .core.dtypes import complex64 as cfloat, complex128 as cdouble  # noqa: F401
from .core.dtypes import int64 as long, int32 as int, int16 as short  # noqa: F401
from .core.tensor import Tensor, Size, device  # noqa: F401
from .core.creation import tensor, as_tensor, from_numpy, from_dlpack  # noqa: F401
from .core.autograd import (  # noqa: F401
    no_grad, enable_grad, set_grad_enabled, is_grad_enabled, inference_mode,
    is_inference_mode_enabled)
from .core.primitive import registry as primitives  # noqa: F401
from .core.exceptions import OpError  # noqa: F401  (both RuntimeError and ValueError)
from . import backend  # noqa: F401  (the array backends)
_blas_env.restart_blas_workers()  # (NumPy has loaded OpenBLAS by now: if it came before
_blas_env.pin_blas_workers()     # ember, its workers restart with ember's spin)
from .backend import set_default_device, default_device as get_default_device  # noqa: F401
from . import ops as _ops  # noqa: F401  (registers primitives and Tensor methods)
from .ops.creation_ops import (  # noqa: F401
    zeros, ones, empty, full, zeros_like, ones_like, empty_like, full_like, arange, linspace,
    logspace, eye)
from .ops.elementwise import *  # noqa: F401,F403
from .ops.reduce import *  # noqa: F401,F403
from .ops.shape import *  # noqa: F401,F403
from .ops.indexing import *  # noqa: F401,F403
from .ops.slicing import *  # noqa: F401,F403
from .ops.linalg import *  # noqa: F401,F403
from .ops.linalg_decomp import *  # noqa: F401,F403
from .ops.special import *  # noqa: F401,F403
from .ops.einsum import *  # noqa: F401,F403
from .ops.conv import *  # noqa: F401,F403
from .ops.prng_ops import erfinv, argsort, sort, topk  # noqa: F401
from .ops.nn_ops import *  # noqa: F401,F403
from .ops.sparse import *  # noqa: F401,F403  (sparse COO tensors)
from . import autograd  # noqa: F401
from .random.generator import (  # noqa: F401
    manual_seed, seed, initial_seed, rand, randn, randint, normal, rand_like, randn_like,
    randint_like, randperm, Generator, default_generator, dropout)
from . import random  # noqa: F401
from . import interop  # noqa: F401  (PyTorch <-> Flax weight layouts)
from .tensor_types import *  # noqa: F401,F403  (FloatTensor, LongTensor, ...)
from .torch_ops import *  # noqa: F401,F403  (PyTorch's hypot, kron, quantile, cdist, ...)
from .torch_more import *  # noqa: F401,F403  (Tensor.new_zeros, stride, index_fill, finfo, ...)
from .torch_extras import *  # noqa: F401,F403  (svd, matrix_exp, gradient, put, *_copy, ...)
from .torch_settings import *  # noqa: F401,F403  (set_num_threads, set_printoptions, ...)
from .core.memory_format import (  # noqa: F401,E402  (torch's memory formats)
    memory_format, contiguous_format, channels_last, channels_last_3d, preserve_format)
from . import special, testing  # noqa: F401,E402  (torch.special's and torch.testing's names)
from . import masked  # noqa: F401,E402  (torch.masked's reductions with a mask)
from . import signal  # noqa: F401,E402  (torch.signal.windows)
from . import sparse  # noqa: F401,E402  (torch.sparse's mm, sum, addmm)
from . import distributions  # noqa: F401,E402  (torch.distributions' Normal, Categorical, ...)


def result_type(*operands):
    """The dtype that an operation on ``operands`` (tensors, dtypes' tensors and Python
    numbers) gives, by ember's promotion table; Python numbers are weak.

    >>> ember.result_type(ember.ones(2, dtype=ember.int32), ember.ones(2, dtype=ember.float16))
    ember.float16
    >>> ember.result_type(ember.ones(2), 2.5)             # a Python float doesn't widen float32
    ember.float32
    >>> ember.result_type(ember.ones(2, dtype=ember.int64), 2.5)
    ember.float32
    """
    return _result_type(*operands)


def is_tensor(obj):
    """Whether ``obj`` is an ember Tensor (parameters and tracers included).

    >>> ember.is_tensor(ember.zeros(1)), ember.is_tensor([0.0])
    (True, False)
    """
    return isinstance(obj, Tensor)


def numel(x):
    """The number of elements of ``x``.

    >>> ember.numel(ember.zeros(2, 3))
    6
    """
    return x.numel()
from .tree import (  # noqa: F401,E402
    tree_map, tree_flatten, tree_unflatten, tree_leaves, tree_structure, tree_all, tree_reduce,
    tree_flatten_with_path, tree_leaves_with_path, tree_map_with_path, register_pytree_node,
    register_pytree_with_keys, register_dataclass)
from . import tree, tree_util  # noqa: F401,E402
from . import test_util  # noqa: F401,E402  (jax.test_util.check_grads)
from . import __future__  # noqa: F401,E402  (torch.__future__: set_swap_module_params_on_conversion)
from . import ad_checkpoint  # noqa: F401,E402  (jax.ad_checkpoint: remat policies, checkpoint_name)
from . import numpy  # noqa: F401,E402  (jax.numpy-style names: import ember.numpy as jnp)
from . import numpy_methods as _numpy_methods  # noqa: E402
_numpy_methods.install(vars(numpy))  # x.sum(axis=0), x.max(axis=-1): jnp's meaning
from . import lax  # noqa: F401,E402  (jax.lax's control flow: from ember import lax)
from .numpy import device_put, device_get  # noqa: F401,E402  (jax.device_put/device_get)
from . import sharding  # noqa: F401,E402  (jax.sharding's Mesh/PartitionSpec, shard_map)
from .sharding import shard_map  # noqa: F401,E402
from .sharding import (NamedSharding, devices, device_count, local_devices,  # noqa: F401,E402
                       local_device_count, set_mesh, reshard, default_backend)
from .sharding import make_device_mesh as make_mesh  # noqa: F401,E402  (jax.make_mesh)
from . import linalg  # noqa: F401,E402  (torch.linalg's names)
from . import numpy_linalg as _numpy_linalg  # noqa: E402  (jax.numpy.linalg's names)
numpy.linalg = _numpy_linalg  # reached as ember.numpy.linalg; importable under that name too
_sys.modules[__name__ + ".numpy.linalg"] = _numpy_linalg
from . import fft  # noqa: F401,E402  (torch.fft's names)
from . import numpy_fft as _numpy_fft  # noqa: E402  (jax.numpy.fft's names)
numpy.fft = _numpy_fft
_sys.modules[__name__ + ".numpy.fft"] = _numpy_fft
from . import scipy  # noqa: F401,E402  (jax.scipy's linalg and special)
from .transforms import vjp_plans as _vjp_plans  # noqa: E402
from .transforms import (  # noqa: F401,E402
    jvp, linearize, linear_transpose, vmap, pmap, jacfwd, vjp, grad, value_and_grad, jacrev, jacobian, hessian,
    stop_gradient, jit,
    make_graph, disable_jit, config, eval_shape, ShapeDtypeStruct, block_until_ready)
from .transforms.staging.jitted import Jitted as _Jitted  # noqa: E402
from .core.primitive import register_call_target as _register_call_target  # noqa: E402
# the profiler and forward_ad see a jitted call (its plan runs without bind) as one call
_register_call_target(_Jitted, "__call__", lambda j: f"ember::jit({j.__name__})")
make_jaxpr = make_graph  # JAX's name for the printable staged graph
# the eager backward runs first-order VJP rules through staged plans cached per signature
autograd.set_vjp_executor(_vjp_plans.run)
# ... and replays a repeating tape's whole backward as one compiled plan
from .transforms import tape_plans as _tape_plans  # noqa: E402
autograd.set_backward_replayer(_tape_plans.replay)
from .config import config  # noqa: F401,E402,F811  (jax.config's update/read, jit's switches)
from . import nn, optim, data  # noqa: F401,E402
from . import amp  # noqa: F401,E402  (mixed precision: autocast, GradScaler, jmp's Policy)
from .amp import autocast, is_autocast_enabled, get_autocast_dtype  # noqa: F401,E402
from . import ao  # noqa: F401,E402  (quantization: ember.ao.quantization)
from .ao import quantization  # noqa: F401,E402  (also importable as ember.quantization)
from .ao.quantization import (  # noqa: F401,E402  (PyTorch's functional names)
    quantize_per_tensor, quantize_per_channel, fake_quantize_per_tensor_affine,
    fake_quantize_per_channel_affine)
_sys.modules[__name__ + ".quantization"] = quantization
# PyTorch's quantized dtype names; ember's quantized values are plain integer tensors, so
# they name the storage dtypes (ember.qint8 is ember.int8)
qint8, quint8, qint32 = int8, uint8, int32  # noqa: F405,E305
from . import distributed  # noqa: F401,E402  (torch.distributed's API on MPI)
from .distributed.groups import process_index, process_count  # noqa: F401,E402  (JAX's names)
from .control_flow import cond, switch, while_loop, fori_loop, scan  # noqa: F401,E402
from .serialization import save, load  # noqa: F401,E402
from . import func  # noqa: F401,E402
from . import cuda, cpu, accelerator, backends  # noqa: F401,E402  (PyTorch's device queries)
from . import utils  # noqa: F401,E402  (ember.utils.data, torch.utils.data's import path)
from . import compiler  # noqa: F401,E402  (torch.compile's twin on jit)
from . import profiler  # noqa: F401,E402  (torch.profiler: profile, record_function, schedule)
from .compiler import compile  # noqa: F401,E402
from . import torch_jit as _torch_jit  # noqa: E402
_torch_jit.install(jit)  # torch.jit's names as attributes of ember.jit (JAX's jit)
_sys.modules[__name__ + ".jit"] = _torch_jit  # `from ember.jit import script` (torch's path)
from .transforms.custom import custom_vjp, custom_jvp  # noqa: F401,E402
from .transforms.remat import checkpoint, remat, checkpoint_policies  # noqa: F401,E402
from .transforms.callbacks import pure_callback  # noqa: F401,E402  (jax.pure_callback)
from . import debug, experimental  # noqa: F401,E402  (jax.debug.print/callback, io_callback)
from .jax_toplevel import (named_scope, named_call, ensure_compile_time_eval,  # noqa: F401,E402
                           enable_x64, debug_nans, debug_infs, typeof)
from . import typing  # noqa: F401,E402  (jax.typing's ArrayLike, DTypeLike)
from . import dtypes  # noqa: F401,E402  (jax.dtypes' canonicalize_dtype, issubdtype, ...)
Array = Tensor  # jax.Array: ``isinstance(x, ember.Array)`` holds for every tensor


def addcmul(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 * tensor2`` (as ``torch.addcmul``)."""
    return input.addcmul(tensor1, tensor2, value=value)


def addcdiv(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 / tensor2`` (as ``torch.addcdiv``)."""
    return input.addcdiv(tensor1, tensor2, value=value)


def cross(input, other, dim=None):
    """The cross product of 3-vectors along ``dim`` (as ``torch.cross``: without ``dim``, the
    first dimension of size 3, which PyTorch deprecates in favour of
    ``ember.linalg.cross``, whose default is the last dimension)."""
    if dim is None:
        from numpy import broadcast_shapes
        shape = tuple(broadcast_shapes(tuple(input.shape), tuple(other.shape)))
        dim = next((i for i, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise RuntimeError(f"cross: no dimension of size 3 in input of shape {shape}; "
                               f"pass dim=")
        import warnings
        warnings.warn("cross without dim= takes the first dimension of size 3; this default "
                      "is deprecated (as in PyTorch): pass dim=, or use ember.linalg.cross",
                      UserWarning, stacklevel=2)
    return linalg.cross(input, other, dim=dim)


ger = outer  # noqa: F405  (PyTorch's deprecated name of outer)
# PyTorch's module-level constants (torch.inf, torch.pi, ...): plain Python floats (``float``
# here is ember's float32 dtype, hence math's), and newaxis is None, as in PyTorch and NumPy
import math as _math  # noqa: E402
inf, nan, pi, e = _math.inf, _math.nan, _math.pi, _math.e
newaxis = None
from . import out_arg as _out_arg  # noqa: E402
_out_arg.install(globals())  # PyTorch's out= keyword on the top-level functions
try:  # einops, when installed, learns ember's Tensor (ember.einops: its backend and layers)
    from . import einops  # noqa: F401,E402
except ImportError:
    pass
