"""Every primitive in the table carries all of its rules, and the rules agree with finite
differences, with each other (JVP vs VJP), with Python loops (vmap) and with PyTorch."""
import numpy as np
import pytest

import ember
from ember.transforms import jvp, vjp, vmap

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None


@pytest.mark.parametrize("name", sorted(ember.primitives))
def test_primitive_has_every_rule(name):
    p = ember.primitives[name]
    missing = [r for r in ("impl", "vjp", "jvp", "batch") if getattr(p, r) is None]
    assert not missing, f"primitive {name} lacks rules: {missing}"


rng = np.random.default_rng(3)  # for the tests outside the per-case table (see _case_rng)

# (name, function of ember-or-torch module and tensors, input shapes, positive-domain?)
CASES = [
    ("add_bcast", lambda m, a, b: a + b, [(3, 1), (4,)], False),
    ("sub_scalar", lambda m, a: 2.0 - a, [(3,)], False),
    ("mul_bcast", lambda m, a, b: a * b, [(2, 3), (1, 3)], False),
    ("div", lambda m, a, b: a / b, [(3,), (3,)], True),
    ("pow", lambda m, a, b: a ** b, [(3,), (3,)], True),
    ("pow_scalar", lambda m, a: a ** 3, [(3,)], False),
    ("maximum", lambda m, a, b: m.maximum(a, b), [(4,), (4,)], False),
    ("minimum", lambda m, a, b: m.minimum(a, b), [(4,), (4,)], False),
    ("exp", lambda m, a: a.exp(), [(3,)], False),
    ("log", lambda m, a: a.log(), [(3,)], True),
    ("log1p_expm1", lambda m, a: a.log1p() + a.expm1(), [(3,)], True),
    ("sqrt_rsqrt", lambda m, a: a.sqrt() + a.rsqrt(), [(3,)], True),
    ("trig", lambda m, a: a.sin() * a.cos() + a.tan() * 0.1, [(3,)], False),
    ("hyper", lambda m, a: a.tanh() + a.sinh() * a.cosh(), [(3,)], False),
    ("inverse_hyper", lambda m, a: m.asinh(a - 1) + m.acosh(a + 1) + m.atanh(a * 0.3),
     [(3,)], True),
    ("sigmoid", lambda m, a: m.sigmoid(a), [(5,)], False),
    ("relu", lambda m, a: m.relu(a), [(5,)], False),
    ("abs", lambda m, a: a.abs(), [(5,)], False),
    ("clamp", lambda m, a: a.clamp(-0.5, 0.5), [(6,)], False),
    ("erf_gelu", lambda m, a: m.erf(a) + m.nn.functional.gelu(a) if m is torch
     else m.erf(a) + m.gelu(a), [(4,)], False),
    ("softplus_silu", lambda m, a: (m.nn.functional.softplus(a) + m.nn.functional.silu(a))
     if m is torch else m.softplus(a) + m.silu(a), [(4,)], False),
    ("where", lambda m, a, b: m.where(a > 0, a, b), [(4,), (4,)], False),
    ("atan2", lambda m, a, b: m.atan2(a, b), [(3,), (3,)], True),
    # complex numbers inside a real function: complex, real, imag, conj, abs and the
    # holomorphic rules (mul, pow, exp, div) on complex values
    ("complex_parts", lambda m, a, b: m.real(m.complex(a, b) * m.conj(m.complex(b, a)) *
                                             m.exp(m.complex(a, a))) +
     m.imag(m.complex(a, b) ** 2 / m.complex(b + 3, a)), [(3,), (3,)], False),
    # Fourier transforms (fft, rfft, irfft primitives) inside real functions
    ("fft_c2c", lambda m, a, b: m.view_as_real(m.fft.ifft(m.fft.fft(m.complex(a, b), norm="ortho")
                                                        * m.complex(b, a), n=5, dim=0)),
     [(4, 2), (4, 2)], False),
    ("rfft_irfft", lambda m, a: m.fft.irfft(m.fft.rfft(a, dim=0) * (1 - 2j), n=5, dim=0)[1:4] +
     m.fft.irfft(m.fft.rfft(a, norm="forward"), n=4, norm="forward"),
     [(3, 4)], False),
    ("rfftn_hfft", lambda m, a: m.view_as_real(m.fft.rfftn(a, s=(3, 6))).sum(-1) +
     m.fft.hfft(m.fft.ihfft(a), n=5)[:, :4], [(3, 5)], False),
    # eig of a general matrix (complex results): eigenvalues and phase-free eigenvector terms
    ("linalg_eig", lambda m, a: m.real(m.linalg.eigvals(a) * (1 + 0.5j)).sum() +
     (m.abs(m.linalg.eig(a)[1]) ** 2 * m.arange(3.0)).sum(), [(3, 3)], False),
    ("complex_abs_angle", lambda m, a, b: m.abs(m.complex(a, b) * (1 + 2j)) +
     m.angle(m.complex(a, b)), [(3,), (3,)], False),
    ("sum", lambda m, a: a.sum(dim=1, keepdim=True) * a, [(2, 3)], False),
    ("mean", lambda m, a: a.mean(dim=(0, 2)), [(2, 3, 4)], False),
    ("reshape_permute", lambda m, a: a.reshape(3, 2).permute(1, 0).flatten(), [(2, 3)], False),
    ("expand_unsqueeze", lambda m, a: a.unsqueeze(0).expand(2, 3) * 2, [(3,)], False),
    ("transpose_squeeze", lambda m, a: a.transpose(0, 2).squeeze(), [(2, 1, 3)], False),
    ("matmul", lambda m, a, b: a @ b, [(2, 3), (3, 4)], False),
    ("matmul_batched", lambda m, a, b: a @ b, [(2, 2, 3), (3, 4)], False),
    ("matmul_vec", lambda m, a, b: a @ b, [(3,), (3, 2)], False),
    ("clone", lambda m, a: a.clone() * a, [(3,)], False),
    ("getitem_basic", lambda m, a: a[1:, None, ..., ::2] * a[0, 1, 4], [(3, 4, 5)], False),
    ("getitem_advanced", lambda m, a: a[:, [0, 2, 2]] + a[[1, 0, 1], 1:4], [(3, 4)], False),
    ("getitem_advanced_split", lambda m, a: a[[0, 1], :, [2, 0]], [(2, 3, 4)], False),
    ("amax_amin", lambda m, a: m.amax(a, 1) + m.amin(a, 0, keepdim=True).sum(), [(3, 4)],
     False),
    ("max_dim", lambda m, a: a.max(dim=1)[0] + a.min(dim=1).values, [(3, 4)], False),
    ("max_all", lambda m, a: a.max() * a.min(), [(3, 4)], False),
    ("var_std", lambda m, a: a.var(1) + a.std(0).sum(), [(3, 4)], False),
    ("logsumexp", lambda m, a: m.logsumexp(a, 1), [(3, 4)], False),
    ("cumsum", lambda m, a: a.cumsum(1) * a, [(3, 4)], False),
    ("norm", lambda m, a: a.norm() + (a * a).sum(0).sqrt().sum(), [(3, 4)], False),
    ("inverse_trig", lambda m, a: (0.5 * m.tanh(a)).asin() + (0.5 * m.tanh(a)).acos() + a.atan(),
     [(4,)], False),
    ("exp2_log2_log10_recip", lambda m, a: a.exp2() + a.log2() + a.log10() + a.reciprocal(),
     [(4,)], True),
    ("piecewise", lambda m, a: a.floor() + a.ceil() + a.round() + a.trunc() + a, [(5,)], False),
    ("remainder_fmod_floordiv", lambda m, a: m.remainder(a, 0.7) + m.fmod(a, 0.3)
     + a * m.floor_divide(a.detach(), 0.3), [(5,)], True),
    ("compare_logical", lambda m, a, b: m.where(
        m.logical_xor(a < b, a > 0.5) | m.logical_or(a != b, a < 0) & ((a > 0) ^ (b > 0)), a, b),
     [(6,), (6,)], False),
    ("log_softmax", lambda m, a: m.log_softmax(a, 1) * a, [(3, 4)], False),
    ("cat_stack", lambda m, a, b: m.cat([a, b * 2], 1).sum(1) + m.stack([a, b], 0)[1, :, 0],
     [(2, 3), (2, 3)], False),
    ("prod", lambda m, a: a.prod(1) + a.prod(), [(3, 4)], False),
    ("cumprod", lambda m, a: a.cumprod(1) + a.cumprod(0), [(3, 4)], False),
    ("pad_constant", lambda m, a: m.nn.functional.pad(a, (1, 2, 0, 1), value=0.5), [(2, 3)],
     False),
    ("pad_modes", lambda m, a: m.nn.functional.pad(a, (2, 1), mode="reflect")
     + m.nn.functional.pad(a, (1, 2), mode="replicate")
     + m.nn.functional.pad(a, (0, 3), mode="circular"), [(2, 4)], False),
    ("pad_crop", lambda m, a: m.nn.functional.pad(a, (-1, 2)), [(2, 4)], False),
    ("split_chunk_unbind", lambda m, a: m.cat(a.split([1, 3], 1)[::-1], 1)
     + m.stack(a.unbind(1)[::-1], 1) + m.cat(a.chunk(2, 1), 1), [(3, 4)], False),
    ("narrow_flip_roll", lambda m, a: a.narrow(1, 1, 2).flip(0).roll(1, 1)
     + m.roll(a, 2).narrow(1, 0, 2), [(3, 4)], False),
    ("repeat_tile", lambda m, a: a.repeat(2, 1, 2) + m.tile(a, (2, 1, 2)), [(2, 3)], False),
    ("repeat_interleave", lambda m, a: m.repeat_interleave(a, 2, dim=0), [(2, 3)], False),
    ("gather", lambda m, a: m.gather(a, 1, m.tensor([[0, 3, 3], [1, 0, 2], [2, 2, 0]])),
     [(3, 4)], False),
    ("scatter_add", lambda m, a, b: a.scatter_add(0, m.tensor([[0, 1, 0], [0, 2, 2]]), b),
     [(3, 3), (2, 3)], False),
    ("scatter", lambda m, a, b: a.scatter(1, m.tensor([[2], [0], [1]]), b), [(3, 3), (3, 1)],
     False),
    # scatter_mul/max/min: repeated indices multiply in turn; max/min ties share the gradient
    ("scatter_reduce_prod", lambda m, a, b: a.scatter_reduce(
        0, m.tensor([[0, 1, 0], [0, 2, 2]]), b, "prod"), [(3, 3), (2, 3)], False),
    ("scatter_reduce_amax_amin", lambda m, a, b: a.scatter_reduce(
        0, m.tensor([[0, 1, 0], [0, 2, 2]]), b, "amax") + a.scatter_reduce(
        1, m.tensor([[2, 2], [0, 1]]), b[:, :2] * 3, "amin", include_self=False),
     [(3, 3), (2, 3)], False),
    ("at_multiply_min_max", lambda m, a, b: a.scatter_reduce(
        0, m.tensor([3, 0, 3, 7][:3]), b, "prod") if m is torch else
     a.at[m.tensor([3, 0, 3, 7])].multiply(m.cat([b, b[:1]])), [(5,), (3,)], False),
    ("index_select_take_along", lambda m, a: m.index_select(a, 1, m.tensor([3, 0, 3]))
     + m.take_along_dim(a, m.tensor([[1], [0], [3]]), 1), [(3, 4)], False),
    ("masked_fill", lambda m, a: a.masked_fill(m.tensor([True, False, True, False]), 2.0),
     [(3, 4)], False),
    ("utils_checkpoint", lambda m, a, b: m.utils.checkpoint.checkpoint(
        lambda t, u: (t * u).sin() * 2, a, b, use_reentrant=False), [(3,), (3,)], False),
    ("einsum_matmul_bcast", lambda m, a, b: m.einsum("bij,bjk->bik", a, b), [(1, 2, 3), (4, 3, 2)],
     False),
    ("einsum_ellipsis_sum", lambda m, a, b: m.einsum("...ij,jk", a, b) + m.einsum("ij->", b),
     [(2, 2, 3), (3, 2)], False),
    ("einsum_diag_outer", lambda m, a, b: m.einsum("ii,j->ij", a, b) + m.einsum("ii", a),
     [(3, 3), (3,)], False),
    ("einsum_three", lambda m, a, b, c: m.einsum("ab,bc,cd->ad", a, b, c), [(2, 3), (3, 4), (4, 2)],
     False),
    ("tensordot", lambda m, a, b: m.tensordot(a, b, dims=([0, 2], [1, 0])) + m.tensordot(
        a[0], b[:, :, 0], 1).sum(), [(4, 2, 3), (3, 4, 5)], False),
    ("linear", lambda m, x, w, b: m.nn.functional.linear(x, w, b)
     + m.nn.functional.linear(m.stack([x, x * 2]), w).sum(0), [(2, 3), (4, 3), (4,)], False),
    ("conv2d", lambda m, x, w, b: m.nn.functional.conv2d(x, w, b, stride=(2, 1), padding=1),
     [(2, 2, 5, 4), (3, 2, 3, 2), (3,)], False),
    ("conv2d_groups_dilation", lambda m, x, w: m.nn.functional.conv2d(
        x, w, padding="same", dilation=2, groups=2), [(1, 4, 5, 5), (2, 2, 2, 3)], False),
    ("conv1d", lambda m, x, w: m.nn.functional.conv1d(x, w, stride=2), [(2, 2, 7), (3, 2, 3)],
     False),
    ("conv_transpose2d", lambda m, x, w, b: m.nn.functional.conv_transpose2d(
        x, w, b, stride=2, padding=1, output_padding=1), [(1, 2, 3, 3), (2, 3, 3, 2), (3,)],
     False),
    ("conv_transpose1d_groups", lambda m, x, w: m.nn.functional.conv_transpose1d(
        x, w, groups=2, dilation=2), [(2, 4, 3), (4, 1, 2)], False),
    ("max_pool", lambda m, x: m.nn.functional.max_pool2d(x, 3, 2, 1, ceil_mode=True).sum((1, 2))
     + m.nn.functional.max_pool1d(x[:, :, 0], 2).sum(-1), [(2, 3, 6, 5)], False),
    ("avg_pool", lambda m, x: m.nn.functional.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
     + m.nn.functional.avg_pool1d(x[:, :, 0], 3, 2, 1).unsqueeze(-1), [(2, 3, 6, 5)], False),
    ("adaptive_pool", lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, (4, 2))
     + m.nn.functional.adaptive_max_pool2d(x, (4, 2)), [(2, 2, 6, 5)], False),
    ("erfinv", lambda m, a: m.erfinv(m.tanh(a) * 0.9), [(5,)], False),
    ("erfc_erfcx_log_ndtr", lambda m, a: m.erfc(a) + m.special.erfcx(a * 2)
     + m.special.log_ndtr(a * 3), [(6,)], False),
    ("sort_topk", lambda m, a: a.sort(1)[0] + a.sort(1, descending=True).values
     + a.topk(2, 1)[0].sum(1, keepdim=True) + a.argsort(0).to(a.dtype), [(3, 4)], False),
    ("lstm_cell", lambda m, g, c: _lstm_cell(m, g, c), [(2, 8), (2, 2)], False),
    ("lstm_sequence", lambda m, x, w, h, c: _lstm_sequence(m, x, w, h, c),
     [(3, 2, 8), (2, 8), (2, 2), (2, 2)], False),
    # 9 steps: two blocks of the projections (8 + 1)
    ("lstm2_sequence", lambda m, x, wi1, b1, w1, wi2, b2, w2, h, c: _lstm2_sequence(
        m, x, wi1, b1, w1, wi2, b2, w2, h, c),
     [(9, 2, 3), (3, 8), (8,), (2, 8), (2, 8), (8,), (2, 8), (2, 2, 2), (2, 2, 2)], False),
    ("gru_sequence", lambda m, x, w, b, h: _gru_sequence(m, x, w, b, h),
     [(3, 2, 6), (2, 6), (6,), (2, 2)], False),
    ("nll_loss", lambda m, x: _nll_loss(m, x), [(4, 3)], False),
    # batch normalisation in training: the fused primitive (ops/norm.py), 3-d and 4-d
    ("batch_norm_train", lambda m, x, w, b: m.nn.functional.batch_norm(
        x, None, None, w, b, training=True, eps=1e-3) + m.nn.functional.batch_norm(
        x.reshape(3, 2, 2, 2), None, None, training=True).reshape(3, 2, 4), [(3, 2, 4), (2,),
                                                                             (2,)], False),
    ("layer_norm", lambda m, x, w, b: m.nn.functional.layer_norm(x, (4,), w, b, eps=1e-3)
     + m.nn.functional.layer_norm(x, (2, 4), eps=1e-3), [(3, 2, 4), (4,), (4,)], False),
    ("embedding", lambda m, w: m.nn.functional.embedding(
        m.tensor([[0, 2, 3], [3, 1, 0]]), w), [(4, 3)], False),
    # linear algebra (ember/ops/linalg_decomp.py; ember.linalg as torch.linalg)
    ("linalg_solve", lambda m, a, b: m.linalg.solve(_wellcond(m, a), b)
     + m.linalg.solve(_wellcond(m, a), b[:, 0]).unsqueeze(-1), [(3, 3), (3, 2)], False),
    ("linalg_solve_triangular", lambda m, a, b: m.linalg.solve_triangular(
        _wellcond(m, a), b, upper=True) + m.linalg.solve_triangular(
        _wellcond(m, a), b.mT, upper=False, left=False, unitriangular=True).mT, [(3, 3), (3, 2)],
     False),
    ("linalg_det_inv", lambda m, a: m.linalg.inv(_wellcond(m, a)) * m.linalg.det(_wellcond(m, a))
     + m.linalg.slogdet(_wellcond(m, a))[1] + m.logdet(_wellcond(m, a)), [(3, 3)], False),
    ("linalg_cholesky", lambda m, a, b: m.cat([m.linalg.cholesky(_spd(m, a)), m.cholesky_solve(
        b, m.linalg.cholesky(_spd(m, a)))], 1), [(3, 3), (3, 2)], False),
    ("linalg_qr", lambda m, a: m.cat(list(m.linalg.qr(a)), 0), [(4, 3)], False),
    ("linalg_qr_wide", lambda m, a: m.cat([m.linalg.qr(a)[0], m.linalg.qr(a)[1].mT], 0),
     [(3, 5)], False),
    ("linalg_lu", lambda m, a, b: m.cat([m.linalg.lu(_wellcond(m, a)).L,
                                        m.linalg.lu(_wellcond(m, a)).U * 2,
                                        m.linalg.lu_solve(*m.linalg.lu_factor(_wellcond(m, a)),
                                                          b)], 0), [(3, 3), (3, 3)], False),
    ("matrix_exp", lambda m, a: m.linalg.matrix_exp(a * 0.5), [(3, 3)], False),
    ("linalg_eigh", lambda m, a: _eigh_case(m, a), [(3, 3)], False),
    ("linalg_svd_tall", lambda m, a: _svd_case(m, a), [(4, 3)], False),
    ("linalg_svd_wide", lambda m, a: _svd_case(m, a), [(2, 4)], False),
    ("linalg_pinv_lstsq_norms", lambda m, a, b: m.linalg.pinv(a).sum(1, keepdim=True).mT
     + m.linalg.lstsq(a, b).solution.mT + m.linalg.matrix_norm(a, "nuc")
     + m.linalg.matrix_norm(a, 2) + m.linalg.matrix_norm(a, -2) + m.linalg.matrix_norm(a, 1)
     + m.linalg.matrix_norm(a, float("-inf")) + m.linalg.norm(a) + m.linalg.vector_norm(a, 3)
     + m.linalg.vector_norm(b, float("inf"), dim=0).unsqueeze(-1), [(4, 3), (4, 2)], False),
    ("linalg_power_cross", lambda m, a, b: m.linalg.matrix_power(a, 3)
     + m.linalg.matrix_power(_wellcond(m, a), -2) + m.linalg.cross(a, b)
     + m.linalg.multi_dot([a, b.mT, a]), [(3, 3), (3, 3)], False),
    ("tril_triu_diagonal", lambda m, a: m.tril(a, -1) + m.triu(a, 1) * 2
     + m.diag_embed(m.diagonal(a, 0, -2, -1)) + a.trace() + m.diag(m.diag(a, 1), -1),
     [(3, 3)], False),
    # (in x: PyTorch has no derivative in a; tests/test_special_igamma.py checks it vs JAX)
    ("igamma_igammac", lambda m, x: m.igamma(m.full_like(x, 2.5), x)
     + m.igammac(m.full_like(x, 1.5), 2 * x), [(4,)], True),
    ("nextafter", lambda m, a, b: m.nextafter(a, b) * 2, [(3,), (2, 1)], False),
    ("special_i0e_i1_i1e", lambda m, a: m.special.i0e(a) + m.special.i1(a) * 0.5
     + m.special.i1e(a * 2) + m.special.i0(a), [(5,)], False),
    # PyTorch has no derivative of these: its side is written out with the recurrences
    ("special_bessel", lambda m, a: _bessel_case(m, a), [(4,)], True),
    ("special_bessel_odd", lambda m, a: _bessel_odd_case(m, a), [(4,)], False),
    # (in q: PyTorch has no derivative in x; tests/test_special_bessel.py checks that one)
    ("special_zeta", lambda m, q: m.special.zeta(m.full_like(q, 2.5), q), [(4,)], True),
    # jax.scipy.special's integrals (PyTorch has none: SciPy's values, the rules' derivatives)
    ("scipy_integrals", lambda m, a: _integrals_case(m, a), [(4,)], True),
    ("scipy_oscillatory", lambda m, a: _oscillatory_case(m, a), [(4,)], False),
    ("scipy_hyp1f1", lambda m, a: _hyp1f1_case(m, a), [(4,)], False),
    ("scipy_owens_t", lambda m, h, a: _owens_t_case(m, h, a), [(4,), (4,)], False),
    ("scipy_bessel_jn", lambda m, a: _bessel_jn_case(m, a), [(4,)], False),
    ("scipy_hyp2f1", lambda m, a: _hyp2f1_case(m, a), [(4,)], False),
    ("scipy_wofz", lambda m, a: _wofz_case(m, a), [(4,)], False),
    ("scipy_sph_harm_y", lambda m, t, p: _sph_harm_case(m, t, p), [(4,), (4,)], False),
    ("lgamma_digamma_polygamma", lambda m, a: m.lgamma(a) + m.digamma(a) * 0.5
     + m.polygamma(1, a) * 0.25 + m.lgamma(a - 3.0), [(4,)], True),
    # over a group of one process the all-reduce is the identity (2 ranks: tests/distributed)
    ("dist_all_reduce", lambda m, a: a * 2.0 if m is torch else _all_reduce_1(a) * 2.0,
     [(3,)], False),
]


