"""cifar-lenet: LeNet (conv 3->6 k5, ReLU, pool 2, conv 6->16 k5, ReLU, pool 2, fc 400->120->84
->10) on CIFAR-10 normalised to mean 0.5 std 0.5, SGD lr 0.001 momentum 0.9.

    ember train --recipe cifar-lenet --data-dir DIR   (DIR holds cifar-10-batches-py/ or the
                                                      cifar-10-python.tar.gz)
"""
import ember
from ember import nn
from ember.data import CIFAR10

NAME = "cifar-lenet"
DEFAULTS = dict(epochs=10, batch_size=32, lr=0.001)


def data(args):
    if args.data_dir is None:
        raise FileNotFoundError("cifar-lenet: pass --data-dir DIR with cifar-10-batches-py/ or "
                                "cifar-10-python.tar.gz (from "
                                "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz)")
    xtr, ytr = CIFAR10(args.data_dir, train=True).tensors()
    xte, yte = CIFAR10(args.data_dir, train=False).tensors()
    return (xtr - 0.5) / 0.5, ytr, (xte - 0.5) / 0.5, yte


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        f = nn.functional
        x = f.max_pool2d(f.relu(self.conv1(x)), 2)
        x = f.max_pool2d(f.relu(self.conv2(x)), 2)
        x = x.flatten(1)
        return self.fc3(f.relu(self.fc2(f.relu(self.fc1(x)))))


def model():
    return LeNet()


def optimizer(params, lr):
    return ember.optim.SGD(params, lr=lr, momentum=0.9)


def functional_optimizer(lr):
    return ember.optim.functional.sgd(lr, momentum=0.9)


loss = nn.functional.cross_entropy
