"""``ember.models``: ResNet and VGG with torchvision's names, arguments, initialisation and
module names (a torchvision ``state_dict`` loads key for key), plus ``get_model``,
``list_models``, ``get_weight`` and ``get_model_weights``. Pretrained weights are read from
local files only (see :class:`Weights`); nothing is downloaded."""
from __future__ import annotations

from . import resnet as _resnet_mod, vgg as _vgg_mod
from ._weights import ImageClassification, Weights, weights_dirs  # noqa: F401
from .resnet import (ResNet, BasicBlock, Bottleneck, resnet18, resnet34, resnet50,  # noqa: F401
                     resnet101, resnet152, resnext50_32x4d, resnext101_32x8d, wide_resnet50_2,
                     wide_resnet101_2)
from .vgg import (VGG, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19,  # noqa: F401
                  vgg19_bn)

_BUILDERS = {f.__name__: f for f in (
    resnet18, resnet34, resnet50, resnet101, resnet152, resnext50_32x4d, resnext101_32x8d,
    wide_resnet50_2, wide_resnet101_2, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19,
    vgg19_bn)}
_WEIGHTS = {**_resnet_mod.WEIGHTS, **_vgg_mod.WEIGHTS}


def list_models(include=None, exclude=None):
    """The model names, sorted; ``include``/``exclude`` filter with shell-style patterns
    (``list_models("resnet*")``)."""
    import fnmatch
    names = sorted(_BUILDERS)

    def pats(p):
        return [p] if isinstance(p, str) else list(p or [])
    if include is not None:
        names = [n for n in names if any(fnmatch.fnmatch(n, p) for p in pats(include))]
    if exclude is not None:
        names = [n for n in names if not any(fnmatch.fnmatch(n, p) for p in pats(exclude))]
    return names


def _builder(name):
    key = name.lower()
    if key not in _BUILDERS:
        raise ValueError(f"ember.models: unknown model {name!r}; known models: "
                         f"{', '.join(sorted(_BUILDERS))}")
    return key


def get_model(name, **config):
    """Build the model ``name`` (e.g. ``"resnet18"``) with ``config`` (``weights=``,
    ``num_classes=``, ...), as ``torchvision.models.get_model``."""
    return _BUILDERS[_builder(name)](**config)


def get_model_builder(name):
    return _BUILDERS[_builder(name)]


def get_model_weights(name):
    """The weights descriptors of model ``name``: ``{"IMAGENET1K_V1": Weights, "DEFAULT":
    ...}``."""
    return dict(_WEIGHTS.get(_builder(name), {}))


def get_weight(name):
    """A descriptor by its full name, e.g. ``"resnet18.IMAGENET1K_V1"``."""
    arch, _, tag = name.partition(".")
    ws = get_model_weights(arch)
    if tag not in ws:
        raise ValueError(f"ember.models.get_weight: unknown weights {name!r}; {arch} has "
                         f"{', '.join(sorted(ws)) or 'none'}")
    return ws[tag]


class _WeightsEnumMeta(type):
    """Iteration and ``[name]`` over a weights class's descriptors, as torchvision's enums."""

    def __iter__(cls):
        return iter(w for k, w in cls._members.items() if k != "DEFAULT")

    def __getitem__(cls, name):
        try:
            return cls._members[name]
        except KeyError:
            raise KeyError(f"{cls.__name__}: no weights {name!r}; it has "
                           f"{', '.join(sorted(cls._members))}") from None

    def __len__(cls):
        return len(list(iter(cls)))

    def __repr__(cls):
        return f"<weights {cls.__name__}: {', '.join(cls._members)}>"


# torchvision's class names for the weights of each builder (ResNet18_Weights.IMAGENET1K_V1,
# VGG16_BN_Weights.DEFAULT, ...): the attributes are the Weights descriptors
_WEIGHTS_CLASS = {"resnext50_32x4d": "ResNeXt50_32X4D_Weights",
                  "resnext101_32x8d": "ResNeXt101_32X8D_Weights",
                  "wide_resnet50_2": "Wide_ResNet50_2_Weights",
                  "wide_resnet101_2": "Wide_ResNet101_2_Weights"}


def _weights_class(arch):
    if arch in _WEIGHTS_CLASS:
        name = _WEIGHTS_CLASS[arch]
    elif arch.startswith("resnet"):  # resnet50 -> ResNet50_Weights
        name = "ResNet" + arch[len("resnet"):] + "_Weights"
    else:  # vgg16_bn -> VGG16_BN_Weights
        name = arch.upper() + "_Weights"
    members = dict(_WEIGHTS[arch])
    return _WeightsEnumMeta(name, (), {"_members": members, **members, "__doc__":
                                       f"The pretrained weights of ``{arch}`` "
                                       f"({', '.join(members)}), as torchvision's "
                                       f"``{name}``."})


for _arch in _WEIGHTS:
    _cls = _weights_class(_arch)
    globals()[_cls.__name__] = _cls
_WEIGHTS_CLASSES = sorted(n for n in globals() if n.endswith("_Weights"))
del _arch, _cls

__all__ = ["get_model", "get_model_builder", "get_model_weights", "get_weight", "list_models",
           "Weights", "ImageClassification", "ResNet", "VGG", "BasicBlock", "Bottleneck",
           *sorted(_BUILDERS), *_WEIGHTS_CLASSES]
