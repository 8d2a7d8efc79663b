"""Fixtures shared by the distributed tests."""
import pytest

import ember.distributed as dist


@pytest.fixture
def world_of_one(monkeypatch):
    """A process group of one process, made without a launcher or MPI."""
    for k in ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "MV2_COMM_WORLD_SIZE",
              "MPI_LOCALNRANKS", "WORLD_SIZE", "RANK", "EMBER_DIST_MPI"):
        monkeypatch.delenv(k, raising=False)
    if dist.is_initialized():
        dist.destroy_process_group()
    dist.init_process_group()
    yield
    dist.destroy_process_group()
