"""The allocator tuning: an explicit call (the ember command makes it), never an import."""
import ctypes
import os
import subprocess
import sys

import pytest


def _has_mallopt():
    try:
        ctypes.CDLL(None).mallopt
        return True
    except (OSError, AttributeError):
        return False


def _run(code_or_args, env_value=None):
    env = dict(os.environ)
    env.pop("EMBER_MALLOC_TUNING", None)
    if env_value is not None:
        env["EMBER_MALLOC_TUNING"] = env_value
    args = ["-c", code_or_args] if isinstance(code_or_args, str) else code_or_args
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True,
                          check=True).stdout


def test_import_leaves_the_allocator_alone():
    assert _run("import ember; print(ember.backend.allocator_tuned)").strip() == "False"


@pytest.mark.skipif(not _has_mallopt(), reason="not glibc")
def test_keep_freed_memory_is_an_explicit_call():
    out = _run("import ember; print(ember.backend.keep_freed_memory(), "
               "ember.backend.allocator_tuned)")
    assert out.split() == ["True", "True"]


@pytest.mark.skipif(not _has_mallopt(), reason="not glibc")
def test_the_cli_tunes_it_and_info_reports_it_unless_turned_off():
    out = _run(["-m", "ember.cli.main", "info"])
    assert "allocator: malloc keeps freed memory" in out
    if "NUMPY_MADVISE_HUGEPAGE" not in os.environ:
        assert "plain pages" in out
    assert "allocator: system default" in _run(["-m", "ember.cli.main", "info"], "0")


@pytest.mark.skipif(not _has_mallopt(), reason="not glibc")
def test_the_tuned_allocator_narrows_the_pool_to_huge_arrays_kept_from_their_first_death():
    code = """
import gc, numpy as np, ember
from ember.backend import pool
small = pool.empty((256, 256), np.float32)
assert pool.owns(small)  # the pool's default: 64 KiB and more
del small
gc.collect()
ember.backend.keep_freed_memory()
assert pool.stats()["cached"] == 0  # what it held went back to malloc
small = pool.empty((1024, 1024), np.float32)  # 4 MiB: malloc's now
assert not pool.owns(small)
big = pool.empty((pool.HUGE_BYTES // 4,), np.float32)
assert pool.owns(big)
addr = big.__array_interface__["data"][0]
del big
gc.collect()
assert pool.stats()["cached"] == pool.HUGE_BYTES  # kept from its first death
again = pool.empty((pool.HUGE_BYTES // 4,), np.float32)
print(again.__array_interface__["data"][0] == addr)
"""
    assert _run(code).strip() == "True"
    env = dict(os.environ, EMBER_POOL="0")  # a pool turned off stays off
    env.pop("EMBER_MALLOC_TUNING", None)
    out = subprocess.run([sys.executable, "-c", "import ember; from ember.backend import pool; "
                          "ember.backend.keep_freed_memory(); print(pool.config.enabled)"],
                         env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.skipif(not _has_mallopt(), reason="not glibc")
def test_the_tuned_allocator_asks_for_plain_pages_unless_the_environment_chose():
    code = ("import numpy, ember; "
            "m = getattr(numpy, '_core', None) or numpy.core; m = m.multiarray; "
            "m._set_madvise_hugepage(True); ember.backend.keep_freed_memory(); "
            "print(m._set_madvise_hugepage(True))")  # returns the previous setting
    assert _run(code).strip() == "False"
    env = dict(os.environ, NUMPY_MADVISE_HUGEPAGE="1")
    env.pop("EMBER_MALLOC_TUNING", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "True"
