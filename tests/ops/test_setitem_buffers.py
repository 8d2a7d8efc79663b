"""Writing rows into a buffer with x[i] = v (the seq2seq tutorial's encoder_outputs[ei] =
output[0, 0]; its decoder_attentions[di] = weights of shape (1, n)), against PyTorch."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _run(m):
    w = m.ones(3, requires_grad=True)
    buf = m.zeros(4, 3)
    for i in range(3):
        buf[i] = w * (i + 1)         # each write reads the buffer written by the last one
    (buf.sum(0) * m.arange(3.0)).sum().backward()
    return w.grad


def test_repeated_row_writes_keep_backward_working():
    np.testing.assert_array_equal(_run(ember).numpy(), _run(torch).numpy())


def test_a_real_use_of_the_old_value_still_raises():
    for m in (ember, torch):
        w = m.ones(3, requires_grad=True)
        buf = m.zeros(4, 3)
        buf[0] = w * 2
        y = buf * buf                # mul reads buf's values at this version
        buf[1] = w * 3
        with pytest.raises(RuntimeError, match="in-?place"):
            y.sum().backward()


@pytest.mark.parametrize("case", [
    lambda m: (m.zeros(3, 4), 1, m.ones(1, 4)),
    lambda m: (m.zeros(3, 4), slice(1, 3), m.ones(1, 1, 2, 4) * 2),
    lambda m: (m.zeros(3, 4), (slice(None), 0), m.arange(3.0)[None]),
    lambda m: (m.zeros(3, 4), m.tensor([0, 2]), m.ones(1, 2, 4) * 3),
])
def test_value_with_leading_unit_dims(case):
    outs = []
    for m in (ember, torch):
        a, idx, v = case(m)
        a[idx] = v
        outs.append(a.numpy())
    np.testing.assert_array_equal(*outs)


def test_value_that_does_not_fit_is_named():
    a = ember.zeros(3, 4)
    with pytest.raises(Exception, match="setitem: can't assign a value of shape"):
        a[1] = ember.ones(2, 1, 4)
