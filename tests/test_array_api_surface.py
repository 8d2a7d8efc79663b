"""The Array API names and keywords ember.numpy gained for the conformance suite (the suite
itself runs from tests/array_api/), checked against NumPy and jax.numpy."""
import numpy as np
import pytest

import ember
import ember.numpy as xp


def test_bool_is_the_dtype_and_python_scalars_still_mix():
    assert xp.bool is xp.bool_
    np.testing.assert_array_equal((xp.asarray([1, 2]) + True).numpy(), [2, 3])
    assert xp.result_type(xp.bool, xp.bool) is xp.bool


def test_creation_functions_take_device():
    dev = xp.__array_namespace_info__().default_device()
    for t in (xp.zeros(2, device=dev), xp.ones(2, device=dev), xp.empty(2, device=dev),
              xp.full((2,), 3, device=dev), xp.arange(2, device=dev),
              xp.linspace(0, 1, 2, device=dev), xp.eye(2, device=dev),
              xp.zeros_like(xp.ones(2), device=dev), xp.empty_like(xp.ones(2), device=dev),
              xp.asarray([1.0], device=dev)):
        assert t.device == dev
    assert xp.ones(2, device="strict").device == ember.device("strict")


def test_asarray_copy():
    a = np.ones(3, dtype=np.float32)
    shared = xp.asarray(a, copy=False)
    shared[0] = 5.0
    assert a[0] == 5.0
    copied = xp.asarray(a, copy=True)
    copied[1] = 7.0
    assert a[1] == 1.0
    t = xp.ones(2)
    assert xp.asarray(t, copy=False) is t and xp.asarray(t, copy=True) is not t
    with pytest.raises(ValueError, match="copy=False"):
        xp.asarray([1.0, 2.0], copy=False)
    with pytest.raises(ValueError, match="copy=False"):
        xp.asarray(t, dtype=xp.float64, copy=False)


def test_shifts_nextafter_and_operators():
    x = np.array([1, 2, -8], dtype=np.int8)
    e = xp.asarray(x)
    np.testing.assert_array_equal(xp.bitwise_left_shift(e, 2).numpy(), np.left_shift(x, 2))
    np.testing.assert_array_equal(xp.bitwise_right_shift(e, 1).numpy(), np.right_shift(x, 1))
    np.testing.assert_array_equal((e << 1).numpy(), x << 1)
    np.testing.assert_array_equal((e >> 1).numpy(), x >> 1)
    np.testing.assert_array_equal((1 << xp.asarray([3])).numpy(), [8])
    np.testing.assert_array_equal(ember.jit(lambda t: t >> 1)(e).numpy(), x >> 1)
    np.testing.assert_array_equal(ember.vmap(lambda t: t << 1)(e.reshape(3, 1)).numpy(),
                                  (x << 1).reshape(3, 1))
    with pytest.raises(TypeError, match="integer"):
        ember.ones(2) << 1
    a, b = np.array([1.0, 0.0], np.float32), np.array([2.0, -1.0], np.float32)
    np.testing.assert_array_equal(xp.nextafter(xp.asarray(a), xp.asarray(b)).numpy(),
                                  np.nextafter(a, b))
    assert complex(xp.asarray(2.5)) == 2.5 + 0j


def test_statistics_correction_and_cumulative_prod():
    a = np.array([[1.0, 2.0, 4.0], [3.0, 5.0, 9.0]], np.float32)
    np.testing.assert_allclose(xp.std(xp.asarray(a), axis=1, correction=1).numpy(),
                               a.std(axis=1, ddof=1), rtol=1e-6)
    np.testing.assert_allclose(xp.var(xp.asarray(a), correction=0.5).numpy(),
                               a.var(ddof=0.5), rtol=1e-6)
    np.testing.assert_array_equal(
        xp.cumulative_prod(xp.asarray(a), axis=1, include_initial=True).numpy(),
        np.concatenate([np.ones((2, 1)), np.cumprod(a, 1)], 1))
    g = ember.grad(lambda t: xp.cumulative_prod(t).sum())(xp.asarray([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(g.numpy(), [1 + 2 + 6, 1 + 3, 2])


def test_real_valued_complex_helpers_roll_and_dlpack():
    a = xp.asarray([1.5, -2.0])
    assert xp.conj(a) is a and xp.real(a) is a
    np.testing.assert_array_equal(xp.imag(a).numpy(), [0.0, 0.0])
    x = np.arange(6).reshape(2, 3)
    np.testing.assert_array_equal(xp.roll(xp.asarray(x), 1).numpy(), np.roll(x, 1))
    np.testing.assert_array_equal(xp.roll(xp.asarray(x), -1, axis=1).numpy(), np.roll(x, -1, 1))
    src = np.arange(3.0)
    np.testing.assert_array_equal(xp.from_dlpack(src).numpy(), src)
    c = xp.from_dlpack(src, copy=True)
    c[0] = 9.0
    assert src[0] == 0.0


def test_fft_helpers_match_numpy():
    for n in (1, 4, 5):
        np.testing.assert_allclose(xp.fft.fftfreq(n, 0.3).numpy(), np.fft.fftfreq(n, 0.3),
                                   rtol=1e-6)
        np.testing.assert_allclose(xp.fft.rfftfreq(n).numpy(), np.fft.rfftfreq(n), rtol=1e-6)
    x = np.arange(15).reshape(3, 5)
    np.testing.assert_array_equal(xp.fft.fftshift(xp.asarray(x)).numpy(), np.fft.fftshift(x))
    np.testing.assert_array_equal(xp.fft.ifftshift(xp.asarray(x), axes=1).numpy(),
                                  np.fft.ifftshift(x, axes=1))
    from ember.numpy.fft import fftshift  # importable under that name too
    assert fftshift is xp.fft.fftshift


def test_a_lone_bool_index_adds_an_axis():
    x = np.arange(3.0)
    e = xp.asarray(x)
    for idx in (True, False):
        np.testing.assert_array_equal(e[idx].numpy(), x[idx])
        np.testing.assert_array_equal(e[xp.asarray(idx)].numpy(), x[np.bool_(idx)])
    s = xp.asarray(2.0)
    assert tuple(s[xp.asarray(False)].shape) == (0,)
    e[xp.asarray(True)] = 5.0
    np.testing.assert_array_equal(e.numpy(), [5.0, 5.0, 5.0])
    e[False] = 1.0
    np.testing.assert_array_equal(e.numpy(), [5.0, 5.0, 5.0])
