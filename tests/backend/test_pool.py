"""The CPU backend's caching pool (backend/pool.py): a block is handed out again only after
every array over it has died; pooled arrays behave as NumPy's own."""
import gc

import numpy as np
import pytest

import ember
from ember.backend import pool, xp

BIG = (256, 256)  # 256 KiB of float32: pooled


@pytest.fixture(autouse=True)
def _fresh_pool(monkeypatch):
    # on whatever ran before in this process (keep_freed_memory, e.g. an in-process
    # `ember train`, narrows the pool to huge arrays)
    monkeypatch.setattr(pool.config, "enabled", True)
    monkeypatch.setattr(pool.config, "cache_first", False)
    monkeypatch.setattr(pool, "MIN_BYTES", 1 << 16)
    for dt in (np.float32, np.float64):  # the first block of a size goes back to malloc
        pool.empty(BIG, dt)
    pool.empty_cache()
    yield
    pool.empty_cache()


def test_a_block_comes_back_only_when_every_view_of_it_has_died():
    a = pool.empty(BIG, np.float32)
    a[...] = 1.0
    view = a[1:, ::2].T  # a view outlives the array it came from
    del a
    gc.collect()
    b = pool.empty(BIG, np.float32)
    assert not np.shares_memory(b, view)
    b[...] = 2.0
    assert (view == 1.0).all()
    addr = view.__array_interface__["data"][0] - 256 * 4
    del view
    gc.collect()
    c = pool.empty(BIG, np.float32)  # now the first block is free again: reused
    assert c.__array_interface__["data"][0] == addr
    assert not np.shares_memory(b, c)


def test_reuse_counts_and_empty_cache():
    before = pool.stats()
    for _ in range(3):
        a = pool.empty(BIG, np.float32)
        del a
    s = pool.stats()
    assert s["hits"] - before["hits"] == 2 and s["misses"] - before["misses"] == 1
    assert s["cached"] >= 256 * 256 * 4
    pool.empty_cache()
    assert pool.stats()["cached"] == 0


def test_zeros_are_zero_on_a_reused_block():
    a = pool.empty(BIG, np.float64)
    a[...] = np.nan
    del a
    z = pool.zeros(BIG, np.float64)
    assert (z == 0).all() and z.dtype == np.float64 and z.shape == BIG


def test_small_arrays_and_other_orders_are_numpys_own():
    assert pool.empty((4, 4)).base is None  # under MIN_BYTES
    f = pool.empty(BIG, np.float32, order="F")
    assert f.flags.f_contiguous and f.base is None
    t = np.ones((512, 256), np.float32).T  # not C-ordered: empty_like keeps its layout
    e = pool.empty_like(t)
    assert e.strides == np.empty_like(t).strides
    c = pool.empty_like(np.ones(BIG, np.float32), dtype=np.float64)
    assert c.dtype == np.float64 and c.flags.c_contiguous and c.shape == BIG


def test_ascontiguousarray_copies_into_a_pooled_block():
    t = np.arange(256 * 512, dtype=np.float32).reshape(512, 256).T
    c = pool.ascontiguousarray(t)
    assert c.flags.c_contiguous and np.array_equal(c, t) and c.base is not None
    same = np.ones(BIG, np.float32)
    assert pool.ascontiguousarray(same) is same


def test_cache_limit_and_switch(monkeypatch):
    monkeypatch.setattr(pool.config, "cache_bytes", 0)
    a = pool.empty(BIG, np.float32)
    del a
    assert pool.stats()["cached"] == 0
    monkeypatch.setattr(pool.config, "enabled", False)
    assert pool.empty(BIG, np.float32).base is None


def test_the_cpu_namespace_allocates_from_the_pool():
    a = xp.zeros(BIG, np.float32)
    assert a.base is not None and (a == 0).all()
    assert ember.backend.namespace(a).empty is pool.empty


def test_layout_helpers():
    c = np.ones((64, 32, 8), np.float32)
    p = c.transpose(1, 0, 2)  # a permutation of C order
    assert pool.same_layout(c, c) and pool.same_layout(p, p.copy(order="K"))
    assert not pool.same_layout(p, c)
    assert not pool.same_layout(c[:, ::2], c[:, ::2])  # gaps: not dense
    o = pool.out_like(p.shape, np.dtype(np.float32), p.size, p.nbytes, p)
    assert o.strides == np.empty_like(p).strides
    assert pool.out_like(p.shape, np.dtype(np.float32), p.size, p.nbytes, p, c) is None


def test_owns_tells_a_pooled_array_from_its_views():
    a = pool.empty(BIG, np.float32)
    assert pool.owns(a) and a.base is not None
    assert not pool.owns(a.T) and a.T.base is a and a[1:].base is a
    assert not pool.owns(np.ones(BIG, np.float32))


def test_the_first_block_of_a_size_goes_back_to_malloc():
    shape = (7, 64, 67)  # a size no other test uses
    pool.empty(shape, np.float64)  # dies at once: freed, not cached
    assert pool.stats()["cached"] == 0
    pool.empty(shape, np.float64)
    assert pool.stats()["cached"] == 7 * 64 * 67 * 8
