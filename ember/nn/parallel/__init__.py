"""``ember.nn.parallel``: ``DistributedDataParallel`` (data parallel over the ranks of
``ember.distributed``) and tensor parallelism (``tensor_parallel.py``: Megatron's
column/row-parallel Linear pair, ``parallelize_module``) and pipeline parallelism
(``pipeline.py``: ``split_sequential``, GPipe and 1F1B schedules and their executor)."""
from .distributed import DistributedDataParallel, DDP  # noqa: F401
from .tensor_parallel import (  # noqa: F401
    ColumnParallelLinear, RowParallelLinear, ColwiseParallel, RowwiseParallel, parallelize_module,
    copy_to_tensor_parallel_region, reduce_from_tensor_parallel_region)
from .pipeline import (  # noqa: F401
    split_sequential, gpipe_actions, one_f_one_b_actions, ScheduleGPipe, Schedule1F1B)


def data_parallel(module, inputs, device_ids=None, output_device=None, dim=0,
                  module_kwargs=None):
    """PyTorch's functional single-process multi-GPU call. Without GPUs (as here) it is
    ``module(inputs)``; ``device_ids`` naming GPUs is an error.

    >>> lin = ember.nn.Linear(2, 1)
    >>> ember.nn.parallel.data_parallel(lin, ember.ones(3, 2)).shape
    ember.Size([3, 1])
    """
    if device_ids is not None and len(list(device_ids)) > 1:
        from ...core.exceptions import OpError
        raise OpError(f"data_parallel: device_ids={list(device_ids)} names GPUs, and this "
                      f"machine has none")
    if not isinstance(inputs, tuple):
        inputs = (inputs,)
    return module(*inputs, **(module_kwargs or {}))
