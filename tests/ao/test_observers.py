"""Observers: calculate_qparams equals torch.ao.quantization's on the same data."""
import numpy as np
import pytest

import ember
from ember.ao import quantization as Q

torch = pytest.importorskip("torch")
tq = torch.ao.quantization
rng = np.random.default_rng(11)

_TD = {"quint8": torch.quint8, "qint8": torch.qint8}
_TS = {"per_tensor_affine": torch.per_tensor_affine,
       "per_tensor_symmetric": torch.per_tensor_symmetric,
       "per_channel_affine": torch.per_channel_affine,
       "per_channel_symmetric": torch.per_channel_symmetric}


def _batches(shape=(64, 30), n=3, shift=0.0):
    return [(rng.standard_normal(shape) * (1 + i) + shift + i * 0.3).astype(np.float32)
            for i in range(n)]


def _both(ecls, tcls, kwargs, batches):
    tk = dict(kwargs)
    if "dtype" in tk:
        tk["dtype"] = _TD[tk["dtype"]]
    if "qscheme" in tk:
        tk["qscheme"] = _TS[tk["qscheme"]]
    e, t = ecls(**kwargs), tcls(**tk)
    for b in batches:
        e(ember.tensor(b))
        t(torch.tensor(b))
    (es, ez), (ts, tz) = e.calculate_qparams(), t.calculate_qparams()
    return es.numpy(), ez.numpy(), ts.numpy(), tz.numpy()


@pytest.mark.parametrize("kwargs", [
    {}, {"reduce_range": True}, {"dtype": "qint8", "qscheme": "per_tensor_symmetric"},
    {"dtype": "quint8", "qscheme": "per_tensor_symmetric"}, {"quant_min": 0, "quant_max": 127},
    {"dtype": "qint8", "quant_min": -8, "quant_max": 7}, {"dtype": "qint8"}])
@pytest.mark.parametrize("shift", [0.0, 2.5, -4.0])
def test_minmax_and_moving_average_match_torch(kwargs, shift):
    batches = _batches(shift=shift)
    for ecls, tcls in ((Q.MinMaxObserver, tq.MinMaxObserver),
                       (Q.MovingAverageMinMaxObserver, tq.MovingAverageMinMaxObserver)):
        es, ez, ts, tz = _both(ecls, tcls, kwargs, batches)
        np.testing.assert_allclose(es, ts, rtol=1e-6)
        np.testing.assert_array_equal(ez, tz)


@pytest.mark.parametrize("kwargs", [
    {}, {"dtype": "qint8", "qscheme": "per_channel_symmetric"},
    {"dtype": "qint8", "qscheme": "per_channel_symmetric", "ch_axis": 1},
    {"reduce_range": True}, {"dtype": "qint8", "qscheme": "per_channel_symmetric",
                             "quant_min": -8, "quant_max": 7}])
def test_per_channel_matches_torch(kwargs):
    batches = _batches((8, 5, 3, 3), shift=0.7)
    for ecls, tcls in ((Q.PerChannelMinMaxObserver, tq.PerChannelMinMaxObserver),
                       (Q.MovingAveragePerChannelMinMaxObserver,
                        tq.MovingAveragePerChannelMinMaxObserver)):
        es, ez, ts, tz = _both(ecls, tcls, kwargs, batches)
        np.testing.assert_allclose(es, ts, rtol=1e-6)
        np.testing.assert_array_equal(ez, tz)


@pytest.mark.parametrize("kwargs", [{}, {"reduce_range": True},
                                    {"dtype": "qint8", "qscheme": "per_tensor_symmetric"}])
@pytest.mark.parametrize("n", [1, 3])
def test_histogram_matches_torch(kwargs, n):
    # heavy tails, so the search does clip; later batches widen the range (re-binning)
    batches = [np.concatenate([rng.standard_normal(4000) * (1 + i), rng.standard_cauchy(40)])
               .astype(np.float32) for i in range(n)]
    es, ez, ts, tz = _both(Q.HistogramObserver, tq.HistogramObserver, kwargs, batches)
    np.testing.assert_allclose(es, ts, rtol=1e-5)
    np.testing.assert_array_equal(ez, tz)


def test_histogram_post_relu_activations_match_torch():
    batches = [np.maximum(rng.standard_normal((100, 64)) * 2, 0).astype(np.float32)
               for _ in range(4)]
    es, ez, ts, tz = _both(Q.HistogramObserver, tq.HistogramObserver, {"reduce_range": True},
                           batches)
    np.testing.assert_allclose(es, ts, rtol=1e-5)
    np.testing.assert_array_equal(ez, tz)


def test_state_is_buffers_and_no_data_is_an_error():
    obs = Q.MinMaxObserver()
    assert set(obs.state_dict()) == {"min_val", "max_val"}
    with pytest.raises(RuntimeError, match="no data observed yet; run calibration"):
        obs.calculate_qparams()
    h = Q.HistogramObserver()
    assert set(h.state_dict()) == {"histogram", "min_val", "max_val"}
    with pytest.raises(ValueError, match="per_channel"):
        Q.MinMaxObserver(qscheme=Q.per_channel_affine)
    with pytest.raises(ValueError, match="must contain 0"):
        Q.MinMaxObserver(quant_min=3, quant_max=10)


def test_with_args_factories():
    f = Q.MinMaxObserver.with_args(dtype="qint8").with_args(reduce_range=True)
    o = f()
    assert (o.dtype, o.quant_min, o.quant_max) == ("qint8", -64, 63)
