"""mnist-mlp: MLP 784-256-128-64-10 with ReLU on (Fashion-)MNIST, SGD lr 0.001 momentum 0.9,
batch 100.

    ember train --recipe mnist-mlp [--dataset mnist|fashion-mnist] [--data-dir DIR]
"""
import ember
from ember import nn
from . import _mnist

NAME = "mnist-mlp"
DEFAULTS = dict(epochs=10, batch_size=100, lr=0.001)


def data(args):
    return _mnist.load(args)


def model():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128),
                         nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


def optimizer(params, lr):
    return ember.optim.SGD(params, lr=lr, momentum=0.9)


def functional_optimizer(lr):
    return ember.optim.functional.sgd(lr, momentum=0.9)


loss = nn.functional.cross_entropy
