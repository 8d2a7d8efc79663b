"""`ember run -n N` and `ember train --nproc N` (each launches mpiexec as a subprocess)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from .mpi_helpers import need_mpi, ROOT, WORKERS


def _ember(*args, timeout=240, tuning="0"):
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               EMBER_MALLOC_TUNING=tuning)
    return subprocess.run([sys.executable, "-m", "ember.cli.main", *args], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=ROOT)


def test_ember_run_launches_ranks_and_prints_the_command():
    need_mpi()
    p = _ember("run", "-n", "2", os.path.join(WORKERS, "hello.py"), "--flag", "x")
    assert p.returncode == 0, p.stderr
    first = p.stdout.splitlines()[0]
    assert first.startswith("ember run: ") and "mpiexec -n 2" in first and "hello.py" in first
    for r in range(2):
        assert f"rank {r} of 2 args ['--flag', 'x'] sum 1.0" in p.stdout, p.stdout


def test_ranks_get_their_share_of_the_cores_for_blas(monkeypatch):
    from ember.distributed.launch import limit_rank_threads, _cores
    env = {}
    assert limit_rank_threads(env, 1) is None and env == {}       # one process: all cores
    note = limit_rank_threads(env, 2)
    assert env == {"OMP_NUM_THREADS": str(max(1, _cores() // 2))}
    assert "OMP_NUM_THREADS" in note and "2 ranks" in note
    env = {}
    limit_rank_threads(env, 2, hostfile="hosts")                   # several hosts: torchrun's 1
    assert env == {"OMP_NUM_THREADS": "1"}
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env = {var: "3"}                                           # the user's choice stays
        assert limit_rank_threads(env, 2) is None and env == {var: "3"}
    need_mpi()
    env = {k: v for k, v in os.environ.items() if k not in
           ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    env.update(PYTHONPATH=ROOT, EMBER_MALLOC_TUNING="0")
    p = subprocess.run([sys.executable, "-m", "ember.cli.main", "run", "-n", "2",
                        os.path.join(WORKERS, "hello.py")], capture_output=True, text=True,
                       timeout=240, env=env, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    n = max(1, _cores() // 2)
    assert f"ember run: OMP_NUM_THREADS={n} per rank (2 ranks on" in p.stdout, p.stdout
    assert p.stdout.count(f"threads {n}") == 2, p.stdout
    # ember's kernel threads (the LSTM wavefront's second stage, the split kernels) follow
    # the same budget: with one core per rank they run nothing beside the rank's own thread
    assert p.stdout.count(f"kernel cores {n}") == 2, p.stdout


def test_ember_run_errors():
    p = _ember("run", "-n", "2")
    assert p.returncode == 2 and "give a script" in p.stderr
    p = _ember("run", "-n", "0", "x.py")
    assert p.returncode == 2 and "-n must be a positive number" in p.stderr
    need_mpi()
    p = _ember("run", "-n", "2", "--hostfile", "/nonexistent/hosts", "x.py")
    assert p.returncode == 2 and "hostfile '/nonexistent/hosts' does not exist" in p.stderr


def test_train_nproc_splits_the_batch_rank0_writes_and_resumes(tmp_path):
    need_mpi()
    out = tmp_path / "run"
    common = ["train", "--recipe", "digits-mlp", "--batch-size", "64", "--limit", "512",
              "--no-progress", "--out", str(out)]
    p = _ember(*common, "--nproc", "2", "--epochs", "1")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "mpiexec -n 2" in p.stdout
    assert "global batch 64 = 2 x 32 per rank" in p.stdout
    assert p.stdout.count("epoch   1") == 1          # rank 0 alone logs
    assert (out / "last.safetensors").exists()
    p = _ember(*common, "--nproc", "2", "--epochs", "2", "--resume")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "resuming digits-mlp from epoch 1" in p.stdout and "epoch   2" in p.stdout
    hist = json.loads((out / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in hist] == [1, 2]
    # one process reaches about the same loss (the last, partial batch splits 15/14 over the
    # ranks and DDP weighs both halves equally; the float sums run in another order)
    one = tmp_path / "one"
    p = _ember(*common[:-1], str(one), "--epochs", "2")
    assert p.returncode == 0, p.stderr
    h1 = json.loads((one / "metrics.json").read_text())["history"]
    assert abs(h1[-1]["train_loss"] - hist[-1]["train_loss"]) < 0.05 * h1[-1]["train_loss"]


def test_train_nproc_global_batch_must_split_evenly(tmp_path):
    need_mpi()
    p = _ember("train", "--recipe", "digits-mlp", "--batch-size", "33", "--nproc", "2",
               "--epochs", "1", "--limit", "100", "--no-progress", "--out", str(tmp_path))
    assert p.returncode != 0
    assert "--batch-size 33 is the global batch and must split evenly over 2 ranks" in p.stderr


def test_ember_run_sets_torchruns_variables_before_the_script_runs():
    # pytorch/examples ddp-tutorial-series reads os.environ["LOCAL_RANK"] before
    # init_process_group(); torchrun's command line (--standalone, --nproc_per_node) works too
    need_mpi()
    p = _ember("run", "--standalone", "--nproc_per_node=2",
               os.path.join(WORKERS, "torchrun_env.py"), "x", tuning="1")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "rank_entry" in p.stdout.splitlines()[0]
    import platform
    if platform.libc_ver()[0] == "glibc":  # ranks keep freed memory, as the ember command
        assert p.stdout.count("allocator tuned True") == 2, p.stdout
    for r in range(2):
        assert (f"rank {r} argv ['x'] env [('LOCAL_RANK', '{r}'), ('LOCAL_WORLD_SIZE', '2'), "
                f"('RANK', '{r}'), ('WORLD_SIZE', '2')]") in p.stdout, p.stdout


def test_torchrun_env_from_each_launchers_variables():
    from ember.distributed.launch import torchrun_env
    assert torchrun_env({"PMI_RANK": "3", "PMI_SIZE": "4", "MPI_LOCALRANKID": "1",
                         "MPI_LOCALNRANKS": "2"}) == {
        "RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"}
    assert torchrun_env({"OMPI_COMM_WORLD_RANK": "5", "OMPI_COMM_WORLD_SIZE": "8",
                         "OMPI_COMM_WORLD_LOCAL_RANK": "1", "OMPI_COMM_WORLD_LOCAL_SIZE": "4"}) \
        == {"RANK": "5", "WORLD_SIZE": "8", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "4"}
    assert torchrun_env({"SLURM_PROCID": "2", "SLURM_NTASKS": "4", "SLURM_LOCALID": "0"}) == {
        "RANK": "2", "WORLD_SIZE": "4", "LOCAL_RANK": "0"}
    assert torchrun_env({"HOME": "/root"}) == {}


def test_tensor_parallel_with_torchs_device_mesh_and_import_paths():
    # pytorch/examples distributed/tensor_parallelism/tensor_parallel_example.py's calls
    need_mpi()
    p = _ember("run", "-n", "2", os.path.join(WORKERS, "tp_device_mesh.py"))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "rank 0 tp mesh ok" in p.stdout and "rank 1 tp mesh ok" in p.stdout, p.stdout


def test_device_mesh_in_a_world_of_one_and_its_errors(monkeypatch):
    import ember.distributed as dist
    from ember.distributed.device_mesh import init_device_mesh, DeviceMesh
    for k in ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "WORLD_SIZE", "RANK"):
        monkeypatch.delenv(k, raising=False)
    if dist.is_initialized():
        dist.destroy_process_group()
    try:
        mesh = init_device_mesh("cpu", (1,), mesh_dim_names=("tp",))
        assert dist.is_initialized() and mesh.get_local_rank("tp") == 0
        assert mesh.mesh.tolist() == [0] and mesh.get_group() is not None
        with pytest.raises(NotImplementedError, match="only a 1-D mesh"):
            init_device_mesh("cpu", (1, 1))
        with pytest.raises(ValueError, match=r"holds 2 ranks but the world has 1"):
            init_device_mesh("cpu", (2,))
        with pytest.raises(IndexError, match="no mesh dimension 'dp'"):
            mesh["dp"]
        with pytest.raises(NotImplementedError, match="more than one dimension"):
            DeviceMesh("cpu", [[0]])
    finally:
        dist.destroy_process_group()
