"""linreg: fit y = 2x + 1 from 5 points with one Linear(1, 1), SGD — the smallest training loop.

    ember train --recipe linreg [--mode jit]
"""
import numpy as np

import ember
from ember import nn

NAME = "linreg"
DEFAULTS = dict(epochs=200, batch_size=5, lr=0.05)
metric = "mse"


def data(args):
    x = np.arange(5, dtype=np.float32).reshape(5, 1)
    y = 2 * x + 1
    t = ember.tensor
    return t(x), t(y), t(x), t(y)


def model():
    return nn.Linear(1, 1)


def optimizer(params, lr):
    return ember.optim.SGD(params, lr=lr)


def functional_optimizer(lr):
    return ember.optim.functional.sgd(lr)


loss = nn.functional.mse_loss
