"""mnist-cnn: conv 1->32 k3 pad 1, ReLU, maxpool 2, fc 6272->128, ReLU, fc 128->10 on
(Fashion-)MNIST, Adam 1e-3, batch 64.

    ember train --recipe mnist-cnn [--dataset mnist|fashion-mnist] [--data-dir DIR]
"""
import ember
from ember import nn
from . import _mnist

NAME = "mnist-cnn"
DEFAULTS = dict(epochs=3, batch_size=64, lr=1e-3)


def data(args):
    return _mnist.load(args)


def model():
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * 14 * 14, 128), nn.ReLU(),
                         nn.Linear(128, 10))


def optimizer(params, lr):
    return ember.optim.Adam(params, lr=lr)


def functional_optimizer(lr):
    return ember.optim.functional.adam(lr)


loss = nn.functional.cross_entropy
