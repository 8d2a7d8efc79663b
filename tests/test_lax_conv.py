"""ember.lax.conv_general_dilated and padtype_to_pads against jax.lax."""
import numpy as np
import pytest

import ember

jax = pytest.importorskip("jax")


@pytest.mark.parametrize("dn,xs,ws", [
    (("NHWC", "HWIO", "NHWC"), (2, 9, 7, 3), (4, 3, 3, 5)),
    (("NCHW", "OIHW", "NCHW"), (2, 3, 9, 7), (5, 3, 4, 3)),
    (None, (2, 3, 9, 7), (5, 3, 4, 3)),
    (("NHC", "HIO", "NHC"), (2, 11, 3), (3, 3, 4)),
    (("NCDHW", "OIDHW", "NCDHW"), (1, 2, 5, 6, 4), (3, 2, 2, 3, 2)),
])
@pytest.mark.parametrize("padding", ["SAME", "VALID", "SAME_LOWER", "pairs"])
@pytest.mark.parametrize("strides", [1, 2])
def test_values_and_grads_match_jax(dn, xs, ws, padding, strides):
    rs = np.random.RandomState(0)
    x = rs.randn(*xs).astype(np.float32)
    w = rs.randn(*ws).astype(np.float32)
    nsp = len(xs) - 2
    st = (strides,) * nsp
    pad = [(1, 2)] * nsp if padding == "pairs" else padding
    dil = (1,) * nsp if strides == 2 else (2,) + (1,) * (nsp - 1)
    e = ember.lax.conv_general_dilated(x, w, st, pad, rhs_dilation=dil, dimension_numbers=dn)
    j = jax.lax.conv_general_dilated(x, w, st, pad, rhs_dilation=dil, dimension_numbers=dn)
    np.testing.assert_allclose(e.numpy(), np.asarray(j), rtol=1e-4, atol=1e-4)
    ge = ember.grad(lambda a, b: (ember.lax.conv_general_dilated(
        a, b, st, pad, rhs_dilation=dil, dimension_numbers=dn) ** 2).sum(), (0, 1))(x, w)
    gj = jax.grad(lambda a, b: (jax.lax.conv_general_dilated(
        a, b, st, pad, rhs_dilation=dil, dimension_numbers=dn) ** 2).sum(), (0, 1))(x, w)
    for a, b in zip(ge, gj):
        np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=1e-3, atol=1e-3)


def test_feature_groups_and_padtype_to_pads():
    rs = np.random.RandomState(1)
    x = rs.randn(1, 4, 6, 6).astype(np.float32)
    w = rs.randn(6, 2, 3, 3).astype(np.float32)
    e = ember.lax.conv_general_dilated(x, w, (1, 1), "SAME", feature_group_count=2)
    j = jax.lax.conv_general_dilated(x, w, (1, 1), "SAME", feature_group_count=2)
    np.testing.assert_allclose(e.numpy(), np.asarray(j), rtol=1e-4, atol=1e-4)
    for args in [((28, 28), (8, 8), (2, 2), "SAME"), ((7, 5), (2, 3), (1, 2), "SAME_LOWER"),
                 ((7,), (3,), (2,), "VALID")]:
        assert [tuple(p) for p in ember.lax.padtype_to_pads(*args)] == \
            [tuple(p) for p in jax.lax.padtype_to_pads(*args)]


def test_unsupported_arguments_say_so():
    x, w = np.ones((1, 1, 4, 4), np.float32), np.ones((1, 1, 2, 2), np.float32)
    with pytest.raises(ValueError, match="lhs_dilation"):
        ember.lax.conv_general_dilated(x, w, (1, 1), "VALID", lhs_dilation=(2,))
    with pytest.raises(ValueError, match="smaller than the dilated kernel"):
        ember.lax.conv_general_dilated(x, w, (1, 1), [(-2, -1), (0, 0)])
    with pytest.raises(ValueError, match="dimension_numbers"):
        ember.lax.conv_general_dilated(x, w, (1, 1), "VALID",
                                       dimension_numbers=("NHWC", "HWIO", "NCW"))
    with pytest.raises(ValueError, match="padding"):
        ember.lax.conv_general_dilated(x, w, (1, 1), "FULL")


@pytest.mark.parametrize("dn,xs,ws", [
    (("NHWC", "HWIO", "NHWC"), (1, 9, 7, 3), (3, 2, 3, 4)),
    (("NWHC", "WHIO", "NHWC"), (1, 7, 9, 3), (2, 3, 3, 4)),
    (("NHC", "HIO", "NHC"), (2, 11, 3), (3, 3, 4)),
    (("NCDHW", "OIDHW", "NCDHW"), (1, 2, 5, 6, 4), (3, 2, 2, 3, 2)),
    (None, (2, 3, 9, 7), (5, 3, 4, 3)),
])
def test_conv_dimension_numbers_match_jax_and_drive_the_conv(dn, xs, ws):
    e = ember.lax.conv_dimension_numbers(xs, ws, dn)
    j = jax.lax.conv_dimension_numbers(xs, ws, dn)
    assert repr(e) == repr(j)
    assert ember.lax.conv_dimension_numbers(xs, ws, e) is e
    rs = np.random.RandomState(2)
    x, w = rs.randn(*xs).astype(np.float32), rs.randn(*ws).astype(np.float32)
    st = (1,) * (len(xs) - 2)
    got = ember.lax.conv_general_dilated(x, w, st, "SAME", dimension_numbers=e)
    want = jax.lax.conv_general_dilated(x, w, st, "SAME", dimension_numbers=j)
    np.testing.assert_allclose(got.numpy(), np.asarray(want), rtol=1e-4, atol=1e-4)


def test_conv_and_conv_with_general_padding_match_jax():
    rs = np.random.RandomState(3)
    x = rs.randn(2, 3, 8, 7).astype(np.float32)
    w = rs.randn(4, 3, 3, 2).astype(np.float32)
    for pad in ("SAME", "VALID", [(1, 0), (2, 1)]):
        np.testing.assert_allclose(ember.lax.conv(x, w, (2, 1), pad).numpy(),
                                   np.asarray(jax.lax.conv(x, w, (2, 1), pad)),
                                   rtol=1e-4, atol=1e-4)
    pad = [(2, 1), (1, 1)]
    got = ember.lax.conv_with_general_padding(x, w, (1, 1), pad, (2, 1), (1, 2))
    want = jax.lax.conv_with_general_padding(x, w, (1, 1), pad, (2, 1), (1, 2))
    np.testing.assert_allclose(got.numpy(), np.asarray(want), rtol=1e-4, atol=1e-4)


def test_bad_dimension_numbers_say_what_is_wrong():
    with pytest.raises(ValueError, match="permutations of range"):
        ember.lax.conv_general_dilated(np.ones((1, 1, 4, 4), np.float32),
                                       np.ones((1, 1, 2, 2), np.float32), (1, 1), "VALID",
                                       dimension_numbers=((0, 1, 2, 2), (0, 1, 2, 3),
                                                          (0, 1, 2, 3)))
    with pytest.raises(ValueError, match="same number of dims"):
        ember.lax.conv_dimension_numbers((1, 2, 3), (1, 2, 3, 4), None)
