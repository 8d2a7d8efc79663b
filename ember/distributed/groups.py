"""Process groups: ``init_process_group`` (MPI under a launcher, a group of one without),
the default group, ``new_group``, ranks and sizes, and the fault handler that makes every
rank exit when one raises."""
from __future__ import annotations

import os
import sys
import time

from .comm import LocalCommunicator, MPICommunicator

# environment variables that MPI launchers set in every rank (MPICH/Hydra, Intel MPI and
# MVAPICH through PMI, Open MPI, PMIx-based launchers such as srun --mpi=pmix)
_MPI_ENV = ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK",
            "MV2_COMM_WORLD_SIZE", "MPI_LOCALNRANKS")

_HOW_TO_LAUNCH = ("launch one process per rank with `ember run -n N script.py args` (or "
                  "`mpiexec -n N python script.py args`), or start them from the "
                  "script with ember.multiprocessing.spawn(fn, args, nprocs) as torch's "
                  "mp.spawn programs do; ember's engine is MPI "
                  "(pip install 'ember[dist]')")


class Backend(str):
    """Backend names (as ``torch.distributed.Backend``): ember has one engine, MPI;
    "gloo" (what CPU PyTorch scripts pass) is accepted and runs on it."""
    MPI = "mpi"
    GLOO = "gloo"
    UNDEFINED = "undefined"


class ProcessGroup:
    """A set of ranks and the communicator connecting them (``new_group``'s result).

    ``ranks`` are global ranks in group order; ``rank()`` and ``size()`` are this process's
    rank in the group and the group's size."""

    def __init__(self, comm, ranks, backend="mpi"):
        self.comm, self.ranks, self.backend = comm, list(ranks), backend
        self._sig_cache = {}  # collectives' signature checks (collectives._check)
        self._global_to_group = {g: i for i, g in enumerate(self.ranks)}

    def rank(self):
        return self.comm.rank

    def size(self):
        return len(self.ranks)

    def group_rank(self, global_rank, op):
        r = self._global_to_group.get(global_rank)
        if r is None:
            raise ValueError(f"{op}: global rank {global_rank} is not in this group (its ranks "
                             f"are {self.ranks}); src/dst are global ranks")
        return r

    def __repr__(self):
        return f"<ProcessGroup ranks={self.ranks} backend={self.backend!r}>"


class GroupMember:
    """``GroupMember.WORLD`` is the default group; ``NON_GROUP_MEMBER`` is what ``new_group``
    returns on ranks that are not in the new group."""
    WORLD = None
    NON_GROUP_MEMBER = object()


_state = {"world": None, "hook": None}


def _launched_by_mpi():
    return any(k in os.environ for k in _MPI_ENV) or os.environ.get("EMBER_DIST_MPI") == "1"


def is_available() -> bool:
    """True: ``ember.distributed`` is always there (a world of one needs no MPI)."""
    return True


