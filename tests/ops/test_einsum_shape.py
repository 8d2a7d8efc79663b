"""einsum's shape rule: staging learns the result's shape and dtype from the equation, without
running the product (it used to run it on zero-strided dummies: seconds for VGG-11's
convolutions)."""
import numpy as np
import pytest

import ember
from ember.core.tensor import Aval
from ember.core import dtypes as dt
from ember.ops.einsum import einsum_p


@pytest.mark.parametrize("eq, shapes, dtype", [
    ("ij,jk->ik", [(2, 3), (3, 4)], np.float32),
    ("bij,bjk->bik", [(1, 2, 3), (4, 3, 2)], np.float32),   # size-1 broadcast
    ("ii->", [(3, 3)], np.float64),
    ("ii,j->ij", [(3, 3), (5,)], np.float32),
    ("ab,bc,cd->ad", [(2, 3), (3, 4), (4, 2)], np.float32),
    ("abc->cab", [(2, 3, 4)], np.int64),
    ("ij,ij->", [(2, 1), (2, 7)], np.float16),
    ("i,j->", [(3,), (4,)], np.bool_),
])
def test_shape_rule_matches_the_kernel(eq, shapes, dtype):
    ops = [np.ones(s, dtype) for s in shapes]
    want = np.asarray(einsum_p.impl(*ops, eq=eq))
    got = einsum_p.abstract_eval([Aval(s, dt.from_np(np.dtype(dtype))) for s in shapes],
                                 {"eq": eq})
    assert got.shape == want.shape and got.dtype.np == want.dtype


def test_shape_rule_names_a_size_mismatch():
    with pytest.raises(ValueError, match=r"einsum: subscript 'j' has size 3 .* and 4"):
        einsum_p.abstract_eval([Aval((2, 3), dt.float32), Aval((4, 5), dt.float32)],
                               {"eq": "ij,jk->ik"})


def test_staging_runs_no_product(monkeypatch):
    calls = []
    real = einsum_p.impl
    monkeypatch.setattr(einsum_p, "impl", lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    x, w = ember.ones(8, 3, 16, 16), ember.ones(4, 3, 3, 3)
    g = ember.make_graph(lambda x, w: ember.nn.functional.conv2d(x, w, padding=1).sum())(x, w)
    assert any(e.prim is einsum_p for e in g.eqns)
    assert calls == []
    gg = ember.make_graph(ember.grad(lambda x, w: (ember.nn.functional.conv2d(x, w) ** 2).sum(),
                                     argnums=(0, 1)))(x, w)
    assert sum(e.prim is einsum_p for e in gg.eqns) >= 3 and calls == []
