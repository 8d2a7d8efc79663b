"""``ember.nn.modules``: PyTorch's module paths (``torch.nn.modules.rnn.LSTM``,
``torch.nn.modules.batchnorm._BatchNorm``, ...) for the same classes as ``ember.nn``, so
code that names them (``isinstance`` checks, ``safe_globals`` lists for loading a pickled
model) runs unchanged. Each submodule holds the classes PyTorch's holds that ember has."""
from __future__ import annotations

import sys as _sys
import types as _types

from .. import conv as _conv, norm as _norm, more as _more, layers as _layers, rnn as _rnn
from .. import attention as _attention
from ..module import Module  # noqa: F401
from .. import __dict__ as _nn_names

_PUBLIC = {
    'activation': ['Threshold', 'ReLU', 'RReLU', 'Hardtanh', 'ReLU6', 'Sigmoid', 'Hardsigmoid',
        'Tanh',
        'SiLU', 'Mish', 'Hardswish', 'ELU', 'CELU', 'SELU', 'GLU', 'GELU', 'Hardshrink',
        'LeakyReLU', 'LogSigmoid', 'Softplus', 'Softshrink', 'MultiheadAttention', 'PReLU',
        'Softsign', 'Tanhshrink', 'Softmin', 'Softmax', 'Softmax2d', 'LogSoftmax'],
    'batchnorm': ['BatchNorm1d', 'LazyBatchNorm1d', 'BatchNorm2d', 'LazyBatchNorm2d',
        'BatchNorm3d',
        'LazyBatchNorm3d', 'SyncBatchNorm'],
    'channelshuffle': ['ChannelShuffle'],
    'container': ['Sequential', 'ModuleList', 'ModuleDict', 'ParameterList', 'ParameterDict'],
    'conv': ['Conv1d', 'Conv2d', 'Conv3d', 'ConvTranspose1d', 'ConvTranspose2d', 'ConvTranspose3d',
        'LazyConv1d', 'LazyConv2d', 'LazyConv3d', 'LazyConvTranspose1d',
        'LazyConvTranspose2d', 'LazyConvTranspose3d'],
    'distance': ['PairwiseDistance', 'CosineSimilarity'],
    'dropout': ['Dropout', 'Dropout1d', 'Dropout2d', 'Dropout3d', 'AlphaDropout',
        'FeatureAlphaDropout'],
    'flatten': ['Flatten', 'Unflatten'],
    'fold': ['Fold', 'Unfold'],
    'instancenorm': ['InstanceNorm1d', 'LazyInstanceNorm1d', 'InstanceNorm2d',
        'LazyInstanceNorm2d',
        'InstanceNorm3d', 'LazyInstanceNorm3d'],
    'linear': ['Identity', 'Linear', 'Bilinear', 'LazyLinear'],
    'loss': ['L1Loss', 'NLLLoss', 'PoissonNLLLoss', 'GaussianNLLLoss', 'KLDivLoss', 'MSELoss',
        'BCELoss', 'BCEWithLogitsLoss', 'HingeEmbeddingLoss', 'MultiLabelMarginLoss',
        'SmoothL1Loss', 'HuberLoss', 'SoftMarginLoss', 'CrossEntropyLoss',
        'MultiLabelSoftMarginLoss', 'CosineEmbeddingLoss', 'MarginRankingLoss',
        'MultiMarginLoss', 'TripletMarginLoss', 'TripletMarginWithDistanceLoss', 'CTCLoss',
        'LinearCrossEntropyLoss'],
    'module': ['Module'],
    'normalization': ['LocalResponseNorm', 'LayerNorm', 'GroupNorm', 'RMSNorm'],
    'padding': ['CircularPad1d', 'CircularPad2d', 'CircularPad3d', 'ConstantPad1d',
        'ConstantPad2d',
        'ConstantPad3d', 'ReflectionPad1d', 'ReflectionPad2d', 'ReflectionPad3d',
        'ReplicationPad1d', 'ReplicationPad2d', 'ReplicationPad3d', 'ZeroPad1d',
        'ZeroPad2d', 'ZeroPad3d'],
    'pixelshuffle': ['PixelShuffle', 'PixelUnshuffle'],
    'pooling': ['MaxPool1d', 'MaxPool2d', 'MaxPool3d', 'MaxUnpool1d', 'MaxUnpool2d', 'MaxUnpool3d',
        'AvgPool1d', 'AvgPool2d', 'AvgPool3d', 'LPPool1d', 'LPPool2d', 'LPPool3d',
        'AdaptiveMaxPool1d', 'AdaptiveMaxPool2d', 'AdaptiveMaxPool3d', 'AdaptiveAvgPool1d',
        'AdaptiveAvgPool2d', 'AdaptiveAvgPool3d', 'FractionalMaxPool2d', 'FractionalMaxPool3d'],
    'rnn': ['RNN', 'LSTM', 'GRU', 'RNNCell', 'LSTMCell', 'GRUCell'],
    'sparse': ['Embedding', 'EmbeddingBag'],
    'transformer': ['Transformer', 'TransformerEncoder', 'TransformerDecoder',
        'TransformerEncoderLayer',
        'TransformerDecoderLayer'],
    'upsampling': ['Upsample', 'UpsamplingNearest2d', 'UpsamplingBilinear2d'],
}

# PyTorch's base classes under their PyTorch names (the ember classes that play the role)
_PRIVATE = {
    "batchnorm": {"_BatchNorm": _norm._BatchNorm, "_NormBase": _norm._BatchNorm},
    "conv": {"_ConvNd": _conv._ConvNd, "_ConvTransposeNd": _conv._ConvNd},
    "dropout": {"_DropoutNd": _more._DropoutNd},
    "instancenorm": {"_InstanceNorm": _more._InstanceNorm},
    "loss": {"_Loss": _layers._Loss, "_WeightedLoss": _more._WeightedLoss},
    "pooling": {"_MaxPoolNd": _conv._MaxPool, "_AvgPoolNd": _conv._Pool,
                "_AdaptiveAvgPoolNd": _conv._Adaptive, "_AdaptiveMaxPoolNd": _conv._Adaptive},
    "padding": {"_ConstantPadNd": _more._PadNd, "_ReflectionPadNd": _more._PadNd,
                "_ReplicationPadNd": _more._PadNd, "_CircularPadNd": _more._PadNd},
    "linear": {"NonDynamicallyQuantizableLinear": _attention.NonDynamicallyQuantizableLinear},
    "rnn": {"RNNBase": _rnn._RNNBase, "RNNCellBase": _more._CellBase},
    "module": {"Module": Module},
}

__all__ = []
for _sub in sorted(set(_PUBLIC) | set(_PRIVATE)):
    _m = _types.ModuleType(f"{__name__}.{_sub}", f"PyTorch's torch.nn.modules.{_sub} names.")
    for _n in _PUBLIC.get(_sub, []):
        if _n in _nn_names:
            setattr(_m, _n, _nn_names[_n])
            globals()[_n] = _nn_names[_n]
            if _n not in __all__:
                __all__.append(_n)
    for _n, _v in _PRIVATE.get(_sub, {}).items():
        setattr(_m, _n, _v)
        if not _n.startswith("_"):
            globals()[_n] = _v
    _sys.modules[_m.__name__] = _m
    globals()[_sub] = _m
del _sub, _m, _n
