"""ember.dtypes: jax.dtypes' names."""
import numpy as np

import ember
import ember.numpy as jnp


def test_jax_dtypes_names_match_jax():
    import pytest
    jd = pytest.importorskip("jax.dtypes")
    import jax.numpy as jjnp
    ed = ember.dtypes
    for d in (np.float64, "int64", np.uint64, np.complex128, np.float16, "bool", np.int8):
        assert ed.canonicalize_dtype(d) == jd.canonicalize_dtype(d), d
    assert ed.scalar_type_of(jnp.ones(2)) is jd.scalar_type_of(jjnp.ones(2)) is float
    assert ed.scalar_type_of(jnp.arange(2)) is jd.scalar_type_of(jjnp.arange(2)) is int
    assert ed.scalar_type_of(np.bool_(True)) is bool and ed.scalar_type_of(1j) is complex
    assert ed.itemsize_bits(ed.bfloat16) == jd.itemsize_bits(jjnp.bfloat16) == 16
    assert ed.result_type(1, 2.0) == ember.float32
    assert ed.issubdtype(ember.float32, jnp.floating) and not ed.issubdtype(ember.int32,
                                                                           jnp.floating)
    assert issubclass(ed.TypePromotionError, ValueError)