def is_mpi_available() -> bool:
    """Whether mpi4py (the ``ember[dist]`` extra) can be imported."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def is_gloo_available() -> bool:
    """Whether ``backend="gloo"`` works (it does wherever MPI does: ember runs it on MPI)."""
    return is_mpi_available()


def is_nccl_available() -> bool:
    return False


def is_initialized() -> bool:
    """Whether ``init_process_group`` has run (and ``destroy_process_group`` has not)."""
    return _state["world"] is not None


def _env_int(name):
    v = os.environ.get(name)
    if v is None or v == "":
        return None
    try:
        return int(v)
    except ValueError:
        raise ValueError(f"init_process_group: environment variable {name}={v!r} is not an "
                         f"integer") from None


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None, device_id=None):
    """Join the default process group (``torch.distributed.init_process_group``).

    Under an MPI launcher (``ember run -n N``, ``mpiexec``) the rank and world size come from
    MPI; torchrun's ``RANK``/``WORLD_SIZE`` variables, and ``rank=``/``world_size=``, must
    agree with them when given. Without a launcher the world is this one process (world size
    1; MPI is not needed). ``backend`` may be ``None``, ``"mpi"`` or ``"gloo"`` (both run on
    MPI); ``init_method``, ``store`` and ``timeout`` are accepted for PyTorch scripts and not
    used (MPI's launcher does the rendezvous).

    >>> import ember.distributed as dist
    >>> dist.init_process_group()            # no launcher: a world of one
    >>> dist.get_rank(), dist.get_world_size()
    (0, 1)
    >>> dist.destroy_process_group()
    """
    if is_initialized():
        raise RuntimeError("init_process_group: the default process group is already "
                           "initialized; call destroy_process_group() first to re-initialize")
    name = str(backend).lower() if backend is not None else "mpi"
    if name not in ("mpi", "gloo", "cpu:gloo", "undefined", "none"):
        raise ValueError(f"init_process_group: backend {backend!r} is not available; ember "
                         f"runs its collectives on MPI: pass backend='mpi' (or 'gloo', which "
                         f"PyTorch CPU scripts use and which runs on MPI too)")
    env_size, env_rank = _env_int("WORLD_SIZE"), _env_int("RANK")
    if _launched_by_mpi():
        try:
            from mpi4py import MPI
        except ImportError:
            raise RuntimeError(
                "init_process_group: this process was started by an MPI launcher but mpi4py is "
                "not installed; pip install 'ember[dist]' (mpi4py and mpich)") from None
        comm = MPICommunicator(MPI.COMM_WORLD)
        for what, given, source in (("world size", world_size, "world_size="),
                                    ("world size", env_size, "WORLD_SIZE"),
                                    ("rank", rank, "rank="), ("rank", env_rank, "RANK")):
            actual = comm.size if what == "world size" else comm.rank
            if given is not None and given >= 0 and given != actual:
                raise ValueError(f"init_process_group: {source} says {what} {given}, but MPI "
                                 f"started this process as {what} {actual} (rank {comm.rank} "
                                 f"of {comm.size}); drop {source} or launch with a matching "
                                 f"-n")
    else:
        size = world_size if world_size is not None and world_size > 0 else (env_size or 1)
        if size != 1 and os.environ.get("EMBER_SPAWNED_WITHOUT_MPI"):
            raise RuntimeError(
                f"init_process_group: world size {size} was asked for in a process that "
                f"ember.multiprocessing.spawn started without MPI (mpi4py or mpiexec not found, "
                f"or EMBER_SPAWN=python), so it cannot join the other processes; pip install "
                f"'ember[dist]' (mpi4py and mpich) and spawn makes the processes ranks of one "
                f"MPI job")
        if size != 1:
            raise RuntimeError(f"init_process_group: world size {size} was asked for (by "
                               f"{'world_size=' if world_size and world_size > 0 else 'WORLD_SIZE'}"
                               f"), but this process was not started by an MPI launcher; "
                               + _HOW_TO_LAUNCH)
        r = rank if rank is not None and rank >= 0 else (env_rank or 0)
        if r != 0:
            raise ValueError(f"init_process_group: rank {r} in a world of size 1; "
                             + _HOW_TO_LAUNCH)
        comm = LocalCommunicator()
    _state["world"] = ProcessGroup(comm, range(comm.size),
                                   "gloo" if name in ("gloo", "cpu:gloo") else "mpi")
    if comm.size > 1:
        _install_fault_handler(comm)


def _world_group(op="ember.distributed") -> ProcessGroup:
    g = _state["world"]
    if g is None:
        raise RuntimeError(f"{op}: the default process group is not initialized; call "
                           f"ember.distributed.init_process_group() first (and "
                           + _HOW_TO_LAUNCH.replace("launch", "to run several ranks, launch", 1)
                           + ")")
    return g


def _world():
    """The default group's :class:`~ember.distributed.comm.Communicator` (an internal API for
    ``ember.pmap`` and other engines that work on NumPy arrays)."""
    return _world_group("_world").comm


def _resolve(group, op):
    """The ProcessGroup for ``group`` (None: the default), or None when this rank is not in
    it."""
    if isinstance(group, ProcessGroup):
        return group
    world = _world_group(op)
    if group is None or group is GroupMember.WORLD:
        return world
    if group is GroupMember.NON_GROUP_MEMBER:
        return None
    if not isinstance(group, ProcessGroup):
        raise TypeError(f"{op}: group must be a ProcessGroup from new_group() or None, got "
                        f"{type(group).__name__}")
    return group


def destroy_process_group(group=None):
    """Leave the default group (``group=None``) or forget a group from ``new_group``."""
    if group is None or group is GroupMember.WORLD:
        _state["world"] = None
        _uninstall_fault_handler()


def get_rank(group=None) -> int:
    """This process's rank in ``group`` (default: the world); -1 if not a member."""
    g = _resolve(group, "get_rank")
    return -1 if g is None else g.rank()


