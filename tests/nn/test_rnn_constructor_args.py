"""nn.RNN/LSTM/GRU check their constructor arguments as PyTorch's do, and warn that dropout
with one layer does nothing (graykode's Seq2Seq builds nn.RNN(..., dropout=0.5))."""
import warnings

import pytest

import ember
from ember import nn


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU])
def test_dropout_with_one_layer_warns_at_the_callers_line(cls):
    with pytest.warns(UserWarning, match="num_layers=1") as rec:
        cls(3, 4, dropout=0.5)
    assert rec[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cls(3, 4, num_layers=2, dropout=0.5)
        cls(3, 4, dropout=0.0)


def test_warning_points_past_subclass_inits():
    class Mine(nn.LSTM):
        def __init__(self):
            super().__init__(3, 4, dropout=0.1)
    with pytest.warns(UserWarning, match="num_layers=1") as rec:
        Mine()
    assert rec[0].filename == __file__


@pytest.mark.parametrize("dropout", [1.5, -0.1, True, "0.1"])
def test_bad_dropout(dropout):
    with pytest.raises(ValueError, match="dropout must be a number in \\[0, 1\\]"):
        nn.GRU(3, 4, num_layers=2, dropout=dropout)


@pytest.mark.parametrize("args, kwargs, err, msg", [
    ((3, 0), {}, ValueError, "hidden_size must be greater than zero"),
    ((0, 4), {}, ValueError, "input_size must be greater than zero"),
    ((3, 4), {"num_layers": 0}, ValueError, "num_layers must be greater than zero"),
    ((3, 4.0), {}, TypeError, "hidden_size must be an int"),
    ((3, 4), {"bias": 1}, TypeError, "bias must be a bool"),
    ((3, 4), {"batch_first": None}, TypeError, "batch_first must be a bool"),
])
def test_bad_sizes_and_flags(args, kwargs, err, msg):
    with pytest.raises(err, match=msg):
        nn.LSTM(*args, **kwargs)


def test_same_errors_as_torch():
    torch = pytest.importorskip("torch")
    for args, kwargs in [((3, 0), {}), ((3, 4), {"num_layers": 0}), ((3, 4.0), {}),
                         ((3, 4), {"bias": 1}), ((3, 4), {"num_layers": 2, "dropout": 2.0})]:
        with pytest.raises(Exception) as theirs:
            torch.nn.LSTM(*args, **kwargs)
        with pytest.raises(Exception) as ours:
            nn.LSTM(*args, **kwargs)
        assert isinstance(ours.value, type(theirs.value)), (args, kwargs)
    assert nn.LSTM(3, 4, num_layers=2, dropout=1).dropout == 1.0 == \
        torch.nn.LSTM(3, 4, num_layers=2, dropout=1).dropout
