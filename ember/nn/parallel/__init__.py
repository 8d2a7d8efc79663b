"""``ember.nn.parallel``: ``DistributedDataParallel`` (data parallel over the ranks of
``ember.distributed``)."""
from .distributed import DistributedDataParallel, DDP  # noqa: F401
