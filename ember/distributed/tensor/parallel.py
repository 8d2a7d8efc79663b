"""``torch.distributed.tensor.parallel``: ``parallelize_module`` with ``ColwiseParallel`` /
``RowwiseParallel`` plan entries (:mod:`ember.nn.parallel.tensor_parallel`)."""
from ...nn.parallel.tensor_parallel import (  # noqa: F401
    ColwiseParallel, RowwiseParallel, parallelize_module)

__all__ = ["ColwiseParallel", "RowwiseParallel", "parallelize_module"]
