"""digits-mlp (the default recipe): an MLP 64-128-64-10 on the 1797 bundled 8x8 Digits,
SGD with momentum. Trains offline in seconds.

    ember train [--mode jit] [--epochs 30]
"""
import ember
from ember import nn
from ember.data import Digits

NAME = "digits-mlp"
DEFAULTS = dict(epochs=30, batch_size=32, lr=0.05)


def data(args):
    xtr, ytr = Digits(root=args.data_dir, train=True).tensors()
    xte, yte = Digits(root=args.data_dir, train=False).tensors()
    return xtr, ytr, xte, yte


def model():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64),
                         nn.ReLU(), nn.Linear(64, 10))


def optimizer(params, lr):
    return ember.optim.SGD(params, lr=lr, momentum=0.9)


def functional_optimizer(lr):
    return ember.optim.functional.sgd(lr, momentum=0.9)


loss = nn.functional.cross_entropy
