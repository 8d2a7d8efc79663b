"""ember.dtypes: jax.dtypes' names."""
import numpy as np
import pytest

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


def test_import_leaves_ml_dtypes_until_bfloat16_is_used():
    # ml_dtypes costs ~0.6 s to import: ember loads it the first time bfloat16's NumPy dtype
    # is needed, and knows an array of it made elsewhere
    import subprocess
    import sys
    pytest.importorskip("ml_dtypes")
    code = ("import sys, ember, numpy as np; a = 'ml_dtypes' in sys.modules; "
            "t = ember.ones(2, dtype=ember.bfloat16); b = 'ml_dtypes' in sys.modules; "
            "import ml_dtypes; u = ember.from_numpy(np.ones(3, ml_dtypes.bfloat16)); "
            "print(a, b, t.dtype, u.dtype, (t.float() * 3).tolist())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "True", "ember.bfloat16", "ember.bfloat16", "[3.0,", "3.0]"]
