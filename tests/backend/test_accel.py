"""The optional accelerator switch (backend/accel.py): EMBER_NUMBA, set_enabled, and numba
imported only when a kernel is first wanted."""
import subprocess
import sys

import pytest

from ember.backend import accel


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.setattr(accel, "_forced", None)
    return monkeypatch


def test_environment_switch(fresh):
    fresh.setenv("EMBER_NUMBA", "0")
    assert accel.kernels() is None
    assert accel.warm() is None
    assert accel.status() == "off (EMBER_NUMBA=0)"
    fresh.setenv("EMBER_NUMBA", "sometimes")
    with pytest.raises(ValueError, match="EMBER_NUMBA='sometimes'.*0/off"):
        accel.kernels()


def test_set_enabled_overrides_the_environment(fresh):
    fresh.setenv("EMBER_NUMBA", "off")
    prev = accel.set_enabled(True)
    try:
        assert prev is None
        has_numba = accel._load() is not None
        assert (accel.kernels() is not None) == has_numba
    finally:
        accel.set_enabled(prev)
    assert accel.kernels() is None


def test_missing_numba_means_no_kernels(fresh):
    fresh.setattr(accel, "_loaded", accel._UNSET)
    fresh.setitem(sys.modules, "numba", None)  # import numba -> ImportError
    assert accel.kernels() is None
    assert accel.status().startswith("not installed")


def test_importing_ember_does_not_import_numba():
    code = "import sys, ember; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"
