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
