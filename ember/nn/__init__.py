"""``ember.nn``: modules, layers and losses with PyTorch's names, constructor arguments,
default initialisation, parameter shapes and state_dict keys."""
from . import functional, init  # noqa: F401
from .module import Module, Parameter  # noqa: F401
from .layers import (  # noqa: F401
    Identity, Linear, Bilinear, ReLU, ReLU6, Tanh, Sigmoid, SiLU, GELU, LeakyReLU, ELU,
    LogSigmoid, Softmax, LogSoftmax, Dropout, Embedding, Flatten, Unflatten, Sequential,
    ModuleList, ModuleDict, MSELoss, L1Loss, SmoothL1Loss, HuberLoss, NLLLoss, CrossEntropyLoss,
    BCELoss, BCEWithLogitsLoss, KLDivLoss)
from .conv import (  # noqa: F401
    Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, MaxPool1d, MaxPool2d, AvgPool1d,
    AvgPool2d, AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool2d)
from .norm import BatchNorm1d, BatchNorm2d, LayerNorm, GroupNorm, SyncBatchNorm  # noqa: F401
from .rnn import RNN, LSTM, GRU  # noqa: F401
from .attention import MultiheadAttention, TransformerEncoderLayer  # noqa: F401
from .distill import Teacher, DistillationLoss  # noqa: F401
from .more import *  # noqa: F401,F403  (activations, pads, shuffles, cells, more losses)
from .transformer import *  # noqa: F401,F403  (encoder/decoder stacks, Transformer)
from . import parallel  # noqa: F401  (DistributedDataParallel)
from . import utils  # noqa: F401  (clip_grad_norm_, prune, ...)
from .containers import ParameterList, ParameterDict  # noqa: F401,E402
from .extra import *  # noqa: F401,F403,E402  (3-D layers, lazy layers, Buffer, DataParallel, ...)
from . import modules  # noqa: F401,E402  (torch.nn.modules' paths: ember.nn.modules.rnn.LSTM, ...)
from .jax_nn import *  # noqa: F401,F403,E402  (jax.nn's functions: relu, softmax, one_hot, ...)
from . import initializers  # noqa: F401,E402  (jax.nn.initializers)
