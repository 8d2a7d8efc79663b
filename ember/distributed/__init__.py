"""``ember.distributed``: PyTorch's ``torch.distributed`` API on MPI.

Launch one process per rank with ``ember run -n 2 script.py`` (it wraps ``mpiexec``), call
``init_process_group()`` in the script, then use the collectives (``all_reduce``,
``broadcast``, ``all_gather``, ...) on ember Tensors, in place, as in PyTorch;
``ember.nn.parallel.DistributedDataParallel`` and ``ember.data.DistributedSampler`` build on
them. Without a launcher the world is one process and nothing needs MPI.

The engine underneath is ``ember.distributed.comm``: a ``Communicator`` over NumPy arrays
(``allreduce``/``iallreduce``/``bcast``/``allgather``/``reduce_scatter``/``send``/``recv``
...); ``_world()`` returns the default group's, for engines that work on arrays (``pmap``).
"""
from .comm import Communicator, LocalCommunicator, MPICommunicator, Request  # noqa: F401
from .groups import (  # noqa: F401
    Backend, ProcessGroup, GroupMember, init_process_group, destroy_process_group,
    is_initialized, is_available, is_mpi_available, is_gloo_available, is_nccl_available,
    get_rank, get_world_size, get_backend, get_global_rank, get_process_group_ranks, new_group,
    _world)
from .collectives import (  # noqa: F401
    ReduceOp, reduce_op, Work, all_reduce, reduce, reduce_scatter_tensor, reduce_scatter,
    broadcast, all_gather, all_gather_into_tensor, gather, scatter, all_to_all_single, barrier,
    send, recv, isend, irecv, P2POp, batch_isend_irecv, broadcast_object_list, all_gather_object,
    gather_object, scatter_object_list)

from . import functional  # noqa: F401,E402  (collectives as differentiable primitives)

group = GroupMember  # ``dist.group.WORLD``, as PyTorch

# ember.pmap over the ranks of the default group (SPMD) asks for its communicator here
from ..transforms.pmap import set_spmd_world as _set_spmd_world  # noqa: E402
_set_spmd_world(lambda: _world() if is_initialized() else None)
