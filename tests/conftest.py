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
