"""VGG (Simonyan & Zisserman, 2014) with torchvision's module names: ``features.N`` (the
convolutions, BatchNorms, ReLUs and max-pools in one Sequential), ``avgpool`` and
``classifier.{0,3,6}``, so a torchvision ``state_dict`` loads key for key."""
from __future__ import annotations

from .. import nn
from ..nn import init
from ..ops.shape import flatten
from ._weights import ImageClassification, Weights, legacy_pretrained, load_weights

__all__ = ["VGG", "make_layers", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn",
           "vgg19", "vgg19_bn"]

# output channels of each 3x3 convolution; "M" is a 2x2 max-pool
CONFIGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512,
          "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512,
          512, 512, 512, "M"],
}


def make_layers(cfg, batch_norm=False):
    """The ``features`` Sequential of a VGG config (a list of channel counts and "M")."""
    layers, cin = [], 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(cin, v, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU(inplace=True))
        cin = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """``features`` -> adaptive average pool to 7x7 -> a 3-layer classifier with dropout,
    initialised as torchvision does (Kaiming-normal fan-out convolutions with zero bias,
    BatchNorm 1/0, Linear weights N(0, 0.01) with zero bias)."""

    def __init__(self, features, num_classes=1000, init_weights=True, dropout=0.5):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes))
        if init_weights:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    if m.bias is not None:
                        init.zeros_(m.bias)
                elif isinstance(m, nn.BatchNorm2d):
                    init.ones_(m.weight)
                    init.zeros_(m.bias)
                elif isinstance(m, nn.Linear):
                    init.normal_(m.weight, 0.0, 0.01)
                    init.zeros_(m.bias)

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"VGG: expected an (N, 3, H, W) image batch, got shape "
                             f"{tuple(x.shape)}")
        x = self.avgpool(self.features(x))
        return self.classifier(flatten(x, 1))


_FILES = {"vgg11": "vgg11-8a719046.pth", "vgg11_bn": "vgg11_bn-6002323d.pth",
          "vgg13": "vgg13-19584684.pth", "vgg13_bn": "vgg13_bn-abd245e5.pth",
          "vgg16": "vgg16-397923af.pth", "vgg16_bn": "vgg16_bn-6c64b313.pth",
          "vgg19": "vgg19-dcbb9e9d.pth", "vgg19_bn": "vgg19_bn-c79401a0.pth"}
WEIGHTS = {}
for _arch, _file in _FILES.items():
    _w = Weights(f"{_arch}.IMAGENET1K_V1", _file,
                 transforms=lambda: ImageClassification(crop_size=224, resize_size=256),
                 meta={"num_classes": 1000, "dataset": "ImageNet-1K", "categories": None})
    WEIGHTS[_arch] = {"IMAGENET1K_V1": _w, "DEFAULT": _w}


def _factory(arch, cfg, batch_norm):
    def build(*, weights=None, progress=True, weights_dir=None, **kwargs):
        weights = legacy_pretrained(arch, weights, kwargs)
        if weights is not None and "num_classes" not in kwargs and not isinstance(weights,
                                                                                  dict):
            w = WEIGHTS[arch].get(weights) if isinstance(weights, str) else weights
            if isinstance(w, Weights) and w.num_classes:
                kwargs["num_classes"] = w.num_classes
        if weights is not None:
            kwargs.setdefault("init_weights", False)
        model = VGG(make_layers(CONFIGS[cfg], batch_norm=batch_norm), **kwargs)
        return load_weights(model, weights, WEIGHTS, arch, weights_dir)
    depth = {"A": 11, "B": 13, "D": 16, "E": 19}[cfg]
    build.__name__ = build.__qualname__ = arch
    build.__doc__ = (f"VGG-{depth}{' with BatchNorm' if batch_norm else ''} with torchvision's "
                     f"module names. ``weights``: None (random init), a checkpoint file "
                     f"(.pth/.pt or .safetensors), a Weights descriptor, "
                     f"``'IMAGENET1K_V1'``/``'DEFAULT'`` (read from ``weights_dir``; never "
                     f"downloaded) or a state dict. Other keyword arguments (``num_classes``, "
                     f"``dropout``, ``init_weights``) go to :class:`VGG`.")
    return build


vgg11, vgg11_bn = _factory("vgg11", "A", False), _factory("vgg11_bn", "A", True)
vgg13, vgg13_bn = _factory("vgg13", "B", False), _factory("vgg13_bn", "B", True)
vgg16, vgg16_bn = _factory("vgg16", "D", False), _factory("vgg16_bn", "D", True)
vgg19, vgg19_bn = _factory("vgg19", "E", False), _factory("vgg19_bn", "E", True)
