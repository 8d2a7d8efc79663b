"""ember.pmap over the ranks of a process group (SPMD over MPI) gives the numbers of the
one-process pmap: the same program (workers/pmap_spmd.py) both ways."""
import os
import sys

import numpy as np

from .mpi_helpers import run_ranks, check_ok

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "workers"))
import pmap_spmd  # noqa: E402


def test_pmap_on_two_ranks_equals_pmap_in_one_process(tmp_path):
    out = tmp_path / "spmd.npz"
    check_ok(run_ranks("pmap_spmd.py", str(out), timeout=180), "pmap spmd ok")
    spmd = np.load(out)
    local = pmap_spmd.programs()  # no process group here: the in-process pmap
    assert sorted(spmd.files) == sorted(local)
    for k, v in local.items():
        assert spmd[k].shape == v.shape, k
        np.testing.assert_allclose(spmd[k], v, rtol=0, atol=1e-6, err_msg=k)
