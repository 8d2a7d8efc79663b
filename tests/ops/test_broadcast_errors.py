"""One mistake, one message: shapes that don't broadcast give the same error eagerly, with
autograd recording, under jit and under vmap, naming the user's op and both shapes."""
import pytest

import ember

CASES = [
    ("add", lambda x, y: x + y),
    ("sub", lambda x, y: ember.sub(x, y)),
    ("mul", lambda x, y: x * y),
    ("div", lambda x, y: x / y),
    ("maximum", lambda x, y: ember.maximum(x, y)),
    ("lt", lambda x, y: x < y),
    ("where", lambda x, y: ember.where(x > 0, x, y)),
]


def _message(fn, *args):
    with pytest.raises(ValueError) as info:
        fn(*args)
    return str(info.value)


@pytest.mark.parametrize("name,fn", CASES, ids=[c[0] for c in CASES])
def test_same_message_eager_grad_jit(name, fn):
    x, y = ember.zeros(3, 4), ember.ones(5, 4)
    eager = _message(fn, x, y)
    shapes = "(3, 4), (3, 4) and (5, 4)" if name == "where" else "(3, 4) and (5, 4)"
    assert eager.startswith(f"{name}: shapes {shapes} cannot be broadcast together: "
                            f"dim -2 is 3 vs 5")
    assert _message(ember.jit(fn), x, y) == eager
    xg = ember.zeros(3, 4, requires_grad=True)
    assert _message(fn, xg, y) == eager


def test_message_names_the_conflicting_dim():
    msg = _message(lambda: ember.ones(2, 3, 4) + ember.ones(2, 5, 4))
    assert "dim -2 is 3 vs 5" in msg
    msg = _message(lambda: ember.ones(7) * ember.ones(2, 6))
    assert msg.startswith("mul: shapes (7,) and (2, 6)") and "dim -1 is 6 vs 7" in msg


def test_under_vmap_the_message_names_the_op():
    f = ember.vmap(lambda x, y: x * y)
    msg = _message(f, ember.ones(2, 3), ember.ones(2, 4))
    assert msg.startswith("mul: shapes") and "3 vs 4" in msg