def get_world_size(group=None) -> int:
    """The number of ranks in ``group`` (default: the world); -1 if not a member."""
    g = _resolve(group, "get_world_size")
    return -1 if g is None else g.size()


def get_backend(group=None) -> str:
    g = _resolve(group, "get_backend")
    return g.backend if g is not None else Backend.UNDEFINED


def get_global_rank(group, group_rank) -> int:
    g = _resolve(group, "get_global_rank")
    if not 0 <= group_rank < len(g.ranks):
        raise ValueError(f"get_global_rank: group rank {group_rank} out of range for a group "
                         f"of {len(g.ranks)}")
    return g.ranks[group_rank]


def get_process_group_ranks(group) -> list:
    return list(_resolve(group, "get_process_group_ranks").ranks)


def new_group(ranks=None, timeout=None, backend=None, pg_options=None, use_local_synchronization=False):
    """A group over ``ranks`` (global ranks; default all). Every rank of the world must call it
    (as PyTorch); ranks not in the group get ``GroupMember.NON_GROUP_MEMBER``."""
    world = _world_group("new_group")
    ranks = list(range(world.size())) if ranks is None else sorted(int(r) for r in ranks)
    bad = [r for r in ranks if not 0 <= r < world.size()]
    if bad or len(set(ranks)) != len(ranks):
        raise ValueError(f"new_group: ranks {ranks} must be distinct ranks of the world "
                         f"(0..{world.size() - 1})")
    sub = world.comm.split(ranks)
    if sub is None:
        return GroupMember.NON_GROUP_MEMBER
    return ProcessGroup(sub, ranks, world.backend)


# ---- faults ----------------------------------------------------------------------------------

_ABORT_GRACE_S = 0.5


def _install_fault_handler(comm):
    """A rank that dies with an exception prints it (with its rank) and aborts the whole MPI
    job, so the other ranks exit instead of waiting forever in their next collective."""
    if _state["hook"] is not None:
        return
    prev = sys.excepthook

    def hook(tp, value, tb):
        import traceback
        try:
            msg = "".join(traceback.format_exception(tp, value, tb))
            sys.stderr.write(f"[rank {comm.rank}/{comm.size}] {msg}"
                             f"[rank {comm.rank}] aborting all {comm.size} ranks\n")
            sys.stderr.flush()
            # the launcher forwards a rank's stderr through its own process, and an abort at
            # once may end that before it passes the message on: a CI run once saw this job's
            # stderr empty (not reproduced since, loaded or not); the job is ending, so give
            # the forwarding a moment
            time.sleep(_ABORT_GRACE_S)
        finally:
            comm.abort(1)
    hook._prev = prev
    sys.excepthook = hook
    _state["hook"] = hook


def _uninstall_fault_handler():
    hook = _state["hook"]
    if hook is not None and sys.excepthook is hook:
        sys.excepthook = hook._prev
    _state["hook"] = None


def process_index() -> int:
    """This process's index among the processes of a multi-process run
    (``jax.process_index``): its rank once the process group is initialized, else 0.

    >>> ember.process_index(), ember.process_count()
    (0, 1)
    """
    return get_rank() if is_initialized() else 0


def process_count() -> int:
    """How many processes the run has (``jax.process_count``): the world size once the
    process group is initialized, else 1."""
    return get_world_size() if is_initialized() else 1
