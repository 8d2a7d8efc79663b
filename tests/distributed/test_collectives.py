"""ember.distributed on 2 MPI ranks (subprocesses under mpiexec) and in a world of one."""
import os
import subprocess
import sys

import numpy as np
import pytest

import ember
import ember.distributed as dist
from .mpi_helpers import run_ranks, check_ok, ROOT


def test_every_collective_on_two_ranks_matches_a_single_process_reference():
    check_ok(run_ranks("collectives.py"), "collectives ok")


def test_bad_input_messages_name_the_op_the_ranks_and_the_shapes():
    check_ok(run_ranks("faults.py", "messages"), "messages ok")


@pytest.mark.parametrize("mode", ["1", "first"])
def test_the_signature_check_every_call_or_once_per_signature(mode):
    p = run_ranks("faults.py", "checks", env={"EMBER_DIST_CHECKS": mode})
    check_ok(p, f"checks ok {mode == 'first'}")


def test_a_rank_that_raises_makes_every_rank_exit():
    p = run_ranks("faults.py", "raise", timeout=50)
    assert p.returncode != 0
    assert "boom on purpose" in p.stderr and "[rank 1/2]" in p.stderr, p.stderr
    assert "should not get here" not in p.stdout


# ---- a world of one (no launcher, no MPI needed) ----------------------------------------------



def test_world_of_one_collectives(world_of_one):
    assert dist.is_initialized() and dist.get_rank() == 0 and dist.get_world_size() == 1
    t = ember.tensor([1., 2.])
    for op in (dist.ReduceOp.SUM, dist.ReduceOp.AVG, dist.ReduceOp.MAX):
        dist.all_reduce(t, op=op)
    assert t.tolist() == [1., 2.]
    w = dist.all_reduce(t, async_op=True)
    assert w.wait() and w.is_completed()
    out = ember.zeros(1, 2)
    dist.all_gather_into_tensor(out, t)
    assert out.tolist() == [[1., 2.]]
    objs = [None]
    dist.broadcast_object_list(objs)
    assert objs == [None]
    with pytest.raises(ValueError, match="send: rank 0 cannot send to/from itself"):
        dist.send(t, dst=0)


def test_world_size_one_works_without_mpi4py():
    code = ("import sys; sys.modules['mpi4py'] = None\n"
            "import ember, ember.distributed as dist\n"
            "dist.init_process_group(backend='gloo')\n"
            "t = ember.ones(2); dist.all_reduce(t); print(dist.get_world_size(), t.tolist())\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI", "OMPI", "MPI_"))}
    env["PYTHONPATH"] = ROOT
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "1 [1.0, 1.0]"


def test_init_without_a_launcher_says_how_to_launch(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    for k in ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"):
        monkeypatch.delenv(k, raising=False)
    with pytest.raises(RuntimeError, match=r"world size 2.*ember run -n N"):
        dist.init_process_group()
    monkeypatch.delenv("WORLD_SIZE")
    with pytest.raises(RuntimeError, match="world size 3"):
        dist.init_process_group(world_size=3, rank=0)
    with pytest.raises(ValueError, match="nccl.*MPI"):
        dist.init_process_group(backend="nccl")
    assert not dist.is_initialized()


def test_use_before_init_says_so():
    if dist.is_initialized():
        dist.destroy_process_group()
    with pytest.raises(RuntimeError, match="all_reduce: the default process group is not "
                                           "initialized.*init_process_group"):
        dist.all_reduce(ember.ones(2))
    with pytest.raises(RuntimeError, match="get_rank: .*not initialized"):
        dist.get_rank()


def test_traced_tensors_point_to_the_functional_form(world_of_one):
    def f(x):
        dist.all_reduce(x)
        return x
    with pytest.raises(TypeError, match="all_reduce: tensor is a traced value"):
        ember.vmap(f)(ember.ones(3, 2))