def _torch_with_derivative(value, deriv, a):
    """``value`` (computed by torch without a derivative) carrying the first derivative
    ``deriv`` with respect to ``a``."""
    with torch.no_grad():
        v, d = value(a.detach()), deriv(a.detach())
    return v + (a - a.detach()) * d


def _bessel_case(m, a):
    S = m.special
    names = ["bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0",
             "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
             "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "spherical_bessel_j0"]
    if m is not torch:
        return m.stack([getattr(S, n)(a * (k + 1) / 3) for k, n in enumerate(names)])
    d = {"bessel_j0": lambda x: -S.bessel_j1(x),
         "bessel_j1": lambda x: S.bessel_j0(x) - S.bessel_j1(x) / x,
         "bessel_y0": lambda x: -S.bessel_y1(x),
         "bessel_y1": lambda x: S.bessel_y0(x) - S.bessel_y1(x) / x,
         "modified_bessel_i0": lambda x: S.modified_bessel_i1(x),
         "modified_bessel_i1": lambda x: S.modified_bessel_i0(x) - S.modified_bessel_i1(x) / x,
         "modified_bessel_k0": lambda x: -S.modified_bessel_k1(x),
         "modified_bessel_k1": lambda x: -S.modified_bessel_k0(x) - S.modified_bessel_k1(x) / x,
         "scaled_modified_bessel_k0": lambda x: S.scaled_modified_bessel_k0(x)
         - S.scaled_modified_bessel_k1(x),
         "scaled_modified_bessel_k1": lambda x: S.scaled_modified_bessel_k1(x) * (1 - 1 / x)
         - S.scaled_modified_bessel_k0(x),
         "spherical_bessel_j0": lambda x: (x.cos() - S.spherical_bessel_j0(x)) / x}
    return m.stack([_torch_with_derivative(getattr(S, n), d[n], a * (k + 1) / 3)
                    for k, n in enumerate(names)])


def _integrals_case(m, a):
    if m is not torch:
        S = m.scipy.special
        return m.stack([S.expi(a), S.expn(2, a), S.spence(a * 0.7),
                        S.betainc(m.full_like(a, 2.5), m.full_like(a, 1.5), a / 2.5)])
    import scipy.special as ss

    def wrap(fn):
        return lambda x: torch.from_numpy(np.asarray(fn(x.numpy())).astype(x.numpy().dtype))
    return torch.stack([
        _torch_with_derivative(wrap(ss.expi), wrap(lambda x: np.exp(x) / x), a),
        _torch_with_derivative(wrap(lambda x: ss.expn(2, x)), wrap(lambda x: -ss.exp1(x)), a),
        _torch_with_derivative(wrap(ss.spence), wrap(lambda x: np.log(x) / (1 - x)), a * 0.7),
        _torch_with_derivative(wrap(lambda x: ss.betainc(2.5, 1.5, x)),
                               wrap(lambda x: x ** 1.5 * (1 - x) ** 0.5 / ss.beta(2.5, 1.5)),
                               a / 2.5)])


def _oscillatory_case(m, a):  # Fresnel, Si, Ci, Dawson: both signs of x
    if m is not torch:
        S = m.scipy.special
        return m.stack([S.fresnel(a * 1.5)[0], S.fresnel(a * 2)[1], S.sici(a * 3)[0],
                        S.sici(a * 3 + 4)[1], S.dawsn(a * 2)])
    import scipy.special as ss

    def wrap(fn):
        return lambda x: torch.from_numpy(np.asarray(fn(x.numpy())).astype(x.numpy().dtype))
    return torch.stack([
        _torch_with_derivative(wrap(lambda x: ss.fresnel(x)[0]),
                               lambda x: torch.sin(np.pi / 2 * x * x), a * 1.5),
        _torch_with_derivative(wrap(lambda x: ss.fresnel(x)[1]),
                               lambda x: torch.cos(np.pi / 2 * x * x), a * 2),
        _torch_with_derivative(wrap(lambda x: ss.sici(x)[0]), lambda x: torch.sin(x) / x, a * 3),
        _torch_with_derivative(wrap(lambda x: ss.sici(x)[1]), lambda x: torch.cos(x) / x,
                               a * 3 + 4),
        _torch_with_derivative(wrap(ss.dawsn), lambda x: 1 - 2 * x * wrap(ss.dawsn)(x), a * 2)])


def _hyp1f1_case(m, a):  # in x (in a and b: tests/scipy/test_special_hypergeometric.py)
    if m is not torch:
        S = m.scipy.special
        return S.hyp1f1(m.full_like(a, 0.7), m.full_like(a, 1.9), a * 3)
    import scipy.special as ss

    def wrap(fn):
        return lambda x: torch.from_numpy(np.asarray(fn(x.numpy())).astype(x.numpy().dtype))
    return _torch_with_derivative(wrap(lambda x: ss.hyp1f1(0.7, 1.9, x)),
                                  wrap(lambda x: 0.7 / 1.9 * ss.hyp1f1(1.7, 2.9, x)), a * 3)


def _owens_t_case(m, h, a):  # both branches: |a| <= 1 and |a| > 1
    a = a * 2
    if m is not torch:
        return m.scipy.special.owens_t(h, a)
    import scipy.special as ss
    with torch.no_grad():
        v = torch.from_numpy(ss.owens_t(h.numpy(), a.numpy()).astype(h.numpy().dtype))
        dh = -torch.exp(-h * h / 2) / np.sqrt(2 * np.pi) * torch.erf(a * h / np.sqrt(2)) / 2
        da = torch.exp(-h * h * (1 + a * a) / 2) / (2 * np.pi * (1 + a * a))
    return v + (h - h.detach()) * dh + (a - a.detach()) * da


def _bessel_jn_case(m, a):  # J_0..J_3 at both signs of z
    if m is not torch:
        return m.scipy.special.bessel_jn(a * 4, v=3)
    import scipy.special as ss

    def wrap(fn):
        return lambda x: torch.from_numpy(np.asarray(fn(x.numpy())).astype(x.numpy().dtype))
    return torch.stack([_torch_with_derivative(
        wrap(lambda x, k=k: ss.jv(k, x)),
        wrap(lambda x, k=k: (ss.jv(k - 1, x) - ss.jv(k + 1, x)) / 2), a * 4) for k in range(4)])


def _hyp2f1_case(m, a):  # in x, both signs (in a, b, c: tests/scipy/)
    if m is not torch:
        S = m.scipy.special
        return S.hyp2f1(m.full_like(a, 0.6), m.full_like(a, 1.3), m.full_like(a, 2.1), a * 0.4)
    import scipy.special as ss

    def wrap(fn):
        return lambda x: torch.from_numpy(np.asarray(fn(x.numpy())).astype(x.numpy().dtype))
    return _torch_with_derivative(wrap(lambda x: ss.hyp2f1(0.6, 1.3, 2.1, x)),
                                  wrap(lambda x: 0.6 * 1.3 / 2.1 * ss.hyp2f1(1.6, 2.3, 3.1, x)),
                                  a * 0.4)


def _wofz_case(m, a):  # real x in, complex out: its real and imaginary parts
    if m is not torch:
        w = m.scipy.special.wofz(a * 2)
        return m.stack([m.real(w), m.imag(w)])
    import scipy.special as ss

    def wrap(fn):
        return lambda x: torch.from_numpy(np.asarray(fn(x.numpy())).astype(x.numpy().dtype))

    def d(x):  # w' = -2 x w + 2i / sqrt(pi)
        return -2 * x * ss.wofz(x) + 2j / np.sqrt(np.pi)
    return torch.stack([
        _torch_with_derivative(wrap(lambda x: ss.wofz(x).real), wrap(lambda x: d(x).real), a * 2),
        _torch_with_derivative(wrap(lambda x: ss.wofz(x).imag), wrap(lambda x: d(x).imag),
                               a * 2)])


def _sph_harm_case(m, t, p):  # Y_3^1 and Y_4^-2, real and imaginary parts, in theta and phi
    t = 1.2 + 0.3 * t
    if m is not torch:
        S = m.scipy.special
        y1 = S.sph_harm_y(m.tensor(3), m.tensor(1), t, p)
        y2 = S.sph_harm_y(m.tensor(4), m.tensor(-2), t, p)
        return m.stack([m.real(y1), m.imag(y1), m.real(y2), m.imag(y2)])
    import scipy.special as ss

    def y(n, k, tt, pp):
        return ss.sph_harm_y(n, k, tt.detach().numpy(), pp.detach().numpy())

    def with_derivs(n, k, part):
        with torch.no_grad():
            v = y(n, k, t, p)
            up = y(n, k + 1, t, p) if k < n else 0 * v
            dt = k / np.tan(t.detach().numpy()) * v + np.sqrt((n - k) * (n + k + 1)) * \
                np.exp(-1j * p.detach().numpy()) * up
            dp = 1j * k * v
            dtype = t.detach().numpy().dtype
            f = (lambda z: torch.from_numpy(np.asarray(part(z)).astype(dtype)))
        return f(v) + (t - t.detach()) * f(dt) + (p - p.detach()) * f(dp)
    return torch.stack([with_derivs(3, 1, np.real), with_derivs(3, 1, np.imag),
                        with_derivs(4, -2, np.real), with_derivs(4, -2, np.imag)])


def _bessel_odd_case(m, a):  # both signs of x (the even and odd functions)
    S = m.special
    if m is not torch:
        return m.stack([S.bessel_j0(a * 3), S.bessel_j1(a * 2), S.modified_bessel_i1(a),
                        S.spherical_bessel_j0(a * 4)])
    return m.stack([
        _torch_with_derivative(S.bessel_j0, lambda x: -S.bessel_j1(x), a * 3),
        _torch_with_derivative(S.bessel_j1, lambda x: S.bessel_j0(x) - S.bessel_j1(x) / x,
                               a * 2),
        _torch_with_derivative(S.modified_bessel_i1, lambda x: S.modified_bessel_i0(x)
                               - S.modified_bessel_i1(x) / x, a),
        _torch_with_derivative(S.spherical_bessel_j0,
                               lambda x: (x.cos() - S.spherical_bessel_j0(x)) / x, a * 4)])


def _all_reduce_1(x):
    from ember.distributed import functional
    g = _group_of_one()
    return functional.all_reduce(x, "sum", g) + functional.all_reduce(x, "avg", g) * 0.0


def _group_of_one(cache=[]):
    if not cache:
        from ember.distributed import ProcessGroup, LocalCommunicator
        cache.append(ProcessGroup(LocalCommunicator(), [0]))
    return cache[0]


def _wellcond(m, a):
    return a + 3 * m.eye(a.shape[-1], dtype=a.dtype)


def _spd(m, a):
    return a @ a.mT + m.eye(a.shape[-1], dtype=a.dtype)


def _eigh_case(m, a):
    w, v = m.linalg.eigh(a + a.mT)
    return m.cat([w.unsqueeze(0), v * v, m.linalg.eigvalsh(a * a.mT).unsqueeze(0)], 0)


def _svd_case(m, a):
    u, s, vh = m.linalg.svd(a, full_matrices=False)
    # sign-invariant outputs: a singular pair's signs flip together
    return m.cat([(u * u).flatten(), (vh * vh).flatten(), s, m.linalg.svdvals(a),
                  (u[:, :1] * vh[:1, :]).flatten()])


def _nll_loss(m, x):
    F = m.nn.functional
    w = m.tensor([0.5, 2.0, 1.5], dtype=x.dtype)
    t = m.tensor([2, -100, 0, 1])
    return m.stack([F.nll_loss(x, m.tensor([1, 0, 2, 2]), reduction="sum"),
                    F.nll_loss(x, m.tensor([1, 0, 2, 2])),
                    F.nll_loss(x, t, weight=w),
                    F.nll_loss(x, m.tensor([2, 1, 0, 1]), weight=w, ignore_index=1,
                               reduction="sum"),
                    F.nll_loss(x, t, reduction="none")[2]])


def _lstm_cell(m, g, c):
    if m is torch:  # the cell written out, as PyTorch's LSTM computes it
        i, f, gg, o = g.chunk(4, -1)
        c2 = f.sigmoid() * c + i.sigmoid() * gg.tanh()
        h = o.sigmoid() * c2.tanh()
    else:
        h, c2 = m.lstm_cell(g, c)
    return m.cat([h, c2 * 2], -1)


def _lstm_sequence(m, x, w, h0, c0):
    outs = []
    for reverse in (False, True):
        if m is torch:  # the recurrence written out
            steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
            hs, cs, h, c = [None] * x.shape[0], [None] * x.shape[0], h0, c0
            for t in steps:
                i, f, g, o = (x[t] + h @ w).chunk(4, -1)
                c = f.sigmoid() * c + i.sigmoid() * g.tanh()
                h = o.sigmoid() * c.tanh()
                hs[t], cs[t] = h, c
            hs, cs = m.stack(hs), m.stack(cs)
        else:
            hs, cs = m.lstm_sequence(x, w, h0, c0, reverse=reverse)
        outs += [hs, cs * 0.5]
    return m.cat(outs, -1)


def _lstm2_sequence(m, x, wi1, b1, w1, wi2, b2, w2, h0, c0):
    if m is torch:  # two layers written out
        seqs = []
        for k, (xin, w) in enumerate(((x @ wi1 + b1, w1), (None, w2))):
            if k:
                xin = m.stack(seqs[-2]) @ wi2 + b2
            hs, cs, h, c = [], [], h0[k], c0[k]
            for t in range(x.shape[0]):
                i, f, g, o = (xin[t] + h @ w).chunk(4, -1)
                c = f.sigmoid() * c + i.sigmoid() * g.tanh()
                h = o.sigmoid() * c.tanh()
                hs.append(h)
                cs.append(c)
            seqs += [hs, cs]
        (hs1, cs1), (hs2, cs2) = (m.stack(v) for v in seqs[:2]), (m.stack(v) for v in seqs[2:])
    else:
        (hs1, cs1), (hs2, cs2) = m.lstm2_sequence(x, wi1, b1, w1, wi2, b2, w2, h0, c0)
    return m.cat([hs1, cs1 * 0.5, hs2 * 2, cs2], -1)


def _gru_sequence(m, x, w, b, h0):
    outs = []
    for reverse in (False, True):
        if m is torch:  # the recurrence written out, as PyTorch's GRU computes it
            H = h0.shape[-1]
            steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
            hs, h = [None] * x.shape[0], h0
            for t in steps:
                gh = h @ w + b
                r = (x[t][..., :H] + gh[..., :H]).sigmoid()
                z = (x[t][..., H:2 * H] + gh[..., H:2 * H]).sigmoid()
                n = (x[t][..., 2 * H:] + r * gh[..., 2 * H:]).tanh()
                h = (1 - z) * n + z * h
                hs[t] = h
            hs = m.stack(hs)
        else:
            hs = m.gru_sequence(x, w, b, h0, reverse=reverse)
        outs.append(hs * (2.0 if reverse else 1.0))
    return m.cat(outs, -1)


def _inputs(shapes, pos, gen=None):
    gen = rng if gen is None else gen
    return [gen.uniform(0.5, 2.0, s) if pos else gen.standard_normal(s) for s in shapes]


def _case_rng(name):
    """A generator seeded by the case's name: its inputs don't depend on which tests ran
    before it in the same worker (pytest-xdist's scheduling changes when cases are added)."""
    import zlib
    return np.random.default_rng(zlib.crc32(name.encode()))


def _fd_grads(f, arrays, w, eps=1e-6):
    grads = []
    for k, a in enumerate(arrays):
        g = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            hi = [x.copy() for x in arrays]
            lo = [x.copy() for x in arrays]
            hi[k][i] += eps
            lo[k][i] -= eps
            fp = (f(*map(ember.tensor, hi)).numpy() * w).sum()
            fm = (f(*map(ember.tensor, lo)).numpy() * w).sum()
            g[i] = (fp - fm) / (2 * eps)
        grads.append(g)
    return grads


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_gradients_match_finite_differences(case):
    name, fn, shapes, pos = case
    rng = _case_rng(name)
    arrays = _inputs(shapes, pos, rng)
    f = lambda *ts: fn(ember, *ts)  # noqa: E731
    ts = [ember.tensor(a, requires_grad=True) for a in arrays]
    out = f(*ts)
    w = rng.standard_normal(tuple(out.shape))
    (out * ember.tensor(w)).sum().backward()
    for t, g in zip(ts, _fd_grads(f, arrays, w)):
        np.testing.assert_allclose(t.grad.numpy(), g, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_second_order_matches_finite_differences(case):
    name, fn, shapes, pos = case
    rng = _case_rng(name)
    arrays = _inputs(shapes, pos, rng)
    w = None

    def first_grad(*ts):
        nonlocal w
        ts = [t if t.requires_grad else t.detach().requires_grad_() for t in ts]
        out = fn(ember, *ts)
        if w is None:
            w = rng.standard_normal(tuple(out.shape))
        return ember.autograd.grad((out * ember.tensor(w)).sum(), ts[0], create_graph=True)[0]

    ts = [ember.tensor(a, requires_grad=True) for a in arrays]
    g = first_grad(*ts)
    w2 = rng.standard_normal(tuple(g.shape))
    if g.requires_grad:  # the first gradient depends on the input
        (h,) = ember.autograd.grad((g * ember.tensor(w2)).sum(), ts[0], allow_unused=True)
    else:
        h = None
    h = np.zeros_like(arrays[0]) if h is None else h.numpy()
    fd = _fd_grads(lambda *x: first_grad(*x).detach(), arrays, w2)
    np.testing.assert_allclose(h, fd[0], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_jvp_agrees_with_vjp(case):
    name, fn, shapes, pos = case
    rng = _case_rng(name)
    arrays = [ember.tensor(a) for a in _inputs(shapes, pos, rng)]
    tangents = [ember.tensor(rng.standard_normal(tuple(a.shape))) for a in arrays]
    f = lambda *ts: fn(ember, *ts)  # noqa: E731
    out, jv = jvp(f, tuple(arrays), tuple(tangents))
    u = ember.tensor(rng.standard_normal(tuple(out.shape)))
    _, fn_vjp = vjp(f, *arrays)
    cts = fn_vjp(u)
    lhs = (u * jv).sum().item()
    rhs = sum((c * t).sum().item() for c, t in zip(cts, tangents))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_vmap_equals_loop(case):
    name, fn, shapes, pos = case
    rng = _case_rng(name)
    B = 3
    batched = [rng.uniform(0.5, 2.0, (B,) + s) if pos else rng.standard_normal((B,) + s)
               for s in shapes]
    f = lambda *ts: fn(ember, *ts)  # noqa: E731
    out = vmap(f)(*map(ember.tensor, batched))
    loop = np.stack([f(*[ember.tensor(b[i]) for b in batched]).numpy() for i in range(B)])
    np.testing.assert_allclose(out.numpy(), loop, rtol=1e-12, atol=1e-12)
    # only the first argument batched, on a non-leading axis
    moved = np.moveaxis(batched[0], 0, -1)
    rest = [ember.tensor(b[0]) for b in batched[1:]]
    out = vmap(lambda a: f(a, *rest), in_axes=-1)(ember.tensor(moved))
    loop = np.stack([f(ember.tensor(batched[0][i]), *rest).numpy() for i in range(B)])
    np.testing.assert_allclose(out.numpy(), loop, rtol=1e-12, atol=1e-12)


@pytest.mark.skipif(torch is None, reason="torch not installed")
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_parity_with_torch(case):
    name, fn, shapes, pos = case
    gen = _case_rng(name)
    arrays = [a.astype(np.float32) for a in _inputs(shapes, pos, gen)]
    es = [ember.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    eo, to = fn(ember, *es), fn(torch, *ts)
    np.testing.assert_allclose(eo.detach().numpy(), to.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert eo.dtype.name == str(to.dtype).replace("torch.", "")
    w = gen.standard_normal(tuple(eo.shape)).astype(np.float32)
    (eo * ember.tensor(w)).sum().backward()
    (to * torch.tensor(w)).sum().backward()
    for e, t in zip(es, ts):
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_jit_equals_eager_bit_for_bit(case):
    name, fn, shapes, pos = case
    rng = _case_rng(name)
    arrays = [ember.tensor(a) for a in _inputs(shapes, pos, rng)]
    f = lambda *ts: fn(ember, *ts)  # noqa: E731
    eager = f(*arrays).numpy()
    jf = ember.jit(f)
    for _ in range(2):  # compile, then the cached plan
        np.testing.assert_array_equal(jf(*arrays).numpy(), eager)
    g = ember.grad(lambda *ts: (f(*ts) * f(*ts)).sum())
    np.testing.assert_array_equal(ember.jit(g)(*arrays).numpy(), g(*arrays).numpy())


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_compiled_backward_is_bit_identical_to_eager_rules(case):
    """backward() stages each VJP rule on its second use and runs the plan from then on:
    the gradients must not change by a single bit."""
    name, fn, shapes, pos = case
    rng = _case_rng(name)
    arrays = _inputs(shapes, pos, rng)
    w = None
    grads = []
    for _ in range(3):  # eager rules, then compile, then the cached plan
        ts = [ember.tensor(a, requires_grad=True) for a in arrays]
        out = fn(ember, *ts)
        if w is None:
            w = ember.tensor(rng.standard_normal(tuple(out.shape)))
        (out * w).sum().backward()
        grads.append([t.grad.numpy() for t in ts])
    for later in grads[1:]:
        for a, b in zip(grads[0], later):
            np.testing.assert_array_equal(a, b)


def test_cases_exercise_every_primitive(monkeypatch):
    """A primitive that no case binds (eagerly, under jvp, vjp or vmap) fails here."""
    from ember.core import autograd as A
    from ember.core import primitive as P
    seen = set()
    orig = A.eval_apply

    def spy(prim, args, params):
        seen.add(prim.name)
        return orig(prim, args, params)
    monkeypatch.setattr(A, "eval_apply", spy)
    monkeypatch.setattr(P, "eval_apply", spy)
    # compiled rules skip eval_apply: run them op by op here (no VJP executor)
    monkeypatch.setattr(A, "_vjp_executor", [None])
    for _, fn, shapes, pos in CASES:
        arrays = _inputs(shapes, pos, rng)
        f = lambda *ts: fn(ember, *ts)  # noqa: E731
        ts = [ember.tensor(a, requires_grad=True) for a in arrays]
        f(*ts).sum().backward()
        plain = tuple(map(ember.tensor, arrays))
        jvp(f, plain, plain)
        vjp(f, *plain)
        batched = tuple(ember.tensor(np.stack([a, a])) for a in arrays)
        vmap(lambda *t: jvp(f, t, t)[1])(*batched)
    # random primitives: no gradient to check, no torch twin; their own tests are in
    # tests/test_random.py, and here they only need to run under the transforms
    key = ember.random.key(0)
    for f in (lambda k, x: ember.random.uniform(k, (3,)) * x,
              lambda k, x: ember.random.normal(k, (3,)) + x,
              lambda k, x: ember.random.gamma(k, x + 1.0, (3,)),
              lambda k, x: ember.random.poisson(k, 3.0, (3,)) * x,
              lambda k, x: ember.random.binomial(k, 5.0, 0.3, (3,)) * x):
        f(key, ember.ones(3))
        vmap(f, in_axes=(0, None))(ember.random.split(key, 2), ember.ones(3))
        jvp(lambda x: f(key, x), (ember.ones(3),), (ember.ones(3),))
    # control flow: its own tests are in tests/test_control_flow.py; under vmap each binds
    # its primitive eagerly
    vmap(lambda v: ember.cond(ember.tensor(True), lambda a: a * 2, lambda a: a, v)
         + ember.scan(lambda c, z: (c + z, c), v[0], v)[1]
         + ember.while_loop(lambda c: c.sum() < 10, lambda c: c * 2, v.abs() + 1))(
        ember.ones(2, 3))
    # custom rules and checkpoint: tests/transforms/test_custom.py
    cv = ember.custom_vjp(lambda x: x * 2)
    cv.defvjp(lambda x: (x * 2, None), lambda r, g: (g * 2,))
    cj = ember.custom_jvp(lambda x: x * 2)
    cj.defjvp(lambda p, t: (p[0] * 2, t[0] * 2))
    ember.checkpoint(lambda x: ember.ad_checkpoint.checkpoint_name(x.sin(), "s"))(
        cv(cj(ember.ones(2))))
    # named-axis collectives: tests/ops/test_collective_ops.py; under vmap(axis_name=) their
    # named batching rules compute them, eagerly they run on a process group's communicator
    # (here a world of one process)
    from ember.core.state import AxisFrame, bind_axis
    from ember.distributed.comm import LocalCommunicator
    L = ember.lax
    with bind_axis(AxisFrame("i", 1, comm=LocalCommunicator())):
        v = ember.ones(1, 2, requires_grad=True)
        out = (L.psum(v, "i") + L.pmax(v, "i") + L.pmin(v, "i") + L.psum_scatter(v, "i")
               + L.all_gather(v, "i", tiled=True) + L.ppermute(v, "i", [(0, 0)])
               + ember.ops.collective_ops.pvary1(v, "i")) \
            * L.axis_index("i")
        out.sum().backward()
    # a jitted call on tensors that require grad: tests/transforms/test_jit_tape.py
    w = ember.ones(2, requires_grad=True)
    ember.jit(lambda a: (a * a).sum())(w).backward()
    # int8 inference ops (no derivative): tests/ao/test_quantized_ops.py
    from ember.ao.quantization import qlinear, qconv2d
    xq, wq = ember.ones(1, 1, 2, 2, dtype=ember.uint8), ember.ones(1, 1, 2, 2, dtype=ember.int8)
    qconv2d(xq, wq, None, 1.0, 0, 1.0, 0, 1.0, 0)
    qlinear(xq.reshape(1, 4), wq.reshape(1, 4), None, 1.0, 0, 1.0, 0, 1.0, 0)
    # their float-in float-out forms: tests/ao/test_float_weight_cache.py
    from ember.ao.quantization.quantized_ops import qconv2d_float, qlinear_float
    qconv2d_float(ember.ones(1, 1, 2, 2), wq, None, 1.0, 0, 1.0, 0, 1.0, 0)
    qlinear_float(ember.ones(1, 4), wq.reshape(1, 4), None, 1.0, 0, 1.0, 0, 1.0, 0)
    # a device transfer: tests/backend/test_devices.py
    w = ember.ones(2, requires_grad=True)
    (w.to("strict") * 2).cpu().sum().backward()
    # dynamic int8 linear (no derivative): tests/ao/test_quantize_dynamic.py
    ember.ao.quantization.linear_dynamic(ember.ones(1, 2), ember.ones(1, 2, dtype=ember.int8), 1.0)
    # integer shifts (no derivative): tests/test_array_api_surface.py
    ember.bitwise_left_shift(ember.tensor([1]), 2) + ember.bitwise_right_shift(ember.tensor([8]), 1)
    ember.signbit(ember.tensor([-0.0, 1.0]))  # (no derivative): tests/core/test_complex.py
    # host callbacks (no derivative; effects): tests/transforms/test_callbacks.py
    c = ember.ones(2)
    ember.pure_callback(lambda a: a, ember.ShapeDtypeStruct((2,), ember.float32), c)
    ember.experimental.io_callback(lambda a: a, ember.ShapeDtypeStruct((2,), ember.float32), c)
    ember.debug.callback(lambda a: None, c)
    # Ai and its derivative, zeta's derivative in x (PyTorch has neither), the orthogonal
    # polynomials (no derivative): tests/test_special_bessel.py
    ember.grad(lambda v: ember.grad(lambda u: ember.special.airy_ai(u).sum())(v).sum())(
        ember.ones(2))
    for name in ember.ops.special.POLYNOMIALS:
        getattr(ember.special, name)(ember.ones(2), ember.tensor([2.0, 3.0]))
    ember.grad(lambda v: ember.special.zeta(v, ember.ones(2)).sum())(ember.full((2,), 3.0))
    # a depthwise convolution's fused input gradient (jit's plans make it; its rules come
    # from its reference): tests/ops/test_conv_depthwise.py
    from ember.core.primitive import bind
    from ember.ops import conv
    ct = ember.ones(1, 2, 1, 3, 3, requires_grad=True)
    bind(conv.conv_input_grad_p, ct, ember.ones(2, 1, 1, 2, 2), eq=conv._DW_COLS_EQ,
         cols_shape=(1, 2, 3, 3, 2, 2), size=(4, 4), kernel=(2, 2), stride=(1, 1),
         dilation=(1, 1)).sum().backward()
    # a 3x3 convolution through Winograd and its gradients (conv2d binds them for float32
    # shapes that pay, with the compiled kernels on; the NumPy twins here): tests/ops/
    # test_winograd.py
    xw, ww = ember.ones(1, 2, 4, 4, requires_grad=True), ember.ones(3, 2, 3, 3, requires_grad=True)
    bind(conv.winograd_conv_p, xw, ww, pad=(0, 0)).sum().backward()
    bind(conv.winograd_input_grad_p, ember.ones(1, 3, 4, 4), ww, pad=(1, 1))
    bind(conv.winograd_weight_grad_p, ember.ones(1, 3, 4, 4), xw, pad=(1, 1))
    # ... and reverse mode's forward keeping its transforms for the backward
    _, uw, vw = bind(conv.winograd_conv_kept_p, xw, ww, pad=(0, 0))
    bind(conv.winograd_grads_kept_p, ember.ones(1, 3, 2, 2), xw, ww, uw, vw, pad=(0, 0))
    # bits reinterpreted (no derivative): tests/test_lax_bitcast.py
    ember.lax.bitcast_convert_type(ember.ones(2), ember.uint8)
    missing = sorted(set(ember.primitives) - seen)
    assert not missing, f"primitives with no test case in tests/ops/test_rules.py: {missing}"


# ---- gradient edge cases: values where a naive rule forms 0 * inf or 0 / 0 -----------------

def _f64(v):
    return ember.tensor(v, dtype=ember.float64)


@pytest.mark.parametrize("y", [0.5, 2.5, 0.0])
def test_pow_zero_base_forward_mode_wrt_exponent_is_zero(y):
    # d/dy 0**y = 0: the x-term of the JVP must not form 0 * y * 0**(y-1) = NaN
    x = _f64(0.0)
    _, t = jvp(lambda y: ember.pow(x, y), (_f64(y),), (_f64(1.0),))
    _, t2 = jvp(lambda x, y: ember.pow(x, y), (x, _f64(y)), (_f64(0.0), _f64(1.0)))
    assert t.item() == 0.0 and t2.item() == 0.0
    assert ember.grad(lambda y: ember.pow(x, y))(_f64(y)).item() == 0.0


@pytest.mark.parametrize("exponent", [0.0, "tensor"])
def test_pow_zero_exponent_at_zero_has_zero_derivatives(exponent):
    e = _f64(0.0) if exponent == "tensor" else 0.0
    f = lambda x: x ** e  # noqa: E731
    x = _f64(0.0)
    assert ember.grad(f)(x).item() == 0.0
    assert ember.grad(ember.grad(f))(x).item() == 0.0
    t = ember.tensor(0.0, requires_grad=True)
    (g,) = ember.autograd.grad(t ** e, t, create_graph=True)
    assert g.item() == 0.0
    if torch is not None:
        tt = torch.tensor(0.0, requires_grad=True)
        (tg,) = torch.autograd.grad(tt ** 0.0, tt)
        assert tg.item() == g.item()


def test_python_number_base_with_traced_exponent():
    g = ember.grad(lambda y: 0.7 ** y)(ember.tensor(1.8))
    np.testing.assert_allclose(g.item(), 0.7 ** 1.8 * np.log(0.7), rtol=1e-6)
    np.testing.assert_allclose(g.item(), -0.18769, rtol=1e-4)
    _, t = jvp(lambda y: 0.7 ** y, (_f64(1.8),), (_f64(1.0),))
    np.testing.assert_allclose(t.item(), 0.7 ** 1.8 * np.log(0.7), rtol=1e-12)
    # a zero or negative Python base: the derivative w.r.t. the exponent is 0 (no log)
    assert ember.grad(lambda y: 0.0 ** y)(_f64(2.0)).item() == 0.0


def test_std_of_constant_or_single_element_has_zero_gradient():
    for shape, dim in (((2, 1), 1), ((), None), ((3,), 0)):
        a = ember.tensor(np.ones(shape), requires_grad=True)
        ember.std(a, dim, correction=0).sum().backward()
        np.testing.assert_array_equal(a.grad.numpy(), np.zeros(shape))
        if torch is not None:
            t = torch.tensor(np.ones(shape), requires_grad=True)
            (t.std(dim, correction=0) if dim is not None else t.std(correction=0)).sum().backward()
            np.testing.assert_array_equal(a.grad.numpy(), t.grad.numpy())
    # jnp.std (ddof=0) of one element, first and second order
    import ember.numpy as jnp
    x = _f64([2.0])
    assert ember.grad(lambda x: jnp.std(x))(x).numpy().tolist() == [0.0]
    assert ember.grad(lambda x: ember.grad(lambda x: jnp.std(x))(x).sum())(x).numpy()[0] == 0.0
    # a NaN variance (correction 1 over one element) stays NaN, as in PyTorch
    assert np.isnan(ember.tensor([1.0]).std().item())


def test_norm_at_zero_has_zero_gradient():
    for p in ("fro", 2, 3.0):
        a = ember.tensor(np.zeros((2, 3)), requires_grad=True)
        a.norm(p).backward()
        np.testing.assert_array_equal(a.grad.numpy(), np.zeros((2, 3)))
    a = ember.tensor(np.zeros(3), requires_grad=True)
    (g,) = ember.autograd.grad(a.norm(), a, create_graph=True)
    assert np.isfinite(g.detach().numpy()).all()


def test_atan2_at_origin_has_zero_gradient():
    a = ember.tensor([0.0, 0.0], requires_grad=True)
    ember.atan2(a[0], a[1]).backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 0.0])
    _, t = jvp(ember.atan2, (_f64(0.0), _f64(0.0)), (_f64(1.0), _f64(1.0)))
    assert t.item() == 0.0
