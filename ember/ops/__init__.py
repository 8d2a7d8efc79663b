"""The primitive table, grouped by family. Importing this package registers every primitive
and installs every Tensor method."""
from . import elementwise, reduce, shape, indexing, slicing, linalg, linalg_decomp, linalg_lu, einsum, conv, conv3d, nn_ops, norm, prng_ops, special, collective_ops, fft  # noqa: F401
from . import device_ops, tensor_methods, sparse, special_integrals, random_samplers  # noqa: F401
from ..core.primitive import registry  # noqa: F401
