"""``ember.vision``: torchvision's layout over ember's pieces, so ``import ember.vision as
torchvision`` serves scripts written against it: ``models`` (ResNet/VGG with torchvision's
names, ``ember.models``), ``datasets`` (MNIST, FashionMNIST, CIFAR10 readers,
``ember.data.datasets``), ``transforms`` (``ember.data.transforms``), ``utils``
(``make_grid``, ``save_image``) and ``io`` (``read_image``, ``decode_image``, ``write_png``,
..., ``ember.data.image_io``).

>>> import ember.vision as torchvision
>>> torchvision.models.resnet18 is ember.models.resnet18
True
"""
import sys as _sys

from .. import models  # noqa: F401
from ..data import datasets, transforms  # noqa: F401
from ..utils import vision as utils  # noqa: F401
from ..data import image_io as io  # noqa: F401

for _name, _mod in (("models", models), ("datasets", datasets), ("transforms", transforms),
                    ("utils", utils), ("io", io)):
    _sys.modules[f"{__name__}.{_name}"] = _mod
_sys.modules[f"{__name__}.transforms.functional"] = transforms.functional
del _name, _mod
