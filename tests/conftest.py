"""Fixtures shared across test files."""
import pytest


@pytest.fixture
def jax_x64():
    """JAX and ember.numpy in 64-bit mode for one test (float64 comparisons); both flags are
    restored afterwards, so later tests in the same worker see what they saw before."""
    jax = pytest.importorskip("jax")
    import ember
    prev_jax, prev_ember = jax.config.jax_enable_x64, ember.config.read("jax_enable_x64")
    jax.config.update("jax_enable_x64", True)
    ember.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", prev_jax)
    ember.config.update("jax_enable_x64", prev_ember)


@pytest.fixture
def numpy_paths():
    """The optional compiled kernels (numba, backend/accel.py) off for one test: for tests
    that pin a NumPy path's order of sums, which a kernel may replace when numba is
    installed."""
    from ember.backend import accel
    prev = accel.set_enabled(False)
    yield
    accel.set_enabled(prev)


@pytest.fixture
def kernels_on():
    """The optional compiled kernels on for one test (whatever EMBER_NUMBA says); the
    kernels module. For tests that skip without numba."""
    from ember.backend import accel
    prev = accel.set_enabled(True)
    yield accel.kernels()
    accel.set_enabled(prev)


@pytest.fixture(autouse=True, scope="session")
def _tempfiles_under_pytest(tmp_path_factory):
    """What the tests and the docstring examples create with ``tempfile`` (``mkdtemp()``, the
    fuzzers' files, generated data sets) goes under pytest's own temporary directory, which
    pytest prunes (it keeps the last three runs), instead of piling up in the system's."""
    import tempfile
    prev = tempfile.tempdir
    tempfile.tempdir = str(tmp_path_factory.mktemp("tempfile"))
    yield
    tempfile.tempdir = prev
