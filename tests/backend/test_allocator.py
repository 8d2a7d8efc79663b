"""The allocator tuning ember applies on import (glibc only) and its opt-out."""
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


def _tuned(env_value):
    env = dict(os.environ)
    env.pop("EMBER_MALLOC_TUNING", None)
    if env_value is not None:
        env["EMBER_MALLOC_TUNING"] = env_value
    out = subprocess.run([sys.executable, "-c", "import ember; print(ember.backend.allocator_tuned)"],
                         env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.mark.skipif(not _has_mallopt(), reason="not glibc")
def test_import_tunes_glibc_malloc_unless_turned_off():
    assert _tuned(None) == "True"
    assert _tuned("0") == "False"


@pytest.mark.skipif(not _has_mallopt(), reason="not glibc")
def test_info_reports_the_allocator():
    out = subprocess.run([sys.executable, "-m", "ember.cli.main", "info"], capture_output=True,
                         text=True, check=True)
    assert "allocator: malloc keeps freed memory" in out.stdout
