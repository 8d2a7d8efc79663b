"""ember.ao.quantization.kernels.int_matmul: exact integer products through float BLAS."""
import numpy as np
import pytest

from ember.ao.quantization.kernels import int_matmul, exact_chunk

rng = np.random.default_rng(13)


def _exact(a, b):
    return np.matmul(a.astype(np.int64), b.astype(np.int64))


@pytest.mark.parametrize("k", [784, 4096])
def test_int8_full_range_equals_int64_matmul(k):
    a = rng.integers(-128, 128, (37, k)).astype(np.int8)
    b = rng.integers(-128, 128, (k, 29)).astype(np.int8)
    out = int_matmul(a, b)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, _exact(a, b))


@pytest.mark.parametrize("k", [784, 4096])
def test_extreme_values_beyond_float32_integers(k):
    # every product at the range's corner: the sums reach k * 2**14, beyond 2**24 for k=4096;
    # one odd term makes a single float32 GEMM round
    a = np.full((3, k), -128, np.int8)
    b = np.full((k, 2), -128, np.int8)
    b[0, 0] = 127
    a[1, 5] = 127
    np.testing.assert_array_equal(int_matmul(a, b), _exact(a, b))
    c = np.full((1, k), 125, np.int8)
    d = np.full((k, 1), 125, np.int8)
    d[0] = 7
    np.testing.assert_array_equal(int_matmul(c, d), _exact(c, d))


def test_single_float32_gemm_would_round():
    # the reason for the chunks: one float32 GEMM gets this wrong
    a = np.full((1, 4096), 125, np.int8)
    b = np.full((4096, 1), 125, np.int8)
    b[0] = 7
    assert (a.astype(np.float32) @ b.astype(np.float32)).item() != _exact(a, b).item()
    assert int_matmul(a, b).item() == _exact(a, b).item()


def test_uint8_activations_with_zero_point_and_batch_dims():
    k = 3000
    x = rng.integers(0, 256, (2, 5, k)).astype(np.uint8)
    w = rng.integers(-128, 128, (k, 7)).astype(np.int8)
    x[0, 0] = 255
    w[:, 0] = -128  # products 255 * -128: chunks of 514
    np.testing.assert_array_equal(int_matmul(x, w), _exact(x, w))
    xc = x.astype(np.int16) - 128  # zero point subtracted first: [-128, 127]
    np.testing.assert_array_equal(int_matmul(xc, w), _exact(xc, w))


def test_vectors_and_broadcast_batches():
    a = rng.integers(-128, 128, (2000,)).astype(np.int8)
    b = rng.integers(-128, 128, (2000,)).astype(np.int8)
    out = int_matmul(a, b)
    assert out.shape == () and int(out) == int(_exact(a, b))
    m = rng.integers(-128, 128, (3, 1, 4, 2000)).astype(np.int8)
    n = rng.integers(-128, 128, (5, 2000, 2)).astype(np.int8)
    np.testing.assert_array_equal(int_matmul(m, n), _exact(m, n))
    np.testing.assert_array_equal(int_matmul(m, b), _exact(m, b))


def test_float_operand_with_bound():
    w = rng.integers(-127, 128, (1500, 6)).astype(np.int8)
    x = rng.integers(0, 256, (4, 1500)).astype(np.uint8)
    np.testing.assert_array_equal(int_matmul(x, w.astype(np.float32), b_bound=127),
                                  _exact(x, w))
    with pytest.raises(TypeError, match="bound"):
        int_matmul(x, w.astype(np.float32))


def test_wide_sums_accumulate_in_int64():
    k = 140_000  # k * 2**14 > 2**31: int32 would overflow
    a = np.full((1, k), -128, np.int8)
    b = np.full((k, 1), -128, np.int8)
    out = int_matmul(a, b)
    assert out.dtype == np.int64 and out.item() == k * 2 ** 14


def test_wider_integers_go_through_float64():
    a = rng.integers(-30000, 30000, (4, 300)).astype(np.int16)
    b = rng.integers(-30000, 30000, (300, 3)).astype(np.int16)
    np.testing.assert_array_equal(int_matmul(a, b), _exact(a, b))


def test_chunk_bounds():
    assert exact_chunk(127, 127) == 1040
    assert exact_chunk(128, 128) == 1024
    assert exact_chunk(255, 128) == 514
    assert exact_chunk(0, 128) == 2 ** 24


def test_bad_input_names_the_op():
    a = np.zeros((2, 3), np.int8)
    with pytest.raises(ValueError, match=r"int_matmul: shapes \(2, 3\) and \(4, 2\)"):
        int_matmul(a, np.zeros((4, 2), np.int8))
    with pytest.raises(TypeError, match="int_matmul"):
        int_matmul(a, np.zeros((3, 2), bool))
